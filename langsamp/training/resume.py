"""Where a run starts and what it has been: resuming from the newest complete checkpoint, refusing what cannot be
resumed, and the run record (`langsamp_run.json`: the data arguments of each part of a run a resume may change),
which the model card describes."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from transformers import TrainingArguments
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from langsamp.training.callbacks.head_warmup import HeadWarmup

logger = logging.getLogger(__name__)

# The Trainer writes this file last in `_save_checkpoint`: a checkpoint folder without it was interrupted.
TRAINER_STATE_NAME = "trainer_state.json"
CHECKPOINT_RE = re.compile(rf"^{PREFIX_CHECKPOINT_DIR}-(\d+)$")
# In output_dir: the data arguments of each part of the run (a resume may change them), for the warning on a
# changed resume and for the model card, which then describes the whole run.
RUN_RECORD_NAME = "langsamp_run.json"
# DataArguments that change what the model is trained on (workers and cache folders do not).
RECORDED_DATA_ARGUMENTS = (
    "corpus",
    "languages",
    "max_seq_length",
    "sampling_alpha",
    "streaming",
    "mlm_probability",
    "max_eval_samples",
    "dedup",
    "exclude_eval",
    "language_stages",
)
PAIR_LABEL = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")
# What a finished run leaves in output_dir (the final save), which a fresh run would overwrite.
MODEL_FILES = ("config.json", "model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")


def is_complete_checkpoint(folder: str | Path) -> bool:
    """The save of this checkpoint folder finished: its trainer_state.json, written last, is there and whole (a full
    disk can cut it short)."""
    try:
        return isinstance(json.loads((Path(folder) / TRAINER_STATE_NAME).read_text()), dict)
    except (OSError, ValueError):
        return False


def complete_checkpoints(output_dir: str | Path) -> list[Path]:
    """`checkpoint-N` folders of `output_dir` whose save finished (they hold a whole trainer_state.json), oldest
    first."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = CHECKPOINT_RE.match(path.name)
        if match and path.is_dir():
            if is_complete_checkpoint(path):
                found.append((int(match.group(1)), path))
            else:
                logger.warning(
                    "Ignoring %s: it has no whole %s (the run was interrupted while saving it).",
                    path,
                    TRAINER_STATE_NAME,
                )
    return [path for _, path in sorted(found)]


def resolve_resume(training_args: TrainingArguments, start_over: bool = False) -> str | None:
    """The checkpoint to resume from, or None. `auto`: the newest complete checkpoint of output_dir, or a fresh start
    if there is none (one command for the first launch and every restart); `last` / `true`: the newest complete
    checkpoint, which must exist; a path: that checkpoint. A fresh start refuses an output_dir that holds a trained
    model (unless `start_over`: the demo): the final save would replace it."""
    value = training_args.resume_from_checkpoint
    existing = complete_checkpoints(training_args.output_dir)
    if value is None or value.lower() in ("false", "no", "none", ""):
        if existing:
            raise ValueError(
                f"{training_args.output_dir} already holds checkpoints ({existing[-1].name} is the newest): pass "
                "--resume_from_checkpoint auto to continue that run, or choose another --output_dir (or delete them)."
            )
        if not start_over:
            refuse_finished_model(training_args.output_dir)
        return None
    if value.lower() in ("auto", "last", "true"):
        if existing:
            warn_of_a_later_finished_model(training_args.output_dir, existing[-1])
            return str(existing[-1])
        if value.lower() != "auto":
            raise ValueError(f"--resume_from_checkpoint {value}: no complete checkpoint in {training_args.output_dir}.")
        if not start_over:
            refuse_finished_model(training_args.output_dir)
        logger.info(
            "--resume_from_checkpoint auto: no checkpoint in %s yet, starting from step 0.", training_args.output_dir
        )
        return None
    path = Path(value)
    if not path.is_dir():
        raise FileNotFoundError(f"--resume_from_checkpoint {value}: no such checkpoint folder.")
    if not is_complete_checkpoint(path):
        raise ValueError(
            f"--resume_from_checkpoint {value} is incomplete (no whole {TRAINER_STATE_NAME}: the run was interrupted "
            "while saving it). Resume from the previous checkpoint, or pass `auto` to pick the newest complete one."
        )
    return str(path)


