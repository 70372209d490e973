"""Where a pretraining corpus comes from: finding its `<iso639-3>_<Script>` pairs and opening their text.

A corpus is one of
  * a directory in Glot500-c layout: one plain-text file (`hin_Deva`, `hin_Deva.txt`, `hin_Deva.txt.gz`, ...) or
    one folder of text files (`hin_Deva/`) per pair, one sentence/paragraph a line;
  * a plain local snapshot of a per-pair dataset: one folder per pair (possibly under `data/`) holding Parquet,
    Arrow or JSON Lines shards or a `save_to_disk` folder, the split in a subfolder or not (`data/hin_Deva/train/
    *.parquet` as in HuggingFaceFW/fineweb-2, `hin_Deva/train/*.arrow` as in cis-lmu/Glot500);
  * a dataset whose CONFIGS are the pairs: a Hub id (`HuggingFaceFW/fineweb-2`, `cis-lmu/Glot500`) or a local
    folder laid out like the Hub repo (README YAML `configs:`), read with `load_dataset(path_or_id, config)` -
    the same call for both. Configs named by a language alone (`hi`, `hin`: MADLAD-400, CulturaX) take the script
    from the `languages` filter (`hin_Deva`), else the script most of their first lines are written in;
  * a `datasets` dataset with a `text` and a `lang` column (ISO 639-3 codes or Glot500 labels) and an optional
    `script` column: see `load_text_dataset`.

The first three give `{label: PairSource}` (`find_pairs`); the pair's ids come from its file, folder or config
name. `open_pairs` opens them with as few `load_dataset` calls as datasets allows: one for all text folders
(`data_files={pair: files}`: one split per pair), one per shard format, one per config (datasets reads one
config per call). Everything is checked before any bulk reading: names, languages and scripts against the model's
inventory, empty or unreadable files, and whether each pair's first lines are written in the script its name says.
"""

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import fsspec
from datasets import (
    DatasetDict,
    IterableDatasetDict,
    get_dataset_config_names,
    load_dataset,
    load_from_disk,
)
from fsspec.utils import infer_compression

from langsamp_codes import SCRIPT_ALIASES, default_script, detect_scripts, parse_language
from langsamp_inventory import RELEASE_LANGUAGES, RELEASE_SCRIPTS

logger = logging.getLogger(__name__)

# `<iso639-3>_<Script>` with an optional suffix (`.txt`, `.gz`, `.txt.gz`, ...).
LABEL_PATTERN = re.compile(r"^(?P<lang>[a-z]{3})_(?P<script>[A-Z][a-z]{3})(?:\.[^/]+)?$")
CONFIG_LABEL = re.compile(r"^(?P<lang>[a-z]{3})_(?P<script>[A-Z][a-z]{3})$")  # fineweb-2's `*_removed` do not match
LABEL_EXAMPLE = "'hin_Deva', 'hin_Deva.txt' or 'hin_Deva.txt.gz' (or a folder 'hin_Deva/' of such text files)"
# Compressions fsspec (and hence the datasets "text" builder) reads through, and the package each needs.
COMPRESSION_PACKAGES = {"gzip": None, "bz2": None, "xz": None, "lzma": None, "zstd": "zstandard", "lz4": "lz4"}
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".tar.gz", ".7z", ".rar")
SAVED_DATASET_MARKERS = ("state.json", "dataset_dict.json", "dataset_info.json")
DATA_FILE_BUILDERS = {".json": "json", ".jsonl": "json", ".ndjson": "json", ".csv": "csv", ".tsv": "csv",
                      ".parquet": "parquet", ".arrow": "arrow"}
SHARD_BUILDERS = {".parquet": "parquet", ".arrow": "arrow", ".jsonl": "json", ".json": "json", ".ndjson": "json"}
HUB_REPO_FILES = ("README.md", ".gitattributes")  # next to the pair folders of a snapshot
# Script check: how many first lines of each pair are looked at, and the share of them (among lines with letters)
# that must be in the pair's script; below WARN_SHARE a warning, below ERROR_SHARE an error.
SCRIPT_SAMPLE_LINES = 200
ERROR_SHARE, WARN_SHARE = 0.5, 0.9
# Scripts that also count as the label's: Japanese lines without kana read as Han, Korean mixes in Han.
COMPATIBLE_SCRIPTS = {"Jpan": {"Hani"}, "Hang": {"Hani"}}


