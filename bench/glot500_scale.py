"""Glot500-c scale: how start-up time, open files and memory grow with the number of language-script pairs.

Writes a synthetic corpus in Glot500-c layout (one text file per pair), its pairs and relative sizes from
Glot500-c's own statistics (`bench/glot500_languages_stats.csv`, a copy of the release's
`glot500_languages_stats.csv`): pair l gets `scale x 560 kB x ln(n_l) / mean ln(n)` bytes (n_l: its Glot500-c
sentence count, log-compressed; at scale 1, 673 pairs hold ~376 MB), its text the pair's UDHR translation
(`data/udhr`) or, when the UDHR has none, another translation in the same script, repeated to size. Subsets of 50
and 200 pairs are spread over the size order (every k-th pair), so they keep the size distribution.

Each measurement runs in a fresh process (`--run`): `build_pretraining_dataset` (streaming, or cached into an empty
cache with `num_proc`), then a DataLoader with the MLM collator (`--dataloader_num_workers`). Reported: seconds to
the first batch, peak RSS (this process, and the largest worker), the most open file descriptors seen
(/proc/<pid>/fd of the process and its workers, sampled every 20 ms), and the input pipeline's tokens/s over the
next batches (what the data side could feed a training loop; masked batches of `batch x max_seq_length`).

`--train`: also train.py itself on each corpus, streaming, in a fresh process (a tiny model: hidden 32, 2 layers,
XLM-R's vocabulary; 3 steps of `batch x max_seq_length`, the held-out loss before and after): its peak RSS next to
the input pipeline's, and their ratio.

    python bench/glot500_scale.py                                  # 50/200/670 pairs, scale 0.02
    python bench/glot500_scale.py --pairs 670 --modes stream --workers 0 1 2
    python bench/glot500_scale.py --pairs 670 --scale 1.0 --modes stream --train   # train.py's peak vs the pipeline's
"""

import argparse
import ast
import csv
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
STATS = BENCH_DIR / "glot500_languages_stats.csv"
if str(ROOT) not in sys.path:  # the package's modules live flat in the repository root
    sys.path.insert(0, str(ROOT))
MEAN_PAIR_BYTES = 560_000  # x scale: 673 pairs at scale 1 are ~376 MB, Glot500-c's size
MODES = {
    "stream": dict(streaming=True, num_proc=None),
    "cached": dict(streaming=False, num_proc=None),
    "cached_np2": dict(streaming=False, num_proc=2),
}


