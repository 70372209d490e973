"""What one training step of `train.py` costs the whole process: CPU time in user and kernel mode and page faults.

    python bench/train_process.py                  # the demo's encoder and corpus, 8 x 128, 40 steps minus 4 steps
    python bench/train_process.py --repeats 3 --long 40 --short 4

The held-out check of the step: `train.py` runs twice, on the real encoder (data/multilingual-e5-small-xlmr) and the
demo's UDHR corpus, with the demo's flags but no head warm-up (every step a full one), `--long` and then `--short`
steps; the difference of the two runs' resource usage (getrusage of the child), over `--long - --short` steps, is
what a step costs, with the start-up, the held-out evaluation and the final save taken out. Shares and counts
(kernel share of the CPU time, minor page faults a step) travel between machines better than seconds do.

Each run's per-step losses (`--logging_steps 1`) are printed too: the allocator settings must not change them.
"""

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common

ENCODER = common.ROOT / "data" / "multilingual-e5-small-xlmr"
LOSS_LINE = re.compile(r"'loss': '?([0-9.]+)")


def train_argv(corpus, output_dir, steps):
    from langsamp.resources.demo import DEMO_TRAINING

    argv = list(DEMO_TRAINING)
    overrides = {
        "--max_steps": str(steps),
        "--head_warmup_steps": "0",
        "--logging_steps": "1",
        "--save_steps": "100000",
    }
    for flag, value in overrides.items():
        argv[argv.index(flag) + 1] = value
    return [
        *("--model_name_or_path", str(ENCODER), "--corpus", str(corpus), "--output_dir", str(output_dir)),
        *argv,
    ]


def run_once(corpus, folder, steps, env):
    """One train.py run of `steps` steps: its getrusage deltas (children), wall time and per-step losses."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    output_dir = folder / f"run{steps}"
    command = [sys.executable, str(common.ROOT / "train.py"), *train_argv(corpus, output_dir, steps)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, cwd=folder)
    shutil.rmtree(output_dir, ignore_errors=True)  # the next repeat starts over, it does not resume
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise RuntimeError(f"train.py failed (exit code {completed.returncode}):\n{completed.stderr[-3000:]}")
    return {
        "wall_s": wall,
        "user_s": after.ru_utime - before.ru_utime,
        "system_s": after.ru_stime - before.ru_stime,
        "minor_faults": after.ru_minflt - before.ru_minflt,
        "major_faults": after.ru_majflt - before.ru_majflt,
        "losses": [float(x) for x in LOSS_LINE.findall(completed.stdout + completed.stderr)],
    }


def per_step(long_run, short_run, steps):
    keys = ("wall_s", "user_s", "system_s", "minor_faults", "major_faults")
    step = {key: (long_run[key] - short_run[key]) / steps for key in keys}
    step["kernel_share"] = step["system_s"] / (step["user_s"] + step["system_s"])
    return step


def interval(values):
    """median [min, max] as a string."""
    return f"{statistics.median(values):.4g} [{min(values):.4g}, {max(values):.4g}]"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", type=int, default=40)
    parser.add_argument("--short", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--label", default="", help="a name for this configuration in the output")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not (ENCODER / "model.safetensors").is_file():
        sys.exit(f"train_process.py: error: no encoder in {ENCODER}: run `bash setup.sh` first.")
    from langsamp.resources.demo import DEMO_LANGUAGES
    from langsamp.resources.udhr import load_udhr, write_glot500_corpus

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(common.ROOT), os.environ.get("PYTHONPATH", "")])}
    steps, runs = [], []
    with tempfile.TemporaryDirectory(prefix="langsamp-train-process-") as tmp:
        folder = Path(tmp)
        write_glot500_corpus(load_udhr(languages=DEMO_LANGUAGES), folder / "corpus")
        for repeat in range(args.repeats):
            long_run = run_once(folder / "corpus", folder, args.long, env)
            short_run = run_once(folder / "corpus", folder, args.short, env)
            steps.append(per_step(long_run, short_run, args.long - args.short))
            runs.append({"long": long_run, "short": short_run})
            print(f"repeat {repeat + 1}: {json.dumps({k: round(v, 4) for k, v in steps[-1].items()})}", flush=True)
    print(f"{args.label or 'train.py'}: per step over {args.repeats} repeats, median [min, max]")
    for key in ("user_s", "system_s", "kernel_share", "minor_faults", "wall_s"):
        print(f"  {key}: {interval([s[key] for s in steps])}")
    print(f"  losses of the {args.long}-step run: {runs[0]['long']['losses']}")
    if args.json:
        args.json.write_text(json.dumps({"label": args.label, "steps": steps, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
