"""Checks of evaluation arguments, shared by langsamp_eval.py's flags and the Python API's parameters. They run
before anything loads, so a bad value (a zero batch, a negative epoch count, an output path that is a folder) is
named with its fix in one line instead of ending in a wrong result or a traceback after the expensive work."""

from __future__ import annotations

import argparse
import logging
import math
import numbers
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from langsamp.evaluation.models import checkpoint_config, probe_hub

logger = logging.getLogger(__name__)

MIN_LENGTH = 3  # <s>, one token, </s>: anything shorter leaves no text to encode


def check_int(name: str, value: int, minimum: int = 1, why: str = "") -> int:
    """`value` must be an int >= `minimum` (bools refused); returns it."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:  # numpy ints are fine
        need = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
        raise ValueError(f"{name}={value!r}: must be {need}{why}.")
    return int(value)


def check_float(
    name: str, value: float, minimum: float = 0.0, inclusive: bool = False, maximum: float | None = None, why: str = ""
) -> float:
    """`value` must be a finite number > `minimum` (>= when `inclusive`) and, when given, < `maximum`."""
    number = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if (
        not number
        or value < minimum
        or (value == minimum and not inclusive)
        or (maximum is not None and value >= maximum)
    ):
        bound = f"{'>=' if inclusive else '>'} {minimum:g}" + (f" and < {maximum:g}" if maximum is not None else "")
        raise ValueError(f"{name}={value!r}: must be a number {bound}{why}.")
    return value


def check_max_steps(name: str, value: int) -> int:
    """Trainer's convention: -1 (no limit: train the epochs) or a positive step count; 0 and other negatives are refused
    (0 would train nothing and report the untrained head, -5 would silently mean 'no limit')."""
    if value != -1:
        check_int(name, value, why=" (or -1 for no limit)")
    return value


def check_learning_rate(name: str, value: float) -> float:
    """A learning rate must be >= 0; 0 is allowed (a frozen model, used to score a head as it is) with a warning."""
    check_float(name, value, inclusive=True)
    if value == 0:
        logger.warning(
            "%s=0: the model is not fine-tuned; the scores are those of its head as it is (random for a fresh head).",
            name,
        )
    return value


def check_seeds(name: str, seeds: Iterable[int]) -> list[int]:
    """Seeds for mean ± sd: non-negative ints (numpy refuses negatives) and distinct (a repeated seed repeats a run and
    shrinks the sd)."""
    seeds = list(seeds)
    if not seeds:
        raise ValueError(f"{name}: give at least one seed.")
    seeds = [check_int(name, seed, minimum=0) for seed in seeds]
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise ValueError(
            f"{name}: seed(s) {', '.join(map(str, repeated))} given twice; a repeated seed repeats the same run and "
            "understates the sd."
        )
    return seeds


def check_top_k(name: str, top_k: int | Iterable[int]) -> tuple[int, ...]:
    """Top-k values for retrieval: positive ints, duplicates dropped, in the given order."""
    top_k = [top_k] if isinstance(top_k, (numbers.Number, str)) else list(top_k)  # a range or an array too
    if not top_k:
        raise ValueError(f"{name}: give at least one k (the release's: 1 5 10).")
    return tuple(dict.fromkeys(check_int(name, k) for k in top_k))


def check_output_file(path: str | Path | None, flag: str = "--output") -> str | Path | None:
    """A file to write: not an existing folder, and creatable (its missing parent folders are made when writing)."""
    if path is None:
        return None
    target = Path(path).expanduser()
    if target.is_dir():
        raise ValueError(f"{flag} {path} is a folder: give a file name, such as {target / 'result.json'}.")
    _check_creatable(target.parent, flag, path)
    return path


def check_output_folder(path: str | Path | None, flag: str) -> str | Path | None:
    """A folder to write into: not an existing file, and creatable."""
    if path is None:
        return None
    target = Path(path).expanduser()
    if target.exists() and not target.is_dir():
        raise ValueError(f"{flag} {path} is a file: give a folder (it is created when missing).")
    _check_creatable(target, flag, path)
    return path


def _check_creatable(folder, flag, shown):
    """The nearest existing folder at or above `folder` (where the missing ones will be made) must be a writable
    folder."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(
            f"{flag} {shown}: {existing} is a file, so nothing can be written under it; choose another path."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {shown}: {existing} is not writable; choose another path.")


