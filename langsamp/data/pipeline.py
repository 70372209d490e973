"""The build: a checked Corpus (sources.py) turned into MLM pretraining rows `{"input_ids": [max_seq_length ints],
"lang_ids": int, "script_ids": int}` and the PairMixture they follow, cached or streaming, by the steps in order:
chunks per pair (chunking.py; the streamed pairs' sizes from estimates.py), then the mixture (mixture.py)."""

from __future__ import annotations

import logging

import numpy as np
from datasets import Dataset, IterableDataset

from langsamp.data.chunking import (
    PairChunks,
    RowSource,
    StreamSource,
    chunk_rows,
    chunk_sources,
    pair_streams,
    row_streams,
)
from langsamp.data.dedup import BloomFilter, LineRules
from langsamp.data.estimates import PairSizes, row_stream_sizes, source_sizes
from langsamp.data.mixture import PairMixture, draw_epoch, mix_streams
from langsamp.data.phased import PhasedRun, draw_phased
from langsamp.data.phased_stream import draw_phased_stream
from langsamp.data.sampling import check_sampling
from langsamp.data.schedule import RunSchedule
from langsamp.data.sources import Corpus, check_tokenizer, open_corpus

logger = logging.getLogger(__name__)


def check_build_arguments(
    tokenizer, max_seq_length: int, sampling: str, sampling_alpha: float, num_samples: int | None
) -> None:
    """ValueError for a build that cannot work, before any work."""
    check_tokenizer(tokenizer)
    if not isinstance(max_seq_length, (int, np.integer)) or max_seq_length < 2:
        raise ValueError(f"max_seq_length must be an integer >= 2, not {max_seq_length!r}.")
    limit = getattr(tokenizer, "model_max_length", None)
    if limit is not None and limit < 1e9 and max_seq_length > limit:
        raise ValueError(
            f"max_seq_length={max_seq_length} exceeds the tokenizer's model_max_length={limit} (XLM-R's position "
            "table holds 512 tokens): lower it."
        )
    check_sampling(sampling, sampling_alpha)
    if num_samples is not None and (not isinstance(num_samples, (int, np.integer)) or num_samples < 1):
        raise ValueError(f"num_samples must be a positive integer (rows per epoch), not {num_samples!r}.")


def build(
    corpus: Corpus,
    tokenizer,
    *,
    max_seq_length: int = 512,
    sampling_alpha: float = 0.3,
    sampling: str = "alpha",
    streaming: bool = False,
    seed: int = 42,
    num_proc: int | None = None,
    cache_dir=None,
    num_samples: int | None = None,
    pair_sizes: dict | None = None,
    shuffle_buffer_size: int = 1000,
    probe_bytes: int = 1 << 18,
    probe_rows: int = 10_000,
    rules: LineRules | None = None,
) -> tuple[Dataset | IterableDataset, PairMixture]:
    """MLM pretraining rows of a Corpus (`open_corpus`) and the mixture they follow: (Dataset, PairMixture), or
    (IterableDataset, PairMixture) when `streaming` (lazy, no preprocessing pass).

    tokenizer: a LangSAMPTokenizer (its `language_id`/`script_id` give the table rows). sampling: 'alpha' (p_l ~
    n_l^alpha) or 'glot500' (sampling.py). num_proc: processes for tokenization. cache_dir: where datasets caches
    (default HF_DATASETS_CACHE). num_samples: rows per epoch (cached). pair_sizes: {label: size} overriding the
    streaming chunk-count estimates. shuffle_buffer_size: streaming shuffle buffer in chunks (0: none).
    probe_bytes / probe_rows: how much of each streamed pair is tokenized to estimate its size. rules: the lines
    dropped before tokenizing (duplicates, evaluation text: dedup.py), counted per pair in the mixture."""
    if not isinstance(corpus, Corpus):
        raise TypeError(f"build() takes the Corpus that open_corpus() returns, not {type(corpus).__name__}.")
    check_build_arguments(tokenizer, max_seq_length, sampling, sampling_alpha, num_samples)
    mixing = {"sampling": sampling, "alpha": sampling_alpha, "seed": seed}
    stream_mixing = dict(mixing, shuffle_buffer_size=shuffle_buffer_size, rules=rules)
    log_rules(rules, streaming, len(corpus.labels))
    if not streaming and (corpus.sources is not None or isinstance(corpus.rows, Dataset)):
        chunks = cached_chunks(corpus, tokenizer, max_seq_length, num_proc=num_proc, cache_dir=cache_dir, rules=rules)
        return draw_epoch(chunks, num_samples=num_samples, **mixing)
    if not streaming:
        raise ValueError("The corpus is an IterableDataset: pass streaming=True (or load it without streaming).")
    probes = {"probe_bytes": probe_bytes, "probe_rows": probe_rows}
    streams, sizes = stream_pairs(corpus, tokenizer, max_seq_length, pair_sizes, cache_dir, rules, **probes)
    return mix_streams(streams, sizes, tokenizer, max_seq_length, **stream_mixing)


