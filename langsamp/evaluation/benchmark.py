"""One named task on several checkpoints (`langsamp-eval benchmark`): the checks that can fail before any model loads,
then run_task on each checkpoint in turn."""

from __future__ import annotations

from pathlib import Path

from langsamp.evaluation.retrieval import check_layer
from langsamp.evaluation.tasks import Task, TaskData, get_task, run_task


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
