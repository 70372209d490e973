"""The paper's evaluation tasks by name: which Hub dataset (id + config per language), which columns and labels,
and the release's hyper-parameters as defaults (every one overridable).

Every Hub task loads with `datasets.load_dataset(path, config, split=...)`, where `path` is the Hub id or a local
folder laid out like the Hub repo (README YAML `configs:` and the same data files): the tests' fixtures take the
code path a user's real id takes. `run_task` evaluates one checkpoint on one task: per-language figures, the
average over all, head and tail languages, mean ± sd over seeds, and the languages the model lacks.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from langsamp.evaluation.arguments import (
    MIN_LENGTH,
    check_float,
    check_int,
    check_learning_rate,
    check_max_steps,
    check_seeds,
    check_top_k,
)
from langsamp.evaluation.corpora import udhr_parallel_corpus, udhr_topic_classification, udhr_translations
from langsamp.evaluation.languages import group_averages, map_languages, model_languages
from langsamp.evaluation.models import checkpoint_config, probe_hub, resolve_model, resolve_tokenizer

logger = logging.getLogger(__name__)

SIB200_CATEGORIES = ("science/technology", "travel", "politics", "sports", "health", "entertainment", "geography")
TAXI1500_LABELS = ("Recommendation", "Faith", "Violence", "Grace", "Sin", "Description")
WIKIANN_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
UPOS_TAGS = (
    "ADJ",
    "ADP",
    "ADV",
    "AUX",
    "CCONJ",
    "DET",
    "INTJ",
    "NOUN",
    "NUM",
    "PART",
    "PRON",
    "PROPN",
    "PUNCT",
    "SCONJ",
    "SYM",
    "VERB",
    "X",
)  # google/xtreme udpos.* ClassLabel order

# The release's protocols: its fine-tuning and retrieval settings.
SEQUENCE_DEFAULTS = dict(
    learning_rate=1e-5, batch_size=8, gradient_accumulation_steps=2, epochs=40, max_length=160, seeds=(1, 2, 3, 4, 5)
)
TAGGING_DEFAULTS = dict(
    learning_rate=2e-5, batch_size=8, gradient_accumulation_steps=4, epochs=10, max_length=256, seeds=(1,)
)
RETRIEVAL_DEFAULTS = dict(layer=8, max_length=512, top_k=(1, 5, 10), batch_size=32)
FINE_TUNING_KEYS = (
    "learning_rate",
    "batch_size",
    "gradient_accumulation_steps",
    "epochs",
    "max_length",
    "seeds",
    "max_steps",
    "max_examples",
)
RETRIEVAL_KEYS = ("layer", "max_length", "top_k", "batch_size")


@dataclass(frozen=True)
class Task:
    name: str
    kind: str  # "retrieval", "sequence" (text classification) or "token" (tagging)
    dataset: str  # the Hub id, or what the user brings ("udhr": offline)
    convention: str  # how the dataset names languages (languages.dataset_language)
    source: str  # the English config / language (queries for retrieval, training data for fine-tuning)
    summary: str
    defaults: dict = field(default_factory=dict)
    text_column: str = None
    label_column: str = None
    label_names: tuple = None
    splits: tuple = ("train", "validation", "test")  # train, dev, test (retrieval: the test split only)


TASKS = {
    task.name: task
    for task in (
        Task(
            "sib200",
            "sequence",
            "Davlan/sib200",
            "label",
            "eng_Latn",
            "SIB-200 topic classification (7 classes, 205 languages), macro-F1",
            dict(SEQUENCE_DEFAULTS),
            "text",
            "category",
            SIB200_CATEGORIES,
        ),
        Task(
            "taxi1500",
            "sequence",
            "taxi1500",
            "label",
            "eng_Latn",
            "Taxi1500 Bible-verse topics (6 classes; TSV files you bring), macro-F1",
            dict(SEQUENCE_DEFAULTS, max_length=100, seeds=(1, 2, 3, 4)),
            "text",
            "label",
            TAXI1500_LABELS,
            ("train", "dev", "test"),
        ),
        Task(
            "wikiann",
            "token",
            "unimelb-nlp/wikiann",
            "wikipedia",
            "en",
            "WikiANN NER (PER/ORG/LOC), seqeval F1",
            dict(TAGGING_DEFAULTS),
            "tokens",
            "ner_tags",
            WIKIANN_TAGS,
        ),
        Task(
            "udpos",
            "token",
            "google/xtreme",
            "language-name",
            "English",
            "Universal Dependencies POS (XTREME udpos.*), seqeval F1",
            dict(TAGGING_DEFAULTS),
            "tokens",
            "pos_tags",
            UPOS_TAGS,
        ),
        Task(
            "tatoeba",
            "retrieval",
            "mteb/tatoeba-bitext-mining",
            "iso639-3",
            "eng",
            "SR-T: Tatoeba sentence retrieval, English queries, Acc@1/5/10",
            dict(RETRIEVAL_DEFAULTS),
            splits=("test",),
        ),
        Task(
            "flores",
            "retrieval",
            "openlanguagedata/flores_plus",
            "label",
            "eng_Latn",
            "FLORES+ sentence retrieval (gated: needs a token), Acc@1/5/10",
            dict(RETRIEVAL_DEFAULTS),
            splits=("devtest",),
        ),
        Task(
            "udhr-retrieval",
            "retrieval",
            "udhr",
            "label",
            "eng_Latn",
            "offline: UDHR retrieval (31 units a language), Acc@1/5/10",
            dict(RETRIEVAL_DEFAULTS),
        ),
        Task(
            "udhr-topics",
            "sequence",
            "udhr",
            "label",
            "eng_Latn",
            "offline: UDHR paragraph topics (6 classes, a Taxi1500-like task), macro-F1",
            # Not a release task: 3e-4 is what learns here in 30 steps over 45 English paragraphs; lower rates leave
            # the head predicting few classes (bench/results/evaluation-examples.md).
            dict(
                learning_rate=3e-4, batch_size=16, gradient_accumulation_steps=1, epochs=10, max_length=256, seeds=(42,)
            ),
        ),
    )
}


def tasks_table():
    """The named tasks as a markdown table: name, dataset, what it measures, the release's defaults."""
    from langsamp.evaluation.report import markdown_table

    rows = []
    for task in TASKS.values():
        settings = ", ".join(
            f"{k} {'/'.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in task.defaults.items()
        )
        rows.append([task.name, task.dataset, task.summary, settings])
    return markdown_table(["task", "dataset (Hub id)", "what", "defaults (the release's)"], rows)


