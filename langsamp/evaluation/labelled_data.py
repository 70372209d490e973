"""The labelled datasets of a zero-shot classification run (`langsamp-eval classify`): a training set and one test set
a language from files you bring, or the offline UDHR topic task."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from langsamp.evaluation.corpora import DEFAULT_SOURCE, udhr_topic_classification

if TYPE_CHECKING:
    from datasets import Dataset

BUILDERS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet"}


def load_split(spec: str | Path) -> Dataset:
    """One split (a `datasets.Dataset`): a .json/.jsonl/.csv/.tsv/.parquet file or a save_to_disk folder, with rows."""
    path = Path(spec)
    dataset = _from_disk(spec, path) if path.is_dir() else _from_file(spec, path)
    if len(dataset) == 0:
        raise ValueError(
            f"Dataset {spec!r} holds no examples: it needs one example a row (with text and label columns)."
        )
    return dataset


def _from_disk(spec, path):
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except FileNotFoundError as error:
        raise ValueError(
            f"Dataset {spec!r} is a folder but not a save_to_disk dataset: pass that folder or a data file."
        ) from error
    if isinstance(loaded, datasets.DatasetDict):
        raise ValueError(
            f"Dataset {spec!r} holds several splits ({', '.join(loaded)}): pass one split's folder, "
            f"e.g. {path / next(iter(loaded))}."
        )
    return loaded


def _from_file(spec, path):
    import datasets

    builder = BUILDERS.get(path.suffix)
    if builder is None or not path.exists():
        raise ValueError(
            f"Dataset {spec!r}: give an existing .json/.jsonl/.csv/.tsv/.parquet file or a save_to_disk folder."
        )
    if path.stat().st_size == 0:
        raise ValueError(
            f"Dataset {spec!r} is an empty file: it needs one example a row (with text and label columns)."
        )
    extra = {"delimiter": "\t"} if path.suffix == ".tsv" else {}
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # a bar per small local file is noise on the terminal
    try:
        return datasets.load_dataset(builder, data_files=str(path), split="train", **extra)
    except Exception as error:  # datasets' parse errors (DatasetGenerationError, ArrowInvalid, ...)
        cause = error.__cause__ or error
        reason = " ".join(str(cause).split())[:200]
        raise ValueError(f"Dataset {spec!r} cannot be read as {builder}: {type(cause).__name__}: {reason}") from error
    finally:
        if bars:
            datasets.enable_progress_bars()


def parse_test_specs(specs: list[str]) -> dict[str, str]:
    """--test LANG=PATH ... -> {language: path}, one test set a language."""
    tests = {}
    for spec in specs:
        lang, sep, path = spec.partition("=")
        if not sep or not lang or not path:
            raise ValueError(f"--test {spec!r}: write LANG=PATH.")
        if lang in tests:
            raise ValueError(f"--test: language {lang!r} is given twice; one test set a language.")
        tests[lang] = path
    return tests


def classification_sets(
    train: str | None = None,
    test: list[str] | None = None,
    label_names: list[str] | None = None,
    languages: list[str] | None = None,
    heldout_articles: list[int] | None = None,
    task: str = "sequence",
    source: str | None = None,
) -> tuple:
    """(train, {language: test}, label_names) of a classify run: `train` (a path) and `test` (LANG=PATH specs) you
    bring, or without `train` the offline UDHR topic task (in `languages`, `heldout_articles` kept out of training)."""
    if train:
        if not test:
            raise ValueError("--train needs --test LANG=PATH ...")
        udhr_only = (("--languages", languages), ("--heldout-articles", heldout_articles))
        ignored = [flag for flag, value in udhr_only if value]
        if ignored:
            raise ValueError(
                f"{' and '.join(ignored)} apply to the UDHR default task only; with --train the test languages are "
                "those of --test."
            )
        tests = {lang: load_split(path) for lang, path in parse_test_specs(test).items()}
        return load_split(train), tests, label_names
    if test or label_names:
        raise ValueError("--test and --label-names need --train (without it the task is the offline UDHR topic task).")
    if task != "sequence":
        raise ValueError(
            "The offline default task (UDHR topics) is a sequence task: pass --train / --test for tagging."
        )
    return udhr_topic_classification(
        source=source or DEFAULT_SOURCE, languages=languages, heldout_articles=heldout_articles
    )


def udhr_topic_note(heldout_articles: list[int] | None = None) -> str:
    """What a result of the offline UDHR topic task must say about its test set."""
    if heldout_articles:
        return f" UDHR topic task: articles {heldout_articles} held out of training (content-disjoint test)."
    return (
        " UDHR topic task: test paragraphs are translations of the English training paragraphs, so the "
        "source's own figure is training accuracy."
    )
