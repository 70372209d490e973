"""The continual-pretraining data API in one import. The pipeline runs one way, each step in its own module:

    corpus = open_corpus(path_or_dataset, tokenizer, languages=..., split=..., streaming=..., cache_dir=...)
    dataset, mixture = build(corpus, tokenizer, max_seq_length=..., sampling_alpha=..., streaming=..., seed=...)
    train, held_out_chunks = split_held_out(dataset, max_eval_samples, distinct_chunks=...)
    eval_dataset = mask_once(held_out_chunks, tokenizer, mlm_probability, seed)
    collator = ResumableMasking(make_collator(tokenizer, mlm_probability=p), seed)
    mixture.summary(); mixture.table()

`build_pretraining_dataset(corpus, tokenizer, ...)` is `open_corpus` and `build` in one call.

* labels.py - pair labels (`hin_Deva`), the `languages` filter, the model's inventory and script checks;
* reading.py - the raw source: what a path is, text files (compression, lines, probes);
* rows.py - datasets with `text` and `lang` columns: loading, checking, each row's pair;
* sources.py - the pairs of a corpus (Glot500-c text folders, per-pair snapshots of Parquet / Arrow / JSON Lines
  shards or save_to_disk folders, datasets with one config per pair) and the Corpus `open_corpus` returns;
* opening.py - pair sources opened as datasets of their text;
* cache.py - the fingerprints that let a second build load the first one's files;
* chunking.py - tokenising and chunking per pair, cached and streaming;
* dedup.py - the lines a build drops: duplicates, lines holding evaluation text (LineRules);
* estimates.py - the sizes of streamed pairs;
* sampling.py - how many rows each pair gets (p_l ~ n_l^alpha, or Glot500-c's own rule);
* mixture.py - the pairs' chunks mixed into training rows, and the PairMixture that records it;
* pipeline.py - `build` (chunks, then mixture) and `build_pretraining_dataset`;
* held_out.py - the held-out chunks, kept out of training and masked once;
* collator.py - the MLM collator (transformers' stock one) and ResumableMasking.
"""

from langsamp.data.collator import LangSAMPDataCollator, ResumableMasking, make_collator
from langsamp.data.dedup import BloomFilter, LineCounts, LineRules, SentenceIndex, normalise_line
from langsamp.data.estimates import estimate_dataset_tokens, estimate_tokens
from langsamp.data.held_out import mask_once, split_held_out
from langsamp.data.labels import select_pairs
from langsamp.data.mixture import PairMixture
from langsamp.data.opening import open_pairs
from langsamp.data.pipeline import build, build_phased, build_pretraining_dataset
from langsamp.data.reading import SAVED_DATASET_MARKERS
from langsamp.data.rows import load_text_dataset
from langsamp.data.sampling import glot500_counts, mixture_probabilities, sample_counts, sampling_probabilities
from langsamp.data.schedule import RunSchedule, parse_schedule
from langsamp.data.sources import Corpus, PairSource, discover_corpus, find_pairs, offered_labels, open_corpus

__all__ = [
    "SAVED_DATASET_MARKERS",
    "BloomFilter",
    "LineCounts",
    "LineRules",
    "SentenceIndex",
    "normalise_line",
    "Corpus",
    "LangSAMPDataCollator",
    "PairMixture",
    "PairSource",
    "RunSchedule",
    "ResumableMasking",
    "build",
    "build_phased",
    "build_pretraining_dataset",
    "discover_corpus",
    "estimate_dataset_tokens",
    "estimate_tokens",
    "find_pairs",
    "offered_labels",
    "glot500_counts",
    "load_text_dataset",
    "make_collator",
    "mask_once",
    "mixture_probabilities",
    "open_corpus",
    "open_pairs",
    "parse_schedule",
    "sample_counts",
    "sampling_probabilities",
    "select_pairs",
    "split_held_out",
]
