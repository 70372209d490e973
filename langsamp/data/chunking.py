"""What is done to a corpus for LangSAMP's continual pretraining: tokenising, chunking per language-script pair,
and mixing the pairs (the published recipe, see ../shared/notes/original-release.md, "Data and training recipe").
Where the corpus comes from (text folders, snapshots, Hub configs, datasets with a `lang` column) is
`corpus_sources.py`; how many rows each pair gets is `sampling.py`; the masking collator is `masking.py`.

`build_pretraining_dataset` turns a corpus into rows `{"input_ids": [max_seq_length ints], "lang_ids": int,
"script_ids": int}`:
  1. every line (row of `text`) is tokenized with its special tokens (`<s> ... </s>`, as run_mlm.py does);
  2. the token streams are concatenated PER language-script pair and cut into chunks of `max_seq_length`;
     the pair's last partial chunk is dropped, so a pair of T tokens gives exactly floor(T / max_seq_length)
     chunks and a chunk never mixes pairs;
  3. pairs are mixed by `sampling.py`'s rule: p_l ~ n_l^alpha (default; n_l the pair's chunks) or Glot500-c's.

What an epoch is (non-streaming): `num_samples` rows (default: as many as the corpus has chunks, or as many as
Glot500's rule writes), of which pair l gets round(num_samples * p_l) (largest-remainder rounding), in a seeded
random order. Inside a pair, chunks are taken in a seeded random permutation; a pair drawn more often than it has
chunks starts a fresh permutation only after all its chunks were used. So with alpha = 1 an epoch is exactly a
shuffle of the corpus, and an under-sampled large pair contributes distinct chunks. `datasets.interleave_datasets`
is not used here: its stopping strategies tie the epoch to the extreme pairs ("first_exhausted" ends when the
smallest pair runs out and never reaches most of the large ones; "all_exhausted" lasts max_l n_l / p_l rows, about
600M index rows for Glot500-c at alpha 0.3). For a run longer than one epoch, pass `num_samples = max_steps x
global batch`: the whole run is then one draw from the mixture and large pairs keep contributing new chunks.

Streaming: each pair is read lazily, tokenized and chunked on the fly by the same code as above (the same chunks,
in file order), and the pairs are mixed by `datasets.interleave_datasets(probabilities=p, seed=seed,
stopping_strategy="all_exhausted")` with the same p_l. The chunk counts n_l are not known without a full pass;
they are estimated from a probe of each pair's first text (tokens per byte, per row) times its size: for text
files their size on disk (with the text bytes per byte on disk of the probe, which differs for compressed files);
for datasets the rows or bytes their metadata gives (README `dataset_info`), else the size of their data files
(compressed Parquet: a common factor for all pairs, which the normalised p_l does not see). Exact when the probe
covered the whole pair; or given by `pair_sizes`. A streaming epoch ends once every pair has been read through at
least once (smaller-than-expected pairs restart meanwhile); train with `max_steps`. A `shuffle_buffer_size`
buffer (default 1000 chunks, seeded, reseeded each epoch by the Trainer's `set_epoch`) breaks up consecutive
chunks of one document.

Everything is deterministic given `seed` (numpy PCG64 and datasets' seeded generators), so a resumed run that
rebuilds the dataset sees the same rows in the same order. The non-streaming preprocessing (tokenization,
chunking) runs through `Dataset.map` with explicit fingerprints: a second build with the same corpus,
tokenizer and `max_seq_length` loads the cached Arrow files instead of tokenizing again; only the (cheap)
sampling is redone.
"""

import dataclasses
import hashlib
import io
import json
import logging
import os
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import Dataset, Features, IterableDataset, List, Value, concatenate_datasets, interleave_datasets, load_dataset_builder
from datasets.fingerprint import Hasher
from fsspec.compression import compr

from langsamp.data.corpus_sources import (
    LABEL_PATTERN,
    SCRIPT_SAMPLE_LINES,
    PairSource,
    as_lookup,
    check_row_pair_scripts,
    check_text_columns,
    compression_of,
    find_pairs,
    label_batch,
    load_text_dataset,
    open_pairs,
    pair_labels,
    read_text_lines,
    select_pairs,
    stream_pair,
)
from langsamp.data.sampling import check_sampling, default_epoch_size, epoch_indices, mixture_probabilities, sample_counts
from langsamp_codes import parse_language

logger = logging.getLogger(__name__)

