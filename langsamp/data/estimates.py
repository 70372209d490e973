"""The sizes n_l of streamed pairs, which the mixture's probabilities need before any full pass over the text.

Estimated from a probe of each pair's first text (tokens per byte, per row) times its size: for text files their
size on disk (with the text bytes per byte on disk of the probe, which differs for compressed files); for datasets
the rows or bytes their metadata gives (README `dataset_info`), else the size of their data files (compressed
Parquet: a common factor for all pairs, which the normalised p_l does not see). Exact when the probe covered the
whole pair; or given by `pair_sizes`. A text/lang stream's pairs themselves are known only from its first rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import fsspec
from datasets import IterableDataset, load_dataset_builder

from langsamp.data.chunking import check_enough_tokens, tokenize_texts
from langsamp.data.dedup import LinePass, LineRules
from langsamp.data.labels import LABEL_PATTERN, SCRIPT_SAMPLE_LINES, as_lookup, select_pairs
from langsamp.data.opening import open_pairs
from langsamp.data.reading import probe_text
from langsamp.data.rows import check_row_pair_scripts, pair_labels
from langsamp.data.sources import PairSource

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairSizes:
    """The pairs of a stream (labels), their sizes n_l in chunks, their token counts (empty when the sizes were
    given) and whether the sizes are estimates."""

    labels: list[str]
    sizes: dict
    tokens: dict = field(default_factory=dict)
    estimated: bool = False
    lines: dict = field(default_factory=dict)  # {label: LineCounts} of the probes, when lines were dropped


def estimate_tokens(
    files: Iterable, tokenizer, probe_bytes: int = 1 << 18, lines: LinePass | None = None
) -> tuple[int, bool]:
    """(tokens, exact): a pair's token count as the pipeline counts it, from a probe of its first text files.

    The first `probe_bytes` of text are tokenized (tokens per text byte) and up to 16x as much text is read
    (cheap, no tokenizing) to measure text bytes per byte on disk, which differs for compressed files; the
    product is extrapolated to the files' total size on disk. `exact` is True when the tokenized probe covered
    every file (then `tokens` is the exact count). `lines`: the probe's lines that it drops are not counted."""
    files = [Path(f) for f in files]
    sample, sample_bytes, text_bytes, disk_bytes, whole = probe_text(files, probe_bytes)
    if lines is not None:
        sample = [text for text, keep in zip(sample, lines.keep(sample)) if keep]
    tokens = sum(
        len(ids)
        for start in range(0, len(sample), 256)
        for ids in tokenize_texts(tokenizer, sample[start : start + 256])
    )
    if whole and sample_bytes == text_bytes:
        return tokens, True
    text_total = text_bytes if whole else text_bytes / max(disk_bytes, 1) * sum(f.stat().st_size for f in files)
    return int(round(tokens / max(sample_bytes, 1) * text_total)), False


def estimate_dataset_tokens(
    rows: IterableDataset, source: PairSource, tokenizer, probe_rows: int = 10_000, lines: LinePass | None = None
) -> tuple[int, bool]:
    """(tokens, exact) of one pair of a dataset corpus (shards or a config), from its first `probe_rows` rows:
    exact when they are all its rows; else tokens per row x the split's rows from the dataset's metadata, or
    tokens per text byte x its bytes from the metadata, or x the size of its data files."""
    tokens, text_bytes, count = 0, 0, 0
    for batch in rows.take(probe_rows).iter(batch_size=256):
        texts = batch["text"]
        count += len(texts)
        text_bytes += sum(len(t.encode("utf-8")) for t in texts if t)
        if lines is not None:
            texts = [text for text, keep in zip(texts, lines.keep(texts)) if keep]
        tokens += sum(len(ids) for ids in tokenize_texts(tokenizer, texts))
    if count < probe_rows:
        return tokens, True
    splits = getattr(rows.info, "splits", None) or {}
    info = splits.get(source.split)
    if info is not None and info.num_examples:
        return int(round(tokens / count * info.num_examples)), False
    if info is not None and info.num_bytes:
        return int(round(tokens / max(text_bytes, 1) * info.num_bytes)), False
    files = list(source.files) if source.kind == "shards" else _config_data_files(source)
    disk = sum(fsspec.core.url_to_fs(str(f))[0].size(str(f)) for f in files)
    return int(round(tokens / max(text_bytes, 1) * max(disk, text_bytes))), False


def _config_data_files(source):
    if source.kind != "config":
        return []
    data_files = load_dataset_builder(source.path, source.config).config.data_files or {}
    return list(data_files.get(source.split, []))