def get_task(name):
    if name not in TASKS:
        raise ValueError(f"Unknown task {name!r}: use one of {', '.join(TASKS)}.")
    return TASKS[name]


def task_settings(task, overrides=None):
    """The task's defaults with `overrides` applied (None values keep the default); unknown keys are refused."""
    allowed = RETRIEVAL_KEYS if task.kind == "retrieval" else FINE_TUNING_KEYS
    settings = dict(task.defaults)
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in allowed:
            raise ValueError(
                f"Setting {key!r} does not apply to {task.name} (a {task.kind} task): it takes {', '.join(allowed)}."
            )
        settings[key] = tuple(value) if key in ("seeds", "top_k") else value
    return check_settings(settings, task.name)


def check_settings(settings, what="the task"):
    """Refuse a setting whose value would train nothing, loop on nothing or report a silently wrong figure."""
    for key, value in settings.items():
        name = f"{what}: {key}"
        if key == "epochs":
            check_float(name, value)
        elif key == "learning_rate":
            check_learning_rate(name, value)
        elif key in ("batch_size", "gradient_accumulation_steps", "max_examples"):
            check_int(name, value)
        elif key == "max_length":
            check_int(name, value, minimum=MIN_LENGTH, why=" (room for <s>, a token and </s>)")
        elif key == "max_steps":
            check_max_steps(name, value)
        elif key == "seeds":
            settings[key] = tuple(check_seeds(name, value))
        elif key == "top_k":
            settings[key] = check_top_k(name, value)
        elif key == "layer" and (not isinstance(value, int) or isinstance(value, bool)):
            raise ValueError(f"{name}={value!r}: must be an integer (a hidden_states index).")
    return settings


# ---------------------------------------------------------------- data: one place per dataset layout


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


# ---------------------------------------------------------------- running a task


def _inventory(model):
    return model_languages(checkpoint_config(model) if isinstance(model, (str, Path)) else model)


