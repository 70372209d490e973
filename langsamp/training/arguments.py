"""The training script's arguments: `ModelArguments` and `DataArguments` beside transformers' `TrainingArguments`,
argument files (.json / .yaml, overridden by later flags), and every check that needs no tokenizer or model, so a
bad value is one line before any loading."""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from transformers import HfArgumentParser, TrainingArguments

from langsamp.command_name import command_line
from langsamp.data.schedule import Schedule, parse_schedule
from langsamp.hub.checks import check_output_dir, check_source
from langsamp.hub.model_card import model_card_template
from langsamp.training.callbacks.head_warmup import DEFAULT_LEARNING_RATE as HEAD_WARMUP_LEARNING_RATE
from langsamp.training.callbacks.head_warmup import UNTRAINED_HEAD_FIELD

logger = logging.getLogger(__name__)


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
        metadata={
            "help": "Add the language embedding before the LM head (default: the checkpoint's setting, else True)."
        },
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
    new_language_init: str = field(
        default="typology",
        metadata={
            "help": "Where the row of a language the checkpoint's table lacks starts (the corpus' pairs and "
            "--languages grow the tables): `typology` = the weighted mean of the rows of its "
            "--new_language_neighbours most URIEL-similar trained languages (syntax, family, geography); `random` = "
            "N(0, initializer_range), as the paper. A language URIEL does not know starts random, with a warning.",
            "choices": ["typology", "random"],
        },
    )
    new_language_neighbours: int = field(
        default=5, metadata={"help": "How many trained languages a `typology` row is the weighted mean of."}
    )
    new_script_init: str = field(
        default="mean",
        metadata={
            "help": "Where the row of a script the checkpoint's table lacks starts: `mean` of the trained script rows, "
            "or `random` = N(0, initializer_range).",
            "choices": ["mean", "random"],
        },
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
    max_seq_length: int = field(
        default=512, metadata={"help": "Chunk length in tokens (a chunk never mixes languages)."}
    )
    sampling_alpha: str = field(
        default="0.3",
        metadata={
            "help": "Exponent of the sampling across pairs: p_l proportional to n_l^alpha; or a schedule over the "
            "run, as mmBERT's annealing: `0.7,0.5@0.4,0.3@0.8` = 0.7, then 0.5 from 40%% of the steps on, then 0.3 "
            "from 80%% on (needs --max_steps; not with --streaming yet)."
        },
    )
    language_stages: list[str] | None = field(
        default=None,
        metadata={
            "help": "Pairs that join the mixture later, as mmBERT's staged languages: `zgh_Tfng,kab_Latn@0.5` "
            "(before 50%% of the steps they are not drawn); pairs not named train from the start. Needs --max_steps."
        },
    )
    sampling: str = field(
        default="alpha",
        metadata={
            "help": "`alpha`: pairs drawn with p_l ~ n_l^alpha. `glot500`: Glot500-c's own rule, which built the "
            "corpus the release trained on: XLM-R's (head) pairs flat at 30 x the smallest pair's size, the "
            "others scaled by p_l / min p (sampling.py).",
            "choices": ["alpha", "glot500"],
        },
    )
    streaming: bool = field(
        default=False,
        metadata={
            "help": "Stream the corpus (larger than memory or disk): no full preprocessing pass. Needs --max_steps."
        },
    )
    mlm_probability: str = field(
        default="0.15",
        metadata={
            "help": "Share of tokens masked (80%% <mask>, 10%% random, 10%% kept); or a schedule like "
            "--sampling_alpha's (`0.3,0.15@0.4,0.05@0.8`). The held-out loss uses the first value."
        },
    )
    preprocessing_num_workers: int | None = field(default=None, metadata={"help": "Processes for tokenization."})
    max_eval_samples: int = field(
        default=256,
        metadata={
            "help": "Chunks held out to measure the MLM loss before and after training (same masks both times); at "
            "most 10%% of the chunks. 0 disables."
        },
    )
    cache_dir: str | None = field(default=None, metadata={"help": "Where `datasets` caches the preprocessed corpus."})
    dedup: str | None = field(
        default=None,
        metadata={
            "help": "`lines`: drop each pair's duplicate lines (after Unicode NFC and white-space normalisation; the "
            "first kept) before tokenizing, so n_l counts distinct text; exact when cached, a Bloom filter of "
            "--dedup_bloom_mb a pair when streaming. Off by default (the paper's recipe). `langsamp-eval "
            "corpus-stats` counts the duplicates without training.",
            "choices": ["lines"],
        },
    )
    dedup_bloom_mb: float = field(
        default=8.0,
        metadata={
            "help": "With --streaming --dedup: the Bloom filter's size a pair in MB (8 MB: under 1%% false positives "
            "up to about 7M distinct lines a pair); the log states its false-positive rate."
        },
    )
    exclude_eval: list[str] | None = field(
        default=None,
        metadata={
            "action": "extend",  # a repeated flag adds to the list instead of replacing it
            "help": "Drop the corpus lines that hold an evaluation sentence of this task (sib200, flores, tatoeba, "
            "..., read from the Hub), of `TASK=DIR` (a local copy laid out like the Hub repo) or of a folder of "
            "plain `<lang>_<Script>.txt` files; one or more, and repeatable (`--exclude_eval flores sib200=data/sib200`"
            " is `--exclude_eval flores --exclude_eval sib200=data/sib200`). Counted per pair in the log and on the "
            "model card.",
        },
    )


def file_to_argv(path: str | Path) -> list[str]:
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
            raise ValueError(
                f"Argument file {path}: {key!r} is not an argument name (write `max_steps: 100`, no dashes)."
            )
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
        # No prefix matching: `--learning_rat` (on the command line or as an argument file's key) would silently be
        # --learning_rate; a misspelt flag is refused like any unknown one.
        super().__init__(*args, allow_abbrev=False, **kwargs)
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


def unknown_argument(parser: ArgumentParser, unknown: list[str]) -> str:
    """The line for arguments no dataclass takes: the first unknown flag and the closest known ones."""
    import difflib

    flag = next((item for item in unknown if item.startswith("-")), unknown[0])
    options = {option for action in parser._actions for option in action.option_strings if option.startswith("--")}
    # HfArgumentParser adds `--learning-rate` beside `--learning_rate`: suggest the one form.
    known = sorted(option for option in options if "--" + option[2:].replace("-", "_") not in options - {option})
    closest = difflib.get_close_matches(flag.split("=")[0], known, n=3, cutoff=0.6)
    hint = f" (closest: {', '.join(closest)})" if closest else ""
    return f"unknown argument {flag}{hint}; {command_line('train.py')} --help lists the arguments"


def parse_arguments(argv: list[str]) -> tuple[ModelArguments, DataArguments, TrainingArguments]:
    """The three argument dataclasses from the command line (an argument file first, if given)."""
    parser = ArgumentParser((ModelArguments, DataArguments, TrainingArguments))
    if argv and argv[0].endswith((".json", ".yaml", ".yml")) and not argv[0].startswith("-"):
        argv = file_to_argv(argv[0]) + list(argv[1:])
    *parsed, unknown = parser.parse_args_into_dataclasses(args=argv, return_remaining_strings=True)
    if unknown:
        raise ValueError(unknown_argument(parser, unknown))
    model_args, data_args, training_args = parsed
    if data_args.languages is not None:
        # "hin,eng", "hin eng" (one quoted word, or a YAML string) and repeats all mean the same.
        codes = [code for item in data_args.languages for code in re.split(r"[\s,;]+", item) if code]
        if not codes:
            raise ValueError(
                f"--languages {' '.join(data_args.languages)!r} names no language: give codes such as `hin eng_Latn`."
            )
        data_args.languages = list(dict.fromkeys(codes))
    return model_args, data_args, training_args


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
        if data_args.streaming:
            raise ValueError(f"{flags} is not supported with --streaming yet: train from the cached corpus.")
        if data_args.dedup is not None or data_args.exclude_eval:
            raise ValueError(
                f"{flags} is not supported with --dedup / --exclude_eval yet: drop the lines once with an unscheduled "
                "run's cache, or train without the schedule."
            )
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
