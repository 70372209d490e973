"""Running the named tasks: one checkpoint on one task (`run_task`, the release's protocol: per-language figures,
averages over all / head / tail languages, mean ± sd over seeds, the languages the model lacks), and several
checkpoints side by side (`langsamp-eval benchmark`), with the checks that can fail before any model loads."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from langsamp.evaluation.corpora import udhr_parallel_corpus, udhr_topic_classification
from langsamp.evaluation.languages import group_averages, map_languages, model_languages
from langsamp.evaluation.models import checkpoint_config, resolve_model, resolve_tokenizer
from langsamp.evaluation.retrieval import check_layer
from langsamp.evaluation.task_data import TaskData
from langsamp.evaluation.tasks import Task, get_task, task_settings

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)


def run_task(
    name: str,
    model: str | Path | PreTrainedModel,
    tokenizer: str | Path | PreTrainedTokenizerBase | None = None,
    dataset: str | None = None,
    languages: list[str] | None = None,
    token: str | None = None,
    **overrides,
) -> dict:
    """Evaluate one checkpoint on a named task with the release's protocol.

    name: one of TASKS. model: a checkpoint path or a loaded model; tokenizer: default the checkpoint's own
    (resolve_tokenizer). dataset: the Hub id (default) or a local folder laid out like it (for taxi1500: the folder
    of TSV files). languages: the dataset's codes to test (default all). overrides: any of the task's settings
    (`task_settings`). Returns per-language figures (mean and `_sd` over seeds for fine-tuning tasks), `averages`
    over all / head / tail languages with their `counts`, and `missing_languages`: dataset codes that were not
    evaluated because the model lacks them (or they cannot be read).
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
    inventory = model_languages(checkpoint_config(model) if isinstance(model, (str, Path)) else model)
    if task.kind == "retrieval":
        return _run_retrieval(task, data, codes, model, tokenizer, inventory, settings)
    return _run_fine_tuning(task, data, codes, model, tokenizer, inventory, settings)


def example_cap(settings: dict) -> Callable:
    """A function that keeps the first `max_examples` rows of a split (all of them without that setting)."""
    limit = settings.get("max_examples")
    if not limit:
        return lambda ds: ds
    return lambda ds: ds.select(range(min(limit, len(ds))))


def fine_tuning_options(settings: dict) -> dict:
    """zero_shot_transfer's training arguments from a task's settings (seeds apart)."""
    return dict(
        num_train_epochs=settings["epochs"],
        max_steps=settings.get("max_steps") or -1,
        learning_rate=settings["learning_rate"],
        batch_size=settings["batch_size"],
        gradient_accumulation_steps=settings["gradient_accumulation_steps"],
        max_length=settings["max_length"],
    )


def _sample(texts, n=20):
    return [t for t in texts[:n] if isinstance(t, str)]


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


def _run_retrieval(task, data, codes, model, tokenizer, inventory, settings):
    from langsamp.evaluation.retrieval import sentence_retrieval

    targets = [c for c in codes if c != task.source]
    options = {key: settings[key] for key in ("layer", "top_k", "batch_size", "max_length")}
    per_language = {}
    if task.name == "tatoeba":  # one small bitext per language, its own English side
        pairs = {code: data.split(code, "test") for code in targets}
        texts = {code: _sample(ds["sentence1"]) for code, ds in pairs.items()}
        mapping, missing = map_languages(targets, task.convention, inventory, texts)
        tokenizer = resolve_tokenizer(tokenizer, model)  # first, while a path still names the checkpoint
        model = resolve_model(model, "encoder")  # the data first: a dataset that cannot load fails before the weights
        for code, label in mapping.items():
            corpus = {"eng": pairs[code]["sentence2"], label: pairs[code]["sentence1"]}
            found = sentence_retrieval(model, tokenizer, corpus, source="eng", **options)
            per_language[label] = found["per_language"][label]
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
            found = sentence_retrieval(
                model, tokenizer, relabelled, source=task.source, languages=list(mapping.values()), **options
            )
            per_language = found["per_language"]
    # The task's figure is the release's top-k (10); top-1 is shown beside it, the informative one on small pools
    # (UDHR: 31).
    metrics = [f"top{k}" for k in sorted({min(settings["top_k"]), max(settings["top_k"])})]
    return _result(task, data, settings, per_language, missing, metric=f"top{max(settings['top_k'])}", metrics=metrics)


