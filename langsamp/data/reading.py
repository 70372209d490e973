"""The raw source: what a corpus path is (a folder of per-pair entries, a saved dataset, a data file, a Hub name) and
how its text files are read (compression, encoding, line ends), without knowing yet which pairs it holds.

Text files are read the way datasets' "text" builder reads them: UTF-8, universal newlines, "\\n" stripped, blank
lines kept. Compressed files are read through fsspec (gzip, bz2 and xz out of the box; zstd and lz4 with their
packages).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import fsspec
from datasets import Dataset, DatasetDict, IterableDataset, IterableDatasetDict
from fsspec.compression import compr
from fsspec.utils import infer_compression

from langsamp.data.labels import LABEL_EXAMPLE, LABEL_PATTERN, SCRIPT_SAMPLE_LINES, check_pair_script

# Compressions fsspec (and hence the datasets "text" builder) reads through, and the package each needs.
COMPRESSION_PACKAGES = {"gzip": None, "bz2": None, "xz": None, "lzma": None, "zstd": "zstandard", "lz4": "lz4"}
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".tar.gz", ".7z", ".rar")
SAVED_DATASET_MARKERS = ("state.json", "dataset_dict.json", "dataset_info.json")
DATA_FILE_BUILDERS = {
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".arrow": "arrow",
}
SHARD_BUILDERS = {".parquet": "parquet", ".arrow": "arrow", ".jsonl": "json", ".json": "json", ".ndjson": "json"}
HUB_REPO_FILES = ("README.md", ".gitattributes")  # next to the pair folders of a snapshot


# ----------------------------------------------------------------------------------------------------------------
# What a path is


def is_saved_dataset(path: Path) -> bool:
    """Whether a folder is a `save_to_disk` dataset (or dataset dict)."""
    return any((path / marker).exists() for marker in SAVED_DATASET_MARKERS)


def data_suffix(file: Path) -> str:
    """A file's format suffix (`.txt`, `.parquet`, ...), compression suffixes left out; '' for none."""
    suffixes = [s.lower() for s in file.suffixes if s.lower() not in (".gz", ".bz2", ".xz", ".zst")]
    return suffixes[-1] if suffixes else ""


def plain_text_folder(root: Path) -> bool:
    """Whether a folder holds only plain text files (`.txt`, compressed or not; no data file, no subfolder)."""
    files = [p for p in root.iterdir() if not p.name.startswith(".") and p.name not in HUB_REPO_FILES]
    return bool(files) and all(p.is_file() and data_suffix(p) == ".txt" for p in files)


def pair_entries(root: Path) -> list[Path] | None:
    """The per-pair entries of a folder (or of its `data/` subfolder), or None if it is not laid out that way."""
    names = [p for p in root.iterdir() if not p.name.startswith(".") and p.name not in HUB_REPO_FILES]
    if len(names) == 1 and names[0].name == "data" and names[0].is_dir():
        return pair_entries(names[0])
    return names if names and any(LABEL_PATTERN.match(p.name) for p in names) else None


def could_be_hub_name(text: str) -> bool:
    """`name` or `owner/name`, and not obviously a local path (`./x`, `/x`, `~/x`, `x.jsonl`)."""
    return (
        re.fullmatch(r"[\w.-]+(/[\w.-]+)?", text) is not None
        and not text.startswith((".", "~"))
        and Path(text).suffix.lower() not in DATA_FILE_BUILDERS
    )


def missing_corpus(text: str) -> FileNotFoundError:
    """The error for a corpus that is neither a path that exists nor a possible Hub name."""
    return FileNotFoundError(
        f"Corpus {text!r} does not exist: give a directory in Glot500-c layout (one <iso639-3>_<Script> text file "
        f"or folder per pair, e.g. {LABEL_EXAMPLE}), a snapshot or Hub id of a dataset with one config per pair, a "
        "saved dataset or data file with text/lang columns, or a Hub dataset name."
    )


def pick_split(dataset, split: str, name) -> Dataset | IterableDataset:
    """One split of a dataset dict (ValueError naming the splits it has); a dataset as it is."""
    if isinstance(dataset, (DatasetDict, IterableDatasetDict)):
        if split not in dataset:
            raise ValueError(f"Dataset {str(name)!r} has no split {split!r}; its splits: {', '.join(dataset)}.")
        return dataset[split]
    return dataset


