"""Tokenising and chunking per language-script pair (the published recipe: every line tokenized with its special
tokens, `<s> ... </s>`, as run_mlm.py does; the token streams concatenated PER PAIR and cut into chunks of
`max_seq_length`; the pair's last partial chunk dropped). A pair of T tokens thus gives exactly
floor(T / max_seq_length) chunks, and a chunk never mixes pairs. Rows: `{"input_ids": [max_seq_length ints],
"lang_ids": int, "script_ids": int}`.

Two paths, one chunker (so both give the same chunks):
  * cached: the pairs' lines, one pair after the other, go through `Dataset.map` twice (tokenize, in `num_proc`
    processes; chunk, in one) with explicit fingerprints (cache.py): a second build with the same corpus, tokenizer
    and `max_seq_length` loads the cached Arrow files instead of tokenizing again;
  * streaming: one IterableDataset with a shard per pair, each pair read lazily (text files in small batches,
    closed in between; other sources opened when the stream reaches them), tokenized and chunked on the fly, in
    file order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow.compute as pc
from datasets import Dataset, Features, IterableDataset, List, Value, concatenate_datasets

from langsamp.data.cache import SharedTokenizer, fingerprint, map_cache_file, tokenizer_fingerprint
from langsamp.data.dedup import LineCounts, LinePass, LineRules, filter_pairs
from langsamp.data.labels import as_lookup
from langsamp.data.opening import open_pairs, stream_pair
from langsamp.data.reading import read_text_lines
from langsamp.data.rows import group_rows_by_pair, pair_labels
from langsamp.data.sources import PairSource

CHUNK_FEATURES = Features({"input_ids": List(Value("int32")), "lang_ids": Value("int32"), "script_ids": Value("int32")})
TOKEN_FEATURES = Features({"input_ids": List(Value("int32"))})
# Lines per batch when chunking (cached path) and when tokenizing a stream. The chunks do not depend on them
# (a pair's remainder carries over from batch to batch); the tests set them small to exercise that.
CHUNK_BATCH_ROWS = 1000
STREAM_BATCH_LINES = 256

logger = logging.getLogger(__name__)


def tokenize_texts(tokenizer, texts: Sequence[str | None]) -> list[list[int]]:
    """Token ids of each line with `<s> ... </s>`; a blank line (or None) gives no tokens."""
    keep = [i for i, text in enumerate(texts) if text and not text.isspace()]
    encoded = tokenizer([texts[i] for i in keep], add_special_tokens=True, verbose=False)["input_ids"] if keep else []
    ids = [[] for _ in texts]
    for i, row in zip(keep, encoded):
        ids[i] = row
    return ids


def tokenize_batch(batch: dict, tokenizer) -> dict:
    """Batched `map` function: the token ids of every line (column `input_ids`)."""
    return {"input_ids": tokenize_texts(tokenizer, batch["text"])}


class Chunker:
    """Concatenates one pair's token lists and cuts full chunks; the remainder waits for the next lines."""

    def __init__(self, size: int):
        self.size, self.carry = size, []

    def feed(self, token_lists: Sequence[Sequence[int]]) -> list[list[int]]:
        tokens = self.carry
        for ids in token_lists:
            tokens.extend(ids)
        n = len(tokens) // self.size
        chunks = [tokens[i * self.size : (i + 1) * self.size] for i in range(n)]
        self.carry = tokens[n * self.size :]
        return chunks


class ChunkPairs:
    """Batched `map` function over the tokenized lines of all pairs, one pair after the other (rows
    `row_starts[k]` to `row_starts[k+1]` belong to pair k). Stateful: a pair's remainder carries over to the
    next batch, so the map must run in ONE process, in order (num_proc=None); a new instance per map."""

    def __init__(self, row_starts, lang_ids: Sequence[int], script_ids: Sequence[int], size: int):
        self.row_starts, self.lang_ids, self.script_ids, self.size = np.asarray(row_starts), lang_ids, script_ids, size
        self.pair, self.chunker = None, None

    def __call__(self, batch: dict, indices: Sequence[int]) -> dict:
        out = {"input_ids": [], "lang_ids": [], "script_ids": []}
        pairs = np.searchsorted(self.row_starts, indices, side="right") - 1
        cuts = np.flatnonzero(np.diff(pairs)) + 1
        for start, stop in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(pairs)]])):
            pair = int(pairs[start])
            if pair != self.pair:
                self.pair, self.chunker = pair, Chunker(self.size)
            chunks = self.chunker.feed(batch["input_ids"][start:stop])
            out["input_ids"].extend(chunks)
            out["lang_ids"].extend([self.lang_ids[pair]] * len(chunks))
            out["script_ids"].extend([self.script_ids[pair]] * len(chunks))
        return out