@dataclass(frozen=True)
class PairSource:
    """One language-script pair of a corpus and where its text is.

    kind: 'text' (plain-text files), 'shards' (data files read by the `builder` packaged module), 'saved' (a
    `save_to_disk` folder, `files[0]`) or 'config' (config `config` of dataset `path`). `origin` names it in
    messages (a file, a folder, `path` + config)."""

    label: str
    kind: str
    origin: str
    files: tuple = ()
    builder: str | None = None
    path: str | None = None
    config: str | None = None
    split: str = "train"

    @property
    def lang(self):
        return self.label.split("_")[0]

    @property
    def script(self):
        return self.label.split("_")[1]


# ----------------------------------------------------------------------------------------------------------------
# Finding the pairs


def find_pairs(corpus, languages=None, model_languages=None, model_scripts=None, split="train"):
    """`{label: PairSource}` for a corpus made of per-pair files, folders or configs (module doc), labels sorted;
    None when `corpus` is a dataset of rows with a `lang` column instead (`load_text_dataset`). FileNotFoundError
    for a path that does not exist and cannot be a Hub id."""
    path = Path(str(corpus)).expanduser()
    if path.is_dir():
        if _is_saved_dataset(path):
            return None
        if (path / "README.md").is_file():
            found = _config_pairs(str(path), languages, model_languages, model_scripts, split)
            if found is not None:
                return found
        if _pair_entries(path) is not None or _plain_text_folder(path):
            # (A folder of plain text files none of which is named after its pair, `english.txt`, is a Glot500
            # folder misnamed rather than a dataset: discover_corpus names the file and the naming rule.)
            return discover_corpus(path, languages, model_languages, model_scripts, split)
        return None
    if path.exists() or not could_be_hub_name(str(corpus)):
        if not path.exists():
            raise missing_corpus(str(corpus))
        return None  # a data file: rows with text/lang columns
    return _config_pairs(str(corpus), languages, model_languages, model_scripts, split)


def _is_saved_dataset(path):
    return any((path / marker).exists() for marker in SAVED_DATASET_MARKERS)


def _plain_text_folder(root):
    """Whether a folder holds only plain text files (`.txt`, compressed or not; no data file, no subfolder)."""
    files = [p for p in root.iterdir() if not p.name.startswith(".") and p.name not in HUB_REPO_FILES]
    return bool(files) and all(p.is_file() and _data_suffix(p) == ".txt" for p in files)


def _pair_entries(root):
    """The per-pair entries of a folder (or of its `data/` subfolder), or None if it is not laid out that way."""
    names = [p for p in root.iterdir() if not p.name.startswith(".") and p.name not in HUB_REPO_FILES]
    if len(names) == 1 and names[0].name == "data" and names[0].is_dir():
        return _pair_entries(names[0])
    return names if names and any(LABEL_PATTERN.match(p.name) for p in names) else None


def discover_corpus(path, languages=None, model_languages=None, model_scripts=None, split="train"):
    """The pairs of a local per-pair folder (Glot500-c text layout or a snapshot of shards): `{label:
    PairSource}`, labels and files sorted.

    `languages` keeps only some pairs: ISO 639-3 codes (`hin`: every script of it) and/or labels (`hin_Deva`);
    each entry must match a pair. Everything is checked before any data is read in bulk: a missing path
    (FileNotFoundError), an entry not named `<iso639-3>_<Script>`, a language or script outside the model's
    inventory (`model_languages` / `model_scripts`, default the release's 610 / 30), an empty or undecodable
    file, an unreadable compression, text in another script than the name says (ValueError naming the entry and
    the fix)."""
    model_languages = as_lookup(model_languages if model_languages is not None else RELEASE_LANGUAGES)
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
    listed = _pair_entries(root) or [p for p in root.iterdir() if not p.name.startswith(".")]
    entries = {}
    for entry in sorted(listed):
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
    _check_inventory({label: entries[label].name for label in labels}, model_languages, model_scripts)
    return {label: _folder_source(label, entries[label], split) for label in labels}