def warn_of_a_later_finished_model(output_dir: str | Path, checkpoint: Path) -> None:
    """A finished run's model in output_dir, saved at a later step than the checkpoint resumed from: the resumed run
    trains those steps again and its final save replaces that model. It may be wanted (a longer run), so a warning."""
    final_state = Path(output_dir) / TRAINER_STATE_NAME
    if not final_state.is_file() or not any((Path(output_dir) / name).is_file() for name in MODEL_FILES):
        return
    try:
        final_step = json.loads(final_state.read_text())["global_step"]
    except (ValueError, KeyError, TypeError):
        return
    step = resumed_step(str(checkpoint))
    if final_step > step:
        logger.warning(
            "%s holds a finished model at step %d, later than the newest checkpoint %s (step %d): resuming from it "
            "trains steps %d-%d again and the final save replaces that model. Move the model away first to keep it.",
            output_dir,
            final_step,
            checkpoint.name,
            step,
            step + 1,
            final_step,
        )


def refuse_finished_model(output_dir: str | Path) -> None:
    """A fresh run would overwrite the model saved in output_dir (a finished run whose checkpoints are gone)."""
    found = [name for name in MODEL_FILES if (Path(output_dir) / name).is_file()]
    if found:
        raise ValueError(
            f"--output_dir {output_dir} already holds a trained model ({', '.join(found)}) and no checkpoint to "
            "resume: training would overwrite it. Choose another --output_dir, or delete (or move) that model first."
        )


def check_resume(
    resume: str, config: Any, training_args: TrainingArguments, head_warmup_steps: int | None = None
) -> None:
    """A checkpoint whose tables or shapes differ from this run's config, or that began with a head warm-up when this
    run asks for none (or the reverse), cannot be resumed (its weights and optimizer state would not fit: torch's
    traceback after the model is built); a different --max_steps can, with a warning."""
    saved = json.loads((Path(resume) / "config.json").read_text()) if (Path(resume) / "config.json").is_file() else {}
    for key in ("use_lang_embedding", "use_script_embedding", "hidden_size", "num_hidden_layers"):
        if key in saved and saved[key] != getattr(config, key):
            flag = f"--{key} {getattr(config, key)}" if key.startswith("use_") else f"{key} {getattr(config, key)}"
            raise ValueError(
                f"--resume_from_checkpoint {resume} was trained with {key}={saved[key]}, this run asks for {flag}: "
                "its weights and optimizer state do not fit. Resume without changing it, or start a new run in "
                "another --output_dir."
            )
    began = (recorded_head_warmup(resume) or {}).get("steps", 0)
    if head_warmup_steps is not None and bool(head_warmup_steps) != bool(began):
        raise ValueError(
            f"--resume_from_checkpoint {resume} began with --head_warmup_steps {began}; this run asks for "
            f"{head_warmup_steps}: a run with a warm-up keeps its optimizer state in head and body groups that a run "
            "without one does not have, so it does not fit. Leave --head_warmup_steps out (a resumed run keeps its "
            "stages), or start a new run in another --output_dir."
        )
    state = json.loads((Path(resume) / TRAINER_STATE_NAME).read_text())
    before = state.get("max_steps")
    if training_args.max_steps > 0 and before and before != training_args.max_steps:
        logger.warning(
            "Resuming %s with --max_steps %d; the run began with --max_steps %d. The mixture of rows is drawn once for "
            "the whole run from max_steps, so the rows from step %d on differ from those the uninterrupted run would "
            "have seen (another draw of the same corpus and sampling).",
            resume,
            training_args.max_steps,
            before,
            state.get("global_step", 0),
        )


def recorded_head_warmup(checkpoint: str | Path) -> dict | None:
    """The head warm-up a checkpoint of train.py recorded ({"steps", "learning_rate", ...}), or None."""
    state = json.loads((Path(checkpoint) / TRAINER_STATE_NAME).read_text())
    recorded = (state.get("stateful_callbacks") or {}).get(HeadWarmup.__name__)
    return recorded.get("args") if isinstance(recorded, dict) else None


def resumed_step(resume: str | None) -> int:
    """The optimizer step a run resumed from `resume` starts at (0 for a fresh run)."""
    if resume is None:
        return 0
    return json.loads((Path(resume) / TRAINER_STATE_NAME).read_text())["global_step"]