def table_ids(tokenizer, labels: Sequence[str]) -> tuple[dict[str, int], dict[str, int]]:
    """({label: language table row}, {label: script table row}) of the pairs."""
    return (
        {label: tokenizer.language_id(label.split("_")[0]) for label in labels},
        {label: tokenizer.script_id(label.split("_")[1]) for label in labels},
    )


def check_enough_tokens(tokens: Mapping[str, int], max_seq_length: int) -> None:
    """ValueError naming the pairs with fewer tokens than one chunk."""
    short = {label: n for label, n in tokens.items() if n < max_seq_length}
    if not short:
        return
    listed = ", ".join(f"{label} has {n} tokens" for label, n in list(short.items())[:20])
    raise ValueError(
        f"{len(short)} pair(s) have fewer tokens than max_seq_length={max_seq_length}, so not a single chunk: "
        f"{listed}. Give them more text, leave them out with `languages`, or lower max_seq_length."
    )


# ----------------------------------------------------------------------------------------------------------------
# Cached (non-streaming)


@dataclass(frozen=True)
class PairChunks:
    """The chunks of all pairs, pair after pair (`sizes[label]` of each, in file or dataset order), with each
    pair's token count and table rows."""

    chunks: Dataset
    labels: list[str]
    sizes: dict[str, int]
    tokens: dict[str, int]
    lang_ids: dict[str, int]
    script_ids: dict[str, int]
    max_seq_length: int
    lines: dict[str, LineCounts] = field(default_factory=dict)  # with LineRules: each pair's lines kept and dropped


def chunk_sources(
    sources: Mapping[str, PairSource],
    tokenizer,
    max_seq_length: int,
    *,
    num_proc: int | None = None,
    cache_dir=None,
    rules: LineRules | None = None,
) -> PairChunks:
    """The chunks of a corpus of pair sources (all opened, then tokenized and chunked)."""
    labels = list(sources)
    texts = open_pairs(sources, streaming=False, cache_dir=cache_dir)
    row_counts = [len(texts[label]) for label in labels]
    combined = concatenate_datasets([texts[label] for label in labels]) if len(labels) > 1 else texts[labels[0]]
    return chunk_texts(
        combined,
        [texts[label]._fingerprint for label in labels],
        row_counts,
        labels,
        tokenizer,
        max_seq_length,
        num_proc=num_proc,
        cache_dir=cache_dir,
        rules=rules,
    )


def chunk_rows(
    dataset: Dataset,
    languages,
    tokenizer,
    max_seq_length: int,
    *,
    num_proc: int | None = None,
    cache_dir=None,
    rules: LineRules | None = None,
) -> PairChunks:
    """The chunks of a Dataset with text/lang(/script) columns: every row labelled with its pair, rows grouped by
    pair, then tokenized and chunked."""
    grouped, labels, row_counts = group_rows_by_pair(
        dataset,
        languages,
        as_lookup(tokenizer.languages),
        list(tokenizer.scripts),
        num_proc=num_proc,
        cache_dir=cache_dir,
    )
    return chunk_texts(
        grouped,
        grouped._fingerprint,
        row_counts,
        labels,
        tokenizer,
        max_seq_length,
        num_proc=num_proc,
        cache_dir=cache_dir,
        rules=rules,
    )