def given_sizes(pair_sizes: Mapping[str, float], labels: Sequence[str]) -> dict:
    """`pair_sizes` for `labels`; ValueError naming the pairs it gives no size for."""
    missing = [label for label in labels if label not in pair_sizes]
    if missing:
        raise ValueError(f"pair_sizes has no size for {missing}; it must give one for every pair.")
    return {label: pair_sizes[label] for label in labels}


def source_sizes(
    sources: Mapping[str, PairSource],
    tokenizer,
    max_seq_length: int,
    *,
    pair_sizes=None,
    cache_dir=None,
    probe_bytes: int = 1 << 18,
    probe_rows: int = 10_000,
    rules: LineRules | None = None,
) -> PairSizes:
    """The sizes of a streamed corpus of pair sources: `pair_sizes` when given, else estimated per pair from
    what `rules` keep of its probe. The pairs that are not text files are opened here for their checks and size
    probes (and closed again: the stream reopens each pair when it reaches it); text files were checked when
    found."""
    labels = list(sources)
    streams = open_pairs(
        {label: s for label, s in sources.items() if s.kind != "text"}, streaming=True, cache_dir=cache_dir
    )
    if pair_sizes is not None:
        return PairSizes(labels, given_sizes(pair_sizes, labels))
    tokens, exact, lines = {}, True, {}
    for label, source in sources.items():
        probe = rules.exact_pass(label) if rules is not None and rules.active else None
        if source.kind == "text":
            tokens[label], whole = estimate_tokens(source.files, tokenizer, probe_bytes, probe)
        else:
            tokens[label], whole = estimate_dataset_tokens(streams[label], source, tokenizer, probe_rows, probe)
        exact = exact and whole
        if probe is not None:
            lines[label] = probe.counts
    check_enough_tokens(tokens, max_seq_length)
    sizes = {label: max(1, tokens[label] // max_seq_length) for label in labels}
    return PairSizes(labels, sizes, tokens, not exact, lines)


def row_stream_sizes(
    rows: IterableDataset, tokenizer, max_seq_length: int, languages=None, *, pair_sizes=None, probe_rows: int = 10_000
) -> PairSizes:
    """The pairs and sizes of a text/lang(/script) stream: the pairs `pair_sizes` names, with those sizes; else
    the pairs and token counts of its first `probe_rows` rows (estimates, unless those were all its rows)."""
    model_languages = as_lookup(tokenizer.languages)
    if pair_sizes is not None:
        for label in pair_sizes:
            if not LABEL_PATTERN.match(label):
                raise ValueError(f"pair_sizes key {label!r} is not a <iso639-3>_<Script> label such as 'hin_Deva'.")
        labels = select_pairs(sorted(pair_sizes), languages, model_languages)
        return PairSizes(labels, given_sizes(pair_sizes, labels))
    tokens, samples, probed = _probe_rows(rows, tokenizer, probe_rows)
    labels = select_pairs(sorted(tokens), languages, model_languages)
    check_row_pair_scripts({label: samples[label] for label in labels})
    estimated = probed >= probe_rows  # else the probe read the whole dataset: exact counts
    if not estimated:
        check_enough_tokens({label: tokens[label] for label in labels}, max_seq_length)
    sizes = {label: max(1, tokens[label] // max_seq_length) for label in labels}
    if estimated:
        logger.warning(
            f"Streaming a text/lang dataset: pairs and their sizes are estimated from its first {probe_rows} rows "
            f"({', '.join(labels)}). If the dataset is sorted by language, pass pair_sizes={{label: size}}."
        )
    return PairSizes(labels, sizes, tokens, estimated)


def _probe_rows(rows, tokenizer, probe_rows):
    """({label: tokens}, {label: first texts}, rows read) of a stream's first `probe_rows` rows."""
    model_languages, model_scripts = as_lookup(tokenizer.languages), list(tokenizer.scripts)
    tokens, probed, samples = {}, 0, {}
    for batch in rows.take(probe_rows).iter(batch_size=1000):
        probed += len(batch["text"])
        given = batch["script"] if "script" in batch else [None] * len(batch["text"])
        labels_of_rows = pair_labels(batch["text"], batch["lang"], given, model_languages, model_scripts)
        for label, text in zip(labels_of_rows, batch["text"]):
            if label and len(samples.setdefault(label, [])) < SCRIPT_SAMPLE_LINES:
                samples[label].append(text)
        for label, ids in zip(labels_of_rows, tokenize_texts(tokenizer, batch["text"])):
            if label:
                tokens[label] = tokens.get(label, 0) + len(ids)
    if not tokens:
        raise ValueError(f"The first {probe_rows} rows of the corpus hold no text.")
    return tokens, samples, probed
