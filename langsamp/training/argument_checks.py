"""The checks of train.py's arguments that need no tokenizer or model, so a bad value is one line before any
loading, and the --sampling_alpha / --mlm_probability schedules they read."""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

from transformers import TrainingArguments

from langsamp.data.schedule import Schedule, parse_schedule
from langsamp.hub.checks import check_output_dir, check_source
from langsamp.hub.model_card import model_card_template
from langsamp.training.arguments import DataArguments, ModelArguments
from langsamp.training.callbacks.head_warmup import DEFAULT_LEARNING_RATE as HEAD_WARMUP_LEARNING_RATE

logger = logging.getLogger(__name__)


def alpha_schedule(data_args: DataArguments) -> Schedule:
    """--sampling_alpha as a Schedule (a number is a constant one); ValueError in one line for a bad one."""
    return parse_schedule("--sampling_alpha", data_args.sampling_alpha, 0.0, math.inf)


def mlm_schedule(data_args: DataArguments) -> Schedule:
    """--mlm_probability as a Schedule, each value in (0, 1)."""
    schedule = parse_schedule("--mlm_probability", data_args.mlm_probability, 0.0, 1.0, open_low=True)
    if any(value >= 1 for _, value in schedule.phases):
        raise ValueError(f"--mlm_probability {data_args.mlm_probability!r}: a masking rate must be below 1.")
    return schedule


def check_arguments(model_args: ModelArguments, data_args: DataArguments, training_args: TrainingArguments) -> None:
    """Cheap checks of everything that does not need the tokenizer: before any loading."""
    if data_args.corpus is None:
        raise ValueError(
            "Pass --corpus: a Glot500-layout directory or a `datasets` dataset (run with no arguments for the demo)."
        )
    could_be_hub_id = re.fullmatch(r"[\w.-]+(/[\w.-]+)?", data_args.corpus) and not data_args.corpus.startswith(
        (".", "~")
    )
    if not Path(data_args.corpus).expanduser().exists() and not could_be_hub_id:
        raise FileNotFoundError(
            f"--corpus {data_args.corpus}: no such file or directory (a Hub dataset id looks like `user/name`)."
        )
    if data_args.streaming and training_args.max_steps <= 0:
        raise ValueError("--streaming needs --max_steps: a stream has no length to count epochs from.")
    masking, alpha = mlm_schedule(data_args), alpha_schedule(data_args)
    if data_args.language_stages or not (masking.is_constant() and alpha.is_constant()):
        flags = "--language_stages" if data_args.language_stages else "a schedule"
        if training_args.max_steps <= 0:
            raise ValueError(f"{flags} needs --max_steps: its phases are fractions of the run's steps.")
    if model_args.new_language_neighbours < 1:
        raise ValueError(f"--new_language_neighbours must be >= 1, got {model_args.new_language_neighbours}.")
    if not data_args.dedup_bloom_mb > 0:
        raise ValueError(f"--dedup_bloom_mb must be a positive size in MB, got {data_args.dedup_bloom_mb}.")
    if data_args.max_seq_length < 8:
        raise ValueError(f"--max_seq_length {data_args.max_seq_length} is too short for masked-LM chunks.")
    check_numbers(data_args, training_args)
    check_head_warmup_flags(model_args, training_args)
    check_reporting(training_args)
    if (
        str(getattr(training_args.eval_strategy, "value", training_args.eval_strategy)) != "no"
        and data_args.max_eval_samples == 0
    ):
        raise ValueError(
            f"--eval_strategy {getattr(training_args.eval_strategy, 'value', training_args.eval_strategy)} evaluates "
            "the held-out chunks, but --max_eval_samples 0 holds none out: give --max_eval_samples, or leave "
            "--eval_strategy out."
        )
    if model_args.model_name_or_path is None and model_args.config_name is None and model_args.config_overrides is None:
        logger.warning(
            "No --model_name_or_path: training an XLM-R base-sized LangSAMP model from a random initialisation."
        )
    if model_args.config_overrides and model_args.model_name_or_path:
        raise ValueError("--config_overrides only applies when training from scratch (without --model_name_or_path).")
    for flag, value in (
        ("--model_name_or_path", model_args.model_name_or_path),
        ("--config_name", model_args.config_name),
        ("--tokenizer_name", model_args.tokenizer_name),
    ):
        if value:
            check_source(value, flag)
    # Checkpoints and the final save go there: a file or an unwritable place must fail now, not after training.
    check_output_dir(training_args.output_dir, overwrite=True)  # train.py's own rule for existing runs: resolve_resume
    # every checkpoint gets the model card: an install without it fails now, not at the first save
    model_card_template()
    if training_args.fsdp and training_args.device.type == "cpu":
        # accelerate (1.15) turns FSDP on only for accelerators: on CPU the run would silently be DDP, every rank
        # holding the whole model.
        raise ValueError(
            "--fsdp does nothing on CPU: accelerate enables FSDP only on GPUs/accelerators, so every process would "
            "hold the whole model (plain DDP). Leave out --fsdp/--fsdp_config for CPU training (same result, DDP), or "
            "train on GPUs."
        )


