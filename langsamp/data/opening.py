"""A corpus' pair sources opened as datasets of their text rows: all at once (`open_pairs`, with as few
`load_dataset` calls as datasets allows: one for all text folders, `data_files={pair: files}` giving one split per
pair; one per shard format; one per config, as datasets reads one config per call), or one pair at a time when a
stream reaches it (`stream_pair`)."""

from __future__ import annotations

from collections.abc import Mapping

from datasets import Dataset, DatasetDict, IterableDataset, load_dataset, load_from_disk

from langsamp.data.labels import SCRIPT_SAMPLE_LINES, check_pair_script
from langsamp.data.reading import column_names, find_unreadable_file, pick_split
from langsamp.data.sources import PairSource


def open_pairs(
    sources: Mapping[str, PairSource], streaming: bool = False, cache_dir=None
) -> dict[str, Dataset | IterableDataset]:
    """`{label: Dataset}` (IterableDataset when `streaming`), each with the pair's `text` column only, in the
    order of `sources`; every pair's first lines checked against its script (data files and configs; text files
    were checked when found)."""
    opened = _open_files(sources, streaming, cache_dir)
    for label, source in sources.items():
        if source.kind == "saved":
            dataset = load_from_disk(str(source.files[0]))
            if isinstance(dataset, DatasetDict):
                dataset = pick_split(dataset, source.split, source.origin)
            opened[label] = dataset.to_iterable_dataset() if streaming else dataset
        elif source.kind == "config":
            opened[label] = load_dataset(
                source.path, source.config, split=source.split, streaming=streaming, cache_dir=cache_dir
            )
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
            if streaming:
                sample = dataset.take(SCRIPT_SAMPLE_LINES)
            else:
                sample = dataset.select(range(min(len(dataset), SCRIPT_SAMPLE_LINES)))
            check_pair_script(label, [row["text"] or "" for row in sample], f"Corpus {source.origin}")
        result[label] = dataset
    return result


def _open_files(sources, streaming, cache_dir):
    """The pairs made of files (text, shards): one `load_dataset` call per builder, one split per pair."""
    groups, opened = {}, {}
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
                raise ValueError(
                    f"Corpus file {str(bad)!r} is corrupt: {type(reason).__name__}: {reason}. Replace or remove it."
                ) from error
            origins = ", ".join(source.origin for source in members.values())
            raise ValueError(
                f"The corpus' {builder} files cannot be read ({type(error).__name__}: {error}); they are "
                f"those of {origins}. Replace or remove the broken one."
            ) from error
        opened.update({label: loaded[label] for label in members})
    return opened


def stream_pair(source: PairSource, cache_dir=None) -> IterableDataset:
    """One pair's `text` rows as an IterableDataset (a shard, config or saved folder), opened only when the
    stream reaches it; the checks of `open_pairs` were made when the corpus was built."""
    if source.kind in ("text", "shards"):
        rows = load_dataset(
            source.builder or "text",
            data_files={"train": [str(f) for f in source.files]},
            split="train",
            streaming=True,
            cache_dir=cache_dir,
        )
    elif source.kind == "saved":
        saved = load_from_disk(str(source.files[0]))
        rows = pick_split(saved, source.split, source.origin) if isinstance(saved, DatasetDict) else saved
        rows = rows.to_iterable_dataset()
    else:
        rows = load_dataset(source.path, source.config, split=source.split, streaming=True, cache_dir=cache_dir)
    return rows.select_columns(["text"])
