"""The comparison's pretraining runs: the corpus they share, one train.py subprocess a variant and seed, and what
survives an interruption (finished runs, the evaluations saved as they end, the settings that decide reuse)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import langsamp
from langsamp import evaluation as ev
from langsamp.experiments.compare_baseline.settings import (
    SETTINGS_FILE,
    TRAIN_DEFAULTS,
    TRAINING_SETTINGS,
    VARIANTS,
    settings_of,
    train_arguments,
)

TRAIN_MODULE = "langsamp.training.cli"  # what train.py and langsamp-train run


def write_corpus(
    folder: str | Path, languages: list[str], heldout_articles: Iterable[int] = ev.UDHR_HELDOUT_ARTICLES
) -> dict:
    """The UDHR in Glot500-c layout (one `<lang>_<Script>` file a language, one paragraph a line), without the
    held-out articles."""
    translations = ev.udhr_translations(languages)
    missing = [code for code in languages if code not in translations]
    if missing:
        raise ValueError(f"No UDHR translation for {', '.join(missing)}.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for label in languages:
        paragraphs = ev.udhr_pretraining_paragraphs(translations[label], heldout_articles)
        (folder / label).write_text("\n".join(paragraphs) + "\n", encoding="utf-8")
    return translations


def child_environment() -> dict[str, str]:
    """This environment, with the folder that holds the `langsamp` package (and, in a clone, the remote-code modules)
    first on PYTHONPATH: `python -m langsamp.training.cli` then runs in the user's folder, so relative paths keep
    their meaning, whether the package is installed or run from a clone without installing."""
    package_parent = str(Path(langsamp.__file__).resolve().parents[1])
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])))


def pretrain(
    variant: str,
    seed: int,
    model: str | Path,
    corpus: str | Path,
    output_dir: str | Path,
    max_steps: int,
    extra_args: list[str],
    log_file: str | Path,
    train_script: str | Path | None = None,
) -> Path:
    """One train.py run in a subprocess (its own log); returns the checkpoint folder. `train_script` None: the
    package's own (`python -m langsamp.training.cli`)."""
    command = [
        sys.executable, *([str(train_script)] if train_script else ["-m", TRAIN_MODULE]),
        "--model_name_or_path", str(model),
        "--corpus", str(corpus),
        "--output_dir", str(output_dir),
        "--max_steps", str(max_steps),
        "--seed", str(seed),
        *TRAIN_DEFAULTS,
        *VARIANTS[variant],
        *extra_args,  # last: argparse keeps the last value of a repeated flag
    ]  # fmt: skip
    tag = f"{variant}, seed {seed}"
    print(f"[{tag}] python {' '.join(command[1:])}\n[{tag}] log: {log_file}", flush=True)
    started = time.perf_counter()
    with open(log_file, "w", encoding="utf-8") as log:
        process = subprocess.run(command, env=child_environment(), stdout=log, stderr=subprocess.STDOUT)
    if process.returncode != 0:
        tail = Path(log_file).read_text(encoding="utf-8").splitlines()[-30:]
        raise SystemExit(f"[{tag}] train.py failed (exit {process.returncode}); end of {log_file}:\n" + "\n".join(tail))
    print(f"[{tag}] trained in {time.perf_counter() - started:.0f} s", flush=True)
    return Path(output_dir)


def planned_runs(output: Path, seeds: list[int]) -> dict[tuple[str, int], Path]:
    """{(variant, seed): the run's folder}, seed by seed."""
    return {(variant, seed): output / f"seed{seed}" / variant for seed in seeds for variant in VARIANTS}


def unfinished(runs: dict[tuple[str, int], Path]) -> list[str]:
    """The folders of the runs that have not finished (no `<variant>.done` beside them)."""
    return [str(path) for (variant, _), path in runs.items() if not (path.parent / f"{variant}.done").is_file()]


def pretrain_all(runs: dict[tuple[str, int], Path], args: argparse.Namespace, output: Path) -> dict[str, int]:
    """Every run that has not finished, in order (an interrupted one starts again); returns the seconds each run
    took, the finished ones' read back: {"pretrain_<variant>_seed<seed>_s": seconds}."""
    timings = {}
    reused = len(runs) - len(unfinished(runs))
    if reused:
        print(f"Resuming {output}: {reused} of {len(runs)} pretraining runs are finished and kept.", flush=True)
    for (variant, seed), run_dir in runs.items():
        key, done = f"pretrain_{variant}_seed{seed}_s", run_dir.parent / f"{variant}.done"
        if done.is_file():
            timings[key] = json.loads(done.read_text())["seconds"]
            continue
        if run_dir.exists():  # an interrupted run: train.py starts it again from its first step
            shutil.rmtree(run_dir)
        started = time.perf_counter()
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        pretrain(variant, seed, args.model, output / "corpus", run_dir, args.max_steps, train_arguments(args),
                 run_dir.parent / f"{variant}.log", args.train_script)  # fmt: skip
        timings[key] = round(time.perf_counter() - started)
        done.write_text(json.dumps({"seconds": timings[key]}) + "\n", encoding="utf-8")
    return timings


def write_settings(output: Path, args: argparse.Namespace) -> None:
    """The pretraining settings of the comparison in `output`: a later run with others is refused (or --overwrite)."""
    settings = {"training": settings_of(args, TRAINING_SETTINGS)}
    (output / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")


def clear(output: Path) -> None:
    """--overwrite: remove what a comparison writes (nothing else)."""
    for path in [*output.glob("seed*"), output / "corpus", output / "evaluations", output / "plots"]:
        if path.is_dir():
            shutil.rmtree(path)
    for name in (SETTINGS_FILE, "comparison.md", "results.json"):
        (output / name).unlink(missing_ok=True)


def evaluation_file(output: Path, column: str, seed: int) -> Path:
    """Where one checkpoint's evaluations are saved as they finish."""
    return output / "evaluations" / f"{column}_seed{seed}.json"


def cached_evaluation(output: Path, column: str, seed: int, settings: dict) -> dict | None:
    """The saved evaluation of `column` at `seed` when it was made with the same evaluation `settings`, else None."""
    path = evaluation_file(output, column, seed)
    if not path.is_file():
        return None
    saved = json.loads(path.read_text(encoding="utf-8"))
    return saved if saved.get("settings") == settings else None


def int_keys(result: dict) -> dict:
    """JSON turned the per-layer keys into strings: back to ints."""
    for name in ("retrieval",):
        if name in result:
            result[name] = {int(k): v for k, v in result[name].items()}
    if "neutrality" in result:
        result["neutrality"]["per_layer"] = {int(k): v for k, v in result["neutrality"]["per_layer"].items()}
    return result
