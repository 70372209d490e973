"""The built Trainer session (the trainer and the callbacks whose results the end of the run reads), its training
(Ctrl-C saves the step reached, then says how to go on) and the final save into output_dir."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langsamp.training.callbacks.demo_probes import DemoProbes
from langsamp.training.callbacks.held_out_loss import HeldOutLoss
from langsamp.training.callbacks.hub_ready import write_hub_files
from langsamp.training.callbacks.save_on_interrupt import SaveOnInterrupt
from langsamp.training.errors import Interrupted
from langsamp.training.model_card import RunCard
from langsamp.training.resume import interruption_message
from langsamp.training.trainer import CheckpointNotSaved, LangSAMPTrainer, training_head
from langsamp.write_errors import disk_full

if TYPE_CHECKING:
    from langsamp.training.cli import Run

logger = logging.getLogger(__name__)


@dataclass
class Session:
    """The trainer and the callbacks whose results the end of the run reads."""

    trainer: LangSAMPTrainer
    head_warmup: Any
    held_out: HeldOutLoss | None
    probes: DemoProbes | None
    save_on_interrupt: SaveOnInterrupt
    card: RunCard
    n_params: int


def train(session: Session, run: Run) -> tuple[Any, float]:
    """(the Trainer's result, seconds of training alone). Ctrl-C saves the step reached, then says how to go on."""
    trainer, training_args = session.trainer, run.training_args
    if run.resume is not None:
        logger.info("Resuming from %s (step %d).", run.resume, run.start_step)
    started = time.perf_counter()
    try:
        result = trainer.train(resume_from_checkpoint=run.resume)
    except KeyboardInterrupt as interrupt:
        raise Interrupted(interruption_message(training_args, trainer.state.global_step)) from interrupt
    except Exception as error:
        if not session.save_on_interrupt.requested or isinstance(error, CheckpointNotSaved):
            raise  # a failed save says what failed (the disk is full), even the one Ctrl-C asked for
        # Ctrl-C reaches dataloader workers too; one that exits makes the next fetch fail. The message says what
        # was saved.
        raise Interrupted(interruption_message(training_args, trainer.state.global_step)) from error
    finally:
        session.save_on_interrupt.restore()
    if session.save_on_interrupt.requested and trainer.state.global_step < trainer.state.max_steps:
        raise Interrupted(interruption_message(training_args, trainer.state.global_step))
    measured = [callback.seconds for callback in (session.held_out, session.probes) if callback is not None]
    return result, time.perf_counter() - started - sum(measured)


def save(session: Session, result: Any) -> Any:
    """The held-out loss after, then the final save (and push): weights, tokenizer, code and card in output_dir.
    Returns the final push's commit (None without --push_to_hub, or when it failed)."""
    trainer = session.trainer
    if session.held_out is not None:
        session.held_out.measure_after()
    training_head(trainer.model.config, on=False)  # users get every masked LM's [batch, seq, vocab] logits with labels
    trainer.log_metrics("train", result.metrics)
    with trainer.final_save():  # a full disk: one line, and no half-written model left in output_dir
        return write_final(session, result)


def write_final(session: Session, result: Any) -> Any:
    """The final save's files (and push); the final push's commit, or None."""
    trainer, training_args = session.trainer, session.trainer.args
    losses = {f"held_out_loss_{key}": value for key, value in session.card.losses.items()}
    trainer.save_metrics("train", {**result.metrics, **losses})
    trainer.save_state()
    pushed = None
    if training_args.push_to_hub:
        pending = getattr(trainer, "push_in_progress", None)  # set on rank 0 only
        if pending is not None:
            pending.wait_until_done()  # the final save must not rewrite files that an upload is still reading
        try:
            pushed = trainer.push_to_hub(commit_message=f"End of training (step {trainer.state.global_step})")
        except Exception as error:  # the model is saved locally before the upload starts
            if disk_full(error):  # ... unless the local save is what failed
                raise
            logger.warning(
                "The final push to the Hub failed (%s: %s); the model is saved in %s.",
                type(error).__name__,
                error,
                training_args.output_dir,
            )
    else:
        trainer.save_model()
    if trainer.is_world_process_zero():
        write_hub_files(
            training_args.output_dir, trainer.model.config, session.card(trainer.state), training_args.hub_model_id
        )
    return pushed