def _mean_sd(runs):
    """[{lang: {metric: v}}] over seeds -> {lang: {metric: mean, metric_sd: sd}} (population sd over the seeds)."""
    merged = {}
    for code in runs[0]:
        merged[code] = {}
        for name in runs[0][code]:
            values = [run[code][name] for run in runs]
            merged[code][name] = float(np.mean(values))
            merged[code][f"{name}_sd"] = float(np.std(values))
    return merged


def _sample(texts, n=20):
    return [t for t in texts[:n] if isinstance(t, str)]


def run_task(name, model, tokenizer=None, dataset=None, languages=None, token=None, **overrides):
    """Evaluate one checkpoint on a named task with the release's protocol.

    name: one of TASKS. model: a checkpoint path or a loaded model. dataset: the Hub id (default) or a local folder
    laid out like it (for taxi1500: the folder of TSV files). languages: the dataset's codes to test (default all).
    overrides: any of the task's settings (`task_settings`). Returns per-language figures (mean and `_sd` over
    seeds for fine-tuning tasks), `averages` over all / head / tail languages with their `counts`, and
    `missing_languages`: dataset codes that were not evaluated because the model lacks them (or they cannot be read).
    """
    task = get_task(name)
    settings = task_settings(task, overrides)
    data = TaskData(task, dataset, token)
    codes = data.languages()
    if languages:
        unknown = [c for c in languages if c not in codes]
        if unknown:
            raise ValueError(
                f"{task.name}: language(s) {', '.join(unknown)} not in the dataset (it has {len(codes)}, e.g. "
                f"{', '.join(codes[:8])})."
            )
        codes = [c for c in codes if c in languages or c == task.source]
    if task.source not in codes and task.name != "tatoeba":  # Tatoeba's English side is in every pair's config
        raise ValueError(
            f"{task.name}: the source language {task.source!r} is not in the dataset at {data.path or task.dataset!r}."
        )
    inventory = _inventory(model)
    if task.kind == "retrieval":
        return _run_retrieval(task, data, codes, model, tokenizer, inventory, settings)
    return _run_fine_tuning(task, data, codes, model, tokenizer, inventory, settings)


def _run_retrieval(task, data, codes, model, tokenizer, inventory, settings):
    from langsamp.evaluation.retrieval import sentence_retrieval

    targets = [c for c in codes if c != task.source]
    options = dict(
        layer=settings["layer"],
        top_k=settings["top_k"],
        batch_size=settings["batch_size"],
        max_length=settings["max_length"],
    )
    per_language, texts = {}, {}
    if task.name == "tatoeba":  # one small bitext per language, its own English side
        pairs = {code: data.split(code, "test") for code in targets}
        texts = {code: _sample(ds["sentence1"]) for code, ds in pairs.items()}
        mapping, missing = map_languages(targets, task.convention, inventory, texts)
        tokenizer = resolve_tokenizer(tokenizer, model)  # first, while a path still names the checkpoint
        model = resolve_model(
            model, "encoder"
        )  # the data first: a dataset that cannot load fails before the weights do
        for code, label in mapping.items():
            corpus = {"eng": pairs[code]["sentence2"], label: pairs[code]["sentence1"]}
            per_language[label] = sentence_retrieval(model, tokenizer, corpus, source="eng", **options)["per_language"][
                label
            ]
    else:
        if task.name == "udhr-retrieval" and data.path is None:
            corpus = udhr_parallel_corpus()
        else:  # FLORES+: every language's split aligned by `id`
            splits = {code: data.split(code, "test") for code in [task.source] + targets}
            corpus = {code: [text for _, text in sorted(zip(ds["id"], ds["text"]))] for code, ds in splits.items()}
        mapping, missing = map_languages(targets, task.convention, inventory, {c: corpus[c][:20] for c in targets})
        relabelled = {task.source: corpus[task.source], **{label: corpus[code] for code, label in mapping.items()}}
        if mapping:
            tokenizer = resolve_tokenizer(tokenizer, model)  # first, while a path still names the checkpoint
            model = resolve_model(model, "encoder")
            per_language = sentence_retrieval(
                model, tokenizer, relabelled, source=task.source, languages=list(mapping.values()), **options
            )["per_language"]
    # The task's figure is the release's top-k (10); top-1 is shown beside it, the informative one on small pools
    # (UDHR: 31).
    metrics = [f"top{k}" for k in sorted({min(settings["top_k"]), max(settings["top_k"])})]
    return _result(task, data, settings, per_language, missing, metric=f"top{max(settings['top_k'])}", metrics=metrics)