CHUNK_FEATURES = Features({"input_ids": List(Value("int32")), "lang_ids": Value("int32"), "script_ids": Value("int32")})
TOKEN_FEATURES = Features({"input_ids": List(Value("int32"))})
PIPELINE_VERSION = "langsamp-data-1"  # part of every fingerprint: bump when the chunking changes
# Lines per batch when chunking (cached path) and when tokenizing a stream. The chunks do not depend on them
# (a pair's remainder carries over from batch to batch); the tests set them small to exercise that.
CHUNK_BATCH_ROWS = 1000
STREAM_BATCH_LINES = 256


@dataclass(frozen=True)
class BuildSettings:
    """Everything `build_pretraining_dataset` was asked for, handed along as one value."""

    tokenizer: object
    max_seq_length: int = 512
    sampling: str = "alpha"
    alpha: float = 0.3
    seed: int = 42
    num_proc: int | None = None
    cache_dir: str | None = None
    num_samples: int | None = None
    pair_sizes: dict | None = None
    shuffle_buffer_size: int = 1000
    probe_bytes: int = 1 << 18
    probe_rows: int = 10_000

    def lang_id(self, label):
        return self.tokenizer.language_id(label.split("_")[0])

    def script_id(self, label):
        return self.tokenizer.script_id(label.split("_")[1])


# ----------------------------------------------------------------------------------------------------------------
# Tokenization and chunking (shared by the cached and the streaming path, so both give the same chunks)


def _tokenize_texts(tokenizer, texts):
    """Token ids of each line with `<s> ... </s>`; a blank line (or None) gives no tokens."""
    keep = [i for i, text in enumerate(texts) if text and not text.isspace()]
    encoded = tokenizer([texts[i] for i in keep], add_special_tokens=True, verbose=False)["input_ids"] if keep else []
    ids = [[] for _ in texts]
    for i, row in zip(keep, encoded):
        ids[i] = row
    return ids


def _tokenize_batch(batch, tokenizer):
    return {"input_ids": _tokenize_texts(tokenizer, batch["text"])}


class _Chunker:
    """Concatenates one pair's token lists and cuts full chunks; the remainder waits for the next lines."""

    def __init__(self, size):
        self.size, self.carry = size, []

    def feed(self, token_lists):
        tokens = self.carry
        for ids in token_lists:
            tokens.extend(ids)
        n = len(tokens) // self.size
        chunks = [tokens[i * self.size : (i + 1) * self.size] for i in range(n)]
        self.carry = tokens[n * self.size :]
        return chunks


class _ChunkPairs:
    """Batched `map` function over the tokenized lines of all pairs, one pair after the other (rows
    `row_starts[k]` to `row_starts[k+1]` belong to pair k). Stateful: a pair's remainder carries over to the
    next batch, so the map must run in ONE process, in order (num_proc=None); a new instance per map."""

    def __init__(self, row_starts, lang_ids, script_ids, size):
        self.row_starts, self.lang_ids, self.script_ids, self.size = np.asarray(row_starts), lang_ids, script_ids, size
        self.pair, self.chunker = None, None

    def __call__(self, batch, indices):
        out = {"input_ids": [], "lang_ids": [], "script_ids": []}
        pairs = np.searchsorted(self.row_starts, indices, side="right") - 1
        cuts = np.flatnonzero(np.diff(pairs)) + 1
        for start, stop in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(pairs)]])):
            pair = int(pairs[start])
            if pair != self.pair:
                self.pair, self.chunker = pair, _Chunker(self.size)
            chunks = self.chunker.feed(batch["input_ids"][start:stop])
            out["input_ids"].extend(chunks)
            out["lang_ids"].extend([self.lang_ids[pair]] * len(chunks))
            out["script_ids"].extend([self.script_ids[pair]] * len(chunks))
        return out


