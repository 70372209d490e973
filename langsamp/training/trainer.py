"""`LangSAMPTrainer`: the stock Trainer with the head warm-up's stages, the masked-only head switched off in saved
folders, and Hub failures that never stop training."""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from transformers import Trainer, TrainerState
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from langsamp.training.callbacks.head_warmup import HeadWarmup
from langsamp.training.callbacks.hub_ready import write_hub_files
from langsamp.training.resume import is_complete_checkpoint
from langsamp.write_errors import disk_full, is_write_failure

logger = logging.getLogger(__name__)


# Masked positions per chunk of the fused decoder + loss while training: 256 x 250,002 fp32 logits = 256 MB at a time.
CHUNKED_LOSS_ROWS = 256


def training_head(config, on: bool) -> None:
    """train.py's switches of the masked-LM head: while training, ModernBERT's `sparse_prediction` (the head at the
    masked positions only) and `chunked_loss_rows` (their vocabulary-sized logits never held whole); off in every
    folder it saves, the stock output contract its users get."""
    config.sparse_prediction = on
    config.chunked_loss_rows = CHUNKED_LOSS_ROWS if on else None


class CheckpointNotSaved(RuntimeError):
    """Writing `checkpoint-N` failed (a full disk, a quota, a file system error); train.py ends with one line.
    `left`: what is left of the folder: "removed" (half-written, deleted), "complete" (the failure came after its
    trainer_state.json), "absent" (nothing was written) or "kept" (half-written, another process's to remove)."""

    LEFT = {
        "removed": "its half-written folder was removed",
        "complete": "the checkpoint itself is complete",
        "absent": "nothing of it was written",
        "kept": "its half-written folder is left (resuming skips it)",
    }

    def __init__(self, folder: Path, error: Exception, left: str, free_bytes: int | None):
        self.folder, self.error, self.left, self.free_bytes = folder, error, left, free_bytes
        self.disk_full = disk_full(error)
        super().__init__(self.describe())

    @property
    def what(self) -> str:
        """What was not saved."""
        return self.folder.name

    @property
    def output_dir(self) -> Path:
        """The run's folder, where its complete checkpoints are."""
        return self.folder.parent

    def describe(self) -> str:
        """What failed and why, and what is left of it."""
        cause = f"{type(self.error).__name__}: {' '.join(str(self.error).split())}"
        if self.disk_full:
            why = f"the disk is full ({cause})"
        elif self.free_bytes is not None:  # torch's writer says only "unexpected pos ..." on a full disk
            why = f"{cause}; {self.free_bytes / 1e9:.2f} GB free on that disk"
        else:
            why = cause
        return f"saving {self.what} failed: {why}; {self.LEFT[self.left]}"


class FinalModelNotSaved(CheckpointNotSaved):
    """The final save into output_dir (the model, tokenizer, code, card and trainer state) failed. `folder` is
    output_dir; `left`: "removed" (the model files it had written, deleted), "absent" (it wrote no model file) or
    "kept" (half-written, another process's to remove)."""

    LEFT = {
        "removed": "its half-written files were removed",
        "absent": "no model file of it was written",
        "kept": "its half-written files are left",
    }

    @property
    def what(self) -> str:
        return f"the final model in {self.folder}"

    @property
    def output_dir(self) -> Path:
        return self.folder


# The files that make a folder look like a saved model (from_pretrained reads them): config and weights, sharded or not.
MODEL_FILE_PATTERNS = ("config.json", "model*.safetensors", "pytorch_model*.bin", "*.index.json")


def model_files(folder: Path) -> dict[Path, tuple[int, int, int]]:
    """The model files of `folder`, each with what tells a rewritten file from the one before (inode, mtime, size)."""
    stamps = {}
    for pattern in MODEL_FILE_PATTERNS:
        for path in folder.glob(pattern):
            stat = path.stat()
            stamps[path] = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    return stamps


