"""The paper's analysis claim, measured: choosing the zero-shot source language by the similarity of the learned
language embeddings (`recommend_source_languages`) against English and against a random source, on a zero-shot task.

For each target the recommended source is the candidate whose embedding is most cosine-similar to the target's;
the random source is drawn (seeded) from the same candidates. Each distinct source is fine-tuned once per seed
and tested on every target; the table gives the target's score for each choice. The release has no code for this.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from langsamp.evaluation.benchmark import example_cap, fine_tuning_options
from langsamp.evaluation.corpora import udhr_topic_classification
from langsamp.evaluation.embedding_analysis import embedding_model, recommend_source_languages
from langsamp.evaluation.languages import map_languages
from langsamp.evaluation.report import markdown_table
from langsamp.evaluation.task_data import TaskData
from langsamp.evaluation.tasks import get_task, task_settings

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def _task_sets(task, data, source, targets, cap):
    """(train, dev, {target: test}) for fine-tuning on `source` (dataset codes)."""
    if task.name == "udhr-topics" and data.path is None:
        train, tests, _ = udhr_topic_classification(source=source, languages=targets)
        return train, None, {code: tests[code] for code in targets}
    return (
        cap(data.split(source, "train")),
        cap(data.split(source, "dev")),
        {code: cap(data.split(code, "test")) for code in targets},
    )


def compare_source_languages(
    model: str | Path | PreTrainedModel,
    targets: list[str],
    candidates: list[str],
    task: str = "udhr-topics",
    english: str | None = None,
    tokenizer: str | Path | PreTrainedTokenizerBase | None = None,
    dataset: str | None = None,
    token: str | None = None,
    random_seed: int = 0,
    all_languages: bool = False,
    **overrides,
) -> dict:
    """Zero-shot scores on each target when fine-tuning on the recommended source, on English and on a random source.

    model: a LangSAMP masked-LM checkpoint path or model (its language table ranks the sources; its encoder is
    fine-tuned); tokenizer: default the checkpoint's own. targets / candidates: the task's language codes
    (`urd_Arab` for UDHR / SIB-200, `ur` for WikiANN); candidates are the languages with training data you would
    pick from. Returns {"rows": [...], "average": {...}, "metric", "settings"}.
    """
    task = get_task(task)
    if task.kind == "retrieval":
        raise ValueError(
            f"{task.name} is a retrieval task: source selection needs a fine-tuning task (udhr-topics, sib200, "
            "taxi1500, wikiann, udpos)."
        )
    settings = task_settings(task, overrides)
    data = TaskData(task, dataset, token)
    english = english or task.source
    codes = set(data.languages())
    unknown = [c for c in list(targets) + list(candidates) + [english] if c not in codes]
    if unknown:
        raise ValueError(
            f"{task.name}: language(s) {', '.join(unknown)} not in the dataset; it has e.g. "
            f"{', '.join(sorted(codes)[:8])}."
        )
    plan = _plan(embedding_model(model), task, targets, candidates, random_seed, all_languages)
    metric = "macro_f1" if task.kind == "sequence" else "f1"
    sources = [english] + [p["recommended"] for p in plan.values()] + [p["random"] for p in plan.values()]
    scores = {}
    for source in dict.fromkeys(sources):
        scores[source] = _scores(model, tokenizer, task, data, source, list(targets), settings, metric)
    rows, average = summarise_sources(plan, scores, english)
    return {
        "task": task.name,
        "metric": metric,
        "english": english,
        "rows": rows,
        "average": average,
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
        "random_seed": random_seed,
    }


def _plan(embedder, task, targets, candidates, random_seed, all_languages):
    """{target: {"recommended": the candidate whose embedding is nearest, "similarity", "random": a seeded draw}}."""
    labels, unreadable = map_languages(
        list(dict.fromkeys(list(targets) + list(candidates))), task.convention, list(embedder.config.languages)
    )
    if unreadable:
        raise ValueError(
            f"Language(s) {', '.join(unreadable)} are not in the model's inventory: the embeddings cannot rank them."
        )
    iso = {code: label.split("_")[0] for code, label in labels.items()}
    by_iso = {}
    for code in candidates:
        by_iso.setdefault(iso[code], code)
    rng = random.Random(random_seed)
    plan = {}
    for target in targets:
        pool = [c for c in candidates if iso[c] != iso[target]]
        if not pool:
            raise ValueError(f"No candidate source besides the target {target!r} itself.")
        best, similarity = recommend_source_languages(
            embedder, iso[target], k=1, candidates=[iso[c] for c in pool], all_languages=all_languages
        )[0]
        plan[target] = {"recommended": by_iso[best], "similarity": similarity, "random": rng.choice(pool)}
    return plan


def _scores(model, tokenizer, task, data, source, targets, settings, metric):
    """{target: [score per seed]} after fine-tuning on `source`."""
    from langsamp.evaluation.transfer import zero_shot_transfer

    train, dev, tests = _task_sets(task, data, source, targets, example_cap(settings))
    runs = []
    for seed in settings["seeds"]:
        result = zero_shot_transfer(
            model, tokenizer, train, tests, task=task.kind,
            label_names=list(task.label_names) if task.label_names else None, text_column=task.text_column,
            label_column=task.label_column, source=source, dev_dataset=dev, seed=seed, disable_tqdm=True,
            **fine_tuning_options(settings),
        )  # fmt: skip
        # A target that is the source itself is reported apart by zero_shot_transfer: take it from there.
        runs.append({t: (result["per_language"].get(t) or result["source_metrics"])[metric] for t in targets})
    return {t: [run[t] for run in runs] for t in targets}  # one score per seed


def summarise_sources(plan: dict[str, dict], scores: dict[str, dict], english: str) -> tuple[list[dict], dict]:
    """plan: {target: {"recommended", "similarity", "random"}}; scores: {source: {target: [score per seed]}} ->
    (rows: one a target with each choice's mean and sd over seeds, average: the per-seed mean over targets, then
    its mean and sd over seeds)."""
    choices = {
        "recommended_score": lambda p: p["recommended"],
        "english_score": lambda p: english,
        "random_score": lambda p: p["random"],
    }
    rows = []
    for t, p in plan.items():
        row = {"target": t, "recommended": p["recommended"], "similarity": p["similarity"], "random": p["random"]}
        for key, choose in choices.items():
            per_seed = np.array(scores[choose(p)][t])
            row[key], row[f"{key}_sd"] = float(per_seed.mean()), _sd(per_seed)
        rows.append(row)
    # The average over targets, per seed; then its mean and sd over the seeds.
    average = {}
    for key, choose in choices.items():
        per_seed = np.mean([scores[choose(p)][t] for t, p in plan.items()], axis=0)
        average[key], average[f"{key}_sd"] = float(per_seed.mean()), _sd(per_seed)
    return rows, average


def _sd(values):
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def _score(scores, key):
    """`mean ± sd` over seeds in %, or the mean alone for one seed."""
    sd = scores.get(f"{key}_sd")
    return f"{scores[key] * 100:.2f} ± {sd * 100:.2f}" if sd else f"{scores[key] * 100:.2f}"


def source_table(result: dict) -> str:
    """The comparison as a markdown table, scores in % (mean ± sd over the fine-tuning seeds)."""
    rows = [
        [
            r["target"],
            f"{r['recommended']} ({r['similarity']:.2f})",
            _score(r, "recommended_score"),
            _score(r, "english_score"),
            r["random"],
            _score(r, "random_score"),
        ]
        for r in result["rows"]
    ]
    a = result["average"]
    rows.append(
        ["**average**", "", _score(a, "recommended_score"), _score(a, "english_score"), "", _score(a, "random_score")]
    )
    metric = result["metric"]
    header = [
        "target",
        "recommended source (cosine)",
        f"{metric}, recommended",
        f"{metric}, {result['english']}",
        "random source",
        f"{metric}, random",
    ]
    return markdown_table(header, rows)
