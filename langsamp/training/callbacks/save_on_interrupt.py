"""Ctrl-C during training saves a checkpoint of the step reached, then stops (train.py).

Python turns SIGINT into a KeyboardInterrupt wherever the process happens to be, which loses every step since the
last checkpoint (up to --save_steps of them). This callback instead catches the first Ctrl-C, lets the current
optimizer step finish, and asks the stock Trainer to save a checkpoint and stop (`control.should_save`,
`control.should_training_stop`), so `--resume_from_checkpoint auto` continues from exactly that step. A second Ctrl-C
stops at once, as before. Only in a single process: under DDP the ranks would see the signal at different steps
and one would wait forever for the others' collective checkpoint; there the KeyboardInterrupt stays as it was (the
last periodic checkpoint is kept).
"""

import logging
import signal
import threading

from transformers import TrainerCallback

logger = logging.getLogger(__name__)


class SaveOnInterrupt(TrainerCallback):
    def __init__(self):
        self.requested = False
        self._previous = None
        self._step = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.requested = False
        self._step = state.global_step
        if args.world_size == 1 and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame):
        if self.requested:  # the second Ctrl-C: stop now, as Python's default handler would
            self.restore()
            raise KeyboardInterrupt
        self.requested = True
        logger.warning(
            "Ctrl-C: saving a checkpoint when step %d ends, then stopping (Ctrl-C again to stop at once, losing it).",
            self._step + 1,
        )

    def on_step_begin(self, args, state, control, **kwargs):
        self._step = state.global_step

    def on_step_end(self, args, state, control, **kwargs):
        if self.requested:
            control.should_save = True
            control.should_training_stop = True

    def on_train_end(self, args, state, control, **kwargs):
        self.restore()

    def restore(self):
        """Python's own Ctrl-C handling back (train.py calls it also when training ends in an exception)."""
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
