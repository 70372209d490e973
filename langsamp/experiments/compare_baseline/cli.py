"""LangSAMP against the paper's baseline, from a real pretrained encoder: the same continual pretraining twice per
seed with train.py, once with the language and script tables (LangSAMP) and once without
(`--use_lang_embedding False --use_script_embedding False`, the paper's baseline), on identical data, masks and
initialisation (the same seed gives both runs the same sampled chunks, the same masks and the same starting
weights), for several seeds; then the same evaluations of both and of the starting encoder itself (the paper's
tables carry the base model's row), as mean ± sd over seeds with a paired test of each difference.

    python compare_baseline.py                                   # the offline default (real e5 encoder, UDHR, CPU)
    python compare_baseline.py --seeds 1 2 3 4 5 --max_steps 300 --output_dir outputs/compare-long
    python compare_baseline.py --skip_training --output_dir outputs/compare   # evaluate existing runs again

A run that stops (Ctrl-C, a crash, a full disk) keeps what finished: each pretraining run and each evaluation is
written as it ends, and the same command resumes, skipping them. An --output_dir holding a comparison with other
pretraining settings is refused (name another one, or pass --overwrite). All bad arguments are named in one line
before anything is written.
    python compare_baseline.py --model FacebookAI/xlm-roberta-base --train_args --max_seq_length 512 ...

Everything after `--train_args` goes to every train.py run unchanged (and overrides the defaults below).

Offline default: multilingual-e5-small (12 x 384, XLM-R's vocabulary; setup.sh imports it into
data/multilingual-e5-small-xlmr/ with a fresh LM head) continually pretrained on the UDHR in the 41 languages /
26 scripts of train.py's demo, without articles 26-30, which are held out for the masked-LM evaluation.

Evaluations (the tables are used only by the masked LM and the URIEL correlation, as in the paper):
  * sentence retrieval on the UDHR (English queries, 31 units a language), top-1 / top-10, at every layer (the
    best layer of a 12 x 384 model need not be the paper's 8th);
  * the Taxi1500-like UDHR topic task: fine-tune on English, test zero-shot on the other languages, macro-F1;
  * language neutrality (language_neutrality.py): cosine of parallel sentences across languages and a language-ID
    probe, at every layer;
  * masked-token accuracy and perplexity on the held-out articles;
  * LangSAMP only: the rank correlation of its language table's similarities with URIEL's (uriel_similarity.py),
    beside the same statistic on a random N(0, 0.02) table of the same shape (the control).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from langsamp.command_name import command_name
from langsamp.evaluation.cli import ArgumentParser
from langsamp.experiments.compare_baseline.checks import check_args
from langsamp.experiments.compare_baseline.evaluations import evaluate_all, uriel_unavailable
from langsamp.experiments.compare_baseline.report import plot_table, write_report
from langsamp.experiments.compare_baseline.runs import (
    clear,
    planned_runs,
    pretrain_all,
    unfinished,
    write_corpus,
    write_settings,
)
from langsamp.experiments.compare_baseline.settings import (
    CLASSIFY_BATCH_SIZE,
    CLASSIFY_EPOCHS,
    CLASSIFY_LEARNING_RATE,
    HEAD_WARMUP_LEARNING_RATE,
    HEAD_WARMUP_STEPS,
    LANGUAGES,
    LEARNING_RATE,
    MAX_STEPS,
)
from langsamp.experiments.compare_baseline.statistics import summarise, uriel_rows
from langsamp.resources.demo import DEMO_ENCODER


def build_parser() -> ArgumentParser:
    """The flags (errors on one line, exit status 2)."""
    parser = ArgumentParser(prog=command_name("compare_baseline.py"), description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--output_dir", default="outputs/compare", help="runs, logs, results.json, comparison.md, plots")
    add("--overwrite", action="store_true", help="replace an earlier comparison with other settings in --output_dir")
    add("--model", default=str(DEMO_ENCODER), help="the starting encoder (default: the imported e5 encoder)")
    add("--seeds", type=int, nargs="+", default=[42, 43, 44], help="one baseline and one LangSAMP run per seed")
    add("--max_steps", type=int, default=MAX_STEPS, help="pretraining steps of each run, the warm-up included")
    add("--head_warmup_steps", type=int, default=HEAD_WARMUP_STEPS,
        help="the first steps train only the LM head and the tables (train.py's flag; 0: one stage)")  # fmt: skip
    add(
        "--head_warmup_learning_rate", type=float, default=HEAD_WARMUP_LEARNING_RATE, help="the warm-up's learning rate"
    )
    add("--learning_rate", type=float, default=LEARNING_RATE, help="the full stage's peak learning rate")
    add("--languages", nargs="+", default=LANGUAGES,
        help="UDHR labels (or ISO codes) to pretrain and evaluate on (with eng_Latn)")  # fmt: skip
    add("--skip_training", action="store_true", help="evaluate the runs already in --output_dir")
    add("--layers", type=int, nargs="+", default=None, help="retrieval layers (default: every layer)")
    add("--classify_epochs", type=float, default=CLASSIFY_EPOCHS, help="over 45 English paragraphs")
    add("--classify_learning_rate", type=float, default=CLASSIFY_LEARNING_RATE)
    add("--classify_batch_size", type=int, default=CLASSIFY_BATCH_SIZE)
    add("--probe_folds", type=int, default=5, help="folds of the language-ID probe (0: no probe)")
    add("--mlm_sentences", type=int, default=10, help="held-out paragraphs a language for the masked-LM figures")
    add("--mask_rounds", type=int, default=2, help="mask draws pooled for masked accuracy / perplexity")
    add("--max_length", type=int, default=128)
    add("--train_script", default=None,
        help="a pretraining script taking train.py's flags (default: this package's train.py)")  # fmt: skip
    add("--train_args", nargs=argparse.REMAINDER, default=[], help="everything after this goes to train.py")
    return parser


def _refuse(parser, message):
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv: Sequence[str] | None = None) -> list[dict]:
    """The comparison: checks, pretraining runs, evaluations, report. Returns the table's rows."""
    parser = build_parser()
    args = parser.parse_args(argv)
    problems = check_args(args)
    if problems:
        _refuse(parser, f"{'; '.join(problems)}.")
    output = Path(args.output_dir)
    if args.overwrite and output.is_dir():
        print(f"--overwrite: removing the earlier comparison in {output}", flush=True)
        clear(output)
    output.mkdir(parents=True, exist_ok=True)
    few = len(args.languages) < 3
    if few:
        print(f"Only {len(args.languages)} languages: the pictures need at least 3, so they are left out.", flush=True)
    no_uriel = uriel_unavailable(args.languages)
    if no_uriel:
        print(f"The URIEL correlation is left out: {no_uriel}. Everything else is measured.", flush=True)
    write_settings(output, args)
    started = time.perf_counter()
    translations = write_corpus(output / "corpus", args.languages)
    runs = planned_runs(output, args.seeds)
    missing = unfinished(runs)
    if args.skip_training and missing:
        _refuse(parser, f"--skip_training: {', '.join(missing)} hold no finished run; run without --skip_training "
                "(finished runs are kept).")  # fmt: skip
    timings = pretrain_all(runs, args, output)
    evaluated, raw = evaluate_all(runs, args, output, translations, timings, uriel=not no_uriel)
    plots = {} if few else plot_table(runs, output, args)
    timings["total_s"] = sum(timings.values())  # pretraining and evaluation time, the reused parts' included
    timings["this_invocation_s"] = round(time.perf_counter() - started)
    rows = summarise(evaluated)
    uriel = None if no_uriel else uriel_rows([raw[("langsamp", seed)]["uriel"] for seed in args.seeds])
    write_report(output, args, argv, timings, plots, rows, uriel, raw, runs)
    return rows


def cli(argv: Sequence[str] | None = None) -> None:
    """The command line (`python compare_baseline.py`, `langsamp-compare-baseline`): exit status 0 once the tables are
    written (main returns the rows for code that calls it)."""
    main(argv)


if __name__ == "__main__":
    main()
