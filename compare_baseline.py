"""LangSAMP against the paper's baseline, from a real pretrained encoder: the same continual pretraining twice per
seed with train.py, once with the language and script tables (LangSAMP) and once without
(`--use_lang_embedding False --use_script_embedding False`, the paper's baseline), on identical data, masks and
initialisation (the same seed gives both runs the same sampled chunks, the same masks and the same starting
weights), for several seeds; then the same evaluations of both and of the starting encoder itself (the paper's
tables carry the base model's row), as mean ± sd over seeds with a paired test of each difference.

    python compare_baseline.py                                   # the offline default (real e5 encoder, UDHR, CPU)
    python compare_baseline.py --seeds 1 2 3 4 5 --max_steps 300 --output_dir outputs/compare-long
    python compare_baseline.py --skip_training --output_dir outputs/compare   # evaluate existing runs again
    python compare_baseline.py --model FacebookAI/xlm-roberta-base --train_args --max_seq_length 512 ...

Everything after `--train_args` goes to every train.py run unchanged (and overrides the defaults below).

Offline default: multilingual-e5-small (12 x 384, XLM-R's vocabulary; setup.sh imports it into
data/multilingual-e5-small-xlmr/ with a fresh LM head) continually pretrained on the UDHR in the 41 languages /
26 scripts of train.py's demo, without articles 26-30, which are held out for the masked-LM evaluation.

Evaluations (the tables are never used by the first two, as in the paper):
  * sentence retrieval on the UDHR (English queries, 31 units a language), top-1 / top-10, at every layer (the
    best layer of a 12 x 384 model need not be the paper's 8th);
  * the Taxi1500-like UDHR topic task: fine-tune on English, test zero-shot on the other languages, macro-F1;
  * masked-token accuracy and perplexity on the held-out articles.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import langsamp_eval as ev
from demo import DEMO_ENCODER, DEMO_LANGUAGES
from export import check_source

ROOT = Path(__file__).resolve().parent
LANGUAGES = list(DEMO_LANGUAGES)

# The pretraining every run shares (train.py flags): 8 x 128-token chunks a step, a 10% warm-up and a peak lr of
# 2e-4 (4x the paper's 5e-5, so that the fresh LM head learns within 60 CPU steps; the README's table shows what it
# costs the encoder's retrieval; pass `--train_args --learning_rate 5e-5` for the paper's).
TRAIN_DEFAULTS = [
    "--max_seq_length", "128",
    "--per_device_train_batch_size", "8",
    "--learning_rate", "2e-4",
    "--warmup_steps", "0.1",
    "--weight_decay", "0.0",
    "--logging_steps", "10",
    "--save_strategy", "no",
    "--max_eval_samples", "0",
    "--dataloader_num_workers", "0",
    "--report_to", "none",
]

VARIANTS = {
    "baseline": ["--use_lang_embedding", "False", "--use_script_embedding", "False"],
    "langsamp": ["--use_lang_embedding", "True", "--use_script_embedding", "True"],
}
COLUMNS = ("start", "baseline", "langsamp")

# Headline averages quoted for the paper (baseline -> LangSAMP, all languages; XLM-R base continually pretrained on
# Glot500-c). From ../shared/notes/original-release.md, which quotes summaries of the paper, not its tables.
PAPER_FIGURES = [
    ("SR-B (Bible retrieval, top-10 acc., 369 languages)", 42.9, 45.1),
    ("SR-T (Tatoeba retrieval, top-10 acc., 98 languages)", 69.7, 71.1),
    ("Taxi1500 (topic classification, macro-F1)", 50.3, 53.4),
    ("SIB-200 (topic classification, macro-F1)", 75.0, 75.9),
    ("NER (WikiANN, F1)", 62.2, 62.6),
    ("POS (Universal Dependencies, F1)", 71.5, 71.6),
]


def write_corpus(folder, languages, heldout_articles=ev.UDHR_HELDOUT_ARTICLES):
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


def pretrain(variant, seed, model, corpus, output_dir, max_steps, extra_args, log_file, train_script=ROOT / "train.py"):
    """One train.py run in a subprocess (its own log); returns the checkpoint folder."""
    command = [
        sys.executable, str(train_script),
        "--model_name_or_path", str(model),
        "--corpus", str(corpus),
        "--output_dir", str(output_dir),
        "--max_steps", str(max_steps),
        "--seed", str(seed),
        *TRAIN_DEFAULTS,
        *VARIANTS[variant],
        *extra_args,  # last: argparse keeps the last value of a repeated flag
    ]
    tag = f"{variant}, seed {seed}"
    print(f"[{tag}] python {' '.join(command[1:])}\n[{tag}] log: {log_file}", flush=True)
    started = time.perf_counter()
    with open(log_file, "w", encoding="utf-8") as log:
        process = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    if process.returncode != 0:
        tail = Path(log_file).read_text(encoding="utf-8").splitlines()[-30:]
        raise SystemExit(f"[{tag}] train.py failed (exit {process.returncode}); end of {log_file}:\n" + "\n".join(tail))
    print(f"[{tag}] trained in {time.perf_counter() - started:.0f} s", flush=True)
    return Path(output_dir)


def evaluate_run(checkpoint, languages, translations, args, classify_seed, reuse=None):
    """All evaluations of one checkpoint: {name: result}. `reuse`: results that do not depend on the seed, already
    computed for this checkpoint (the starting encoder's retrieval and masked LM)."""
    results = dict(reuse or {})
    tokenizer = ev.load_tokenizer(checkpoint)
    if "retrieval" not in results:
        encoder = ev.load_model(checkpoint, "encoder")
        corpus = {label: units for label, units in ev.udhr_parallel_corpus(translations).items() if label in languages}
        layers = args.layers or list(range(1, encoder.config.num_hidden_layers + 1))
        clock = time.perf_counter()
        results["retrieval"] = ev.sentence_retrieval(encoder, tokenizer, corpus, source="eng_Latn", layer=layers, max_length=args.max_length)
        del encoder
        print(f"  retrieval at layers {layers[0]}-{layers[-1]}: {time.perf_counter() - clock:.0f} s", flush=True)

    clock = time.perf_counter()
    train, tests, labels = ev.udhr_topic_classification(translations, source="eng_Latn", languages=languages)
    results["classification"] = ev.zero_shot_transfer(
        checkpoint, tokenizer, train, tests, label_names=labels, source="eng_Latn",
        num_train_epochs=args.classify_epochs, learning_rate=args.classify_learning_rate,
        batch_size=16, max_length=args.max_length, seed=classify_seed, warmup_steps=0.1, disable_tqdm=True, logging_strategy="no",
    )
    print(f"  topic classification (fine-tuning seed {classify_seed}): {time.perf_counter() - clock:.0f} s", flush=True)

    if "mlm" not in results:
        clock = time.perf_counter()
        heldout = {label: texts for label, texts in ev.udhr_heldout_texts(translations).items() if label in languages}
        results["mlm"] = ev.masked_lm_quality(
            checkpoint, tokenizer, heldout, max_sentences=args.mlm_sentences, max_length=args.max_length,
            mask_rounds=args.mask_rounds, pseudo_perplexity=False,
        )
        print(f"  masked LM: {time.perf_counter() - clock:.0f} s", flush=True)
    return results


def figures(result):
    """The scalar figures of one evaluated checkpoint: {metric name: value} (percentages, perplexity as is)."""
    out = {}
    for layer, one in result["retrieval"].items():
        for k in ("top1", "top10"):
            out[f"UDHR retrieval top-{k[3:]} (layer {layer}), %"] = 100 * one["average"][k]
    out["UDHR topics zero-shot macro-F1, %"] = 100 * result["classification"]["average"]["macro_f1"]
    out["UDHR topics zero-shot accuracy, %"] = 100 * result["classification"]["average"]["accuracy"]
    out["UDHR topics English (source) accuracy, %"] = 100 * result["classification"]["source_metrics"]["accuracy"]
    out["Held-out masked-token accuracy, %"] = 100 * result["mlm"]["average"]["masked_accuracy"]
    out["Held-out masked-token perplexity (geometric mean over languages; lower is better)"] = result["mlm"]["average"]["masked_perplexity_geomean"]
    return out


def summarise(per_seed):
    """per_seed: {column: [figures(...) per seed]} -> rows of {metric, start, baseline, langsamp (mean, sd, n),
    difference (LangSAMP - baseline, paired by seed: mean, sd), p (paired t-test), exceeds_spread}."""
    from scipy.stats import ttest_rel

    rows = []
    for metric in per_seed["baseline"][0]:
        row = {"metric": metric}
        for column in COLUMNS:
            values = np.array([one[metric] for one in per_seed[column]])
            row[column] = {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0, "n": len(values)}
        base = np.array([one[metric] for one in per_seed["baseline"]])
        ours = np.array([one[metric] for one in per_seed["langsamp"]])
        diff = ours - base
        row["difference"] = {"mean": float(diff.mean()), "sd": float(diff.std(ddof=1)) if len(diff) > 1 else 0.0}
        p = float(ttest_rel(ours, base).pvalue) if len(diff) > 1 and diff.std() > 0 else float("nan")
        row["p"] = p
        # "Exceeds the seed spread": the paired difference is larger than the spread of either variant over seeds
        # and consistent (p < 0.05 in a paired t-test over the seeds).
        row["exceeds_spread"] = bool(p < 0.05 and abs(diff.mean()) > max(row["baseline"]["sd"], row["langsamp"]["sd"]))
        rows.append(row)
    return rows


def _cell(stat, digits=1):
    return f"{stat['mean']:.{digits}f} ± {stat['sd']:.{digits}f}" if stat["n"] > 1 else f"{stat['mean']:.{digits}f}"


def markdown(rows, settings, key_layers):
    shown = [row for row in rows if "retrieval" not in row["metric"] or any(f"(layer {layer})" in row["metric"] for layer in key_layers)]
    table_rows = []
    for row in shown:
        digits = 0 if "perplexity" in row["metric"] else 1
        p = "n/a" if np.isnan(row["p"]) else f"{row['p']:.2f}"
        verdict = "yes" if row["exceeds_spread"] else "no"
        table_rows.append((row["metric"], _cell(row["start"], digits), _cell(row["baseline"], digits), _cell(row["langsamp"], digits),
                           f"{row['difference']['mean']:+.{max(digits, 1)}f}", p, verdict))
    table = ev.markdown_table(
        ["measured here (offline default)", "start (no continual pretraining)", "baseline", "LangSAMP", "LangSAMP - baseline", "p (paired t)", "exceeds seed spread"],
        table_rows,
    )
    paper = ev.markdown_table(
        ["reported for the paper (XLM-R base on Glot500-c; NOT measured here)", "baseline", "LangSAMP", "difference"],
        [(n, f"{b:.1f}", f"{o:.1f}", f"{o - b:+.1f}") for n, b, o in PAPER_FIGURES],
    )
    return f"{table}\n\n{settings}\n\n{paper}\n"


def best_layer(rows, column):
    retrieval = [row for row in rows if row["metric"].startswith("UDHR retrieval top-1 ")]
    best = max(retrieval, key=lambda row: row[column]["mean"])
    return int(best["metric"].split("(layer ")[1].rstrip("), %"))


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output_dir", default="outputs/compare", help="runs, logs, results.json, comparison.md, plots")
    parser.add_argument("--model", default=str(DEMO_ENCODER), help="the starting encoder (default: the imported e5 encoder)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44], help="one baseline and one LangSAMP run per seed")
    parser.add_argument("--max_steps", type=int, default=60, help="pretraining steps of each run")
    parser.add_argument("--languages", nargs="+", default=LANGUAGES, help="UDHR labels to pretrain and evaluate on (must include eng_Latn)")
    parser.add_argument("--skip_training", action="store_true", help="evaluate the runs already in --output_dir")
    parser.add_argument("--layers", type=int, nargs="+", default=None, help="retrieval layers (default: every layer)")
    parser.add_argument("--classify_epochs", type=float, default=10, help="over 45 English paragraphs: 3 steps an epoch")
    parser.add_argument("--classify_learning_rate", type=float, default=1e-4)
    parser.add_argument("--mlm_sentences", type=int, default=10, help="held-out paragraphs a language for the masked-LM figures")
    parser.add_argument("--mask_rounds", type=int, default=2, help="mask draws pooled for masked accuracy / perplexity")
    parser.add_argument("--max_length", type=int, default=128)
    parser.add_argument("--train_script", default=str(ROOT / "train.py"), help="the pretraining script (train.py's flags)")
    parser.add_argument("--train_args", nargs=argparse.REMAINDER, default=[], help="everything after this goes to train.py")
    return parser


def check_args(args):
    if "eng_Latn" not in args.languages:
        raise ValueError("--languages must include eng_Latn: it is the source of retrieval queries and of fine-tuning.")
    if len(set(args.seeds)) != len(args.seeds):
        raise ValueError(f"--seeds {' '.join(map(str, args.seeds))}: repeated seeds would count one run twice.")
    if len(args.seeds) < 2:
        raise ValueError("--seeds: give at least 2 (3 or more to tell a difference from the seed spread).")
    if args.max_steps < 1:
        raise ValueError(f"--max_steps must be >= 1, got {args.max_steps}.")
    model = Path(args.model)
    if str(args.model) == str(DEMO_ENCODER) and not (model / "config.json").is_file():
        raise FileNotFoundError(f"The default encoder is not in {model}: run `bash setup.sh` (it imports it).")
    check_source(args.model, "--model")  # before the corpus is written and six runs are started


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        check_args(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"compare_baseline.py: error: {error}", file=sys.stderr)
        sys.exit(2)
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    translations = write_corpus(output / "corpus", args.languages)
    timings = {}
    runs = {(variant, seed): output / f"seed{seed}" / variant for seed in args.seeds for variant in VARIANTS}
    for (variant, seed), run_dir in runs.items():
        if args.skip_training:
            if not (run_dir / "config.json").is_file():
                raise SystemExit(f"--skip_training: {run_dir} holds no trained model; run without --skip_training first.")
            continue
        t = time.perf_counter()
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        pretrain(variant, seed, args.model, output / "corpus", run_dir, args.max_steps, args.train_args,
                 run_dir.parent / f"{variant}.log", args.train_script)
        timings[f"pretrain_{variant}_seed{seed}_s"] = round(time.perf_counter() - t)

    # The same fine-tuning seed for a pretraining seed's two runs (identical fine-tuning data order and head init);
    # the starting encoder is fine-tuned once per seed too, so its column has a spread from fine-tuning alone.
    evaluated = {column: [] for column in COLUMNS}
    raw = {}
    for index, seed in enumerate(args.seeds):
        for column in COLUMNS:
            checkpoint = args.model if column == "start" else runs[(column, seed)]
            t = time.perf_counter()
            print(f"[{column}, seed {seed}] evaluating {checkpoint}", flush=True)
            # The start's retrieval and masked LM do not depend on the seed: computed once.
            first = raw.get(("start", args.seeds[0])) if column == "start" else None
            reuse = {key: first[key] for key in ("retrieval", "mlm")} if first else None
            result = evaluate_run(checkpoint, args.languages, translations, args, classify_seed=index, reuse=reuse)
            raw[(column, seed)] = result
            evaluated[column].append(figures(result))
            timings[f"evaluate_{column}_seed{seed}_s"] = round(time.perf_counter() - t)
    plots = ev.plot_language_embeddings(
        runs[("langsamp", args.seeds[0])], output / "plots", languages=list(args.languages),
        title=f"LangSAMP language embeddings after {args.max_steps} steps (seed {args.seeds[0]})",
    )
    timings["total_s"] = round(time.perf_counter() - started)

    rows = summarise(evaluated)
    key_layers = sorted({8, 12, *(best_layer(rows, column) for column in COLUMNS)} & set(args.layers or range(1, 13)))
    settings = describe_runs(output, args, argv, timings, rows, runs)
    text = markdown(rows, settings, key_layers)
    print("\n" + text)
    (output / "comparison.md").write_text(text, encoding="utf-8")
    serialisable = {
        "settings": vars(args),
        "timings": timings,
        "plots": {name: str(path) for name, path in plots.items()},
        "rows": rows,
        "results": {f"{column}/seed{seed}": result for (column, seed), result in raw.items()},
        "paper": [{"metric": n, "baseline": b, "langsamp": o} for n, b, o in PAPER_FIGURES],
    }
    (output / "results.json").write_text(json.dumps(serialisable, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"written: {output / 'comparison.md'}, {output / 'results.json'}, pictures in {output / 'plots'}")
    return rows


def describe_runs(output, args, argv, timings, rows, runs):
    """How the figures were made, read back from the runs themselves (steps, model size)."""
    config = json.loads((runs[("langsamp", args.seeds[0])] / "config.json").read_text())
    steps = sorted({json.loads((path / "trainer_state.json").read_text())["global_step"] for path in runs.values()
                    if (path / "trainer_state.json").is_file()})
    command = f"python compare_baseline.py {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip()
    targets = len(args.languages) - 1
    best = {column: best_layer(rows, column) for column in COLUMNS}
    return (
        f"Made by `{command}` on {os.cpu_count()} CPU cores, {timings['total_s'] / 60:.0f} min in all. "
        f"Start: `{args.model}` ({config['num_hidden_layers']} layers x {config['hidden_size']}). "
        f"Pretraining: {len(args.languages)} UDHR languages (articles 26-30 held out), {'/'.join(map(str, steps))} steps of "
        f"8 x 128 tokens per run, seeds {', '.join(map(str, args.seeds))} (per seed, baseline and LangSAMP see the same chunks, "
        f"masks and initial weights). Cells: mean ± sd over the {len(args.seeds)} seeds (start: over fine-tuning seeds only). "
        f"Retrieval: English queries against {targets} languages, 31 UDHR units each (chance: top-1 3.2%, top-10 32%); "
        f"best top-1 layer: start {best['start']}, baseline {best['baseline']}, LangSAMP {best['langsamp']} "
        f"(every layer in results.json). Topics: 6 classes, fine-tuned on English ({args.classify_epochs:g} epochs at "
        f"{args.classify_learning_rate:g}), zero-shot on the {targets} others (majority-class accuracy 28.9%, macro-F1 "
        f"7.5%). Masked LM: held-out articles 26-30, {args.mlm_sentences} paragraphs a language, {args.mask_rounds} mask "
        f"draws (the start's LM head is untrained: its perplexity shows that). 'Exceeds seed spread': paired t-test "
        f"p < 0.05 over seeds and |difference| larger than either variant's sd."
    )


if __name__ == "__main__":
    main()