def data_record(data_args: Any, pairs: list[str] | None) -> dict:
    """What this part of the run trains on: the data arguments, and the `<lang>_<Script>` pairs (None if unknown,
    e.g. a `datasets` dataset filtered by language only)."""
    record = {name: getattr(data_args, name, None) for name in RECORDED_DATA_ARGUMENTS}
    for name in ("sampling_alpha", "mlm_probability"):  # a constant as the number it is (as runs recorded it before)
        try:
            record[name] = float(record[name])
        except (TypeError, ValueError):
            pass  # a schedule, recorded as given
    record["pairs"] = sorted(pairs) if pairs and all(PAIR_LABEL.match(p) for p in pairs) else None
    return record


def _describe_change(name, before, after):
    if isinstance(before, list) and isinstance(after, list):
        added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
        preview = lambda codes: ", ".join(codes[:6]) + (", ..." if len(codes) > 6 else "")  # noqa: E731
        return f"{name}: " + "; ".join(
            part
            for part in (
                added and f"+{len(added)} ({preview(added)})",
                removed and f"-{len(removed)} ({preview(removed)})",
            )
            if part
        )
    return f"{name}: {before!r} -> {after!r}"


def _same(name, before, after):
    if name == "corpus" and before and after and Path(before).expanduser().exists():
        return Path(before).expanduser().resolve() == Path(after).expanduser().resolve()  # the same folder, another cwd
    return before == after


def run_parts(output_dir: str | Path, data: dict, start_step: int) -> tuple[list[dict], list[str]]:
    """The run's parts (each `{"from_step", "data"}`) with this one appended, and what changed since the part it
    resumes. Parts from `start_step` on are dropped: they were rolled back (or never reached a checkpoint)."""
    path = Path(output_dir) / RUN_RECORD_NAME
    parts = []
    if start_step > 0 and path.is_file():
        try:
            parts = [part for part in json.loads(path.read_text())["parts"] if part["from_step"] < start_step]
        except (ValueError, KeyError, TypeError) as error:
            logger.warning(
                "%s is unreadable (%s): the data of the run before step %d is not known.", path, error, start_step
            )
    elif start_step > 0:
        logger.warning(
            "%s has no %s: the data of the run before step %d is not known.", output_dir, RUN_RECORD_NAME, start_step
        )
    before = parts[-1]["data"] if parts else None
    changes = (
        []
        if before is None
        else [_describe_change(k, before.get(k), v) for k, v in data.items() if not _same(k, before.get(k), v)]
    )
    return parts + [{"from_step": start_step, "data": data}], changes


def write_run_record(output_dir: str | Path, parts: list[dict]) -> None:
    """`langsamp_run.json` in output_dir: the parts of the run so far."""
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    (Path(output_dir) / RUN_RECORD_NAME).write_text(json.dumps({"parts": parts}, indent=2) + "\n")


def trained_pairs_of(base_pairs: list[str] | None, parts: list[dict]) -> list[str] | None:
    """Every pair the checkpoint will have been trained on: the base checkpoint's (None = not recorded) and each
    part's; None as soon as one of them is unknown."""
    if base_pairs is None or any(part["data"]["pairs"] is None for part in parts):
        return None
    return sorted(set(base_pairs).union(*(part["data"]["pairs"] for part in parts)))


def interruption_message(training_args: TrainingArguments, step: int, when: str | None = None) -> str:
    """Where an interrupted run stands: its newest complete checkpoint and the command that continues from it."""
    when = when or f"at step {step}"
    saved = complete_checkpoints(training_args.output_dir)
    if saved:
        return (
            f"interrupted {when}; the last complete checkpoint is {saved[-1]}: run the same command with "
            "--resume_from_checkpoint auto to continue from it."
        )
    strategy = str(getattr(training_args.save_strategy, "value", training_args.save_strategy))
    every = f"--save_steps {training_args.save_steps:g}" if strategy == "steps" else f"--save_strategy {strategy}"
    return (
        f"interrupted {when}, before the first checkpoint ({every}): nothing was saved; the same command starts over."
    )


def save_failure_message(output_dir: str | Path, failure: str, remedy: str) -> str:
    """The one line of a run stopped by a failed save: what failed, and the last complete checkpoint to go on from
    once `remedy` ("free some space") is done."""
    saved = complete_checkpoints(output_dir)
    if saved:
        return (
            f"{failure}. The last complete checkpoint is {saved[-1]}: {remedy}, then run the same command with "
            "--resume_from_checkpoint auto to continue from it."
        )
    return f"{failure}. No checkpoint is complete yet: {remedy}, then run the same command to start over."
