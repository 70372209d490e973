"""Evaluation of LangSAMP checkpoints (and stock XLM-R) with the paper's protocols, and analyses of what the language /
script tables learned: the Python API, in one import (`from langsamp import evaluation as ev`). The command line
is `langsamp.evaluation.cli` (`langsamp-eval`; `python langsamp_eval.py` in a clone).

Every function that evaluates a checkpoint takes a path (a folder or a Hub id) or a loaded model, and an optional
tokenizer; without one it uses the checkpoint's own (see `resolve_tokenizer`).

* `tasks`, `benchmark`, `languages`   the named Hub tasks (SIB-200, Taxi1500, WikiANN, UD POS, Tatoeba, FLORES),
                                      several checkpoints on one, language codes and head / tail groups;
* `retrieval`, `transfer`             sentence retrieval; zero-shot cross-lingual fine-tuning (`labelled_data`: the
                                      datasets you bring; `metrics/`: local `evaluate` metrics);
* `mlm_quality`                       masked-token accuracy and perplexity per language;
* `language_neutrality`               cross-language cosine per layer and a language-ID probe;
* `embedding_analysis`, `source_selection`, `uriel_similarity`
                                      the language table: nearest languages, source-language choice, agreement
                                      with URIEL;
* `overlap`                           a task's evaluation sentences per pair, and how much of them (and of their
                                      13-grams) a pretraining corpus holds;
* `corpora`, `models`, `report`, `arguments`
                                      the UDHR and parallel corpora, loading checkpoints and tokenizers, tables and
                                      JSON, checks of parameters and flags.

The comparison of LangSAMP against the baseline over seeds is an experiment: langsamp.experiments.compare_baseline.
"""

from __future__ import annotations

from langsamp.evaluation.benchmark import check_benchmark, run_benchmark, run_task
from langsamp.evaluation.corpora import (
    DEFAULT_SOURCE,
    UDHR_HELDOUT_ARTICLES,
    UDHR_TOPIC_CLASSES,
    read_corpus,
    read_parallel_corpus,
    resolve_language,
    udhr_heldout_texts,
    udhr_parallel_corpus,
    udhr_pretraining_paragraphs,
    udhr_topic_classification,
    udhr_translations,
)
from langsamp.evaluation.embedding_analysis import (
    ANALYSIS_LANGUAGES,
    embedding_model,
    language_similarity,
    nearest_languages,
    recommend_source_languages,
    script_similarity,
)
from langsamp.evaluation.embedding_plots import plot_language_embeddings
from langsamp.evaluation.labelled_data import classification_sets, load_split
from langsamp.evaluation.language_neutrality import (
    check_neutrality_inputs,
    cross_language_cosine,
    language_identification_accuracy,
    language_neutrality,
    neutrality_from_states,
    neutrality_table,
)
from langsamp.evaluation.languages import (
    XLMR_LANGUAGES,
    group_averages,
    is_head,
    map_languages,
    model_languages,
    trained_languages,
)
from langsamp.evaluation.mlm_quality import masked_lm_quality
from langsamp.evaluation.models import (
    checkpoint_config,
    is_langsamp_checkpoint,
    load_model,
    load_tokenizer,
    max_tokens,
    probe_hub,
    resolve_model,
    resolve_tokenizer,
)
from langsamp.evaluation.overlap import corpus_overlap, evaluation_sentences, overlap_table, pair_overlap
from langsamp.evaluation.report import (
    markdown_table,
    result_table,
    side_by_side_table,
    write_json,
    write_model_index,
    write_result,
)
from langsamp.evaluation.retrieval import (
    DEFAULT_LAYER,
    RETRIEVAL_TOP_K,
    check_layer,
    retrieval_accuracy,
    sentence_embeddings,
    sentence_retrieval,
)
from langsamp.evaluation.source_selection import compare_source_languages, source_table
from langsamp.evaluation.task_data import TaskData
from langsamp.evaluation.tasks import TASKS, Task, get_task, task_settings, tasks_table
from langsamp.evaluation.transfer import load_metric, zero_shot_transfer
from langsamp.evaluation.uriel_similarity import permutation_rank_correlation, table_vs_uriel, uriel_features

__all__ = [
    # tasks and benchmarks
    "TASKS", "Task", "TaskData", "get_task", "run_task", "task_settings", "tasks_table", "check_benchmark",
    "run_benchmark",
    # retrieval
    "DEFAULT_LAYER", "RETRIEVAL_TOP_K", "check_layer", "retrieval_accuracy", "sentence_embeddings",
    "sentence_retrieval",
    # zero-shot transfer
    "classification_sets", "load_split", "load_metric", "zero_shot_transfer",
    # masked-LM quality
    "masked_lm_quality",
    # language neutrality
    "check_neutrality_inputs", "cross_language_cosine", "language_identification_accuracy", "language_neutrality",
    "neutrality_from_states", "neutrality_table",
    # the language / script tables
    "ANALYSIS_LANGUAGES", "embedding_model", "language_similarity", "nearest_languages", "plot_language_embeddings",
    "recommend_source_languages", "script_similarity", "compare_source_languages", "source_table",
    "permutation_rank_correlation", "table_vs_uriel", "uriel_features",
    # corpora and languages
    "DEFAULT_SOURCE", "UDHR_HELDOUT_ARTICLES", "UDHR_TOPIC_CLASSES", "read_corpus", "read_parallel_corpus",
    "resolve_language", "udhr_heldout_texts", "udhr_parallel_corpus", "udhr_pretraining_paragraphs",
    "udhr_topic_classification", "udhr_translations", "XLMR_LANGUAGES", "group_averages", "is_head", "map_languages",
    "model_languages", "trained_languages",
    # evaluation text in a pretraining corpus
    "corpus_overlap", "evaluation_sentences", "overlap_table", "pair_overlap",
    # checkpoints and tokenizers
    "checkpoint_config", "is_langsamp_checkpoint", "load_model", "load_tokenizer", "max_tokens", "probe_hub",
    "resolve_model", "resolve_tokenizer",
    # reporting
    "markdown_table", "result_table", "side_by_side_table", "write_json", "write_model_index", "write_result",
]  # fmt: skip
