"""Every checkpoint folder, the output folder and every Hub revision pushed during training hold the remote-code
`.py` files and a model card with the run's metadata, so each loads with `trust_remote_code=True` (the Trainer
pushes only config, weights and tokenizer)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerState
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from langsamp.hub.model_card import render_model_card
from langsamp.hub.remote_code import copy_remote_code

logger = logging.getLogger(__name__)


def write_hub_files(folder: str | Path, config: Any, metadata: dict, repo_id: str | None = None) -> None:
    """The remote-code modules and the model card: what makes a folder of weights loadable with trust_remote_code."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    copy_remote_code(folder)
    render_model_card(config, metadata, repo_id).save(folder / "README.md")


class HubReadyCheckpoints(TrainerCallback):
    """Makes every checkpoint folder, the output folder and every pushed revision self-contained.

    Why `on_push_begin` and not `on_save`: in `Trainer._save_checkpoint` the push (`_push_from_checkpoint`: copy
    config and weights from `checkpoint-N` into output_dir, then a background `upload_folder` of output_dir, and of
    `checkpoint-N` for hub_strategy=checkpoint/all_checkpoints) starts BEFORE the `on_save` event, so files written in
    `on_save` would miss that revision. `on_push_begin` fires inside `_push_from_checkpoint` after the checkpoint is
    complete and before anything is copied or uploaded (and first thing in the final `push_to_hub`), so the code and
    card written there go out with the same commit. `on_save` still writes them into `checkpoint-N` for runs that do
    not push. `card_metadata(state)` gives the card's metadata at the state's step.
    """

    def __init__(self, config: Any, card_metadata: Callable[[TrainerState], dict]):
        self.config = config
        self.card_metadata = card_metadata
        self._pushed_checkpoints = set()  # checkpoint folders completed by on_push_begin (maybe being uploaded now)

    def _write(self, folder, args, state):
        write_hub_files(folder, self.config, self.card_metadata(state), args.hub_model_id)

    def _checkpoint_folder(self, args, state):
        return Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"

    def on_push_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        self._write(args.output_dir, args, state)
        checkpoint = self._checkpoint_folder(args, state)
        if checkpoint.is_dir():
            self._write(checkpoint, args, state)
            self._pushed_checkpoints.add(checkpoint)

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        checkpoint = self._checkpoint_folder(args, state)
        # Not again where on_push_begin wrote: an upload of that folder may be reading the files right now.
        if checkpoint.is_dir() and checkpoint not in self._pushed_checkpoints:
            self._write(checkpoint, args, state)