def _fine_tuning_sets(task, data, codes, inventory, cap):
    """(train, dev, {label: test}, label names, text and label columns, the source's label, languages missing)."""
    if task.name == "udhr-topics" and data.path is None:
        train, tests, label_names = udhr_topic_classification(languages=codes)
        mapping, missing = map_languages([c for c in tests if c != task.source], task.convention, inventory)
        tests = {task.source: tests[task.source], **{label: tests[code] for code, label in mapping.items()}}
        return train, None, tests, label_names, "text", "label", "eng_Latn", missing
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
    feature = train.features[task.label_column]
    names = getattr(getattr(feature, "feature", feature), "names", None)
    if names and list(names) != label_names:
        logger.warning("%s: the dataset's label names %s differ from the expected %s; using the dataset's.",
                       task.name, names, label_names)  # fmt: skip
        label_names = list(names)
    return train, dev, tests, label_names, task.text_column, task.label_column, source_label, missing


def _run_fine_tuning(task, data, codes, model, tokenizer, inventory, settings):
    from langsamp.evaluation.transfer import zero_shot_transfer

    train, dev, tests, label_names, text_column, label_column, source_label, missing = _fine_tuning_sets(
        task, data, codes, inventory, example_cap(settings)
    )
    runs, sources, steps = [], [], []
    for seed in settings["seeds"]:
        result = zero_shot_transfer(
            model, tokenizer, train, tests, task=task.kind, label_names=label_names, text_column=text_column,
            label_column=label_column, source=source_label, dev_dataset=dev, seed=seed, disable_tqdm=True,
            **fine_tuning_options(settings),
        )  # fmt: skip
        runs.append(result["per_language"])
        sources.append({source_label: result["source_metrics"]})
        steps.append(result["steps"])
    per_language = _mean_sd(runs) if runs[0] else {}
    metric = "macro_f1" if task.kind == "sequence" else "f1"
    averages = _seed_averages(runs) if runs[0] else None
    out = _result(task, data, settings, per_language, missing, metric=metric, averages=averages)
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


def check_benchmark(
    task: str | Task,
    models: dict[str, str],
    overrides: dict | None = None,
    model_index: list[str] | None = None,
    dataset: str | None = None,
    token: str | None = None,
) -> None:
    """Refuse what would fail after the first evaluation: --model-index names that are not among `models` ({name:
    path}) or Hub repos whose cards cannot be written offline, a retrieval layer some checkpoint lacks, and a
    dataset that cannot be reached or lacks the task's languages."""
    task = get_task(task) if isinstance(task, str) else task
    if model_index is not None:
        unknown = [n for n in model_index if n not in models]
        if unknown:
            raise ValueError(f"--model-index {' '.join(unknown)}: not among the --models names ({', '.join(models)}).")
        from huggingface_hub import constants

        remote = [n for n in (model_index or list(models)) if not Path(models[n]).is_dir()]
        if remote and constants.HF_HUB_OFFLINE:  # found now, not after every evaluation has run
            raise ValueError(
                f"--model-index {' '.join(remote)}: a Hub repo's card cannot be updated with HF_HUB_OFFLINE set; "
                "unset it, or name local checkpoints only."
            )
    if task.kind == "retrieval":
        layer = (overrides or {}).get("layer", task.defaults["layer"])
        for path in models.values():
            check_layer(path, layer)
    TaskData(task, dataset, token).languages()  # an unreachable or missing dataset is named before any model loads


def run_benchmark(
    task: str | Task,
    models: dict[str, str],
    tokenizer: str | None = None,
    dataset: str | None = None,
    languages: list[str] | None = None,
    token: str | None = None,
    **overrides,
) -> dict[str, dict]:
    """run_task on each checkpoint of `models` ({name: path}), in order: {name: result}. `tokenizer`: one for every
    checkpoint (default: each one's own)."""
    task = get_task(task) if isinstance(task, str) else task
    results = {}
    for name, path in models.items():
        print(f"== {task.name} on {name} ({path})", flush=True)
        results[name] = run_task(
            task.name, path, tokenizer, dataset=dataset, languages=languages, token=token, **overrides
        )
    return results
