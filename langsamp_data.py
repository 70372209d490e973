"""Continual-pretraining data for LangSAMP: corpus discovery, per-pair chunking, multilingual sampling, and the
MLM collator (the published recipe, see ../shared/notes/original-release.md, "Data and training recipe").

A corpus is either
  * a directory in Glot500-c layout: one plain-text file (`hin_Deva`, `hin_Deva.txt`, `hin_Deva.txt.gz`, ...) or
    one folder of text files (`hin_Deva/`) per `<iso639-3>_<Script>` pair, one sentence/paragraph a line; the
    language and script ids come from the name; or
  * a `datasets` dataset with a `text` and a `lang` column (ISO 639-3 codes or Glot500 labels) and an optional
    `script` column (ISO 15924; detected from the text where missing): see `load_text_dataset`.

`build_pretraining_dataset` turns it into rows `{"input_ids": [max_seq_length ints], "lang_ids": int,
"script_ids": int}`:
  1. every line is tokenized with its special tokens (`<s> ... </s>`, as transformers' run_mlm.py does);
  2. the token streams are concatenated PER language-script pair and cut into chunks of `max_seq_length`;
     the pair's last partial chunk is dropped, so a pair of T tokens gives exactly floor(T / max_seq_length)
     chunks and a chunk never mixes pairs;
  3. pairs are mixed with Glot500's exponent: pair l is drawn with probability p_l = n_l^alpha / sum_k n_k^alpha,
     n_l its number of chunks (alpha = 0.3 up-samples small pairs; 1.0 keeps the corpus proportions).

What an epoch is (non-streaming): `num_samples` rows (default: as many as the corpus has chunks), of which pair
l gets round(num_samples * p_l) (largest-remainder rounding), in a seeded random order. Inside a pair, chunks
are taken in a seeded random permutation; a pair drawn more often than it has chunks starts a fresh permutation
only after all its chunks were used. So with alpha = 1 an epoch is exactly a shuffle of the corpus, and an
under-sampled large pair contributes distinct chunks. `datasets.interleave_datasets` was not used here: its
stopping strategies tie the epoch to the extreme pairs ("first_exhausted" ends when the smallest pair runs out
and never reaches most of the large ones; "all_exhausted" lasts max_l n_l / p_l rows, about 600M index rows
for Glot500-c at alpha 0.3). For a run longer than one epoch, pass `num_samples = max_steps x global batch`:
the whole run is then one draw from the mixture and large pairs keep contributing new chunks.

Streaming: each pair is read lazily with `load_dataset("text", data_files=..., streaming=True)`, tokenized
and chunked on the fly by the same code as above (the same chunks, in file order), and the pairs are mixed by
`datasets.interleave_datasets(probabilities=p, seed=seed, stopping_strategy="all_exhausted")` with the same
p_l. The chunk counts n_l are not known without a full pass: they are estimated from each pair's size on disk,
its text bytes per byte on disk and the tokens per text byte of its first `probe_bytes` of text (exact when
that covers the whole pair; within a few percent otherwise, which alpha = 0.3 dampens further), or given by
`pair_sizes`. A streaming epoch ends once every pair has been read through at least once (smaller-than-
expected pairs restart meanwhile); train with `max_steps`. A `shuffle_buffer_size` buffer (default 1000
chunks, seeded, reseeded each epoch by the Trainer's `set_epoch`) breaks up consecutive chunks of one
document.

Everything is deterministic given `seed` (numpy PCG64 and datasets' seeded generators), so a resumed run that
rebuilds the dataset sees the same rows in the same order. The non-streaming preprocessing (tokenization,
chunking) runs through `Dataset.map` with explicit fingerprints: a second build with the same corpus,
tokenizer and `max_seq_length` loads the cached Arrow files instead of tokenizing again; only the (cheap)
sampling is redone.
"""

import hashlib
import io
import json
import os
import re
import weakref
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import (
    Dataset,
    DatasetDict,
    Features,
    IterableDataset,
    IterableDatasetDict,
    List,
    Value,
    concatenate_datasets,
    interleave_datasets,
    load_dataset,
    load_from_disk,
)
from datasets.fingerprint import Hasher
from fsspec.compression import compr
from fsspec.utils import infer_compression
from transformers import DataCollatorForLanguageModeling
from transformers.utils import logging

from langsamp_codes import SCRIPT_ALIASES, default_script, detect_scripts, parse_language
from langsamp_inventory import RELEASE_LANGUAGES, RELEASE_SCRIPTS

logger = logging.get_logger(__name__)