@dataclass
class PairMixture:
    """What `build_pretraining_dataset` mixes: per pair (label `hin_Deva`), its table rows, its chunk count n_l
    (estimated when streaming without `pair_sizes`), its sampling probability, and the epoch's rows."""

    labels: list
    lang_ids: dict
    script_ids: dict
    sizes: dict
    probabilities: dict
    alpha: float
    max_seq_length: int
    estimated: bool = False
    samples: dict = field(default_factory=dict)  # rows per pair in one (non-streaming) epoch
    tokens: dict = field(default_factory=dict)  # tokens per pair (exact when not estimated)
    sampling: str = "alpha"

    @property
    def num_samples(self):
        return sum(self.samples.values()) if self.samples else None

    def summary(self, limit=20):
        kind = "estimated " if self.estimated else ""
        rule = f"alpha={self.alpha}" if self.sampling == "alpha" else f"Glot500-c's sampling (alpha={self.alpha})"
        lines = [f"{len(self.labels)} language-script pairs, chunks of {self.max_seq_length} tokens, {rule}:"]
        order = sorted(self.labels, key=lambda label: -self.probabilities[label])
        for label in order[:limit]:
            rows = f", {self.samples[label]} rows/epoch" if self.samples else ""
            lines.append(f"  {label:>10}: {kind}{self.sizes[label]} chunks, p={self.probabilities[label]:.4f}{rows}")
        if len(order) > limit:
            lines.append(f"  ... and {len(order) - limit} more")
        return "\n".join(lines)

    def to_dict(self):
        return dict(dataclasses.asdict(self), num_samples=self.num_samples)


# ----------------------------------------------------------------------------------------------------------------
# The pretraining dataset


def build_pretraining_dataset(
    corpus,
    tokenizer,
    max_seq_length=512,
    sampling_alpha=0.3,
    languages=None,
    streaming=False,
    seed=42,
    num_proc=None,
    cache_dir=None,
    *,
    sampling="alpha",
    split="train",
    num_samples=None,
    pair_sizes=None,
    shuffle_buffer_size=1000,
    probe_bytes=1 << 18,
    probe_rows=10_000,
    return_mixture=False,
):
    """MLM pretraining rows `{"input_ids": [max_seq_length], "lang_ids": int, "script_ids": int}` (module doc).

    corpus: anything `corpus_sources.find_pairs` reads (a Glot500-c directory, a per-pair snapshot, a dataset id
        or folder with one config per pair) or the `{label: PairSource}` it returns, a Dataset/IterableDataset with
        text/lang(/script) columns, or a name/path that load_text_dataset() reads. tokenizer: a LangSAMPTokenizer
        (its `language_id`/`script_id` give the table rows). languages: keep only these codes/labels. streaming:
        lazy IterableDataset (no preprocessing pass). sampling: 'alpha' (p_l ~ n_l^alpha) or 'glot500'
        (sampling.py). split: the split of per-pair datasets. num_proc: processes for tokenization. cache_dir:
        where datasets caches (default HF_DATASETS_CACHE). num_samples: rows per epoch (non-streaming).
        pair_sizes: {label: size} overriding the (streaming) chunk-count estimates. shuffle_buffer_size:
        streaming shuffle buffer in chunks (0: none). return_mixture: also return the PairMixture.
    """
    _check_tokenizer(tokenizer)
    _check_max_seq_length(max_seq_length, tokenizer)
    check_sampling(sampling, sampling_alpha)  # before any work
    if num_samples is not None and (not isinstance(num_samples, (int, np.integer)) or num_samples < 1):
        raise ValueError(f"num_samples must be a positive integer (rows per epoch), not {num_samples!r}.")
    settings = BuildSettings(tokenizer, max_seq_length, sampling, sampling_alpha, seed, num_proc, cache_dir, num_samples,
                             pair_sizes, shuffle_buffer_size, probe_bytes, probe_rows)
    model_languages = as_lookup(tokenizer.languages)
    model_scripts = list(tokenizer.scripts)

    if isinstance(corpus, dict) and corpus and all(isinstance(s, PairSource) for s in corpus.values()):
        sources = corpus
    elif isinstance(corpus, (str, os.PathLike)):
        sources = find_pairs(corpus, languages, model_languages, model_scripts, split)
        if sources is None:
            corpus = load_text_dataset(corpus, split=split, streaming=streaming, cache_dir=cache_dir)
    else:
        sources = None
    if sources is not None:
        dataset, mixture = (_stream_pairs if streaming else _cached_pairs)(sources, settings)
        return (dataset, mixture) if return_mixture else dataset

    check_text_columns(corpus)
    if isinstance(corpus, Dataset) and not streaming:
        dataset, mixture = _cached_rows(corpus, settings, languages, model_languages, model_scripts)
    elif isinstance(corpus, (Dataset, IterableDataset)):
        if not streaming:
            raise ValueError("The corpus is an IterableDataset: pass streaming=True (or load it without streaming).")
        rows = corpus.to_iterable_dataset() if isinstance(corpus, Dataset) else corpus
        dataset, mixture = _stream_rows(rows, settings, languages, model_languages, model_scripts)
    else:
        raise TypeError(f"corpus must be a path, a datasets.Dataset or IterableDataset, not {type(corpus).__name__}.")
    return (dataset, mixture) if return_mixture else dataset


