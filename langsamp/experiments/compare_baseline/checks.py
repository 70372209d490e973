"""Every problem with the comparison's arguments, found before anything is written or trained: languages, seeds and
numbers, the starting encoder and its layers, the flags each train.py run will get, and the output folder."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from langsamp import evaluation as ev
from langsamp.checkout import CHECKOUT
from langsamp.experiments.compare_baseline.settings import (
    SETTINGS_FILE,
    TRAINING_SETTINGS,
    settings_of,
    train_arguments,
)
from langsamp.hub.export import check_source
from langsamp.resources.demo import DEMO_ENCODER

POSITIVE = ("learning_rate", "head_warmup_learning_rate", "classify_learning_rate", "classify_epochs")
AT_LEAST = (("classify_batch_size", 1), ("mlm_sentences", 1), ("mask_rounds", 1), ("max_length", 8))


def check_args(args: argparse.Namespace) -> list[str]:
    """Every problem with the arguments, before anything is written or trained: a list of one-line messages.
    Resolves --languages to UDHR labels (`deu` -> `deu_Latn`) in place."""
    problems = _language_problems(args) + _number_problems(args) + _model_problems(args)
    if args.train_script is None or (
        CHECKOUT is not None and Path(args.train_script).resolve() == CHECKOUT / "train.py"
    ):
        problems += _train_args_problems(args)
    return problems + _output_dir_problems(args)


def _language_problems(args):
    problems = []
    labels = []
    translations = ev.udhr_translations()
    for code in args.languages:
        try:
            labels.append(ev.resolve_language(code, translations, "the UDHR"))
        except ValueError as error:
            problems.append(f"--languages: {str(error).rstrip('.')}")
    args.languages = list(dict.fromkeys(labels))
    if not problems and "eng_Latn" not in args.languages:
        problems.append("--languages must include eng_Latn: it is the source of retrieval queries and of fine-tuning")
    if not problems and len(args.languages) < 2:
        problems.append(
            "--languages: give eng_Latn and at least one other language (retrieval and transfer need a target)"
        )
    return problems


def _number_problems(args):
    problems = []
    if len(set(args.seeds)) != len(args.seeds):
        problems.append(f"--seeds {' '.join(map(str, args.seeds))}: repeated seeds would count one run twice")
    if len(args.seeds) < 2:
        problems.append("--seeds: give at least 2 (3 or more to tell a difference from the seed spread)")
    if args.max_steps < 1:
        problems.append(f"--max_steps must be >= 1, got {args.max_steps}")
    if args.head_warmup_steps < 0:
        problems.append(f"--head_warmup_steps must be >= 0, got {args.head_warmup_steps}")
    elif args.head_warmup_steps and args.max_steps <= args.head_warmup_steps:
        problems.append(
            f"--max_steps {args.max_steps} must exceed --head_warmup_steps {args.head_warmup_steps} (steps count the "
            "warm-up: the full stage would never run); raise --max_steps or lower the warm-up"
        )
    bad_seeds = [seed for seed in args.seeds if not 0 <= seed < 2**32]
    if bad_seeds:
        problems.append(f"--seeds {' '.join(map(str, bad_seeds))}: give seeds from 0 to 2**32 - 1 (numpy's range)")
    for name in POSITIVE:
        if not (math.isfinite(getattr(args, name)) and getattr(args, name) > 0):
            problems.append(f"--{name} must be > 0, got {getattr(args, name)}")
    for name, low in AT_LEAST:
        if getattr(args, name) < low:
            problems.append(f"--{name} must be >= {low}, got {getattr(args, name)}")
    if args.probe_folds and not 2 <= args.probe_folds <= 31:
        problems.append(
            f"--probe_folds must be 0 (no probe) or 2 to 31 (the UDHR's parallel units), got {args.probe_folds}"
        )
    return problems


def _model_problems(args):
    """The starting encoder exists (the default one once setup.sh imported it) and has the --layers asked for."""
    model = Path(args.model)
    if str(args.model) == str(DEMO_ENCODER) and not (model / "config.json").is_file():
        return [f"the default encoder is not in {model}: run `bash setup.sh` (it imports it)"]
    try:
        check_source(args.model, "--model")
    except (ValueError, FileNotFoundError) as error:
        return [str(error).rstrip(".")]
    if not args.layers:
        return []
    try:
        depth = ev.checkpoint_config(args.model)["num_hidden_layers"]
    except (OSError, ValueError, KeyError):
        return []
    bad = [layer for layer in args.layers if not 0 <= layer <= depth]
    if bad:
        return [
            f"--layers {' '.join(map(str, bad))}: {args.model} has {depth} layers, so give layers 0 (the embeddings) "
            f"to {depth}"
        ]
    return []


def _train_args_problems(args):
    """train.py parses every run's flags (extras after --train_args included) without training: a bad flag is found
    now."""
    from langsamp.training.argument_checks import check_arguments
    from langsamp.training.arguments import parse_arguments

    argv = ["--model_name_or_path", str(args.model), "--corpus", "corpus",
            "--output_dir", str(Path(args.output_dir) / "check"), "--max_steps", str(args.max_steps),
            *train_arguments(args)]  # fmt: skip
    try:
        # train.py's own checks, as each run will make them (numbers, reporting, evaluation, warm-up), minus the corpus
        # that is written later ("corpus" passes as a Hub id)
        check_arguments(*parse_arguments(argv))
    except (ValueError, FileNotFoundError, SystemExit) as error:
        return [f"train.py refuses the runs' flags: {str(error).rstrip('.')}"]
    return []


def _output_dir_problems(args):
    """An --output_dir from an earlier comparison is resumed when its pretraining settings are the same; with other
    settings (or written by an older version) it is refused unless --overwrite."""
    output = Path(args.output_dir)
    if output.exists() and not output.is_dir():
        return [f"--output_dir {output} is a file: give a folder"]
    if not output.is_dir() or not any(output.iterdir()) or args.overwrite:
        if args.skip_training:
            return [f"--skip_training: {output} holds no comparison; run without --skip_training first"]
        return []
    saved = output / SETTINGS_FILE
    if not saved.is_file():
        return [
            f"--output_dir {output} is not empty and holds no {SETTINGS_FILE} of a comparison: pass --overwrite to "
            "replace what is there, or another --output_dir"
        ]
    before = json.loads(saved.read_text(encoding="utf-8"))["training"]
    now = json.loads(json.dumps(settings_of(args, TRAINING_SETTINGS)))
    changed = [
        f"--{name} {_show(before.get(name))} -> {_show(now[name])}"
        for name in TRAINING_SETTINGS
        if before.get(name) != now[name]
    ]
    if changed:
        return [
            f"--output_dir {output} holds a comparison with other pretraining settings ({'; '.join(changed)}): pass "
            "--overwrite to replace it, or another --output_dir (the same settings resume it)"
        ]
    return []


def _show(value):
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)