# `<iso639-3>_<Script>` with an optional suffix (`.txt`, `.gz`, `.txt.gz`, ...).
LABEL_PATTERN = re.compile(r"^(?P<lang>[a-z]{3})_(?P<script>[A-Z][a-z]{3})(?:\.[^/]+)?$")
LABEL_EXAMPLE = "'hin_Deva', 'hin_Deva.txt' or 'hin_Deva.txt.gz' (or a folder 'hin_Deva/' of such text files)"
# Compressions fsspec (and hence the datasets "text" builder) reads through, and the package each needs.
COMPRESSION_PACKAGES = {"gzip": None, "bz2": None, "xz": None, "lzma": None, "zstd": "zstandard", "lz4": "lz4"}
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".tar.gz", ".7z", ".rar")
SAVED_DATASET_MARKERS = ("state.json", "dataset_dict.json", "dataset_info.json")
DATA_FILE_BUILDERS = {".json": "json", ".jsonl": "json", ".ndjson": "json", ".csv": "csv", ".tsv": "csv",
                      ".parquet": "parquet", ".arrow": "arrow"}

CHUNK_FEATURES = Features({"input_ids": List(Value("int32")), "lang_ids": Value("int32"), "script_ids": Value("int32")})
TOKEN_FEATURES = Features({"input_ids": List(Value("int32"))})
PIPELINE_VERSION = "langsamp-data-1"  # part of every fingerprint: bump when the chunking changes
# Lines per batch when chunking (cached path) and when tokenizing a stream. The chunks do not depend on them
# (a pair's remainder carries over from batch to batch); the tests set them small to exercise that.
CHUNK_BATCH_ROWS = 1000
STREAM_BATCH_LINES = 256


# ----------------------------------------------------------------------------------------------------------------
# Corpus discovery (Glot500-c layout)


def discover_corpus(path, languages=None, model_languages=None, model_scripts=None):
    """The pairs of a Glot500-c-layout directory: `{label: [files]}`, labels and files sorted.

    `languages` keeps only some pairs: ISO 639-3 codes (`hin`: every script of it) and/or labels (`hin_Deva`);
    each entry must match a pair. Everything is checked before any data is read in bulk: a missing path
    (FileNotFoundError), an entry not named `<iso639-3>_<Script>`, a language or script outside the model's
    inventory (`model_languages` / `model_scripts`, default the release's 610 / 30), an empty or undecodable
    file, an unreadable compression (ValueError naming the entry and the fix).
    """
    model_languages = _as_lookup(model_languages if model_languages is not None else RELEASE_LANGUAGES)
    model_scripts = list(model_scripts if model_scripts is not None else RELEASE_SCRIPTS)
    root = Path(path).expanduser()
    if not root.exists():
        raise FileNotFoundError(
            f"Corpus {str(root)!r} does not exist: give a directory with one <iso639-3>_<Script> text file or "
            f"folder per language-script pair, e.g. {LABEL_EXAMPLE}."
        )
    if not root.is_dir():
        raise ValueError(
            f"Corpus {str(root)!r} is a file, not a directory in Glot500-c layout (one text file or folder per "
            "<iso639-3>_<Script> pair). A data file with `text` and `lang` columns is read by load_text_dataset()."
        )
    entries = {}
    for entry in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
        match = LABEL_PATTERN.match(entry.name)
        if match is None:
            raise ValueError(
                f"Corpus entry {str(entry)!r} is not named <iso639-3>_<Script>: expected a name such as "
                f"{LABEL_EXAMPLE}. Rename it or move it out of the corpus directory."
            )
        label = f"{match['lang']}_{match['script']}"
        if label in entries:
            raise ValueError(
                f"Corpus {str(root)!r} has two entries for {label}: {entries[label].name!r} and {entry.name!r}. "
                "Keep one file or folder per pair (merge them, or remove the duplicate)."
            )
        entries[label] = entry
    if not entries:
        raise ValueError(f"Corpus directory {str(root)!r} is empty: it needs one <iso639-3>_<Script> file per pair.")

    labels = select_pairs(sorted(entries), languages, model_languages)
    rows = {}
    for label in labels:
        lang, script = label.split("_")
        parse_language(lang, model_languages)  # ValueError listing the closest codes
        if SCRIPT_ALIASES.get(script, script) not in model_scripts:
            raise ValueError(
                f"Corpus entry {entries[label].name!r}: script {script!r} is not among the model's scripts "
                f"({', '.join(model_scripts)}). Remove the pair, or filter it out with `languages`."
            )
        row = (lang, SCRIPT_ALIASES.get(script, script))
        if row in rows:
            raise ValueError(f"Corpus pairs {rows[row]} and {label} map to the same language and script rows {row}.")
        rows[row] = label

    corpus = {}
    for label in labels:
        entry = entries[label]
        if entry.is_dir():
            files = sorted(f for f in entry.rglob("*") if f.is_file() and not any(p.startswith(".") for p in f.relative_to(entry).parts))
            if not files:
                raise ValueError(f"Corpus folder {str(entry)!r} ({label}) holds no files.")
        else:
            files = [entry]
        for file in files:
            _check_text_file(file, label)
        corpus[label] = files
    return corpus


