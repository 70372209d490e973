"""Corpora that are one `datasets` dataset of rows with a `text` and a `lang` column (ISO 639-3 codes or Glot500
labels such as `hin_Deva`) and an optional `script` column (ISO 15924): loading them, checking their columns, and
finding each row's language-script pair (the `script` value, else the one the `lang` label names, else the script
its text is written in)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import Dataset, DatasetDict, IterableDataset, IterableDatasetDict, load_dataset, load_from_disk

from langsamp.data.cache import fingerprint, map_cache_file
from langsamp.data.labels import SCRIPT_SAMPLE_LINES, check_pair_script, select_pairs
from langsamp.data.reading import (
    DATA_FILE_BUILDERS,
    column_names,
    could_be_hub_name,
    data_suffix,
    is_saved_dataset,
    missing_corpus,
    pair_entries,
    pick_split,
)
from langsamp_codes import SCRIPT_ALIASES, default_script, detect_scripts, parse_language


def load_text_dataset(
    name_or_path, split: str = "train", streaming: bool = False, cache_dir=None, **load_kwargs
) -> Dataset | IterableDataset:
    """A `datasets` corpus with a `text` column and a `lang` column (ISO 639-3 codes or Glot500 labels such as
    `hin_Deva`) and optionally `script` (ISO 15924). `name_or_path` is a `save_to_disk` folder, a local data
    file (.json/.jsonl/.csv/.tsv/.parquet/.arrow) or folder of them, or a Hub dataset name. Returns a Dataset
    (IterableDataset when `streaming`). FileNotFoundError for a missing path; ValueError naming the columns it
    has when `text` or `lang` is missing."""
    path = Path(str(name_or_path)).expanduser()
    if path.is_dir():
        dataset = _load_folder(path, name_or_path, split, streaming, cache_dir, load_kwargs)
    elif path.is_file():
        dataset = _load_file(path, split, streaming, cache_dir, load_kwargs)
    else:
        text = str(name_or_path)
        if not could_be_hub_name(text):
            raise missing_corpus(text)
        try:
            dataset = load_dataset(text, split=split, streaming=streaming, cache_dir=cache_dir, **load_kwargs)
        except Exception as error:  # the Hub's errors vary (offline, missing repo, no access): say both things
            raise FileNotFoundError(
                f"Corpus {text!r} is neither a local file or directory nor a loadable Hub dataset "
                f"({type(error).__name__}: {error})."
            ) from error
    check_text_columns(dataset, name_or_path)
    return dataset


def _load_folder(path, name_or_path, split, streaming, cache_dir, load_kwargs):
    if is_saved_dataset(path):
        dataset = pick_split(load_from_disk(str(path)), split, name_or_path)
        return dataset.to_iterable_dataset() if streaming else dataset
    if pair_entries(path) is not None:
        raise ValueError(
            f"{str(path)!r} is a corpus directory with one entry per <lang>_<Script> pair, not a dataset with "
            "text/lang columns: pass it to build_pretraining_dataset() as it is."
        )
    return load_dataset(str(path), split=split, streaming=streaming, cache_dir=cache_dir, **load_kwargs)


def _load_file(path, split, streaming, cache_dir, load_kwargs):
    suffix = data_suffix(path)
    builder = DATA_FILE_BUILDERS.get(suffix)
    if builder is None:
        raise ValueError(
            f"Corpus file {str(path)!r}: unsupported type; a dataset file is one of "
            f"{', '.join(sorted(DATA_FILE_BUILDERS))} (a plain-text file belongs in a Glot500-c directory named "
            "after its pair, e.g. corpus/hin_Deva.txt)."
        )
    if suffix == ".tsv":
        load_kwargs.setdefault("delimiter", "\t")
    return load_dataset(
        builder, data_files=str(path), split=split, streaming=streaming, cache_dir=cache_dir, **load_kwargs
    )


def check_text_columns(dataset, name="corpus") -> None:
    """ValueError unless the dataset has `text` and `lang` columns (naming the columns it has)."""
    if isinstance(dataset, (DatasetDict, IterableDatasetDict)):
        raise ValueError(
            f"Corpus {str(name)!r} is a dict of splits ({', '.join(dataset)}): pick one, e.g. corpus['train']."
        )
    names = column_names(dataset)
    missing = [column for column in ("text", "lang") if column not in names]
    if missing:
        raise ValueError(
            f"Corpus {str(name)!r} has no {' and no '.join(repr(m) for m in missing)} column; its columns are "
            f"{names}. A dataset corpus needs `text` (raw text) and `lang` (ISO 639-3 code or Glot500 label such "
            "as 'hin_Deva'), optionally `script` (ISO 15924): rename them with dataset.rename_column(old, new)."
        )


def check_row_pair_scripts(samples: Mapping[str, Sequence[str]], origin: str = "The corpus'") -> None:
    """check_pair_script for a text/lang(/script) dataset: `samples` ({label: its first rows' texts}) must be in
    the script their `script` or `lang` value names, as the first lines of a text file are (a row whose script is
    detected names its own script)."""
    for label, texts in samples.items():
        check_pair_script(
            label,
            [text or "" for text in texts[:SCRIPT_SAMPLE_LINES]],
            f"{origin} rows",
            fix="correct their `script` (or `lang`) values (`{top}`?), or leave the script out to detect it",
        )


def pair_labels(
    texts: Sequence, langs: Sequence, scripts: Sequence, languages, model_scripts: Sequence[str]
) -> list[str]:
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
                f"({', '.join(model_scripts)}): give the corpus a `script` column, or drop those rows. "
                f"Row: {text[:60]!r}"
            )
        labels.append(f"{parsed[code][0]}_{script}")
    return labels


def label_batch(batch: dict, languages, scripts: Sequence[str]) -> dict:
    """Batched `map` function: the pair label of every row of a text/lang dataset (column `pair`)."""
    texts = batch["text"]
    given = batch["script"] if "script" in batch else [None] * len(texts)
    return {"pair": pair_labels(texts, batch["lang"], given, languages, scripts)}


def group_rows_by_pair(
    dataset: Dataset,
    languages,
    model_languages,
    model_scripts: Sequence[str],
    *,
    num_proc: int | None = None,
    cache_dir=None,
) -> tuple[Dataset, list[str], list[int]]:
    """The `text` rows of a text/lang(/script) Dataset grouped by pair, the pairs' labels (sorted, filtered by
    `languages`) and their row counts: (texts, labels, row_counts), pair after pair, in dataset order within
    one. Unknown `lang` codes fail before any per-row work; each pair's first rows are checked against its
    script."""
    for code in dataset.unique("lang"):
        if code is None:
            raise ValueError("A row of the corpus has no `lang` value.")
        parse_language(code, model_languages)
    columns = [c for c in ("text", "lang", "script") if c in dataset.column_names]
    texts = dataset.select_columns(columns)
    hashed = fingerprint("pairs", dataset._fingerprint, list(model_languages), model_scripts)
    labeled = texts.map(
        label_batch,
        batched=True,
        num_proc=num_proc,
        fn_kwargs={"languages": model_languages, "scripts": model_scripts},
        new_fingerprint=hashed,
        cache_file_name=map_cache_file(cache_dir, "pairs", hashed),
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
    check_row_pair_scripts(
        {  # a mislabelled `script` (or `lang` label) column: the first rows of each pair
            label: grouped.select(range(int(start), int(start) + min(count, SCRIPT_SAMPLE_LINES)))["text"]
            for label, start, count in zip(labels, starts, row_counts)
        }
    )
    return grouped, labels, row_counts