def glot500_pairs():
    """[(label, Glot500-c sentence count)] of the release's statistics whose language and script the model has,
    one row per label (the first), largest first."""
    from langsamp_inventory import RELEASE_LANGUAGES, RELEASE_SCRIPTS

    pairs = {}
    with open(STATS, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            script = ast.literal_eval(row["script"])[0]
            if row["language"] in RELEASE_LANGUAGES and script in RELEASE_SCRIPTS:
                pairs.setdefault(f"{row['language']}_{script}", int(row["new_length"]))
    return sorted(pairs.items(), key=lambda item: -item[1])


def write_corpus(folder, n_pairs, scale):
    """The synthetic corpus of `n_pairs` pairs (module doc) in `folder` (kept: a second call reuses it);
    returns (folder, pairs written, bytes)."""
    from langsamp.resources.udhr import load_udhr

    folder = Path(folder)
    done = folder / ".complete"
    if done.exists():
        return folder, *json.loads(done.read_text())
    translations = load_udhr()
    by_script = {}
    for translation in translations.values():
        by_script.setdefault(translation.script, translation)
    usable = [(label, n) for label, n in glot500_pairs() if label in translations or label.split("_")[1] in by_script]
    step = max(1, len(usable) / n_pairs)
    chosen = [usable[int(i * step)] for i in range(min(n_pairs, len(usable)))]
    mean_log = sum(math.log(n) for _, n in usable) / len(usable)
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for label, n in chosen:
        text = "\n".join((translations.get(label) or by_script[label.split("_")[1]]).paragraphs()) + "\n"
        data = text.encode("utf-8")
        size = int(scale * MEAN_PAIR_BYTES * math.log(n) / mean_log)
        data = data * (size // len(data) + 1)
        cut = data.rfind(b"\n", 0, size) + 1 or len(data)  # whole lines only
        (folder / label).write_bytes(data[:cut])
        total += cut
    done.write_text(json.dumps([len(chosen), total]))
    return folder, len(chosen), total


class FdSampler(threading.Thread):
    """The most open file descriptors of this process plus its children (DataLoader workers, datasets' map
    processes), sampled every `every` seconds."""

    def __init__(self, every=0.02):
        super().__init__(daemon=True)
        import psutil  # an accelerate dependency

        self.process, self.every, self.peak, self.stopped = psutil.Process(), every, 0, threading.Event()

    def run(self):
        while not self.stopped.is_set():
            count = 0
            for process in [self.process] + self.process.children(recursive=True):
                try:
                    count += process.num_fds()
                except Exception:  # a worker that just exited
                    pass
            self.peak = max(self.peak, count)
            time.sleep(self.every)


def measure(spec):
    """One measurement (module doc), in this process."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import datasets
    import torch
    from transformers.utils import logging

    from langsamp.data import build_pretraining_dataset, make_collator
    from langsamp.resources.xlmr_tokenizer import default_tokenizer

    datasets.disable_progress_bars()
    logging.set_verbosity_error()
    torch.set_num_threads(1)
    tokenizer = default_tokenizer()
    sampler = FdSampler()
    sampler.start()
    mode = MODES[spec["mode"]]
    with tempfile.TemporaryDirectory(prefix="langsamp-scale-cache-") as cache:
        start = time.perf_counter()
        dataset = build_pretraining_dataset(
            spec["corpus"],
            tokenizer,
            max_seq_length=spec["max_seq_length"],
            streaming=mode["streaming"],
            num_proc=mode["num_proc"],
            cache_dir=cache,
        )
        built = time.perf_counter() - start
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_size=spec["batch"],
            collate_fn=make_collator(tokenizer),
            num_workers=spec["workers"],
            shuffle=False,
        )
        batches = iter(loader)
        next(batches)
        first = time.perf_counter() - start
        tokens, timed_from = 0, time.perf_counter()
        for _ in range(spec["batches"]):
            batch = next(batches, None)
            if batch is None:
                break
            tokens += batch["input_ids"].numel()
        rate = tokens / (time.perf_counter() - timed_from)
        del batches, loader
    sampler.stopped.set()
    sampler.join()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return dict(
        spec,
        build_s=round(built, 1),
        first_batch_s=round(first, 1),
        peak_rss_mb=round(own),
        child_peak_rss_mb=round(children),
        max_open_fds=sampler.peak,
        pipeline_tokens_per_s=round(rate),
    )


def measure_train(spec):
    """train.py --streaming on `spec["corpus"]` with a tiny model, 3 steps, in a child process; its peak RSS (this
    process only waits for that one child, so RUSAGE_CHILDREN is its own)."""
    from configuration_langsamp import LangSAMPConfig

    with tempfile.TemporaryDirectory(prefix="langsamp-scale-train-") as folder:
        config = LangSAMPConfig(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=spec["max_seq_length"] + 2,
        )
        config.save_pretrained(Path(folder) / "config")
        argv = [
            *("--config_name", str(Path(folder) / "config"), "--corpus", spec["corpus"], "--streaming"),
            *("--output_dir", str(Path(folder) / "run"), "--max_steps", "3", "--save_strategy", "no"),
            *("--per_device_train_batch_size", str(spec["batch"]), "--max_seq_length", str(spec["max_seq_length"])),
            *("--report_to", "none", "--disable_tqdm", "true"),
        ]
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, str(ROOT / "train.py"), *argv], capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"train.py failed (exit {proc.returncode}): {proc.stderr.strip()[-600:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return dict(spec, train_peak_rss_mb=round(peak), train_s=round(time.perf_counter() - start, 1))


def load_now():
    return os.getloadavg()[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, nargs="+", default=[50, 200, 670])
    parser.add_argument("--scale", type=float, default=0.02, help="corpus size: 1 = ~376 MB for 673 pairs")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    parser.add_argument("--workers", type=int, nargs="+", default=[0], help="DataLoader workers (streaming runs)")
    parser.add_argument("--max_seq_length", type=int, default=512)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument(
        "--batches",
        type=int,
        default=250,
        help="batches timed after the first (past the 1,000-chunk shuffle buffer a streaming first batch fills)",
    )
    parser.add_argument("--out", default=str(ROOT / "outputs" / "glot500_scale"))
    parser.add_argument("--train", action="store_true", help="also train.py's peak RSS on each corpus (streaming)")
    parser.add_argument("--run", help=argparse.SUPPRESS)  # internal: one measurement, JSON spec
    parser.add_argument("--run-train", help=argparse.SUPPRESS)  # internal: train.py's peak, JSON spec
    args = parser.parse_args(argv)
    if args.run:
        print("RESULT " + json.dumps(measure(json.loads(args.run))), flush=True)
        return
    if args.run_train:
        print("RESULT " + json.dumps(measure_train(json.loads(args.run_train))), flush=True)
        return
    rows = []
    print(f"machine: {os.cpu_count()} cores, load {load_now():.1f} at start (shared with other work)")
    print(
        f"{'pairs':>5} {'MB':>6} {'mode':>10} {'workers':>7} {'build s':>8} {'1st batch s':>11} {'peak RSS MB':>11} "
        f"{'worker RSS MB':>13} {'max fds':>7} {'tokens/s':>9} {'load':>5}"
    )
    for n in args.pairs:
        corpus, written, size = write_corpus(Path(args.out) / f"corpus_{n}_{args.scale}", n, args.scale)
        for mode in args.modes:
            for workers in args.workers if MODES[mode]["streaming"] else [0]:
                spec = dict(
                    corpus=str(corpus),
                    pairs=written,
                    mb=round(size / 1e6, 1),
                    mode=mode,
                    workers=workers,
                    max_seq_length=args.max_seq_length,
                    batch=args.batch,
                    batches=args.batches,
                )
                row = run_child("--run", spec)
                if row is None:
                    continue
                rows.append(row)
                print(
                    f"{row['pairs']:>5} {row['mb']:>6} {mode:>10} {workers:>7} {row['build_s']:>8} "
                    f"{row['first_batch_s']:>11} {row['peak_rss_mb']:>11} {row['child_peak_rss_mb']:>13} "
                    f"{row['max_open_fds']:>7} {row['pipeline_tokens_per_s']:>9} {row['load']:>5}",
                    flush=True,
                )
        if args.train:
            rows.append(compare_train(rows[-1] if rows and rows[-1]["corpus"] == str(corpus) else None, spec))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / f"results_{args.scale}.json").write_text(json.dumps(rows, indent=1) + "\n")


def run_child(flag, spec):
    """One measurement in a fresh process (`flag`: --run or --run-train); its result row, or None (said) if it
    failed."""
    proc = subprocess.run([sys.executable, __file__, flag, json.dumps(spec)], capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        print(f"{spec['pairs']:>5} {flag}: failed (exit {proc.returncode}): {proc.stderr.strip()[-400:]}")
        return None
    return dict(json.loads(lines[-1][7:]), load=round(load_now(), 1))


def compare_train(pipeline, spec):
    """train.py's peak RSS on the corpus of `spec`, printed next to the last pipeline row's (`pipeline`)."""
    row = run_child("--run-train", dict(spec, mode="train.py --streaming", workers=0)) or {}
    peak, own = row.get("train_peak_rss_mb"), pipeline and pipeline["peak_rss_mb"]
    ratio = f"{peak / own:.2f}x the pipeline's {own} MB" if peak and own else "no pipeline row to compare"
    print(f"{spec['pairs']:>5} {spec['mb']:>6} train.py --streaming (tiny model, 3 steps): peak RSS {peak} MB, {ratio}")
    return dict(row, pipeline_peak_rss_mb=own)


if __name__ == "__main__":
    main()