def select_pairs(labels, languages, model_languages=None):
    """The labels matching a `languages` filter (codes or labels, any form parse_language accepts), in order.
    Every entry of the filter must match at least one label."""
    if languages is None:
        return list(labels)
    if isinstance(languages, str):
        languages = [code for code in re.split(r"[,\s]+", languages) if code]
    model_languages = _as_lookup(model_languages if model_languages is not None else RELEASE_LANGUAGES)
    wanted, unmatched = set(), []
    for code in languages:
        lang, script = parse_language(code, model_languages)
        found = [label for label in labels if label.split("_")[0] == lang and (script is None or label.split("_")[1] == script)]
        if not found:
            unmatched.append(code)
        wanted.update(found)
    if unmatched:
        shown = ", ".join(list(labels)[:40]) + (" ..." if len(labels) > 40 else "")
        raise ValueError(
            f"The languages filter entries {unmatched} match no pair of the corpus. Its {len(labels)} pairs: {shown}."
        )
    return [label for label in labels if label in wanted]


def _as_lookup(codes):
    return codes if isinstance(codes, (dict, set, frozenset)) else dict.fromkeys(codes)


def _compression(file):
    """fsspec's compression name for a file (None for plain text); ValueError if it cannot be read."""
    name = file.name.lower()
    if name.endswith(ARCHIVE_SUFFIXES):
        raise ValueError(f"Corpus file {str(file)!r} is an archive: unpack it into a folder named after its pair.")
    if name.endswith(".zst") or name.endswith(".lz4"):
        compression = "zstd" if name.endswith(".zst") else "lz4"
    else:
        compression = infer_compression(name)
    if compression is not None and compression not in fsspec.available_compressions():
        package = COMPRESSION_PACKAGES.get(compression)
        raise ValueError(
            f"Corpus file {str(file)!r} is {compression}-compressed, which needs the `{package}` package "
            f"(pip install {package}); or decompress it (gzip, bz2 and xz work out of the box)."
        )
    return compression


def _check_text_file(file, label):
    """Fail early on an empty, undecodable or unreadable file (reads only up to its first letters)."""
    if file.stat().st_size == 0:
        raise ValueError(f"Corpus file {str(file)!r} ({label}) is empty: remove it or give it text.")
    try:
        with fsspec.open(str(file), "rt", compression=_compression(file), encoding="utf-8") as handle:
            while True:
                block = handle.read(1 << 16)
                if not block:
                    raise ValueError(f"Corpus file {str(file)!r} ({label}) is empty (whitespace only): remove it or give it text.")
                if not block.isspace():
                    return
    except UnicodeDecodeError as error:
        raise ValueError(f"Corpus file {str(file)!r} ({label}) is not UTF-8 text: {error}.") from error
    except (OSError, EOFError) as error:
        raise ValueError(f"Corpus file {str(file)!r} ({label}) cannot be read: {error}.") from error


# ----------------------------------------------------------------------------------------------------------------
# Datasets with `text` and `lang` columns


def load_text_dataset(name_or_path, split="train", streaming=False, cache_dir=None, **load_kwargs):
    """A `datasets` corpus with a `text` column and a `lang` column (ISO 639-3 codes or Glot500 labels such as
    `hin_Deva`) and optionally `script` (ISO 15924). `name_or_path` is a `save_to_disk` folder, a local data
    file (.json/.jsonl/.csv/.tsv/.parquet/.arrow) or folder of them, or a Hub dataset name. Returns a Dataset
    (IterableDataset when `streaming`). FileNotFoundError for a missing path; ValueError naming the columns it
    has when `text` or `lang` is missing."""
    path = Path(str(name_or_path)).expanduser()
    if path.is_dir():
        if any((path / marker).exists() for marker in SAVED_DATASET_MARKERS):
            dataset = _pick_split(load_from_disk(str(path)), split, name_or_path)
            if streaming:
                dataset = dataset.to_iterable_dataset()
        elif _looks_like_glot500(path):
            raise ValueError(
                f"{str(path)!r} is a corpus directory in Glot500-c layout (one file per <lang>_<Script> pair), not a "
                "dataset with text/lang columns: pass it to build_pretraining_dataset() as it is."
            )
        else:
            dataset = load_dataset(str(path), split=split, streaming=streaming, cache_dir=cache_dir, **load_kwargs)
    elif path.is_file():
        suffixes = [s for s in path.suffixes if s.lower() not in (".gz", ".bz2", ".xz", ".zst")]
        builder = DATA_FILE_BUILDERS.get(suffixes[-1].lower() if suffixes else "")
        if builder is None:
            raise ValueError(
                f"Corpus file {str(path)!r}: unsupported type; a dataset file is one of "
                f"{', '.join(sorted(DATA_FILE_BUILDERS))} (a plain-text file belongs in a Glot500-c directory named "
                "after its pair, e.g. corpus/hin_Deva.txt)."
            )
        if suffixes[-1].lower() == ".tsv":
            load_kwargs.setdefault("delimiter", "\t")
        dataset = load_dataset(builder, data_files=str(path), split=split, streaming=streaming, cache_dir=cache_dir, **load_kwargs)
    else:
        text = str(name_or_path)
        if not _could_be_hub_name(text):
            raise _missing_corpus(text)
        try:
            dataset = load_dataset(text, split=split, streaming=streaming, cache_dir=cache_dir, **load_kwargs)
        except Exception as error:  # the Hub's errors vary (offline, missing repo, no access): say both things
            raise FileNotFoundError(
                f"Corpus {text!r} is neither a local file or directory nor a loadable Hub dataset ({type(error).__name__}: "
                f"{error})."
            ) from error
    check_text_columns(dataset, name_or_path)
    return dataset