def column_names(dataset: Dataset | IterableDataset) -> list[str]:
    """A dataset's columns; a stream whose features are unknown until read shows them in its first row."""
    names = dataset.column_names
    if names is None:
        first = next(iter(dataset.take(1)), None)
        names = list(first) if first is not None else []
    return list(names)


# ----------------------------------------------------------------------------------------------------------------
# Text files: compression, readability, script


def compression_of(file) -> str | None:
    """fsspec's compression name for a file (None for plain text); ValueError if it cannot be read."""
    name = Path(file).name.lower()
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


def check_text_file(file: Path, label: str) -> None:
    """Fail early on an empty, undecodable or unreadable file, or one in another script than its label's (reads
    only its first lines)."""
    if file.stat().st_size == 0:
        raise ValueError(f"Corpus file {str(file)!r} ({label}) is empty: remove it or give it text.")
    lines = []
    try:
        with fsspec.open(str(file), "rt", compression=compression_of(file), encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    lines.append(line)
                if len(lines) >= SCRIPT_SAMPLE_LINES:
                    break
    except UnicodeDecodeError as error:
        raise ValueError(f"Corpus file {str(file)!r} ({label}) is not UTF-8 text: {error}.") from error
    except (OSError, EOFError, ValueError) as error:  # gzip/bz2/lzma raise OSError, EOFError or ValueError
        raise ValueError(
            f"Corpus file {str(file)!r} ({label}) cannot be read ({type(error).__name__}: {error})."
        ) from error
    if not lines:
        raise ValueError(f"Corpus file {str(file)!r} ({label}) is empty (whitespace only): remove it or give it text.")
    check_pair_script(label, lines, f"Corpus file {str(file)!r}")


def find_unreadable_file(files: Iterable[Path]) -> tuple[Path | None, Exception | None]:
    """The first of `files` that fails a full decompressing read, with the error; (None, None) if all read."""
    for file in files:
        if compression_of(file) is None:
            continue
        try:
            with fsspec.open(str(file), "rb", compression=compression_of(file)) as handle:
                while handle.read(1 << 20):
                    pass
        except (OSError, EOFError, ValueError) as error:
            return file, error
    return None, None


def read_text_lines(files: Iterable[Path], batch_size: int) -> Iterator[list[str]]:
    """A pair's text files as batches of `batch_size` lines, read the way datasets' "text" builder reads them
    (UTF-8, universal newlines, "\\n" stripped, blank lines kept), for streaming hundreds of pairs at once.

    Why not that builder: it reads 10 MB per file per step and holds the file open for as long as its stream is
    alive, so a mixture of 670 pairs held 670 open files and gigabytes of text blocks. Here a plain file is open
    only while one batch is read (reopened at the saved position for the next one); a compressed file stays open
    while its pair is being read (seeking into it would decompress it again from its start)."""
    for file in files:
        compression = compression_of(file)
        position, handle = 0, None
        try:
            while True:
                if handle is None:
                    handle = _open_text(file, compression, position)
                lines = []
                while len(lines) < batch_size:
                    line = handle.readline()
                    if not line:
                        break
                    lines.append(line.rstrip("\n"))
                if compression is None:
                    position = handle.tell()
                    handle.close()
                    handle = None
                if lines:
                    yield lines
                if len(lines) < batch_size:
                    break
        finally:
            if handle is not None:
                handle.close()


def _open_text(file: Path, compression: str | None, position: int):
    if compression is None:
        handle = open(file, encoding="utf-8")
        handle.seek(position)
        return handle
    return fsspec.open(str(file), "rt", compression=compression, encoding="utf-8").open()


def probe_text(files: Iterable[Path], probe_bytes: int) -> tuple[list[str], int, int, int, bool]:
    """The first `probe_bytes` of a pair's text as lines, and what sizes its whole text from them: (lines, their
    bytes, text bytes read, bytes on disk they came from, whether every file was read to its end). Up to 16x
    `probe_bytes` of text is read (cheap, no tokenizing) to measure text bytes per byte on disk, which differs for
    compressed files."""
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
    return sample, sample_bytes, text_bytes, disk_bytes, whole