def check_numbers(data_args: DataArguments, training_args: TrainingArguments) -> None:
    """The sign and range of every numeric flag that neither argparse nor TrainingArguments checks: each of these
    values used to train (or fail deep in torch after the model was built) without a word."""
    t = training_args
    if t.max_steps == 0 or t.max_steps < -1:
        raise ValueError(
            f"--max_steps {t.max_steps}: give a positive number of optimizer steps, or leave it out (-1) to train "
            f"--num_train_epochs ({t.num_train_epochs:g}) epochs."
        )
    if t.max_steps == -1 and t.num_train_epochs <= 0:
        raise ValueError(
            f"--num_train_epochs {t.num_train_epochs:g} trains nothing: give a positive number of epochs, or "
            "--max_steps."
        )
    if t.learning_rate <= 0:
        raise ValueError(
            f"--learning_rate {t.learning_rate:g} would "
            f"{'never change the weights' if t.learning_rate == 0 else 'raise the loss'}: give a positive rate (the "
            "paper's continual pretraining uses 5e-5)."
        )
    must_be = [
        ("--per_device_train_batch_size", t.per_device_train_batch_size, 1, "sequences per device and step"),
        ("--per_device_eval_batch_size", t.per_device_eval_batch_size, 1, "sequences per device and evaluation step"),
        ("--gradient_accumulation_steps", t.gradient_accumulation_steps, 1, "batches per optimizer step"),
        ("--dataloader_num_workers", t.dataloader_num_workers, 0, "0 loads in the main process"),
        ("--max_eval_samples", data_args.max_eval_samples, 0, "0 disables the held-out loss"),
        ("--weight_decay", t.weight_decay, 0, "0 disables it"),
        ("--max_grad_norm", t.max_grad_norm, 0, "0 disables clipping"),
        ("--adam_epsilon", t.adam_epsilon, 0, "added to the denominator"),
        ("--seed", t.seed, 0, "numpy takes 0 .. 2**32 - 1"),
    ]
    if data_args.preprocessing_num_workers is not None:
        must_be.append(("--preprocessing_num_workers", data_args.preprocessing_num_workers, 1, "processes"))
    if t.save_total_limit is not None:
        must_be.append(("--save_total_limit", t.save_total_limit, 1, "checkpoints kept; leave it out to keep all"))
    if t.logging_steps is not None:
        must_be.append(("--logging_steps", t.logging_steps, 0, "steps between logs"))
    for flag, value, low, meaning in must_be:
        if value < low:
            raise ValueError(f"{flag} {value} must be >= {low} ({meaning}).")
    for flag, value, strategy in (
        ("--save_steps", t.save_steps, t.save_strategy),
        ("--eval_steps", t.eval_steps, t.eval_strategy),
    ):
        if str(getattr(strategy, "value", strategy)) == "steps" and value is not None and value <= 0:
            raise ValueError(f"{flag} {value:g} must be positive (steps between two, or a fraction < 1 of the run).")
    for flag, value in (("--adam_beta1", t.adam_beta1), ("--adam_beta2", t.adam_beta2)):
        if not 0 <= value < 1:
            raise ValueError(f"{flag} {value:g} must be in [0, 1) (a moving-average decay).")
    if t.seed >= 2**32:
        raise ValueError(f"--seed {t.seed} must be < 2**32 (numpy's seed range).")


def check_head_warmup_flags(model_args: ModelArguments, training_args: TrainingArguments) -> None:
    """The warm-up's flags, before any model is built (HeadWarmup would refuse them only after)."""
    steps, learning_rate = model_args.head_warmup_steps, model_args.head_warmup_learning_rate
    if steps is not None and steps < 0:
        raise ValueError(f"--head_warmup_steps {steps} must be >= 0 (0 = no warm-up; leave it out for auto).")
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(
            f"--head_warmup_learning_rate {learning_rate:g} must be a positive number (default "
            f"{HEAD_WARMUP_LEARNING_RATE:g})."
        )
    if (
        steps
        and str(getattr(training_args.lr_scheduler_type, "value", training_args.lr_scheduler_type))
        == "reduce_lr_on_plateau"
    ):
        raise ValueError(
            f"--lr_scheduler_type reduce_lr_on_plateau cannot follow --head_warmup_steps {steps} (it is not a "
            "step-wise schedule): use linear, cosine, constant, ... or --head_warmup_steps 0."
        )


def check_reporting(training_args: TrainingArguments) -> None:
    """--report_to names integrations the Trainer only instantiates after the model is built: unknown or not
    installed ones fail now."""
    from transformers.integrations import get_available_reporting_integrations, get_reporting_integration_callbacks

    names = [name for name in training_args.report_to or [] if name not in ("none", "all")]
    try:
        get_reporting_integration_callbacks(names)
    except ValueError as error:  # names the supported ones
        raise ValueError(f"--report_to: {error}") from error
    missing = [name for name in names if name not in get_available_reporting_integrations()]
    if missing:
        raise ValueError(
            f"--report_to {' '.join(missing)}: not installed (e.g. pip install {missing[0].replace('_', '-')}); or "
            "pass --report_to none."
        )