def _could_be_hub_name(text):
    """`name` or `owner/name`, and not obviously a local path (`./x`, `/x`, `~/x`, `x.jsonl`)."""
    return (
        re.fullmatch(r"[\w.-]+(/[\w.-]+)?", text) is not None
        and not text.startswith((".", "~"))
        and Path(text).suffix.lower() not in DATA_FILE_BUILDERS
    )


def _missing_corpus(text):
    return FileNotFoundError(
        f"Corpus {text!r} does not exist: give a directory in Glot500-c layout (one <iso639-3>_<Script> text file "
        f"or folder per pair, e.g. {LABEL_EXAMPLE}), a saved dataset or data file with text/lang columns, or a Hub "
        "dataset name."
    )


def _pick_split(dataset, split, name):
    if isinstance(dataset, (DatasetDict, IterableDatasetDict)):
        if split not in dataset:
            raise ValueError(f"Dataset {str(name)!r} has no split {split!r}; its splits: {', '.join(dataset)}.")
        return dataset[split]
    return dataset


def _looks_like_glot500(path):
    names = [p.name for p in path.iterdir() if not p.name.startswith(".")]
    return bool(names) and all(LABEL_PATTERN.match(name) for name in names)


def _column_names(dataset):
    names = dataset.column_names
    if names is None:  # a streaming dataset whose features are unknown until read: look at one row
        first = next(iter(dataset.take(1)), None)
        names = list(first) if first is not None else []
    return list(names)


def check_text_columns(dataset, name="corpus"):
    """ValueError unless the dataset has `text` and `lang` columns (naming the columns it has)."""
    if isinstance(dataset, (DatasetDict, IterableDatasetDict)):
        raise ValueError(f"Corpus {str(name)!r} is a dict of splits ({', '.join(dataset)}): pick one, e.g. corpus['train'].")
    names = _column_names(dataset)
    missing = [column for column in ("text", "lang") if column not in names]
    if missing:
        raise ValueError(
            f"Corpus {str(name)!r} has no {' and no '.join(repr(m) for m in missing)} column; its columns are "
            f"{names}. A dataset corpus needs `text` (raw text) and `lang` (ISO 639-3 code or Glot500 label such "
            "as 'hin_Deva'), optionally `script` (ISO 15924): rename them with dataset.rename_column(old, new)."
        )


def _pair_labels(texts, langs, scripts, languages, model_scripts):
    """Glot500 label of each row (`hin_Deva`), '' for a row without text. The script is the `script` value,
    else the one the label names, else the majority script of the text's letters."""
    parsed = {}
    for code in set(langs):
        if code is None:
            raise ValueError("A row of the corpus has no `lang` value.")
        parsed[code] = parse_language(code, languages)
    chosen = []
    for text, code, script in zip(texts, langs, scripts):
        chosen.append(script.strip().title() if script and script.strip() else parsed[code][1])
    todo = [i for i, s in enumerate(chosen) if s is None and texts[i] and not texts[i].isspace()]
    for i, found in zip(todo, detect_scripts([texts[i] for i in todo])):
        chosen[i] = found or default_script(parsed[langs[i]][0])
    labels = []
    for text, code, script in zip(texts, langs, chosen):
        if not text or text.isspace():
            labels.append("")
            continue
        script = SCRIPT_ALIASES.get(script, script)
        if script not in model_scripts:
            raise ValueError(
                f"A {code!r} row is written in {script!r}, which is not among the model's scripts "
                f"({', '.join(model_scripts)}): give the corpus a `script` column, or drop those rows. Row: {text[:60]!r}"
            )
        labels.append(f"{parsed[code][0]}_{script}")
    return labels


def _label_batch(batch, languages, scripts):
    texts = batch["text"]
    given = batch["script"] if "script" in batch else [None] * len(texts)
    return {"pair": _pair_labels(texts, batch["lang"], given, languages, scripts)}


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


# ----------------------------------------------------------------------------------------------------------------
# Sampling


def sampling_probabilities(sizes, alpha):
    """p_l = n_l^alpha / sum_k n_k^alpha for `sizes` {pair: n_l} (chunks, or anything proportional to them).
    alpha = 1 keeps the corpus proportions, alpha = 0 is uniform, Glot500 uses 0.3."""
    if alpha is None or not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"sampling_alpha must be a number >= 0 (Glot500 uses 0.3; 1.0 = corpus proportions), not {alpha!r}.")
    if not sizes:
        raise ValueError("sampling_probabilities needs at least one pair size.")
    bad = {label: n for label, n in sizes.items() if not n > 0}
    if bad:
        raise ValueError(f"Pair sizes must be positive; got {bad}.")
    labels = list(sizes)
    weights = np.asarray([sizes[label] for label in labels], dtype=np.float64) ** alpha
    return dict(zip(labels, (weights / weights.sum()).tolist()))