def _check_tokenizer(tokenizer):
    for attribute in ("language_id", "script_id", "languages", "scripts"):
        if not hasattr(tokenizer, attribute):
            raise ValueError(
                f"The tokenizer ({type(tokenizer).__name__}) has no `{attribute}`: use a LangSAMPTokenizer, which maps "
                "language and script codes to the model's table rows (LangSAMPTokenizer.from_pretrained(path))."
            )


def _check_max_seq_length(max_seq_length, tokenizer):
    if not isinstance(max_seq_length, (int, np.integer)) or max_seq_length < 2:
        raise ValueError(f"max_seq_length must be an integer >= 2, not {max_seq_length!r}.")
    limit = getattr(tokenizer, "model_max_length", None)
    if limit is not None and limit < 1e9 and max_seq_length > limit:
        raise ValueError(
            f"max_seq_length={max_seq_length} exceeds the tokenizer's model_max_length={limit} (XLM-R's position "
            "table holds 512 tokens): lower it."
        )


def _fingerprint(*parts):
    return Hasher.hash((PIPELINE_VERSION,) + parts)


_TOKENIZER_FINGERPRINTS = weakref.WeakKeyDictionary()


def _tokenizer_fingerprint(tokenizer):
    """A hash of what decides the token ids: the tokenizer's class and its backend (vocabulary, normalizer,
    pre-tokenizer, special-token post-processor), without the call-time truncation/padding state. Not
    datasets' hash of the whole object, which includes `name_or_path` (a tokenizer loaded from another folder
    would miss the cache). About a second for a 250k vocabulary: once per tokenizer object (again if tokens
    were added)."""
    known = _TOKENIZER_FINGERPRINTS.get(tokenizer)
    if known is None or known[0] != len(tokenizer):
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is not None:
            state = json.loads(backend.to_str())
            state.pop("truncation", None)
            state.pop("padding", None)
            digest = hashlib.sha256(json.dumps(state, sort_keys=True).encode("utf-8")).hexdigest()
            fingerprint = Hasher.hash((type(tokenizer).__name__, len(tokenizer), digest))
        else:  # a tokenizer without a Rust backend: datasets' hash of the object
            fingerprint = Hasher.hash(tokenizer)
        known = (len(tokenizer), fingerprint)
        _TOKENIZER_FINGERPRINTS[tokenizer] = known
    return known[1]


class _SharedTokenizer:
    """The tokenizer as an argument of the streaming generator. datasets deep-copies an IterableDataset's
    generator arguments (per pair in interleave_datasets, per iteration) and hashes them (from_generator); for
    a 250k vocabulary each costs seconds. The tokenizer is read-only here, so copies share it and the hash
    uses its fingerprint. (Plain pickling, e.g. to DataLoader workers, still carries the whole tokenizer.)"""

    def __init__(self, tokenizer):
        self.tokenizer, self.fingerprint = tokenizer, _tokenizer_fingerprint(tokenizer)

    def __deepcopy__(self, memo):
        return self


try:  # datasets' own extension point for hashing a type (used there for tokenizers, regex, torch...)
    from datasets.utils._dill import pklregister

    @pklregister(_SharedTokenizer)
    def _hash_shared_tokenizer(pickler, obj):
        pickler.save_reduce(str, (f"LangSAMPTokenizer:{obj.fingerprint}",), obj=obj)

except ImportError:  # a datasets without it hashes the whole tokenizer: slower, same result
    pass


def _map_cache_file(cache_dir, name, fingerprint):
    if cache_dir is None:
        return None  # datasets' default: next to the source's cache files (none for an in-memory source)
    folder = Path(cache_dir).expanduser() / "langsamp"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / f"{name}-{fingerprint}.arrow")


def _too_short_error(tokens, max_seq_length):
    short = {label: n for label, n in tokens.items() if n < max_seq_length}
    if not short:
        return
    listed = ", ".join(f"{label} has {n} tokens" for label, n in list(short.items())[:20])
    raise ValueError(
        f"{len(short)} pair(s) have fewer tokens than max_seq_length={max_seq_length}, so not a single chunk: "
        f"{listed}. Give them more text, leave them out with `languages`, or lower max_seq_length."
    )


