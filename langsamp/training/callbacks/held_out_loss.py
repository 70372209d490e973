"""The masked-LM loss on held-out chunks before and after training, with the same masks both times."""

from __future__ import annotations

import time

from transformers import Trainer, TrainerCallback


class HeldOutLoss(TrainerCallback):
    """`losses["before"]` is measured in `on_train_begin`, once the Trainer has wrapped the model for DDP:
    `trainer.evaluate()` before `trainer.train()` registers the bare model with accelerate (evaluation_mode), and
    accelerate >= 1.14 then refuses to wrap it again, so every rank would train alone (no gradient all-reduce). On a
    resumed run this is the loss of the checkpoint resumed from (the Trainer loads it before this event).
    `measure_after()` adds `losses["after"]` (`losses`: the run's record, which the model card reads). `seconds`: how
    long the measurement before took, which is not training
    time (the throughput figure leaves it out)."""

    def __init__(self, trainer: Trainer, losses: dict[str, float]):
        self.trainer, self.losses = trainer, losses
        self.seconds = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        if "before" not in self.losses:
            started = time.perf_counter()
            self.losses["before"] = self.trainer.evaluate(metric_key_prefix="before")["before_loss"]
            self.seconds = time.perf_counter() - started

    def measure_after(self) -> float:
        self.losses["after"] = self.trainer.evaluate(metric_key_prefix="after")["after_loss"]
        return self.losses["after"]
