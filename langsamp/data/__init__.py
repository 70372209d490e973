"""The continual-pretraining data API in one import, for code written against it. Each part lives in the file
named after its concern:

* corpus_sources.py - where a corpus comes from: Glot500-c text folders, per-pair snapshots (Parquet / Arrow /
  JSON Lines / save_to_disk), datasets with one config per pair (Hub ids or local folders laid out like them),
  datasets with a `lang` column; the checks of names, inventory, readability and script;
* pretraining_data.py - what is done to it: tokenising, chunking per pair, mixing (cached and streaming);
* sampling.py - how many rows each pair gets (p_l ~ n_l^alpha, or Glot500-c's own rule);
* masking.py - the MLM collator (transformers' stock one).
"""

from langsamp.data.corpus_sources import (
    SAVED_DATASET_MARKERS,
    PairSource,
    discover_corpus,
    find_pairs,
    load_text_dataset,
    open_pairs,
    select_pairs,
)
from langsamp.data.masking import LangSAMPDataCollator, make_collator
from langsamp.data.pretraining_data import PairMixture, build_pretraining_dataset, estimate_dataset_tokens, estimate_tokens
from langsamp.data.sampling import glot500_counts, mixture_probabilities, sample_counts, sampling_probabilities

__all__ = [
    "SAVED_DATASET_MARKERS",
    "LangSAMPDataCollator",
    "PairMixture",
    "PairSource",
    "build_pretraining_dataset",
    "discover_corpus",
    "estimate_dataset_tokens",
    "estimate_tokens",
    "find_pairs",
    "glot500_counts",
    "load_text_dataset",
    "make_collator",
    "mixture_probabilities",
    "open_pairs",
    "sample_counts",
    "sampling_probabilities",
    "select_pairs",
]