# -- cached (non-streaming) --------------------------------------------------------------------------------------


def _chunk_and_sample(texts, texts_fingerprint, row_counts, labels, settings):
    """Cached path: tokenize `texts` (the pairs' lines one pair after the other; num_proc processes), chunk per
    pair (one process), then draw the epoch."""
    tokenizer, length = settings.tokenizer, settings.max_seq_length
    lang_ids = {label: settings.lang_id(label) for label in labels}
    script_ids = {label: settings.script_id(label) for label in labels}
    fingerprint = _fingerprint("tokens", texts_fingerprint, _tokenizer_fingerprint(tokenizer))
    tokenized = texts.map(
        _tokenize_batch,
        batched=True,
        # datasets starts a worker pool (and pickles the 15 MB tokenizer into it) for any num_proc >= 1.
        num_proc=settings.num_proc if settings.num_proc and settings.num_proc > 1 else None,
        remove_columns=texts.column_names,
        fn_kwargs={"tokenizer": tokenizer},
        features=TOKEN_FEATURES,
        new_fingerprint=fingerprint,
        cache_file_name=_map_cache_file(settings.cache_dir, "tokens", fingerprint),
        desc="Tokenizing",
    )
    row_starts = np.concatenate([[0], np.cumsum(row_counts)[:-1]]).astype(np.int64)
    column = tokenized.data.column("input_ids")
    tokens = {
        label: int(pc.sum(pc.list_value_length(column.slice(int(start), int(count)))).as_py() or 0)
        for label, start, count in zip(labels, row_starts, row_counts)
    }
    _too_short_error(tokens, length)
    sizes = {label: tokens[label] // length for label in labels}

    fingerprint = _fingerprint("chunks", tokenized._fingerprint, length, labels, lang_ids, script_ids, list(row_counts))
    chunks = tokenized.map(
        _ChunkPairs(row_starts, [lang_ids[label] for label in labels], [script_ids[label] for label in labels], length),
        batched=True,
        batch_size=CHUNK_BATCH_ROWS,
        with_indices=True,
        num_proc=None,  # stateful chunker: rows in order, one process
        remove_columns=["input_ids"],
        features=CHUNK_FEATURES,
        new_fingerprint=fingerprint,
        cache_file_name=_map_cache_file(settings.cache_dir, "chunks", fingerprint),
        desc=f"Chunking into {length}-token sequences",
    )
    if len(chunks) != sum(sizes.values()):
        raise RuntimeError(
            f"Chunking gave {len(chunks)} chunks where the token counts give {sum(sizes.values())}: the cache at "
            f"{chunks.cache_files[:1]} is stale or corrupt; delete it and run again."
        )
    probabilities = mixture_probabilities(sizes, settings.sampling, settings.alpha)
    epoch = settings.num_samples or default_epoch_size(sizes, settings.sampling, settings.alpha)
    counts = sample_counts(probabilities, epoch)
    indices = epoch_indices([sizes[label] for label in labels], [counts[label] for label in labels], settings.seed)
    dataset = chunks.select(indices)
    mixture = PairMixture(labels, lang_ids, script_ids, sizes, probabilities, settings.alpha, length,
                          samples=counts, tokens=tokens, sampling=settings.sampling)
    logger.info(mixture.summary())
    return dataset, mixture


def _cached_pairs(sources, settings):
    labels = list(sources)
    texts = open_pairs(sources, streaming=False, cache_dir=settings.cache_dir)
    row_counts = [len(texts[label]) for label in labels]
    combined = concatenate_datasets([texts[label] for label in labels]) if len(labels) > 1 else texts[labels[0]]
    return _chunk_and_sample(combined, [texts[label]._fingerprint for label in labels], row_counts, labels, settings)


def _cached_rows(corpus, settings, languages, model_languages, model_scripts):
    """A Dataset with text/lang(/script) columns: label every row with its pair, group rows by pair, then chunk."""
    for code in corpus.unique("lang"):  # unknown codes fail here, before any per-row work
        if code is None:
            raise ValueError("A row of the corpus has no `lang` value.")
        parse_language(code, model_languages)
    columns = [c for c in ("text", "lang", "script") if c in corpus.column_names]
    texts = corpus.select_columns(columns)
    fingerprint = _fingerprint("pairs", corpus._fingerprint, list(model_languages), model_scripts)
    labeled = texts.map(
        label_batch,
        batched=True,
        num_proc=settings.num_proc,
        fn_kwargs={"languages": model_languages, "scripts": model_scripts},
        new_fingerprint=fingerprint,
        cache_file_name=_map_cache_file(settings.cache_dir, "pairs", fingerprint),
        desc="Finding language-script pairs",
    )
    found = sorted(label for label in labeled.unique("pair") if label)
    labels = select_pairs(found, languages, model_languages)
    if not labels:
        raise ValueError("The corpus has no row with text.")
    # Pair number of every row (-1: filtered out, or no text); `labeled` is a map output, so rows = table rows.
    codes = pc.fill_null(pc.index_in(labeled.data.column("pair"), value_set=pa.array(labels)), -1).to_numpy()
    keep = np.flatnonzero(codes >= 0)
    order = keep[np.argsort(codes[keep], kind="stable")]
    row_counts = np.bincount(codes[keep], minlength=len(labels)).tolist()
    grouped = labeled.select(order).select_columns(["text"])
    starts = np.concatenate([[0], np.cumsum(row_counts)[:-1]])
    check_row_pair_scripts({  # a mislabelled `script` (or `lang` label) column: the first rows of each pair
        label: grouped.select(range(int(start), int(start) + min(count, SCRIPT_SAMPLE_LINES)))["text"]
        for label, start, count in zip(labels, starts, row_counts)
    })
    return _chunk_and_sample(grouped, grouped._fingerprint, row_counts, labels, settings)


# -- streaming ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _StreamSource:
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

    def text_batches(self, batch_size):
        try:
            if self.source.kind == "text":
                yield from read_text_lines(self.source.files, batch_size)
                return
            for batch in stream_pair(self.source, self.cache_dir).iter(batch_size=batch_size):
                yield batch["text"]
        except (OSError, EOFError, UnicodeDecodeError, ValueError) as error:  # a file corrupt past its start
            raise ValueError(f"Corpus {self.source.origin} ({self.label}) cannot be read to its end: "
                             f"{type(error).__name__}: {error}. Replace or remove the corrupt file.") from error


@dataclass(frozen=True)
class _RowSource:
    """One pair of a text/lang dataset: its rows, filtered from the (shared) stream."""

    label: str
    rows: object  # IterableDataset
    lang_id: int
    script_id: int
    languages: tuple
    scripts: tuple

    def text_batches(self, batch_size):
        lookup = dict.fromkeys(self.languages)
        for batch in self.rows.iter(batch_size=batch_size):
            texts = batch["text"]
            given = batch["script"] if "script" in batch else [None] * len(texts)
            labels = pair_labels(texts, batch["lang"], given, lookup, list(self.scripts))
            yield [text for text, label in zip(texts, labels) if label == self.label]


class _SharedSources:
    """All pairs' sources as ONE argument of the streaming generator, next to the list of pair numbers that
    datasets splits into shards. datasets deep-copies the generator's builder, arguments included, for every
    shard and again when interleaving: with the sources themselves as the sharded list, that is pairs x pairs
    copies (673 pairs: minutes). The sources are read-only, so copies share them."""

    def __init__(self, sources):
        self.sources = tuple(sources)

    def __deepcopy__(self, memo):
        return self


def _generate_chunks(pairs, sources, tokenizer, max_seq_length):
    """IterableDataset generator: the chunks of each pair numbered in `pairs`, built by the same code as the
    cached path."""
    tokenizer = tokenizer.tokenizer  # unwrap _SharedTokenizer
    for pair in pairs:
        source = sources.sources[pair]
        chunker = _Chunker(max_seq_length)
        for texts in source.text_batches(STREAM_BATCH_LINES):
            for chunk in chunker.feed(_tokenize_texts(tokenizer, texts)):
                yield {"input_ids": chunk, "lang_ids": source.lang_id, "script_ids": source.script_id}


def _mix_streams(sources, sizes, tokens, settings, estimated):
    labels = [source.label for source in sources]
    probabilities = mixture_probabilities(sizes, settings.sampling, settings.alpha)
    # One generator dataset with a shard per pair (datasets hashes the generator's arguments, tokenizer included,
    # once), then its shards mixed as interleave_datasets mixes datasets.
    chunks = IterableDataset.from_generator(
        _generate_chunks,
        features=CHUNK_FEATURES,
        gen_kwargs={"pairs": list(range(len(sources))), "sources": _SharedSources(sources),
                    "tokenizer": _SharedTokenizer(settings.tokenizer), "max_seq_length": settings.max_seq_length},
    )
    mixed = _interleave_shards(chunks, [probabilities[label] for label in labels], settings.seed)
    if settings.shuffle_buffer_size:
        mixed = mixed.shuffle(seed=settings.seed, buffer_size=settings.shuffle_buffer_size)
    mixture = PairMixture(labels, {s.label: s.lang_id for s in sources}, {s.label: s.script_id for s in sources},
                          sizes, probabilities, settings.alpha, settings.max_seq_length, estimated=estimated,
                          tokens=tokens, sampling=settings.sampling)
    logger.info(mixture.summary())
    return mixed, mixture


def _interleave_shards(chunks, probabilities, seed):
    """`interleave_datasets([chunks.shard(n, k) for k in range(n)], probabilities, seed, "all_exhausted")`: the
    same mixture, drawn in the same order, built the way interleave_datasets builds it but from the shards'
    example iterables. Why: every IterableDataset keeps a torch shared-memory file open (its epoch counter), and
    interleave_datasets needs two per pair at once: 1,350 open files while 673 pairs are put together, over the
    usual limit of 1,024. Falls back to interleave_datasets if datasets' internals have moved."""
    shards = range(chunks.num_shards)
    try:
        from datasets.iterable_dataset import RandomlyCyclingMultiSourcesExamplesIterable

        sources = [chunks._ex_iterable.shard_data_sources(num_shards=len(shards), index=k) for k in shards]
        mixed = RandomlyCyclingMultiSourcesExamplesIterable(
            sources, generator=np.random.default_rng(seed), probabilities=probabilities, stopping_strategy="all_exhausted"
        )
        return IterableDataset(mixed, info=chunks.info.copy())
    except (ImportError, AttributeError, TypeError) as error:
        logger.info("Interleaving the pairs with interleave_datasets (%s): one open file per pair while building.", error)
        return interleave_datasets([chunks.shard(num_shards=len(shards), index=k) for k in shards],
                                   probabilities=probabilities, seed=seed, stopping_strategy="all_exhausted")


def _stream_pairs(sources, settings):
    labels = list(sources)
    # Text files were checked when found; the other kinds are opened here for their checks and size probes (and
    # closed again: the stream reopens each pair when it reaches it).
    streams = open_pairs({label: s for label, s in sources.items() if s.kind != "text"}, streaming=True,
                         cache_dir=settings.cache_dir)
    if settings.pair_sizes is not None:
        sizes, tokens, estimated = _given_sizes(settings.pair_sizes, labels), {}, False
    else:
        tokens, exact = {}, True
        for label, source in sources.items():
            if source.kind == "text":
                tokens[label], whole = estimate_tokens(source.files, settings.tokenizer, settings.probe_bytes)
            else:
                tokens[label], whole = estimate_dataset_tokens(streams[label], source, settings.tokenizer, settings.probe_rows)
            exact = exact and whole
        _too_short_error(tokens, settings.max_seq_length)
        sizes = {label: max(1, tokens[label] // settings.max_seq_length) for label in labels}
        estimated = not exact
    del streams
    stream_sources = [_StreamSource(label, sources[label], settings.lang_id(label), settings.script_id(label),
                                    settings.cache_dir) for label in labels]
    return _mix_streams(stream_sources, sizes, tokens, settings, estimated)


def _stream_rows(rows, settings, languages, model_languages, model_scripts):
    tokenizer, probe_rows = settings.tokenizer, settings.probe_rows
    if settings.pair_sizes is not None:
        for label in settings.pair_sizes:
            if not LABEL_PATTERN.match(label):
                raise ValueError(f"pair_sizes key {label!r} is not a <iso639-3>_<Script> label such as 'hin_Deva'.")
        labels = select_pairs(sorted(settings.pair_sizes), languages, model_languages)
        sizes, tokens, estimated = _given_sizes(settings.pair_sizes, labels), {}, False
    else:
        # Pair sizes of a mixed stream are unknown without a full pass: estimate them from its first rows.
        tokens, probed, samples = {}, 0, {}
        for batch in rows.take(probe_rows).iter(batch_size=1000):
            probed += len(batch["text"])
            given = batch["script"] if "script" in batch else [None] * len(batch["text"])
            labels_of_rows = pair_labels(batch["text"], batch["lang"], given, model_languages, model_scripts)
            for label, text in zip(labels_of_rows, batch["text"]):
                if label and len(samples.setdefault(label, [])) < SCRIPT_SAMPLE_LINES:
                    samples[label].append(text)
            for label, ids in zip(labels_of_rows, _tokenize_texts(tokenizer, batch["text"])):
                if label:
                    tokens[label] = tokens.get(label, 0) + len(ids)
        if not tokens:
            raise ValueError(f"The first {probe_rows} rows of the corpus hold no text.")
        labels = select_pairs(sorted(tokens), languages, model_languages)
        check_row_pair_scripts({label: samples[label] for label in labels})
        estimated = probed >= probe_rows  # else the probe read the whole dataset: exact counts
        if not estimated:
            _too_short_error({label: tokens[label] for label in labels}, settings.max_seq_length)
        sizes = {label: max(1, tokens[label] // settings.max_seq_length) for label in labels}
    if estimated:
        logger.warning(
            f"Streaming a text/lang dataset: pairs and their sizes are estimated from its first {probe_rows} rows "
            f"({', '.join(labels)}). If the dataset is sorted by language, pass pair_sizes={{label: size}}."
        )
    sources = [
        _RowSource(label, rows, settings.lang_id(label), settings.script_id(label), tuple(model_languages),
                   tuple(model_scripts))
        for label in labels
    ]
    return _mix_streams(sources, sizes, tokens, settings, estimated)


def _given_sizes(pair_sizes, labels):
    missing = [label for label in labels if label not in pair_sizes]
    if missing:
        raise ValueError(f"pair_sizes has no size for {missing}; it must give one for every pair.")
    return {label: pair_sizes[label] for label in labels}


# -- size estimates ----------------------------------------------------------------------------------------------


def estimate_tokens(files, tokenizer, probe_bytes=1 << 18):
    """(tokens, exact): a pair's token count as the pipeline counts it, from a probe of its first text files.

    The first `probe_bytes` of text are tokenized (tokens per text byte) and up to 16x as much text is read
    (cheap, no tokenizing) to measure text bytes per byte on disk, which differs for compressed files; the
    product is extrapolated to the files' total size on disk. `exact` is True when the tokenized probe covered
    every file (then `tokens` is the exact count)."""
    files = [Path(f) for f in files]
    sample, sample_bytes, text_bytes, disk_bytes, whole = [], 0, 0, 0, True
    for file in files:
        compression = compression_of(file)
        with open(file, "rb") as raw:
            binary = compr[compression](raw, mode="rb") if compression else raw
            # Universal newlines and a stripped "\n", as the datasets "text" builder reads lines.
            for line in io.TextIOWrapper(binary, encoding="utf-8"):
                size = len(line.encode("utf-8"))
                text_bytes += size
                if sample_bytes < probe_bytes:
                    sample.append(line.rstrip("\n"))
                    sample_bytes += size
                if text_bytes >= 16 * probe_bytes:
                    whole = False
                    disk_bytes += raw.tell()
                    break
        if not whole:
            break
        disk_bytes += file.stat().st_size
    tokens = sum(len(ids) for start in range(0, len(sample), 256) for ids in _tokenize_texts(tokenizer, sample[start : start + 256]))
    if whole and sample_bytes == text_bytes:
        return tokens, True
    text_total = text_bytes if whole else text_bytes / max(disk_bytes, 1) * sum(f.stat().st_size for f in files)
    return int(round(tokens / max(sample_bytes, 1) * text_total)), False


def estimate_dataset_tokens(rows, source, tokenizer, probe_rows=10_000):
    """(tokens, exact) of one pair of a dataset corpus (shards or a config), from its first `probe_rows` rows:
    exact when they are all its rows; else tokens per row x the split's rows from the dataset's metadata, or
    tokens per text byte x its bytes from the metadata, or x the size of its data files."""
    tokens, text_bytes, count = 0, 0, 0
    for batch in rows.take(probe_rows).iter(batch_size=256):
        texts = batch["text"]
        count += len(texts)
        text_bytes += sum(len(t.encode("utf-8")) for t in texts if t)
        tokens += sum(len(ids) for ids in _tokenize_texts(tokenizer, texts))
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