def cli_type(check: Callable, **options) -> Callable[[str], int | float]:
    """An argparse `type=` from a check: `type=cli_type(check_int)`; a bad value is argparse's one-line error, exit
    status 2."""
    number = float if check in (check_float, check_learning_rate) else int

    def parse(text):
        try:
            value = number(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'a number' if number is float else 'an integer'}"
            ) from None
        try:
            return check("value", value, **options)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"{text} {str(error).split(': ', 1)[1].rstrip('.')}") from None

    parse.__name__ = check.__name__.removeprefix("check_")
    return parse


# ---------------------------------------------------------------- the command line's paths, before anything loads

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "sentencepiece.bpe.model")


def check_model(path: str, what: str = "Checkpoint") -> str:
    """A checkpoint argument: an existing folder with a config.json, or a Hub id whose config.json can be fetched (a
    small file: an unreachable Hub or a missing repo is named here, before any weights load)."""
    folder = Path(path)
    if folder.is_file():
        raise ValueError(f"{what} {path!r} is a file: pass the folder that holds config.json and the weights.")
    if folder.exists():
        if not (folder / "config.json").is_file():
            raise ValueError(f"{what} {path!r} has no config.json: pass a checkpoint folder (or a Hub model id).")
        return path
    if path.count("/") == 1 and all(part and not part.startswith(".") for part in path.split("/")):
        try:
            probe_hub(path)  # one quick request: an unreachable Hub is named at once, without the download's retries
            checkpoint_config(path)
        except OSError as error:  # offline and not cached, unreachable (ConnectionError is an OSError), no such repo
            reason = " ".join(str(error).split())
            raise ValueError(
                f"{what} {path!r} is neither a local folder nor a readable Hub repo ({reason[:300]}). Pass a local "
                "checkpoint folder, or reach the Hub: check the network or HF_ENDPOINT; with HF_HUB_OFFLINE set only "
                "cached repos load; a private repo needs HF_TOKEN."
            ) from error
        return path
    raise ValueError(f"{what} {path!r} does not exist: pass a checkpoint folder or a Hub model id (owner/name).")


def check_tokenizer(path: str | None) -> str | None:
    """--tokenizer: a folder with tokenizer files, or a Hub id (checked like a checkpoint)."""
    if path is None:
        return None
    folder = Path(path)
    if folder.is_file():
        raise ValueError(
            f"--tokenizer {path!r} is a file: pass the folder that holds it (tokenizer.json / sentencepiece.bpe.model)."
        )
    if folder.is_dir():
        if not any((folder / name).exists() for name in TOKENIZER_FILES):
            raise ValueError(f"--tokenizer {path!r} holds no tokenizer files ({', '.join(TOKENIZER_FILES)}).")
        return path
    return check_model(path, "--tokenizer")


def check_model_specs(specs: list[str]) -> dict[str, str]:
    """['start=PATH', 'PATH', ...] -> {name: path}; a bare path is named after its last component."""
    models = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = Path(spec.rstrip("/")).name or spec, spec
        if not name or not path:
            raise ValueError(f"--models {spec!r}: write NAME=PATH or PATH.")
        if name in models:
            raise ValueError(f"--models: the name {name!r} is given twice; name them NAME=PATH.")
        models[name] = check_model(path)
    return models


def check_paths(
    output: str | None = None, markdown: str | None = None, plot_dir: str | None = None, tokenizer: str | None = None
) -> None:
    """Every path flag of a command, before anything loads: outputs are files (not folders) or folders (not files)
    that can be created; a tokenizer is a tokenizer folder or Hub id."""
    outputs = {"--output": output, "--markdown": markdown}
    for flag, path in outputs.items():
        check_output_file(path, flag)
    given = [path for path in outputs.values() if path]
    if len(given) == 2 and Path(given[0]).expanduser().resolve() == Path(given[1]).expanduser().resolve():
        raise ValueError(f"--output and --markdown are the same file {given[0]}: the table would overwrite the JSON.")
    check_output_folder(plot_dir, "--plot-dir")
    check_tokenizer(tokenizer)