def _check_inventory(names, model_languages, model_scripts):
    """Every pair's language and script must have a table row, and no two pairs the same rows."""
    rows = {}
    for label, name in names.items():
        lang, script = label.split("_")
        parse_language(lang, model_languages)  # ValueError listing the closest codes
        if SCRIPT_ALIASES.get(script, script) not in model_scripts:
            raise ValueError(
                f"Corpus entry {name!r}: script {script!r} is not among the model's scripts "
                f"({', '.join(model_scripts)}). Remove the pair, or filter it out with `languages`."
            )
        row = (lang, SCRIPT_ALIASES.get(script, script))
        if row in rows:
            raise ValueError(f"Corpus pairs {rows[row]} and {label} map to the same language and script rows {row}.")
        rows[row] = label


def _folder_source(label, entry, split):
    if entry.is_file():
        _check_text_file(entry, label)
        return PairSource(label, "text", str(entry), files=(entry,))
    folder = entry / split if (entry / split).is_dir() else entry
    if _is_saved_dataset(folder):
        return PairSource(label, "saved", str(folder), files=(folder,), split=split)
    files = sorted(
        f for f in folder.rglob("*") if f.is_file() and not any(p.startswith(".") for p in f.relative_to(folder).parts)
    )
    if not files:
        raise ValueError(f"Corpus folder {str(folder)!r} ({label}) holds no files.")
    builders = {SHARD_BUILDERS.get(_data_suffix(f)) for f in files}
    if builders == {None}:
        for file in files:
            _check_text_file(file, label)
        return PairSource(label, "text", str(entry), files=tuple(files))
    if len(builders) > 1:
        kinds = sorted({_data_suffix(f) or "text" for f in files})
        raise ValueError(
            f"Corpus folder {str(folder)!r} ({label}) mixes file types ({', '.join(kinds)}): keep one format per pair "
            "(plain text, or Parquet / Arrow / JSON Lines shards)."
        )
    for file in files:
        if file.stat().st_size == 0:
            raise ValueError(f"Corpus file {str(file)!r} ({label}) is empty: remove it.")
    return PairSource(label, "shards", str(folder), files=tuple(files), builder=builders.pop(), split=split)


def _data_suffix(file):
    suffixes = [s.lower() for s in file.suffixes if s.lower() not in (".gz", ".bz2", ".xz", ".zst")]
    return suffixes[-1] if suffixes else ""


def _config_pairs(path, languages, model_languages, model_scripts, split):
    """The pairs of a dataset whose configs are `<lang>_<Script>` labels (or language codes alone); None when its
    configs are neither (then it is read as rows with a `lang` column)."""
    model_languages = as_lookup(model_languages if model_languages is not None else RELEASE_LANGUAGES)
    model_scripts = list(model_scripts if model_scripts is not None else RELEASE_SCRIPTS)
    try:
        names = get_dataset_config_names(path)
    except Exception as error:  # the Hub's errors vary (offline, missing repo, no access): say what was tried
        if Path(path).exists():
            raise ValueError(f"Corpus {path!r}: datasets cannot read its README configs ({type(error).__name__}: {error}).") from error
        raise FileNotFoundError(
            f"Corpus {path!r} is neither a local file or directory nor a loadable Hub dataset ({type(error).__name__}: "
            f"{error})."
        ) from error
    labelled = {name: name for name in names if CONFIG_LABEL.match(name)}
    if labelled:
        skipped = sorted(set(names) - set(labelled))
        if skipped:
            logger.info("Corpus %s: configs not named <lang>_<Script> are left out: %s", path, ", ".join(skipped[:20]))
        labels = select_pairs(sorted(labelled), languages, model_languages)
        _check_inventory({label: f"{path} config {label}" for label in labels}, model_languages, model_scripts)
        return {label: PairSource(label, "config", f"{path} (config {label})", path=path, config=label, split=split)
                for label in labels}
    return _scriptless_config_pairs(path, names, languages, model_languages, model_scripts, split)


