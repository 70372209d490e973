"""What each pretraining run says it was trained with, read back from the files train.py leaves in its output folder
(trainer_state.json, training_args.bin, langsamp_run.json): the report describes the runs as they ran, whatever
flags reached them (--train_args overrides the recipe) and whichever --train_script ran them."""

from __future__ import annotations

import importlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers.trainer import TRAINING_ARGS_NAME

from langsamp.training.resume import RUN_RECORD_NAME, TRAINER_STATE_NAME, recorded_head_warmup

logger = logging.getLogger(__name__)

# training_args.bin is the Trainer's pickled TrainingArguments: torch's weights_only loader rebuilds only these
# packages' classes from it, so a folder's pickle cannot run other code.
TRUSTED_PACKAGES = ("transformers", "accelerate")


@dataclass(frozen=True)
class RecordedRun:
    """One run's settings as the run recorded them; None where it recorded nothing (a --train_script that writes
    only its model, say)."""

    steps: int | None = None
    per_device: int | None = None  # the Trainer's train_batch_size: per device, times the GPUs of one process
    accumulation: int | None = None
    devices: int | None = None  # processes (the world size)
    tokens: int | None = None  # the chunk length (max_seq_length)
    learning_rate: float | None = None
    head_warmup_steps: int | None = None
    head_warmup_learning_rate: float | None = None
    languages: int | None = None  # `<lang>_<Script>` pairs trained on

    @property
    def batch(self) -> int | None:
        """Chunks an optimizer step: per device x accumulation steps x devices."""
        parts = (self.per_device, self.accumulation, self.devices)
        return None if None in parts else self.per_device * self.accumulation * self.devices


def read_run(run_dir: str | Path) -> RecordedRun:
    """What the run in `run_dir` recorded."""
    run_dir = Path(run_dir)
    values: dict[str, Any] = {}
    state = _json(run_dir / TRAINER_STATE_NAME)
    if state is not None:
        values["steps"] = state.get("global_step")
        warmup = recorded_head_warmup(run_dir) or {}
        values["head_warmup_steps"] = warmup.get("steps")
        values["head_warmup_learning_rate"] = warmup.get("learning_rate")
    training_args = load_training_arguments(run_dir / TRAINING_ARGS_NAME)
    if training_args is not None:
        values.update(
            per_device=training_args.train_batch_size,
            accumulation=training_args.gradient_accumulation_steps,
            devices=training_args.world_size,
            learning_rate=training_args.learning_rate,
        )
    record = _json(run_dir / RUN_RECORD_NAME)
    if record and record.get("parts"):
        data = record["parts"][-1]["data"]  # what the run trained on last (a resume may change it)
        values["tokens"] = data.get("max_seq_length")
        values["languages"] = len(data["pairs"]) if data.get("pairs") else None
    return RecordedRun(**values)


def load_training_arguments(path: str | Path) -> Any | None:
    """The TrainingArguments the Trainer saved in `path`, or None (no such file, or one that cannot be read). Only
    transformers' and accelerate's classes are rebuilt from the pickle."""
    import torch

    path = Path(path)
    if not path.is_file():
        return None
    try:
        allowed = [_named_class(name) for name in torch.serialization.get_unsafe_globals_in_checkpoint(path)]
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, weights_only=True)
    except Exception as error:  # an unreadable record leaves the facts it holds unknown; the report says so
        logger.warning("%s is unreadable (%s): the report leaves its settings out.", path, error)
        return None


def _named_class(name: str) -> Any:
    module, _, attribute = name.rpartition(".")
    if module.split(".")[0] not in TRUSTED_PACKAGES:
        raise ValueError(f"it holds {name}, not a transformers or accelerate class")
    return getattr(importlib.import_module(module), attribute)


def _json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except ValueError as error:
        logger.warning("%s is unreadable (%s): the report leaves its settings out.", path, error)
        return None
