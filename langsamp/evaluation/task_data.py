"""The data of the named tasks, one place per dataset layout: Hub datasets (or local folders laid out like the Hub
repo) read with `datasets.load_dataset(path, config, split=...)`, Taxi1500's TSV files, the offline UDHR; and the
Hub's failures as one line naming the dataset and the fix."""

from __future__ import annotations

from pathlib import Path

from langsamp.evaluation.corpora import udhr_parallel_corpus, udhr_translations
from langsamp.evaluation.models import probe_hub


def _load(path, config, split, token=None):
    import datasets

    return _from_hub(path, datasets.load_dataset, str(path), config, split=split, token=token)


def _from_hub(path, call, *args, **kwargs):
    """`call(*args, **kwargs)` with the Hub's failures (unreachable, offline, gated) as one line naming the dataset and
    the fix; a local folder never reaches the Hub."""
    from datasets.exceptions import DatasetNotFoundError
    from huggingface_hub import constants

    try:
        return call(*args, **kwargs)
    except DatasetNotFoundError as error:  # a gated set without access, or no such id
        raise ValueError(
            f"Dataset {str(path)!r} cannot be read from the Hub: {' '.join(str(error).split())} For a gated set "
            "(flores), accept its terms on the Hub and pass --token (or set HF_TOKEN); or pass --dataset DIR with a "
            "local copy laid out like the Hub repo."
        ) from error
    except ConnectionError as error:  # OfflineModeIsEnabled, a refused or timed-out connection
        if constants.HF_HUB_OFFLINE:
            why = "HF_HUB_OFFLINE is set and the dataset is not in the local datasets cache"
            fix = "unset HF_HUB_OFFLINE on a machine with network access to download it once"
        else:
            cause = type(error.__cause__ or error).__name__
            why = f"the Hugging Face Hub ({constants.ENDPOINT}) is unreachable ({cause})"
            fix = (
                "check the network (or HF_ENDPOINT), or set HF_HUB_OFFLINE=1 to use a copy already in the datasets "
                "cache"
            )
        raise ValueError(
            f"Dataset {str(path)!r} cannot be loaded: {why}. Pass --dataset DIR with a local copy laid out like the "
            f"Hub repo, or {fix}; gated sets (flores) also need --token or HF_TOKEN."
        ) from error


def _taxi1500_files(folder):
    """{language: {split: path}} from a folder of the release's TSV files `<language>_<split>.tsv` (any depth)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(
            f"Taxi1500 folder {str(folder)!r} does not exist: pass --dataset DIR holding <lang>_train.tsv, "
            "<lang>_dev.tsv, <lang>_test.tsv."
        )
    files = {}
    for path in sorted(folder.rglob("*.tsv")):
        language, _, split = path.stem.rpartition("_")
        if split in ("train", "dev", "test") and language:
            files.setdefault(language, {})[split] = path
    if not files:
        raise ValueError(f"No Taxi1500 TSV files (<lang>_train.tsv / _dev.tsv / _test.tsv) under {str(folder)!r}.")
    return files


def _taxi1500_split(path):
    import datasets

    # Header-less `id<TAB>label<TAB>verse`; verses may hold quote characters (quoting=3: csv.QUOTE_NONE).
    return datasets.load_dataset(
        "csv", data_files=str(path), split="train", delimiter="\t", column_names=["id", "label", "text"], quoting=3
    )


def _check_dataset_path(path):
    """--dataset: a local folder, or a Hub id (`owner/name`); a file or a missing local path is named here rather than
    sent to the Hub as an id."""
    folder = Path(str(path)).expanduser()
    if folder.is_file():
        raise ValueError(
            f"--dataset {path} is a file: pass the folder laid out like the Hub repo (README.md with `configs:` and "
            "the data files), or a Hub id."
        )
    text = str(path)
    if not folder.exists() and (text.startswith(("/", ".", "~")) or text.count("/") != 1 or not all(text.split("/"))):
        raise ValueError(f"--dataset {path}: no such folder (a Hub dataset id looks like `owner/name`).")


def _probe_hub(path, token=None):
    """One request for the dataset's Hub page before datasets' own calls (see models.probe_hub)."""
    probe_hub(path, "dataset", token)


class TaskData:
    """Access to one task's data: its languages, and each language's train / dev / test split."""

    def __init__(self, task, path=None, token=None):
        self.task, self.token = task, token
        self.path = path or (None if task.dataset in ("udhr", "taxi1500") else task.dataset)
        if path is not None:
            _check_dataset_path(path)
        if task.name == "taxi1500":
            if path is None:
                raise ValueError(
                    "Taxi1500 has no Hub dataset: pass --dataset DIR with the release's TSV files (<lang>_train.tsv, "
                    "<lang>_dev.tsv, <lang>_test.tsv)."
                )
            self.files = _taxi1500_files(path)

    def languages(self):
        """The dataset's language codes, as the dataset spells them."""
        task = self.task
        if task.dataset == "udhr" and self.path is None:
            return list(udhr_parallel_corpus() if task.kind == "retrieval" else udhr_translations())
        if task.name == "taxi1500":
            return list(self.files)
        import datasets

        _from_hub(self.path, _probe_hub, self.path, self.token)
        configs = _from_hub(self.path, datasets.get_dataset_config_names, str(self.path), token=self.token)
        if task.name == "udpos":
            return [c.split(".", 1)[1] for c in configs if c.startswith("udpos.")]
        if task.name == "tatoeba":
            return [c.split("-")[0] for c in configs if c.endswith("-eng")]
        return list(configs)

    def config(self, code):
        return {"udpos": f"udpos.{code}", "tatoeba": f"{code}-eng"}.get(self.task.name, code)

    def split(self, code, role):
        """role: "train", "dev" or "test" (mapped onto the dataset's split names)."""
        name = dict(zip(("train", "dev", "test"), self.task.splits)).get(role, self.task.splits[-1])
        if self.task.name == "taxi1500":
            if name not in self.files.get(code, {}):
                raise ValueError(
                    f"Taxi1500: no {code}_{name}.tsv among the files; languages with one: "
                    f"{', '.join(c for c in self.files if name in self.files[c])}."
                )
            return _taxi1500_split(self.files[code][name])
        return _load(self.path, self.config(code), name, self.token)