def stream_pairs(
    corpus: Corpus,
    tokenizer,
    max_seq_length: int,
    pair_sizes: dict | None = None,
    cache_dir=None,
    rules: LineRules | None = None,
    *,
    probe_bytes: int = 1 << 18,
    probe_rows: int = 10_000,
) -> tuple[list[StreamSource | RowSource], PairSizes]:
    """(the pairs' streams, their sizes n_l): `pair_sizes`, else estimated from probes less the lines `rules`
    drop. What the unscheduled and the scheduled streaming builds both draw from."""
    if corpus.sources is not None:
        sizes = source_sizes(
            corpus.sources,
            tokenizer,
            max_seq_length,
            pair_sizes=pair_sizes,
            cache_dir=cache_dir,
            probe_bytes=probe_bytes,
            probe_rows=probe_rows,
            rules=rules,
        )
        return pair_streams(corpus.sources, tokenizer, cache_dir), sizes
    rows = corpus.rows
    rows = rows.to_iterable_dataset() if isinstance(rows, Dataset) else rows
    sizes = row_stream_sizes(
        rows, tokenizer, max_seq_length, corpus.languages, pair_sizes=pair_sizes, probe_rows=probe_rows
    )
    return row_streams(rows, sizes.labels, tokenizer), sizes


def cached_chunks(
    corpus: Corpus,
    tokenizer,
    max_seq_length: int,
    *,
    num_proc: int | None = None,
    cache_dir=None,
    rules: LineRules | None = None,
) -> PairChunks:
    """The chunks of a cached corpus (pair sources, or a Dataset of rows), less the lines `rules` drop: what the
    unscheduled and the scheduled builds both draw from, so both drop the same lines."""
    if corpus.sources is not None:
        return chunk_sources(
            corpus.sources, tokenizer, max_seq_length, num_proc=num_proc, cache_dir=cache_dir, rules=rules
        )
    if not isinstance(corpus.rows, Dataset):
        raise ValueError("The corpus is an IterableDataset: pass streaming=True (or load it without streaming).")
    return chunk_rows(
        corpus.rows, corpus.languages, tokenizer, max_seq_length, num_proc=num_proc, cache_dir=cache_dir, rules=rules
    )


def log_rules(rules: LineRules | None, streaming: bool, pairs: int) -> None:
    """What the build drops, said before it reads: the streaming Bloom filters' size and false-positive rate."""
    if rules is None or not rules.active:
        return
    if rules.exclude:
        sentences = sum(len(index) for index in rules.exclude.values())
        logger.info(
            "Dropping the corpus lines that hold one of %d evaluation sentences (%s) of %d pairs.",
            sentences, ", ".join(rules.exclude_names), len(rules.exclude),
        )  # fmt: skip
    if rules.dedup and streaming:
        bloom = BloomFilter.of_megabytes(rules.bloom_megabytes)
        logger.info(
            "Dropping duplicate lines within each pair with a Bloom filter of %g MB a pair (at most %g MB for the "
            "%d pairs), %d hashes: its false-positive rate (a new line dropped as a duplicate) "
            "stays under 1%% up to %d distinct lines a pair, 0.1%% up to %d; each pair's rate is logged when it has "
            "been read through.",
            rules.bloom_megabytes, rules.bloom_megabytes * pairs, pairs, bloom.hashes, bloom.capacity(0.01),
            bloom.capacity(0.001),
        )  # fmt: skip
    elif rules.dedup:
        logger.info("Dropping exact duplicate lines within each pair (normalised: NFC, white space collapsed).")