def save_failure(
    kind: type[CheckpointNotSaved], folder: Path, error: Exception, left: str, free: int | None
) -> CheckpointNotSaved | None:
    """A failed write (a full disk, a quota, ...) becomes `kind`; for anything else None: the error goes on as it is,
    its traceback intact."""
    if is_write_failure(error):
        return kind(folder, error, left, free)
    if left == "removed":
        logger.warning("Saving %s failed: %s.", folder, kind.LEFT[left])
    return None


class LangSAMPTrainer(Trainer):
    """The stock Trainer with two Hub details changed and, with a head warm-up (`head_warmup`,
    callbacks/head_warmup.py), its optimizer's groups split head/body, its scheduler laid over both stages and the body
    frozen in the warm-up.

    * `init_hf_repo` (the `create_repo` call that `Trainer.__init__` makes when --push_to_hub) raises when the Hub is
      down or the token is missing or refused, which would abort the run before step 0. Here it warns and training
      goes on; every later push tries again and reports its own failure.
    * `create_model_card` runs in the final `push_to_hub` and would replace LangSAMP's card (usage with
      trust_remote_code, the run's languages and losses) by the Trainer's generic one.
    * Pushes run in background threads: each one's failure is reported (and counted in `failed_pushes`) rather
      than lost there.
    * A checkpoint save that fails (a full disk) removes its half-written `checkpoint-N`, which a resume could
      otherwise mistake for a checkpoint, and a failed write raises CheckpointNotSaved (train.py: one line, exit 1);
      the final save likewise, inside `final_save()`, its half-written model files removed from output_dir.

    `card_metadata(state)` gives the model card's metadata at the state's step; `head_warmup` is the run's
    HeadWarmup (None or 0 steps: none).
    """

    def __init__(
        self,
        *args,
        card_metadata: Callable[[TrainerState], dict] | None = None,
        head_warmup: HeadWarmup | None = None,
        **kwargs,
    ):
        self.card_metadata = card_metadata
        self.head_warmup = head_warmup
        self.failed_pushes: list[tuple[int, BaseException]] = []
        self._watched_pushes = set()
        super().__init__(*args, **kwargs)

    def _warming_up(self):
        return self.head_warmup is not None and self.head_warmup.steps > 0

    def _save_checkpoint(self, model, trial):
        # Every folder the Trainer writes (checkpoint-N and the revision pushed from it) has the training head's
        # switches off. Switched here, around the save alone, so evaluations at save steps keep the masked-only head
        # and a checkpoint asked for by any callback (callbacks/save_on_interrupt.py) is covered too.
        config = self.model.config
        training_head(config, on=False)
        try:
            return super()._save_checkpoint(model, trial)
        except Exception as error:
            failure = self._checkpoint_failed(trial, error)
            if failure is None:
                raise
            raise failure from error
        finally:
            training_head(config, on=True)

    def _checkpoint_failed(self, trial, error: Exception) -> CheckpointNotSaved | None:
        """After a failed checkpoint save: its half-written folder removed (by the saving process; a folder whose
        trainer_state.json is written is complete and kept: the failure came later, in the push's copy or the
        rotation of old checkpoints). A failed write (a full disk, a quota, ...) becomes CheckpointNotSaved; for
        anything else None (save_failure)."""
        folder = Path(self._get_output_dir(trial=trial)) / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        free = shutil.disk_usage(folder.parent).free if folder.parent.is_dir() else None  # before the removal
        if not folder.is_dir():
            left = "absent"
        elif is_complete_checkpoint(folder):
            left = "complete"
        elif self.args.should_save:
            shutil.rmtree(folder, ignore_errors=True)
            left = "kept" if folder.exists() else "removed"
        else:
            left = "kept"
        return save_failure(CheckpointNotSaved, folder, error, left, free)

    @contextlib.contextmanager
    def final_save(self) -> Iterator[None]:
        """Around the final save into output_dir: if it fails, the model files it wrote are removed (a config.json
        beside cut-short weights would look like a finished model) and a failed write raises FinalModelNotSaved
        (train.py: one line, exit 1). A failure before it wrote any model file (in the trainer state, say) removes
        nothing: a resumed run's earlier model stays whole."""
        folder = Path(self.args.output_dir)
        before = model_files(folder) if folder.is_dir() else {}
        try:
            yield
        except Exception as error:
            free = shutil.disk_usage(folder).free if folder.is_dir() else None  # before the removal
            after = model_files(folder) if folder.is_dir() else {}
            if after == before:
                left = "absent"
            elif self.args.should_save:
                for path in after:
                    with contextlib.suppress(OSError):  # what is left is said below; the save's error comes first
                        path.unlink()
                left = "kept" if any(path.exists() for path in after) else "removed"
            else:
                left = "kept"
            failure = save_failure(FinalModelNotSaved, folder, error, left, free)
            if failure is None:
                raise
            raise failure from error

    def create_optimizer(self, model=None):
        fresh = self.optimizer is None
        optimizer = super().create_optimizer(model)
        if fresh and self._warming_up():
            self.head_warmup.split_param_groups(optimizer, self.model if model is None else model)
        return optimizer

    def create_scheduler(self, num_training_steps, optimizer=None):
        if not self._warming_up() or self.lr_scheduler is not None:
            return super().create_scheduler(num_training_steps, optimizer)
        from transformers import get_scheduler

        # The main schedule (--lr_scheduler_type, --warmup_steps) over the steps after the warm-up, as a multiplier.
        remaining = max(1, num_training_steps - self.head_warmup.steps)
        probe = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        main = get_scheduler(
            self.args.lr_scheduler_type,
            optimizer=probe,
            num_warmup_steps=self.args.get_warmup_steps(remaining),
            num_training_steps=remaining,
            scheduler_specific_kwargs=self.args.lr_scheduler_kwargs,
        )
        if not isinstance(main, torch.optim.lr_scheduler.LambdaLR) or len(main.lr_lambdas) != 1:
            raise ValueError(
                f"--lr_scheduler_type {self.args.lr_scheduler_type} cannot follow a head warm-up (it is not a "
                "step-wise schedule): use linear, cosine, constant, ... or --head_warmup_steps 0."
            )
        self.lr_scheduler = self.head_warmup.scheduler(
            optimizer or self.optimizer, main.lr_lambdas[0], self.args.learning_rate
        )
        self._created_lr_scheduler = True
        return self.lr_scheduler

    def training_step(self, model, inputs, num_items_in_batch=None):
        if self._warming_up():
            self.head_warmup.set_stage(self.model, self.state.global_step)
        return super().training_step(model, inputs, num_items_in_batch)

    def init_hf_repo(self, token=None, private=None):
        try:
            super().init_hf_repo(token=token, private=private)
        except Exception as error:  # any failure of the Hub must not cost the run
            self.hub_model_id = self.args.hub_model_id or Path(self.args.output_dir).absolute().name
            self.push_in_progress = None
            logger.warning(
                "Could not create or reach the Hub repo %s (%s: %s). Training goes on; checkpoints are saved in %s and "
                "each push will be retried.",
                self.hub_model_id,
                type(error).__name__,
                error,
                self.args.output_dir,
            )

    def create_model_card(self, **kwargs):
        if self.is_world_process_zero():
            config = self.accelerator.unwrap_model(self.model).config
            write_hub_files(self.args.output_dir, config, self.card_metadata(self.state), self.args.hub_model_id)

    def _push_from_checkpoint(self, checkpoint_folder):
        super()._push_from_checkpoint(checkpoint_folder)
        jobs = getattr(getattr(self, "push_in_progress", None), "jobs", None) or []
        for job in jobs:
            if job not in self._watched_pushes:
                self._watched_pushes.add(job)
                job.add_done_callback(lambda future, step=self.state.global_step: self._report_push(future, step))

    def _report_push(self, future, step):
        error = None if future.cancelled() else future.exception()
        if error is not None:
            self.failed_pushes.append((step, error))
            logger.warning(
                "Pushing step %d to the Hub failed (%s: %s). Training goes on; the checkpoint is kept locally.",
                step,
                type(error).__name__,
                error,
            )
