"""Where a pretraining corpus comes from: finding its `<iso639-3>_<Script>` pairs, checking them, and the Corpus
that the build takes.

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
    `script` column: rows.py.

The first three give `{label: PairSource}` (`find_pairs`); the pair's ids come from its file, folder or config
name. Everything is checked before any bulk reading: names, languages and scripts against the model's inventory,
empty or unreadable files, and whether each pair's first lines are written in the script its name says.
`open_corpus` does all of it for any kind of corpus and returns a Corpus.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from datasets import Dataset, IterableDataset, get_dataset_config_names, load_dataset

from langsamp.data.labels import (
    CONFIG_LABEL,
    LABEL_EXAMPLE,
    LABEL_PATTERN,
    SCRIPT_SAMPLE_LINES,
    as_lookup,
    check_inventory,
    filter_entries,
    model_inventory,
    select_pairs,
)
from langsamp.data.reading import (
    SHARD_BUILDERS,
    check_text_file,
    could_be_hub_name,
    data_suffix,
    is_saved_dataset,
    missing_corpus,
    pair_entries,
    plain_text_folder,
)
from langsamp.data.rows import check_text_columns, load_text_dataset
from langsamp_codes import SCRIPT_ALIASES, default_script, detect_scripts, parse_language

logger = logging.getLogger(__name__)


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
    def lang(self) -> str:
        return self.label.split("_")[0]

    @property
    def script(self) -> str:
        return self.label.split("_")[1]


# ----------------------------------------------------------------------------------------------------------------
# Finding the pairs


def find_pairs(
    corpus, languages=None, model_languages=None, model_scripts=None, split: str = "train"
) -> dict[str, PairSource] | None:
    """`{label: PairSource}` for a corpus made of per-pair files, folders or configs (module doc), labels sorted;
    None when `corpus` is a dataset of rows with a `lang` column instead (`load_text_dataset`). FileNotFoundError
    for a path that does not exist and cannot be a Hub id."""
    path = Path(str(corpus)).expanduser()
    if path.is_dir():
        if is_saved_dataset(path):
            return None
        if (path / "README.md").is_file():
            found = config_pairs(str(path), languages, model_languages, model_scripts, split)
            if found is not None:
                return found
        if pair_entries(path) is not None or plain_text_folder(path):
            # (A folder of plain text files none of which is named after its pair, `english.txt`, is a Glot500
            # folder misnamed rather than a dataset: discover_corpus names the file and the naming rule.)
            return discover_corpus(path, languages, model_languages, model_scripts, split)
        return None
    if path.exists() or not could_be_hub_name(str(corpus)):
        if not path.exists():
            raise missing_corpus(str(corpus))
        return None  # a data file: rows with text/lang columns
    return config_pairs(str(corpus), languages, model_languages, model_scripts, split)


def offered_labels(corpus) -> list[str]:
    """The `<lang>_<Script>` labels a per-pair corpus names, read from its layout alone (no text read, no inventory
    check), sorted: what train.py compares with the model's inventory before the checks. [] for a dataset of rows,
    or a layout the checks will refuse (they name the problem)."""
    if isinstance(corpus, dict):
        return sorted(corpus)
    if not isinstance(corpus, (str, os.PathLike)):
        return []
    path = Path(str(corpus)).expanduser()
    if path.is_dir() and not is_saved_dataset(path):
        if (path / "README.md").is_file():
            labels = _config_labels(str(path))
            if labels:
                return labels
        if pair_entries(path) is not None or plain_text_folder(path):
            try:
                return sorted(_labelled_entries(path))
            except ValueError:
                return []
        return []
    if path.exists() or not could_be_hub_name(str(corpus)):
        return []
    return _config_labels(str(corpus))


def _config_labels(path: str) -> list[str]:
    try:
        names = get_dataset_config_names(path)
    except Exception:  # config_pairs says what went wrong
        return []
    return sorted(name for name in names if CONFIG_LABEL.match(name))


def discover_corpus(
    path, languages=None, model_languages=None, model_scripts=None, split: str = "train"
) -> dict[str, PairSource]:
    """The pairs of a local per-pair folder (Glot500-c text layout or a snapshot of shards): `{label:
    PairSource}`, labels and files sorted.

    `languages` keeps only some pairs: ISO 639-3 codes (`hin`: every script of it) and/or labels (`hin_Deva`);
    each entry must match a pair. Everything is checked before any data is read in bulk: a missing path
    (FileNotFoundError), an entry not named `<iso639-3>_<Script>`, a language or script outside the model's
    inventory (`model_languages` / `model_scripts`, default the release's 610 / 30), an empty or undecodable
    file, an unreadable compression, text in another script than the name says (ValueError naming the entry and
    the fix)."""
    model_languages, model_scripts = model_inventory(model_languages, model_scripts)
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
    entries = _labelled_entries(root)
    labels = select_pairs(sorted(entries), languages, model_languages)
    check_inventory({label: entries[label].name for label in labels}, model_languages, model_scripts)
    return {label: _folder_source(label, entries[label], split) for label in labels}


def _labelled_entries(root):
    """{label: entry} of a per-pair folder; ValueError for an entry not named after its pair, or two of a pair."""
    listed = pair_entries(root) or [p for p in root.iterdir() if not p.name.startswith(".")]
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
    return entries


def _folder_source(label, entry, split):
    if entry.is_file():
        check_text_file(entry, label)
        return PairSource(label, "text", str(entry), files=(entry,))
    folder = entry / split if (entry / split).is_dir() else entry
    if is_saved_dataset(folder):
        return PairSource(label, "saved", str(folder), files=(folder,), split=split)
    files = sorted(
        f for f in folder.rglob("*") if f.is_file() and not any(p.startswith(".") for p in f.relative_to(folder).parts)
    )
    if not files:
        raise ValueError(f"Corpus folder {str(folder)!r} ({label}) holds no files.")
    builders = {SHARD_BUILDERS.get(data_suffix(f)) for f in files}
    if builders == {None}:
        for file in files:
            check_text_file(file, label)
        return PairSource(label, "text", str(entry), files=tuple(files))
    if len(builders) > 1:
        kinds = sorted({data_suffix(f) or "text" for f in files})
        raise ValueError(
            f"Corpus folder {str(folder)!r} ({label}) mixes file types ({', '.join(kinds)}): keep one format per pair "
            "(plain text, or Parquet / Arrow / JSON Lines shards)."
        )
    for file in files:
        if file.stat().st_size == 0:
            raise ValueError(f"Corpus file {str(file)!r} ({label}) is empty: remove it.")
    return PairSource(label, "shards", str(folder), files=tuple(files), builder=builders.pop(), split=split)


def config_pairs(path: str, languages, model_languages, model_scripts, split: str) -> dict[str, PairSource] | None:
    """The pairs of a dataset whose configs are `<lang>_<Script>` labels (or language codes alone); None when its
    configs are neither (then it is read as rows with a `lang` column)."""
    model_languages, model_scripts = model_inventory(model_languages, model_scripts)
    try:
        names = get_dataset_config_names(path)
    except Exception as error:  # the Hub's errors vary (offline, missing repo, no access): say what was tried
        if Path(path).exists():
            raise ValueError(
                f"Corpus {path!r}: datasets cannot read its README configs ({type(error).__name__}: {error})."
            ) from error
        raise FileNotFoundError(
            f"Corpus {path!r} is neither a local file or directory nor a loadable Hub dataset "
            f"({type(error).__name__}: {error})."
        ) from error
    labelled = {name: name for name in names if CONFIG_LABEL.match(name)}
    if labelled:
        skipped = sorted(set(names) - set(labelled))
        if skipped:
            logger.info("Corpus %s: configs not named <lang>_<Script> are left out: %s", path, ", ".join(skipped[:20]))
        labels = select_pairs(sorted(labelled), languages, model_languages)
        check_inventory({label: f"{path} config {label}" for label in labels}, model_languages, model_scripts)
        return {
            label: PairSource(label, "config", f"{path} (config {label})", path=path, config=label, split=split)
            for label in labels
        }
    wanted = _scriptless_configs(path, names, languages, model_languages)
    if wanted is None:
        return None
    sources = {}
    for name, script in sorted(wanted.items()):
        lang = parse_language(name, model_languages)[0]
        script = _config_script(path, name, lang, script, split)
        label = f"{lang}_{SCRIPT_ALIASES.get(script, script)}"
        sources[label] = PairSource(label, "config", f"{path} (config {name})", path=path, config=name, split=split)
    check_inventory({label: s.origin for label, s in sources.items()}, model_languages, model_scripts)
    return dict(sorted(sources.items()))


def _scriptless_configs(path, names, languages, model_languages):
    """Configs named by a language alone (`hi`, `hin`): {config name: the script of the `languages` entry that
    selects it (`hin_Deva`), None to find it from its text}; None when no config is named so."""
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
    if languages is None:
        return {name: None for name in langs.values()}
    wanted, unmatched = {}, []
    for code in filter_entries(languages):
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
    return wanted


def _config_script(path, name, lang, script, split):
    """The script of a config named by its language: the one given, else the one most of its first rows are
    written in, else the language's usual one."""
    if script is None:
        sample = load_dataset(path, name, split=split, streaming=True).take(SCRIPT_SAMPLE_LINES)
        found = [s for s in detect_scripts([row["text"] or "" for row in sample]) if s]
        script = max(set(found), key=found.count) if found else default_script(lang)
        logger.info("Corpus %s config %s: script %s detected from its first rows.", path, name, script)
    if script is None:
        raise ValueError(
            f"Corpus {path!r} config {name!r}: no script given or detectable; select it as {lang}_<Script>."
        )
    return script


# ----------------------------------------------------------------------------------------------------------------
# The corpus


@dataclass(frozen=True)
class Corpus:
    """A checked corpus, ready for `build`: either its pairs' sources (`sources`, {label: PairSource}, the
    `languages` filter applied) or one dataset of text/lang(/script) rows (`rows`, the filter applied when built).

    labels: the pairs' labels, sorted, for a corpus of pairs; the `languages` filter as given for a dataset of rows
    (whose pairs are known only once its rows are read)."""

    sources: dict[str, PairSource] | None = None
    rows: Dataset | IterableDataset | None = None
    languages: list[str] | str | None = None
    labels: list[str] = field(default_factory=list)


def open_corpus(
    path_or_dataset, tokenizer, *, languages=None, split: str = "train", streaming: bool = False, cache_dir=None
) -> Corpus:
    """Find and check a corpus (module doc) against the model's inventory, the tokenizer's `languages` and
    `scripts`: a path or Hub id (pairs, or a dataset of rows), `{label: PairSource}` as `find_pairs` returns it,
    or a Dataset/IterableDataset with text/lang(/script) columns. `languages` keeps only these codes or labels;
    `split` is the split read from datasets; `streaming` and `cache_dir` are for loading a dataset of rows.
    ValueError / FileNotFoundError / TypeError naming what is wrong and the fix."""
    check_tokenizer(tokenizer)
    corpus = path_or_dataset
    if isinstance(corpus, dict) and corpus and all(isinstance(s, PairSource) for s in corpus.values()):
        return Corpus(sources=corpus, languages=languages, labels=sorted(corpus))
    if isinstance(corpus, (str, os.PathLike)):
        sources = find_pairs(corpus, languages, as_lookup(tokenizer.languages), list(tokenizer.scripts), split)
        if sources is not None:
            return Corpus(sources=sources, languages=languages, labels=sorted(sources))
        corpus = load_text_dataset(corpus, split=split, streaming=streaming, cache_dir=cache_dir)
    else:
        check_text_columns(corpus)
        if not isinstance(corpus, (Dataset, IterableDataset)):
            raise TypeError(
                f"corpus must be a path, a datasets.Dataset or IterableDataset, not {type(corpus).__name__}."
            )
    return Corpus(rows=corpus, languages=languages, labels=list(languages or []))


def check_tokenizer(tokenizer) -> None:
    """ValueError unless the tokenizer maps language and script codes to table rows (a LangSAMPTokenizer)."""
    for attribute in ("language_id", "script_id", "languages", "scripts"):
        if not hasattr(tokenizer, attribute):
            raise ValueError(
                f"The tokenizer ({type(tokenizer).__name__}) has no `{attribute}`: use a LangSAMPTokenizer, which maps "
                "language and script codes to the model's table rows (LangSAMPTokenizer.from_pretrained(path))."
            )
