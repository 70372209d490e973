"""The training script's arguments: `ModelArguments` and `DataArguments` beside transformers' `TrainingArguments`,
and their parsing from the command line and argument files (.json / .yaml, overridden by later flags). Their checks
are in argument_checks.py."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from transformers import HfArgumentParser, TrainingArguments

from langsamp.command_name import command_line
from langsamp.training.callbacks.head_warmup import DEFAULT_LEARNING_RATE as HEAD_WARMUP_LEARNING_RATE
from langsamp.training.callbacks.head_warmup import UNTRAINED_HEAD_FIELD


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