def sample_counts(probabilities, num_samples):
    """Rows per pair in an epoch of `num_samples`: num_samples * p_l with largest-remainder rounding."""
    p = np.asarray(list(probabilities.values()), dtype=np.float64)
    exact = p * num_samples
    counts = np.floor(exact).astype(np.int64)
    extra = num_samples - counts.sum()
    counts[np.argsort(-(exact - counts), kind="stable")[:extra]] += 1
    return dict(zip(probabilities, counts.tolist()))


def _epoch_indices(sizes, counts, seed):
    """Row indices into the pairs' concatenated chunks: pair order shuffled, each pair's chunks in
    seeded permutations (a fresh one only after the previous was used up)."""
    rng = np.random.default_rng(seed)
    sizes_arr = np.asarray(sizes, dtype=np.int64)
    counts_arr = np.asarray(counts, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes_arr)[:-1]])
    sequence = np.repeat(np.arange(len(sizes_arr)), counts_arr)
    rng.shuffle(sequence)
    positions = np.argsort(sequence, kind="stable")  # grouped by pair, in sequence order within a pair
    indices = np.empty(len(sequence), dtype=np.int64)
    start = 0
    for pair, (n, m) in enumerate(zip(sizes_arr, counts_arr)):
        passes = [rng.permutation(n) for _ in range(-(-m // n))] if m else []
        order = np.concatenate(passes)[:m] if passes else np.empty(0, dtype=np.int64)
        indices[positions[start : start + m]] = offsets[pair] + order
        start += m
    return indices


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

    @property
    def num_samples(self):
        return sum(self.samples.values()) if self.samples else None

    def summary(self, limit=20):
        kind = "estimated " if self.estimated else ""
        lines = [f"{len(self.labels)} language-script pairs, chunks of {self.max_seq_length} tokens, alpha={self.alpha}:"]
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
    num_samples=None,
    pair_sizes=None,
    shuffle_buffer_size=1000,
    probe_bytes=1 << 18,
    probe_rows=10_000,
    return_mixture=False,
):
    """MLM pretraining rows `{"input_ids": [max_seq_length], "lang_ids": int, "script_ids": int}` (module doc).

    corpus: a Glot500-c directory (path), a Dataset/IterableDataset with text/lang(/script) columns, or a
        name/path that load_text_dataset() reads. tokenizer: a LangSAMPTokenizer (its `language_id`/`script_id`
        give the table rows). languages: keep only these codes/labels. streaming: lazy IterableDataset (no
        preprocessing pass). num_proc: processes for tokenization. cache_dir: where datasets caches (default
        HF_DATASETS_CACHE). num_samples: rows per epoch (non-streaming; default the corpus' chunk count).
        pair_sizes: {label: size} overriding the (streaming) chunk-count estimates. shuffle_buffer_size:
        streaming shuffle buffer in chunks (0: none). return_mixture: also return the PairMixture.
    """
    _check_tokenizer(tokenizer)
    _check_max_seq_length(max_seq_length, tokenizer)
    sampling_probabilities({"check": 1}, sampling_alpha)  # validates alpha before any work
    if num_samples is not None and (not isinstance(num_samples, (int, np.integer)) or num_samples < 1):
        raise ValueError(f"num_samples must be a positive integer (rows per epoch), not {num_samples!r}.")
    model_languages = _as_lookup(tokenizer.languages)
    model_scripts = list(tokenizer.scripts)

    if isinstance(corpus, (str, os.PathLike)):
        path = Path(corpus).expanduser()
        if path.is_dir() and not any((path / marker).exists() for marker in SAVED_DATASET_MARKERS):
            files = discover_corpus(path, languages, model_languages, model_scripts)
            labels = list(files)
            lang_ids = {label: tokenizer.language_id(label.split("_")[0]) for label in labels}
            script_ids = {label: tokenizer.script_id(label.split("_")[1]) for label in labels}
            builder = _stream_files if streaming else _cached_files
            dataset, mixture = builder(files, lang_ids, script_ids, tokenizer, max_seq_length, sampling_alpha, seed,
                                       num_proc=num_proc, cache_dir=cache_dir, num_samples=num_samples,
                                       pair_sizes=pair_sizes, shuffle_buffer_size=shuffle_buffer_size,
                                       probe_bytes=probe_bytes)
            return (dataset, mixture) if return_mixture else dataset
        if not path.exists() and not _could_be_hub_name(str(corpus)):
            raise _missing_corpus(str(corpus))
        corpus = load_text_dataset(corpus, streaming=streaming, cache_dir=cache_dir)

    check_text_columns(corpus)
    if isinstance(corpus, Dataset) and not streaming:
        dataset, mixture = _cached_rows(corpus, tokenizer, max_seq_length, sampling_alpha, languages, seed,
                                        num_proc, cache_dir, num_samples, model_languages, model_scripts)
    elif isinstance(corpus, (Dataset, IterableDataset)):
        if not streaming:
            raise ValueError("The corpus is an IterableDataset: pass streaming=True (or load it without streaming).")
        rows = corpus.to_iterable_dataset() if isinstance(corpus, Dataset) else corpus
        dataset, mixture = _stream_rows(rows, tokenizer, max_seq_length, sampling_alpha, languages, seed,
                                        pair_sizes, shuffle_buffer_size, probe_rows, model_languages, model_scripts)
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


def _chunk_and_sample(texts, texts_fingerprint, row_counts, labels, lang_ids, script_ids, tokenizer, max_seq_length,
                      alpha, seed, num_proc, cache_dir, num_samples):
    """Cached path: tokenize `texts` (the pairs' lines one pair after the other; num_proc processes), chunk per
    pair (one process), then draw the epoch."""
    fingerprint = _fingerprint("tokens", texts_fingerprint, _tokenizer_fingerprint(tokenizer))
    tokenized = texts.map(
        _tokenize_batch,
        batched=True,
        # datasets starts a worker pool (and pickles the 15 MB tokenizer into it) for any num_proc >= 1.
        num_proc=num_proc if num_proc and num_proc > 1 else None,
        remove_columns=texts.column_names,
        fn_kwargs={"tokenizer": tokenizer},
        features=TOKEN_FEATURES,
        new_fingerprint=fingerprint,
        cache_file_name=_map_cache_file(cache_dir, "tokens", fingerprint),
        desc="Tokenizing",
    )
    row_starts = np.concatenate([[0], np.cumsum(row_counts)[:-1]]).astype(np.int64)
    column = tokenized.data.column("input_ids")
    tokens = {
        label: int(pc.sum(pc.list_value_length(column.slice(int(start), int(count)))).as_py() or 0)
        for label, start, count in zip(labels, row_starts, row_counts)
    }
    _too_short_error(tokens, max_seq_length)
    sizes = {label: tokens[label] // max_seq_length for label in labels}

    fingerprint = _fingerprint("chunks", tokenized._fingerprint, max_seq_length, labels, lang_ids, script_ids, list(row_counts))
    chunks = tokenized.map(
        _ChunkPairs(row_starts, [lang_ids[label] for label in labels], [script_ids[label] for label in labels], max_seq_length),
        batched=True,
        batch_size=CHUNK_BATCH_ROWS,
        with_indices=True,
        num_proc=None,  # stateful chunker: rows in order, one process
        remove_columns=["input_ids"],
        features=CHUNK_FEATURES,
        new_fingerprint=fingerprint,
        cache_file_name=_map_cache_file(cache_dir, "chunks", fingerprint),
        desc=f"Chunking into {max_seq_length}-token sequences",
    )
    if len(chunks) != sum(sizes.values()):
        raise RuntimeError(
            f"Chunking gave {len(chunks)} chunks where the token counts give {sum(sizes.values())}: the cache at "
            f"{chunks.cache_files[:1]} is stale or corrupt; delete it and run again."
        )
    probabilities = sampling_probabilities(sizes, alpha)
    counts = sample_counts(probabilities, num_samples if num_samples is not None else sum(sizes.values()))
    indices = _epoch_indices([sizes[label] for label in labels], [counts[label] for label in labels], seed)
    dataset = chunks.select(indices)
    mixture = PairMixture(labels, lang_ids, script_ids, sizes, probabilities, alpha, max_seq_length,
                          samples=counts, tokens=tokens)
    logger.info(mixture.summary())
    return dataset, mixture


def _cached_files(files, lang_ids, script_ids, tokenizer, max_seq_length, alpha, seed, *, num_proc, cache_dir,
                  num_samples, **_):
    labels = list(files)
    texts = [
        load_dataset("text", data_files=[str(f) for f in files[label]], split="train", cache_dir=cache_dir)
        for label in labels
    ]
    row_counts = [len(t) for t in texts]
    combined = concatenate_datasets(texts) if len(texts) > 1 else texts[0]
    return _chunk_and_sample(combined, [t._fingerprint for t in texts], row_counts, labels, lang_ids, script_ids,
                             tokenizer, max_seq_length, alpha, seed, num_proc, cache_dir, num_samples)


def _cached_rows(corpus, tokenizer, max_seq_length, alpha, languages, seed, num_proc, cache_dir, num_samples,
                 model_languages, model_scripts):
    """A Dataset with text/lang(/script) columns: label every row with its pair, group rows by pair, then as files."""
    for code in corpus.unique("lang"):  # unknown codes fail here, before any per-row work
        if code is None:
            raise ValueError("A row of the corpus has no `lang` value.")
        parse_language(code, model_languages)
    columns = [c for c in ("text", "lang", "script") if c in corpus.column_names]
    texts = corpus.select_columns(columns)
    fingerprint = _fingerprint("pairs", corpus._fingerprint, list(model_languages), model_scripts)
    labeled = texts.map(
        _label_batch,
        batched=True,
        num_proc=num_proc,
        fn_kwargs={"languages": model_languages, "scripts": model_scripts},
        new_fingerprint=fingerprint,
        cache_file_name=_map_cache_file(cache_dir, "pairs", fingerprint),
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
    lang_ids = {label: tokenizer.language_id(label.split("_")[0]) for label in labels}
    script_ids = {label: tokenizer.script_id(label.split("_")[1]) for label in labels}
    return _chunk_and_sample(grouped, grouped._fingerprint, row_counts, labels, lang_ids, script_ids, tokenizer,
                             max_seq_length, alpha, seed, num_proc, cache_dir, num_samples)


# -- streaming ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FileSource:
    """One pair of a Glot500-c directory, read lazily by the datasets "text" builder."""

    label: str
    files: tuple
    lang_id: int
    script_id: int

    def text_batches(self, batch_size):
        lines = load_dataset("text", data_files=list(self.files), split="train", streaming=True)
        for batch in lines.iter(batch_size=batch_size):
            yield batch["text"]


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
            labels = _pair_labels(texts, batch["lang"], given, lookup, list(self.scripts))
            yield [text for text, label in zip(texts, labels) if label == self.label]


def _generate_chunks(sources, tokenizer, max_seq_length):
    """IterableDataset generator: each source's chunks, built by the same code as the cached path."""
    tokenizer = tokenizer.tokenizer  # unwrap _SharedTokenizer
    for source in sources:
        chunker = _Chunker(max_seq_length)
        for texts in source.text_batches(STREAM_BATCH_LINES):
            for chunk in chunker.feed(_tokenize_texts(tokenizer, texts)):
                yield {"input_ids": chunk, "lang_ids": source.lang_id, "script_ids": source.script_id}


def _mix_streams(sources, sizes, tokens, tokenizer, max_seq_length, alpha, seed, shuffle_buffer_size, estimated):
    labels = [source.label for source in sources]
    probabilities = sampling_probabilities(sizes, alpha)
    # One generator dataset with a shard per pair (datasets hashes the generator's arguments, tokenizer included,
    # once), then one single-shard dataset per pair for interleave_datasets.
    chunks = IterableDataset.from_generator(
        _generate_chunks,
        features=CHUNK_FEATURES,
        gen_kwargs={"sources": list(sources), "tokenizer": _SharedTokenizer(tokenizer), "max_seq_length": max_seq_length},
    )
    per_pair = [chunks.shard(num_shards=len(sources), index=k) for k in range(len(sources))]
    mixed = interleave_datasets(
        per_pair, probabilities=[probabilities[label] for label in labels], seed=seed, stopping_strategy="all_exhausted"
    )
    if shuffle_buffer_size:
        mixed = mixed.shuffle(seed=seed, buffer_size=shuffle_buffer_size)
    mixture = PairMixture(labels, {s.label: s.lang_id for s in sources}, {s.label: s.script_id for s in sources},
                          sizes, probabilities, alpha, max_seq_length, estimated=estimated, tokens=tokens)
    logger.info(mixture.summary())
    return mixed, mixture


def _stream_files(files, lang_ids, script_ids, tokenizer, max_seq_length, alpha, seed, *, pair_sizes,
                  shuffle_buffer_size, probe_bytes, **_):
    labels = list(files)
    if pair_sizes is not None:
        sizes, tokens, estimated = _given_sizes(pair_sizes, labels), {}, False
    else:
        tokens, exact = {}, True
        for label in labels:
            tokens[label], whole = estimate_tokens(files[label], tokenizer, probe_bytes)
            exact = exact and whole
        _too_short_error({label: n for label, n in tokens.items()}, max_seq_length)
        sizes = {label: max(1, tokens[label] // max_seq_length) for label in labels}
        estimated = not exact
    sources = [_FileSource(label, tuple(str(f) for f in files[label]), lang_ids[label], script_ids[label]) for label in labels]
    return _mix_streams(sources, sizes, tokens, tokenizer, max_seq_length, alpha, seed, shuffle_buffer_size, estimated)


def _stream_rows(rows, tokenizer, max_seq_length, alpha, languages, seed, pair_sizes, shuffle_buffer_size,
                 probe_rows, model_languages, model_scripts):
    if pair_sizes is not None:
        for label in pair_sizes:
            if not LABEL_PATTERN.match(label):
                raise ValueError(f"pair_sizes key {label!r} is not a <iso639-3>_<Script> label such as 'hin_Deva'.")
        labels = select_pairs(sorted(pair_sizes), languages, model_languages)
        sizes, tokens, estimated = _given_sizes(pair_sizes, labels), {}, False
    else:
        # Pair sizes of a mixed stream are unknown without a full pass: estimate them from its first rows.
        tokens, probed = {}, 0
        for batch in rows.take(probe_rows).iter(batch_size=1000):
            probed += len(batch["text"])
            given = batch["script"] if "script" in batch else [None] * len(batch["text"])
            labels_of_rows = _pair_labels(batch["text"], batch["lang"], given, model_languages, model_scripts)
            for label, ids in zip(labels_of_rows, _tokenize_texts(tokenizer, batch["text"])):
                if label:
                    tokens[label] = tokens.get(label, 0) + len(ids)
        if not tokens:
            raise ValueError(f"The first {probe_rows} rows of the corpus hold no text.")
        labels = select_pairs(sorted(tokens), languages, model_languages)
        estimated = probed >= probe_rows  # else the probe read the whole dataset: exact counts
        if not estimated:
            _too_short_error({label: tokens[label] for label in labels}, max_seq_length)
        sizes = {label: max(1, tokens[label] // max_seq_length) for label in labels}
    if estimated:
        logger.warning(
            f"Streaming a text/lang dataset: pairs and their sizes are estimated from its first {probe_rows} rows "
            f"({', '.join(labels)}). If the dataset is sorted by language, pass pair_sizes={{label: size}}."
        )
    sources = [
        _RowSource(label, rows, tokenizer.language_id(label.split("_")[0]), tokenizer.script_id(label.split("_")[1]),
                   tuple(model_languages), tuple(model_scripts))
        for label in labels
    ]
    return _mix_streams(sources, sizes, tokens, tokenizer, max_seq_length, alpha, seed, shuffle_buffer_size, estimated)


def _given_sizes(pair_sizes, labels):
    missing = [label for label in labels if label not in pair_sizes]
    if missing:
        raise ValueError(f"pair_sizes has no size for {missing}; it must give one for every pair.")
    return {label: pair_sizes[label] for label in labels}


def estimate_tokens(files, tokenizer, probe_bytes=1 << 18):
    """(tokens, exact): a pair's token count as the pipeline counts it, from a probe of its first files.

    The first `probe_bytes` of text are tokenized (tokens per text byte) and up to 16x as much text is read
    (cheap, no tokenizing) to measure text bytes per byte on disk, which differs for compressed files; the
    product is extrapolated to the files' total size on disk. `exact` is True when the tokenized probe covered
    every file (then `tokens` is the exact count)."""
    files = [Path(f) for f in files]
    sample, sample_bytes, text_bytes, disk_bytes, whole = [], 0, 0, 0, True
    for file in files:
        compression = _compression(file)
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


# ----------------------------------------------------------------------------------------------------------------
# Collator


def make_collator(tokenizer, mlm_probability=0.15, seed=None):
    """transformers' stock `DataCollatorForLanguageModeling`, which does all LangSAMP needs (checked on v5.24):

    * 15% of tokens masked, of those 80% `<mask>`, 10% a random token (drawn from the whole vocabulary, as
      run_mlm.py does), 10% kept; labels -100 everywhere else;
    * special tokens (`<s>`, `</s>`, `<pad>`, `<unk>`, `<mask>`) are never masked: without a
      `special_tokens_mask` column it calls `tokenizer.get_special_tokens_mask(ids, already_has_special_tokens
      =True)`, which marks every id in `tokenizer.all_special_ids`, padding included;
    * `lang_ids` / `script_ids` pass through `tokenizer.pad`, which keeps one scalar per row (-> `[batch]`
      long tensors, which the model broadcasts over the sequence).

    `seed`: None draws masks from torch's global RNG, which the Trainer seeds (`set_seed(args.seed)`), saves in
    every checkpoint (rng_state*.pth) and restores on resume, but only after the first resumed step's batches
    were collated, so masks from then on follow the restored stream, not the uninterrupted run's. An int gives
    the collator its own torch.Generator, seeded on first use in each process (DataLoader workers: seed + worker
    id); it is not checkpointed, so a resumed run restarts it from `seed`. Either way the DATA ORDER of a resumed
    run is exact (the rows come from the deterministic dataset); the masks are a fresh random draw. Under DDP
    every rank gets the same `seed` (and the Trainer seeds every rank's global RNG alike): for different masks
    per rank pass e.g. `seed=args.seed + 1000 * args.process_index`. train.py wraps the collator in
    `ResumableMasking`, which seeds each batch's masks from its content: resumed runs then match exactly.
    """
    return DataCollatorForLanguageModeling(tokenizer=tokenizer, mlm=True, mlm_probability=mlm_probability, seed=seed)


# The stock class is the LangSAMP collator: nothing needs overriding (see make_collator).
LangSAMPDataCollator = DataCollatorForLanguageModeling

__all__ = [
    "LangSAMPDataCollator",
    "PairMixture",
    "build_pretraining_dataset",
    "discover_corpus",
    "estimate_tokens",
    "load_text_dataset",
    "make_collator",
    "sample_counts",
    "sampling_probabilities",
    "select_pairs",
]