def _run_fine_tuning(task, data, codes, model, tokenizer, inventory, settings):
    from langsamp.evaluation.transfer import zero_shot_transfer

    limit = settings.get("max_examples")
    cap = (lambda ds: ds.select(range(min(limit, len(ds))))) if limit else (lambda ds: ds)  # noqa: E731
    if task.name == "udhr-topics" and data.path is None:
        train, tests, label_names = udhr_topic_classification(languages=codes)
        dev, source_label = None, "eng_Latn"
        mapping, missing = map_languages([c for c in tests if c != task.source], task.convention, inventory)
        tests = {task.source: tests[task.source], **{label: tests[code] for code, label in mapping.items()}}
        text_column, label_column = "text", "label"
    else:
        targets = [c for c in codes if c != task.source]
        tests_raw = {code: cap(data.split(code, "test")) for code in targets}
        sample = {
            code: _sample([" ".join(t) if isinstance(t, list) else t for t in ds[task.text_column][:20]])
            for code, ds in tests_raw.items()
        }
        mapping, missing = map_languages(targets, task.convention, inventory, sample)
        source_map, _ = map_languages([task.source], task.convention, None)
        source_label = source_map[task.source]
        train = cap(data.split(task.source, "train"))
        dev = cap(data.split(task.source, "dev"))
        tests = {
            source_label: cap(data.split(task.source, "test")),
            **{label: tests_raw[code] for code, label in mapping.items()},
        }
        label_names = list(task.label_names)
        text_column, label_column = task.text_column, task.label_column
        feature = train.features[label_column]
        names = getattr(getattr(feature, "feature", feature), "names", None)
        if names and list(names) != label_names:
            logger.warning(
                "%s: the dataset's label names %s differ from the expected %s; using the dataset's.",
                task.name,
                names,
                label_names,
            )
            label_names = list(names)
    runs, sources, steps = [], [], []
    for seed in settings["seeds"]:
        result = zero_shot_transfer(
            model,
            tokenizer,
            train,
            tests,
            task=task.kind,
            label_names=label_names,
            text_column=text_column,
            label_column=label_column,
            source=source_label,
            dev_dataset=dev,
            num_train_epochs=settings["epochs"],
            max_steps=settings.get("max_steps") or -1,
            learning_rate=settings["learning_rate"],
            batch_size=settings["batch_size"],
            gradient_accumulation_steps=settings["gradient_accumulation_steps"],
            max_length=settings["max_length"],
            seed=seed,
            disable_tqdm=True,
        )
        runs.append(result["per_language"])
        sources.append({source_label: result["source_metrics"]})
        steps.append(result["steps"])
    per_language = _mean_sd(runs) if runs[0] else {}
    out = _result(
        task,
        data,
        settings,
        per_language,
        missing,
        metric="macro_f1" if task.kind == "sequence" else "f1",
        averages=_seed_averages(runs) if runs[0] else None,
    )
    out["source_metrics"] = _mean_sd(sources)[source_label]
    out["steps"] = steps
    return out


def _seed_averages(runs):
    """The all / head / tail averages over languages of each seed's run, then their mean and `_sd` over seeds: the sd
    of the averaged figure (the mean of the per-language sds would overstate it, the languages' noise partly
    cancels)."""
    per_seed = [group_averages(run)[0] for run in runs]
    return {
        group: {
            key: value
            for name in scores
            for key, value in (
                (name, float(np.mean([a[group][name] for a in per_seed]))),
                (f"{name}_sd", float(np.std([a[group][name] for a in per_seed]))),
            )
        }
        for group, scores in per_seed[0].items()
    }


def _result(task, data, settings, per_language, missing, metric, metrics=None, averages=None):
    group_means, counts = group_averages(per_language)
    averages = group_means if averages is None else averages
    if missing:
        logger.warning(
            "%s: %d language(s) not evaluated (not in the model's inventory or unreadable): %s",
            task.name,
            len(missing),
            ", ".join(missing),
        )
    return {
        "task": task.name,
        "kind": task.kind,
        "dataset": str(data.path or task.dataset),
        "metric": metric,
        "metrics": metrics or [metric],
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
        "per_language": per_language,
        "averages": averages,
        "counts": counts,
        "missing_languages": missing,
    }