def chunk_texts(
    texts: Dataset,
    texts_fingerprint,
    row_counts: Sequence[int],
    labels: Sequence[str],
    tokenizer,
    max_seq_length: int,
    *,
    num_proc: int | None = None,
    cache_dir=None,
    rules: LineRules | None = None,
) -> PairChunks:
    """`texts` (the pairs' lines one pair after the other, `row_counts` of each), less the lines `rules` drop,
    tokenized (num_proc processes) and chunked per pair (one process)."""
    labels = list(labels)
    lines = {}
    if rules is not None and rules.active:
        kept, lines = filter_pairs(texts, row_counts, labels, rules)
        texts_fingerprint = fingerprint("kept-lines", texts_fingerprint, rules.fingerprint())
        texts = texts.select(kept, new_fingerprint=texts_fingerprint)
        row_counts = [lines[label].kept for label in labels]
    lang_ids, script_ids = table_ids(tokenizer, labels)
    hashed = fingerprint("tokens", texts_fingerprint, tokenizer_fingerprint(tokenizer))
    tokenized = texts.map(
        tokenize_batch,
        batched=True,
        # datasets starts a worker pool (and pickles the 15 MB tokenizer into it) for any num_proc >= 1.
        num_proc=num_proc if num_proc and num_proc > 1 else None,
        remove_columns=texts.column_names,
        fn_kwargs={"tokenizer": tokenizer},
        features=TOKEN_FEATURES,
        new_fingerprint=hashed,
        cache_file_name=map_cache_file(cache_dir, "tokens", hashed),
        desc="Tokenizing",
    )
    row_starts = np.concatenate([[0], np.cumsum(row_counts)[:-1]]).astype(np.int64)
    column = tokenized.data.column("input_ids")
    tokens = {
        label: int(pc.sum(pc.list_value_length(column.slice(int(start), int(count)))).as_py() or 0)
        for label, start, count in zip(labels, row_starts, row_counts)
    }
    check_enough_tokens(tokens, max_seq_length)
    sizes = {label: tokens[label] // max_seq_length for label in labels}
    chunks = _cut(tokenized, row_starts, row_counts, labels, lang_ids, script_ids, max_seq_length, cache_dir)
    if len(chunks) != sum(sizes.values()):
        raise RuntimeError(
            f"Chunking gave {len(chunks)} chunks where the token counts give {sum(sizes.values())}: the cache at "
            f"{chunks.cache_files[:1]} is stale or corrupt; delete it and run again."
        )
    return PairChunks(chunks, labels, sizes, tokens, lang_ids, script_ids, max_seq_length, lines)


def _cut(tokenized, row_starts, row_counts, labels, lang_ids, script_ids, length, cache_dir):
    hashed = fingerprint("chunks", tokenized._fingerprint, length, labels, lang_ids, script_ids, list(row_counts))
    return tokenized.map(
        ChunkPairs(row_starts, [lang_ids[label] for label in labels], [script_ids[label] for label in labels], length),
        batched=True,
        batch_size=CHUNK_BATCH_ROWS,
        with_indices=True,
        num_proc=None,  # stateful chunker: rows in order, one process
        remove_columns=["input_ids"],
        features=CHUNK_FEATURES,
        new_fingerprint=hashed,
        cache_file_name=map_cache_file(cache_dir, "chunks", hashed),
        desc=f"Chunking into {length}-token sequences",
    )


# ----------------------------------------------------------------------------------------------------------------
# Streaming


@dataclass(frozen=True)
class StreamSource:
    """One pair of a per-pair corpus, read lazily. It holds where the pair's text is (a PairSource), not an open
    stream: datasets copies a generator's arguments per shard and per iteration, and every copy of an
    IterableDataset opens a torch shared-memory file for its epoch counter (673 pairs: "Too many open files").
    Text files are read in small batches and closed in between (`read_text_lines`); other kinds are opened when
    the stream reaches them (`stream_pair`)."""

    label: str
    source: PairSource
    lang_id: int
    script_id: int
    cache_dir: str | None = None

    def text_batches(self, batch_size: int) -> Iterator[list[str]]:
        try:
            if self.source.kind == "text":
                yield from read_text_lines(self.source.files, batch_size)
                return
            for batch in stream_pair(self.source, self.cache_dir).iter(batch_size=batch_size):
                yield batch["text"]
        except (OSError, EOFError, UnicodeDecodeError, ValueError) as error:  # a file corrupt past its start
            raise ValueError(
                f"Corpus {self.source.origin} ({self.label}) cannot be read to its end: "
                f"{type(error).__name__}: {error}. Replace or remove the corrupt file."
            ) from error


@dataclass(frozen=True)
class RowSource:
    """One pair of a text/lang dataset: its rows, filtered from the (shared) stream."""

    label: str
    rows: IterableDataset
    lang_id: int
    script_id: int
    languages: tuple
    scripts: tuple

    def text_batches(self, batch_size: int) -> Iterator[list[str]]:
        lookup = dict.fromkeys(self.languages)
        for batch in self.rows.iter(batch_size=batch_size):
            texts = batch["text"]
            given = batch["script"] if "script" in batch else [None] * len(texts)
            labels = pair_labels(texts, batch["lang"], given, lookup, list(self.scripts))
            yield [text for text, label in zip(texts, labels) if label == self.label]


def pair_streams(sources: Mapping[str, PairSource], tokenizer, cache_dir=None) -> list[StreamSource]:
    """The streamed pairs of a corpus of pair sources, in its order."""
    lang_ids, script_ids = table_ids(tokenizer, list(sources))
    return [
        StreamSource(label, source, lang_ids[label], script_ids[label], cache_dir) for label, source in sources.items()
    ]


def row_streams(rows: IterableDataset, labels: Sequence[str], tokenizer) -> list[RowSource]:
    """The streamed pairs of a text/lang(/script) stream, one per label."""
    lang_ids, script_ids = table_ids(tokenizer, labels)
    languages, scripts = tuple(as_lookup(tokenizer.languages)), tuple(tokenizer.scripts)
    return [RowSource(label, rows, lang_ids[label], script_ids[label], languages, scripts) for label in labels]


class SharedSources:
    """All pairs' sources as ONE argument of the streaming generator, next to the list of pair numbers that
    datasets splits into shards. datasets deep-copies the generator's builder, arguments included, for every
    shard and again when interleaving: with the sources themselves as the sharded list, that is pairs x pairs
    copies (673 pairs: minutes). The sources are read-only, so copies share them."""

    def __init__(self, sources: Sequence[StreamSource | RowSource], rules: LineRules | None = None):
        self.sources, self.rules = tuple(sources), rules

    def __deepcopy__(self, memo):
        return self


def generate_chunks(
    pairs: Sequence[int], sources: SharedSources, tokenizer: SharedTokenizer, max_seq_length: int
) -> Iterator[dict]:
    """IterableDataset generator: the chunks of each pair numbered in `pairs`, built by the same code as the
    cached path."""
    tokenizer, rules = tokenizer.tokenizer, sources.rules
    for pair in pairs:
        source = sources.sources[pair]
        chunker = Chunker(max_seq_length)
        lines = rules.stream_pass(source.label) if rules is not None and rules.active else None
        for texts in source.text_batches(STREAM_BATCH_LINES):
            if lines is not None:
                texts = [text for text, keep in zip(texts, lines.keep(texts)) if keep]
            for chunk in chunker.feed(tokenize_texts(tokenizer, texts)):
                yield {"input_ids": chunk, "lang_ids": source.lang_id, "script_ids": source.script_id}
        if lines is not None and source.label not in rules.read_through:  # a small pair restarts: said once
            log_stream_pass(source.label, lines)
            rules.read_through[source.label] = lines.counts


def log_stream_pass(label: str, lines: LinePass) -> None:
    """A streamed pair read through: its lines kept and dropped, and its Bloom filter's false-positive rate."""
    c = lines.counts
    bloom = lines.bloom
    rate = ""
    if bloom is not None:
        rate = f"; Bloom filter {bloom.fill():.1%} full, false-positive rate {bloom.false_positive_rate():.2e}"
    logger.info(
        "%s read through: %d lines, %d holding evaluation text, %d duplicates, %d kept%s.",
        label, c.lines, c.excluded, c.duplicates, c.kept, rate,
    )  # fmt: skip


def chunk_stream(
    sources: Sequence[StreamSource | RowSource], tokenizer, max_seq_length: int, rules: LineRules | None = None
) -> IterableDataset:
    """The pairs' chunks as ONE generator dataset with a shard per pair, in the order of `sources` (datasets
    hashes the generator's arguments, tokenizer included, once), less the lines `rules` drop."""
    return IterableDataset.from_generator(
        generate_chunks,
        features=CHUNK_FEATURES,
        gen_kwargs={
            "pairs": list(range(len(sources))),
            "sources": SharedSources(sources, rules),
            "tokenizer": SharedTokenizer(tokenizer),
            "max_seq_length": max_seq_length,
        },
    )