def _scriptless_config_pairs(path, names, languages, model_languages, model_scripts, split):
    """Configs named by a language alone (`hi`, `hin`): the script comes from the `languages` entry that selects
    the config (`hin_Deva`), else from the text of its first rows, else the language's usual script."""
    langs = {}
    for name in names:
        try:
            lang, script = parse_language(name, model_languages)
        except ValueError:
            continue
        if script is None:
            langs.setdefault(lang, name)
    if not langs:
        return None
    wanted = {}  # config name -> script from the filter (None: detect)
    if languages is None:
        wanted = {name: None for name in langs.values()}
    else:
        entries = [code for code in re.split(r"[,\s]+", languages) if code] if isinstance(languages, str) else list(languages)
        unmatched = []
        for code in entries:
            lang, script = parse_language(code, model_languages)
            if lang not in langs:
                unmatched.append(code)
            else:
                wanted[langs[lang]] = script
        if unmatched:
            raise ValueError(
                f"The languages filter entries {unmatched} match no config of {path!r}. Its configs: "
                f"{', '.join(sorted(langs.values())[:40])}."
            )
    sources = {}
    for name, script in sorted(wanted.items()):
        lang = parse_language(name, model_languages)[0]
        if script is None:
            sample = load_dataset(path, name, split=split, streaming=True).take(SCRIPT_SAMPLE_LINES)
            found = [s for s in detect_scripts([row["text"] or "" for row in sample]) if s]
            script = max(set(found), key=found.count) if found else default_script(lang)
            logger.info("Corpus %s config %s: script %s detected from its first rows.", path, name, script)
        if script is None:
            raise ValueError(f"Corpus {path!r} config {name!r}: no script given or detectable; select it as {lang}_<Script>.")
        label = f"{lang}_{SCRIPT_ALIASES.get(script, script)}"
        sources[label] = PairSource(label, "config", f"{path} (config {name})", path=path, config=name, split=split)
    _check_inventory({label: s.origin for label, s in sources.items()}, model_languages, model_scripts)
    return dict(sorted(sources.items()))


def select_pairs(labels, languages, model_languages=None):
    """The labels matching a `languages` filter (codes or labels, any form parse_language accepts), in order.
    Every entry of the filter must match at least one label."""
    if languages is None:
        return list(labels)
    if isinstance(languages, str):
        languages = [code for code in re.split(r"[,\s]+", languages) if code]
    model_languages = as_lookup(model_languages if model_languages is not None else RELEASE_LANGUAGES)
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


def as_lookup(codes):
    return codes if isinstance(codes, (dict, set, frozenset)) else dict.fromkeys(codes)


# ----------------------------------------------------------------------------------------------------------------
# Text files: compression, readability, script


def compression_of(file):
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


def _check_text_file(file, label):
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
        raise ValueError(f"Corpus file {str(file)!r} ({label}) cannot be read ({type(error).__name__}: {error}).") from error
    if not lines:
        raise ValueError(f"Corpus file {str(file)!r} ({label}) is empty (whitespace only): remove it or give it text.")
    check_pair_script(label, lines, f"Corpus file {str(file)!r}")