def build_phased(
    corpus: Corpus,
    tokenizer,
    schedule: RunSchedule,
    *,
    max_seq_length: int,
    num_proc: int | None = None,
    cache_dir=None,
    rules: LineRules | None = None,
    streaming: bool = False,
) -> PhasedRun:
    """A run with schedules: its rows in step order, the held-out chunks set aside first, and the mixture with its
    phases; cached (phased.py) or `streaming` (phased_stream.py). rules: the lines dropped before tokenizing, as
    `build` drops them."""
    log_rules(rules, streaming, len(corpus.labels))
    if streaming:
        streams, sizes = stream_pairs(corpus, tokenizer, max_seq_length, cache_dir=cache_dir, rules=rules)
        return draw_phased_stream(streams, sizes, tokenizer, schedule, max_seq_length=max_seq_length, rules=rules)
    if corpus.sources is None and not isinstance(corpus.rows, Dataset):
        raise ValueError("The corpus is an IterableDataset: pass streaming=True (or load it without streaming).")
    chunks = cached_chunks(corpus, tokenizer, max_seq_length, num_proc=num_proc, cache_dir=cache_dir, rules=rules)
    return draw_phased(chunks, schedule)


def build_pretraining_dataset(
    corpus,
    tokenizer,
    max_seq_length: int = 512,
    sampling_alpha: float = 0.3,
    languages=None,
    streaming: bool = False,
    seed: int = 42,
    num_proc: int | None = None,
    cache_dir=None,
    *,
    sampling: str = "alpha",
    split: str = "train",
    num_samples: int | None = None,
    pair_sizes: dict | None = None,
    shuffle_buffer_size: int = 1000,
    probe_bytes: int = 1 << 18,
    probe_rows: int = 10_000,
    return_mixture: bool = False,
) -> Dataset | IterableDataset | tuple[Dataset | IterableDataset, PairMixture]:
    """`open_corpus` and `build` in one call: MLM pretraining rows `{"input_ids": [max_seq_length], "lang_ids":
    int, "script_ids": int}`, and the PairMixture too with `return_mixture`.

    corpus: anything `open_corpus` takes (a Glot500-c directory, a per-pair snapshot, a dataset id or folder with
        one config per pair, or the `{label: PairSource}` `find_pairs` returns; a Dataset/IterableDataset with
        text/lang(/script) columns, or a name/path that load_text_dataset() reads), or a Corpus. languages: keep
        only these codes/labels. split: the split of per-pair datasets. The other arguments: `build`.
    """
    check_build_arguments(tokenizer, max_seq_length, sampling, sampling_alpha, num_samples)  # before any work
    if not isinstance(corpus, Corpus):
        corpus = open_corpus(
            corpus, tokenizer, languages=languages, split=split, streaming=streaming, cache_dir=cache_dir
        )
    dataset, mixture = build(
        corpus,
        tokenizer,
        max_seq_length=max_seq_length,
        sampling_alpha=sampling_alpha,
        sampling=sampling,
        streaming=streaming,
        seed=seed,
        num_proc=num_proc,
        cache_dir=cache_dir,
        num_samples=num_samples,
        pair_sizes=pair_sizes,
        shuffle_buffer_size=shuffle_buffer_size,
        probe_bytes=probe_bytes,
        probe_rows=probe_rows,
    )
    return (dataset, mixture) if return_mixture else dataset
