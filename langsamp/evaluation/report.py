"""Reporting evaluation results: markdown tables (one checkpoint, or several side by side with head / tail rows),
JSON files, and Hub `model-index` metadata in a checkpoint's model card (huggingface_hub's ModelCard / EvalResult)."""

from __future__ import annotations

import json
from pathlib import Path


def _format(value):
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def markdown_table(header: list, rows: list) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_format(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _percent(name, value, percent=True):
    return value * 100 if percent and "perplexity" not in name and isinstance(value, float) else value


def result_table(result: dict, percent: bool = True) -> str:
    """A per-language markdown table of an evaluation result, with the average as the last row."""
    per_language = result["per_language"]
    names = [n for n in next(iter(per_language.values())) if not n.endswith("_tokens")]
    rows = [[code] + [_percent(n, r[n], percent) for n in names] for code, r in per_language.items()]
    rows.append(["**average**"] + [_percent(n, result["average"].get(n, float("nan")), percent) for n in names])
    return markdown_table(["language"] + names, rows)


def write_json(result: dict, output: str | Path) -> None:
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_result(result: dict, output: str | Path | None) -> None:
    """Print `result_table(result)` (and its note); write the result as JSON to `output` when given."""
    print(result_table(result))
    if result.get("note"):
        print(f"\n{result['note']}")
    if output:
        write_json(result, output)
        print(f"\nwritten: {output}")


def _cell(scores, metric):
    if not scores or metric not in scores:
        return "–"
    sd = scores.get(f"{metric}_sd")
    return f"{scores[metric] * 100:.2f} ± {sd * 100:.2f}" if sd else f"{scores[metric] * 100:.2f}"


def side_by_side_table(results: dict[str, dict], metric: str | None = None, per_language: bool = True) -> str:
    """One markdown table for several checkpoints on one task: {checkpoint name: run_task result}.

    Rows: each language (when `per_language`), then the averages over all, head (XLM-R's) and tail languages with
    their counts; cells in %, `mean ± sd` over seeds where there were several. Columns: each checkpoint, once per
    metric of the results' `metrics` (retrieval: top-1 and top-10) unless `metric` names one."""
    names = list(results)
    first = results[names[0]]
    metrics = [metric] if metric else list(first.get("metrics") or [first["metric"]])
    columns = [(n, m) for n in names for m in metrics]
    rows = []
    if per_language:
        languages = list(dict.fromkeys(code for r in results.values() for code in r["per_language"]))
        rows += [[code] + [_cell(results[n]["per_language"].get(code), m) for n, m in columns] for code in languages]
    for group in ("all", "head", "tail"):
        counts = {results[n]["counts"][group] for n in names}
        label = f"**average, {group}** ({'/'.join(map(str, sorted(counts)))} languages)"
        rows.append([label] + [_cell(results[n]["averages"][group], m) for n, m in columns])
    if len(metrics) == 1:
        header = [f"{first['task']}: {metrics[0]} (%)"] + names
    else:
        header = [f"{first['task']} (%)"] + [f"{n} {m}" for n, m in columns]
    table = markdown_table(header, rows)
    missing = sorted({code for r in results.values() for code in r.get("missing_languages", [])})
    if missing:
        table += f"\n\nNot evaluated (not in the model's inventory or unreadable): {', '.join(missing)}."
    return table


TASK_TYPES = {
    "sequence": ("text-classification", "Text Classification"),
    "token": ("token-classification", "Token Classification"),
    "retrieval": ("sentence-similarity", "Sentence Retrieval"),
}


def eval_results(result: dict) -> list:
    """huggingface_hub `EvalResult`s for one run_task result: the main metric averaged over all, head and tail
    languages (in %), named so that the card says over how many languages."""
    from huggingface_hub import EvalResult

    task_type, task_name = TASK_TYPES[result["kind"]]
    out = []
    metrics = result.get("metrics") or [result["metric"]]
    for metric in metrics:
        metric_type = {"macro_f1": "f1", "f1": "f1"}.get(metric, "accuracy")
        for group in ("all", "head", "tail"):
            if metric not in result["averages"][group]:
                continue
            label = {"all": "all", "head": "head (XLM-R's)", "tail": "tail"}[group]
            out.append(
                EvalResult(
                    task_type=task_type,
                    task_name=task_name,
                    dataset_type=result["dataset"],
                    dataset_name=result["task"],
                    metric_type=metric_type,
                    metric_value=round(result["averages"][group][metric] * 100, 2),
                    metric_name=f"{metric}, {label} languages (n={result['counts'][group]})",
                    # one entry per metric and group (the card keeps one entry per config)
                    metric_config=f"{group}-languages" if len(metrics) == 1 else f"{metric}-{group}-languages",
                )
            )
    return out


def write_model_index(
    checkpoint: str | Path, results: list[dict], model_name: str | None = None, token: str | None = None
) -> str | Path:
    """Write run_task results into a checkpoint's model card as Hub `model-index` metadata.

    checkpoint: a local folder (its README.md is created or updated; entries for the same task, dataset and
    metric are replaced) or a Hub repo id (updated with `huggingface_hub.metadata_update`, needs write access).
    """
    from huggingface_hub import ModelCard, ModelCardData, metadata_update
    from huggingface_hub.repocard_data import eval_results_to_model_index

    new = [item for result in results for item in eval_results(result)]
    folder = Path(str(checkpoint))
    if not folder.is_dir():
        name = model_name or str(checkpoint).split("/")[-1]
        metadata_update(
            str(checkpoint), {"model-index": eval_results_to_model_index(name, new)}, overwrite=True, token=token
        )
        return str(checkpoint)
    card_path = folder / "README.md"
    card = ModelCard.load(card_path) if card_path.exists() else ModelCard(f"---\n{ModelCardData().to_yaml()}\n---\n")
    key = lambda e: (e.task_type, e.dataset_type, e.dataset_name, e.metric_type, e.metric_config)  # noqa: E731
    kept = [e for e in (card.data.eval_results or []) if key(e) not in {key(n) for n in new}]
    card.data.eval_results = kept + new
    card.data.model_name = card.data.model_name or model_name or folder.resolve().name
    card.save(card_path)
    return card_path