def check_pair_script(label, texts, origin, fix=None):
    """Whether a pair's first lines are written in the script its label names (`rus_Arab` holding Cyrillic is
    caught here, before the pair's rows are trained under the wrong script id). ValueError when fewer than half
    of the lines with letters are in that script, a warning below 90%."""
    script = SCRIPT_ALIASES.get(label.split("_")[1], label.split("_")[1])
    found = [s for s in detect_scripts([t for t in texts if t]) if s is not None]
    if not found:
        return
    accepted = {script} | COMPATIBLE_SCRIPTS.get(script, set())
    share = sum(s in accepted for s in found) / len(found)
    if share >= WARN_SHARE:
        return
    counts = {s: found.count(s) for s in set(found)}
    shown = ", ".join(f"{s} {n / len(found):.0%}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1])[:4])
    message = (
        f"{origin} ({label}): only {share:.0%} of its first {len(found)} lines are in {script}; found {shown}."
    )
    if share < ERROR_SHARE:
        top = max(counts, key=counts.get)
        fix = fix or f"rename it after the script it is written in (e.g. {label.split('_')[0]}_{top}), or fix its content"
        raise ValueError(f"{message} Its text would train under the wrong script id: {fix.format(top=top)}.")
    logger.warning("%s Mixed-script text is trained under the label's script id.", message)


def find_unreadable_file(files):
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


# ----------------------------------------------------------------------------------------------------------------
# Opening the pairs


def open_pairs(sources, streaming=False, cache_dir=None):
    """`{label: Dataset}` (IterableDataset when `streaming`), each with the pair's `text` column only, in the
    order of `sources`; every pair's first lines checked against its script (data files and configs; text files
    were checked when found)."""
    opened = {}
    groups = {}
    for label, source in sources.items():
        if source.kind in ("text", "shards"):
            groups.setdefault(source.builder or "text", {})[label] = source
    for builder, members in groups.items():
        data_files = {label: [str(f) for f in source.files] for label, source in members.items()}
        try:
            loaded = load_dataset(builder, data_files=data_files, streaming=streaming, cache_dir=cache_dir)
        except Exception as error:  # which file? datasets' message often does not say
            files = [f for source in members.values() for f in source.files]
            bad, reason = find_unreadable_file(files)
            if bad is not None:
                raise ValueError(f"Corpus file {str(bad)!r} is corrupt: {type(reason).__name__}: {reason}. Replace or "
                                 "remove it.") from error
            origins = ", ".join(source.origin for source in members.values())
            raise ValueError(f"The corpus' {builder} files cannot be read ({type(error).__name__}: {error}); they are "
                             f"those of {origins}. Replace or remove the broken one.") from error
        opened.update({label: loaded[label] for label in members})
    for label, source in sources.items():
        if source.kind == "saved":
            dataset = load_from_disk(str(source.files[0]))
            if isinstance(dataset, DatasetDict):
                dataset = _pick_split(dataset, source.split, source.origin)
            opened[label] = dataset.to_iterable_dataset() if streaming else dataset
        elif source.kind == "config":
            opened[label] = load_dataset(source.path, source.config, split=source.split, streaming=streaming,
                                         cache_dir=cache_dir)
    result = {}
    for label, source in sources.items():
        dataset = opened[label]
        names = column_names(dataset)
        if "text" not in names:
            raise ValueError(
                f"Corpus {source.origin} ({label}) has no 'text' column; its columns are {names}. Rename the column "
                "that holds the raw text to `text`."
            )
        dataset = dataset.select_columns(["text"])
        if source.kind != "text":
            sample = dataset.take(SCRIPT_SAMPLE_LINES) if streaming else dataset.select(range(min(len(dataset), SCRIPT_SAMPLE_LINES)))
            check_pair_script(label, [row["text"] or "" for row in sample], f"Corpus {source.origin}")
        result[label] = dataset
    return result


def read_text_lines(files, batch_size):
    """A pair's text files as batches of `batch_size` lines, read the way datasets' "text" builder reads them
    (UTF-8, universal newlines, "\n" stripped, blank lines kept), for streaming hundreds of pairs at once.

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
                    if compression is None:
                        handle = open(file, encoding="utf-8")
                        handle.seek(position)
                    else:
                        handle = fsspec.open(str(file), "rt", compression=compression, encoding="utf-8").open()
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


def stream_pair(source, cache_dir=None):
    """One pair's `text` rows as an IterableDataset (a shard, config or saved folder), opened only when the
    stream reaches it; the checks of `open_pairs` were made when the corpus was built."""
    if source.kind in ("text", "shards"):
        rows = load_dataset(source.builder or "text", data_files={"train": [str(f) for f in source.files]},
                            split="train", streaming=True, cache_dir=cache_dir)
    elif source.kind == "saved":
        saved = load_from_disk(str(source.files[0]))
        rows = (_pick_split(saved, source.split, source.origin) if isinstance(saved, DatasetDict) else saved).to_iterable_dataset()
    else:
        rows = load_dataset(source.path, source.config, split=source.split, streaming=True, cache_dir=cache_dir)
    return rows.select_columns(["text"])


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
        if _is_saved_dataset(path):
            dataset = _pick_split(load_from_disk(str(path)), split, name_or_path)
            if streaming:
                dataset = dataset.to_iterable_dataset()
        elif _pair_entries(path) is not None:
            raise ValueError(
                f"{str(path)!r} is a corpus directory with one entry per <lang>_<Script> pair, not a dataset with "
                "text/lang columns: pass it to build_pretraining_dataset() as it is."
            )
        else:
            dataset = load_dataset(str(path), split=split, streaming=streaming, cache_dir=cache_dir, **load_kwargs)
    elif path.is_file():
        suffix = _data_suffix(path)
        builder = DATA_FILE_BUILDERS.get(suffix)
        if builder is None:
            raise ValueError(
                f"Corpus file {str(path)!r}: unsupported type; a dataset file is one of "
                f"{', '.join(sorted(DATA_FILE_BUILDERS))} (a plain-text file belongs in a Glot500-c directory named "
                "after its pair, e.g. corpus/hin_Deva.txt)."
            )
        if suffix == ".tsv":
            load_kwargs.setdefault("delimiter", "\t")
        dataset = load_dataset(builder, data_files=str(path), split=split, streaming=streaming, cache_dir=cache_dir, **load_kwargs)
    else:
        text = str(name_or_path)
        if not could_be_hub_name(text):
            raise missing_corpus(text)
        try:
            dataset = load_dataset(text, split=split, streaming=streaming, cache_dir=cache_dir, **load_kwargs)
        except Exception as error:  # the Hub's errors vary (offline, missing repo, no access): say both things
            raise FileNotFoundError(
                f"Corpus {text!r} is neither a local file or directory nor a loadable Hub dataset ({type(error).__name__}: "
                f"{error})."
            ) from error
    check_text_columns(dataset, name_or_path)
    return dataset


def could_be_hub_name(text):
    """`name` or `owner/name`, and not obviously a local path (`./x`, `/x`, `~/x`, `x.jsonl`)."""
    return (
        re.fullmatch(r"[\w.-]+(/[\w.-]+)?", text) is not None
        and not text.startswith((".", "~"))
        and Path(text).suffix.lower() not in DATA_FILE_BUILDERS
    )


def missing_corpus(text):
    return FileNotFoundError(
        f"Corpus {text!r} does not exist: give a directory in Glot500-c layout (one <iso639-3>_<Script> text file "
        f"or folder per pair, e.g. {LABEL_EXAMPLE}), a snapshot or Hub id of a dataset with one config per pair, a "
        "saved dataset or data file with text/lang columns, or a Hub dataset name."
    )


def _pick_split(dataset, split, name):
    if isinstance(dataset, (DatasetDict, IterableDatasetDict)):
        if split not in dataset:
            raise ValueError(f"Dataset {str(name)!r} has no split {split!r}; its splits: {', '.join(dataset)}.")
        return dataset[split]
    return dataset


def column_names(dataset):
    names = dataset.column_names
    if names is None:  # a streaming dataset whose features are unknown until read: look at one row
        first = next(iter(dataset.take(1)), None)
        names = list(first) if first is not None else []
    return list(names)


def check_text_columns(dataset, name="corpus"):
    """ValueError unless the dataset has `text` and `lang` columns (naming the columns it has)."""
    if isinstance(dataset, (DatasetDict, IterableDatasetDict)):
        raise ValueError(f"Corpus {str(name)!r} is a dict of splits ({', '.join(dataset)}): pick one, e.g. corpus['train'].")
    names = column_names(dataset)
    missing = [column for column in ("text", "lang") if column not in names]
    if missing:
        raise ValueError(
            f"Corpus {str(name)!r} has no {' and no '.join(repr(m) for m in missing)} column; its columns are "
            f"{names}. A dataset corpus needs `text` (raw text) and `lang` (ISO 639-3 code or Glot500 label such "
            "as 'hin_Deva'), optionally `script` (ISO 15924): rename them with dataset.rename_column(old, new)."
        )


def check_row_pair_scripts(samples, origin="The corpus'"):
    """check_pair_script for a text/lang(/script) dataset: `samples` ({label: its first rows' texts}) must be in
    the script their `script` or `lang` value names, as the first lines of a text file are (a row whose script is
    detected names its own script)."""
    for label, texts in samples.items():
        check_pair_script(label, [text or "" for text in texts[:SCRIPT_SAMPLE_LINES]], f"{origin} rows",
                          fix="correct their `script` (or `lang`) values (`{top}`?), or leave the script out to detect it")


def pair_labels(texts, langs, scripts, languages, model_scripts):
    """Glot500 label of each row of a text/lang dataset (`hin_Deva`), '' for a row without text. The script is
    the `script` value, else the one the label names, else the majority script of the text's letters."""
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


def label_batch(batch, languages, scripts):
    """Batched `map` function: the pair label of every row of a text/lang dataset (column `pair`)."""
    texts = batch["text"]
    given = batch["script"] if "script" in batch else [None] * len(texts)
    return {"pair": pair_labels(texts, batch["lang"], given, languages, scripts)}
