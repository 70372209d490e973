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

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import langsamp
from langsamp import evaluation as ev
from langsamp.checkout import CHECKOUT
from langsamp.command_name import command_line, command_name
from langsamp.evaluation.cli import ArgumentParser
from langsamp.hub.export import check_source
from langsamp.resources.demo import DEMO_ENCODER, DEMO_LANGUAGES

TRAIN_MODULE = "langsamp.training.cli"  # what train.py and langsamp-train run
LANGUAGES = list(DEMO_LANGUAGES)

# The two-stage recipe of train.py's demo (issue 16): e5 has no trained LM head, and a fresh head's gradients distort
# the pretrained encoder before the head has learned anything (at a one-stage peak lr of 2e-4, UDHR retrieval top-1
# at layer 8 fell from 71% to 22% in 60 steps). So the first HEAD_WARMUP_STEPS train only the LM head and the
# LangSAMP tables (encoder and word embeddings frozen) at a high lr, then everything at the paper's 5e-5. Steps count
# the warm-up. Fewer full-stage steps than the demo's, so that 3 seeds x 2 variants fit in about an hour on 2 cores.
MAX_STEPS = 160
HEAD_WARMUP_STEPS = 100
HEAD_WARMUP_LEARNING_RATE = 1e-3
LEARNING_RATE = 5e-5
# The topic fine-tuning (45 English paragraphs, 6 classes; 30 steps): at 2e-5 every run predicted one class (macro-F1
# 7.5%), at 1e-4 the start reached 56% English accuracy, at 3e-4 100% (zero-shot macro-F1 59% over 5 languages): README.
CLASSIFY_EPOCHS = 10
CLASSIFY_LEARNING_RATE = 3e-4
CLASSIFY_BATCH_SIZE = 16
# 8 x 128-token chunks a step, a 10% lr warm-up of the full stage, no held-out MLM evaluation inside train.py.
TRAIN_DEFAULTS = [
    "--max_seq_length", "128",
    "--per_device_train_batch_size", "8",
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


def child_environment():
    """This environment, with the folder that holds the `langsamp` package (and, in a clone, the remote-code modules)
    first on PYTHONPATH: `python -m langsamp.training.cli` then runs in the user's folder, so relative paths keep
    their meaning, whether the package is installed or run from a clone without installing."""
    package_parent = str(Path(langsamp.__file__).resolve().parents[1])
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])))


def pretrain(variant, seed, model, corpus, output_dir, max_steps, extra_args, log_file, train_script=None):
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
    ]
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


def evaluate_run(checkpoint, languages, translations, args, classify_seed, reuse=None, uriel=False):
    """All evaluations of one checkpoint: {name: result}. `reuse`: results that do not depend on the seed, already
    computed for this checkpoint (the starting encoder's retrieval, neutrality and masked LM). `uriel`: also the
    language table against URIEL, beside the same statistic on a random table (LangSAMP checkpoints only)."""
    results = dict(reuse or {})
    tokenizer = ev.load_tokenizer(checkpoint)
    layers = args.layers or list(range(1, ev.checkpoint_config(checkpoint)["num_hidden_layers"] + 1))
    if "retrieval" not in results or "neutrality" not in results:
        encoder = ev.load_model(checkpoint, "encoder")
        corpus = {label: units for label, units in ev.udhr_parallel_corpus(translations).items() if label in languages}
        clock = time.perf_counter()
        results["retrieval"] = ev.sentence_retrieval(encoder, tokenizer, corpus, source="eng_Latn", layer=layers, max_length=args.max_length)
        print(f"  retrieval at layers {layers[0]}-{layers[-1]}: {time.perf_counter() - clock:.0f} s", flush=True)
        clock = time.perf_counter()
        depth = max(layers)
        results["neutrality"] = ev.language_neutrality(encoder, tokenizer, corpus, layers=[0, *layers], probe_folds=args.probe_folds or None,
                                                       max_length=args.max_length, probe_layers={0, depth // 3, 2 * depth // 3, depth})
        print(f"  neutrality at layers 0-{layers[-1]}: {time.perf_counter() - clock:.0f} s", flush=True)
        del encoder

    clock = time.perf_counter()
    train, tests, labels = ev.udhr_topic_classification(translations, source="eng_Latn", languages=languages)
    results["classification"] = ev.zero_shot_transfer(
        checkpoint, tokenizer, train, tests, label_names=labels, source="eng_Latn",
        num_train_epochs=args.classify_epochs, learning_rate=args.classify_learning_rate,
        batch_size=args.classify_batch_size, max_length=args.max_length, seed=classify_seed, warmup_steps=0.1, disable_tqdm=True,
        logging_strategy="no",
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
    if uriel:
        clock = time.perf_counter()
        results["uriel"] = table_against_uriel(checkpoint, languages, classify_seed)
        print(f"  language table vs URIEL (and a random table): {time.perf_counter() - clock:.0f} s", flush=True)
    return results


def uriel_unavailable(languages):
    """Why the URIEL correlation cannot be computed for these languages (a rank correlation needs 4 languages URIEL
    knows), or None. Checked before any work."""
    try:
        from langsamp.evaluation.uriel_similarity import KINDS, uriel_features
    except ImportError as error:
        return str(error)
    codes = list(dict.fromkeys(label.split("_")[0] for label in languages))
    for kind in KINDS:
        try:
            found, _ = uriel_features(codes, kind)
        except ImportError as error:
            return str(error).rstrip(".")
        if len(found) < 4:
            return f"URIEL knows {len(found)} of these languages for {kind} similarity ({', '.join(found) or 'none'}); it needs 4"
    return None


def table_against_uriel(checkpoint, languages, seed):
    """The URIEL rank correlation of a LangSAMP checkpoint's language table, and the same statistic on a random
    N(0, 0.02) table of the same shape (the tables' initialisation): {"table": ..., "random_table": ...}."""
    import torch

    from langsamp.evaluation.uriel_similarity import table_vs_uriel

    model = ev.load_model(checkpoint, "masked-lm")
    learned = table_vs_uriel(model, languages)
    table = model.language_script_embeddings.language_embeddings.weight
    with torch.no_grad():
        table.normal_(0.0, 0.02, generator=torch.Generator().manual_seed(seed))
    return {"table": learned, "random_table": table_vs_uriel(model, languages)}


def figures(result):
    """The scalar figures of one evaluated checkpoint: {metric name: value} (percentages, perplexity as is)."""
    out = {}
    for layer, one in result["retrieval"].items():
        for k in ("top1", "top10"):
            out[f"UDHR retrieval top-{k[3:]} (layer {layer}), %"] = 100 * one["average"][k]
    for layer, one in result["neutrality"]["per_layer"].items():
        out[f"Cross-language cosine of parallel sentences (layer {layer})"] = one["mean"]
        out[f"Cross-language cosine, parallel minus non-parallel (layer {layer})"] = one["mean"] - one["mean_non_parallel"]
        if "lid_accuracy" in one:
            out[f"Language-ID probe accuracy (layer {layer}), %; lower = more neutral"] = 100 * one["lid_accuracy"]
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


def uriel_rows(uriel_per_seed):
    """uriel_per_seed: [{"table": table_vs_uriel(...), "random_table": ...} per seed] -> rows of {measure, table,
    random_table (mean, sd, n)} for rho and p of every kind, over all pairs and over different-script pairs."""
    rows = []
    for kind in uriel_per_seed[0]["table"]:
        for key, what in (("rho", "Spearman rho, all pairs"), ("p_value", "permutation p, all pairs"),
                          ("rho_different_script", "Spearman rho, different-script pairs"),
                          ("p_value_different_script", "permutation p, different-script pairs")):
            row = {"measure": f"URIEL {kind}: {what}"}
            for column in ("table", "random_table"):
                values = np.array([one[column][kind].get(key, np.nan) for one in uriel_per_seed], dtype=float)
                row[column] = {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0, "n": len(values)}
            rows.append(row)
        first = uriel_per_seed[0]["table"][kind]
        rows[-4]["measure"] += f" ({first['n_languages']} languages, {first['n_pairs']} pairs)"
    return rows


def uriel_markdown(rows):
    return ev.markdown_table(
        ["LangSAMP's language table vs URIEL similarity", "learned table (LangSAMP runs)", "random N(0, 0.02) table of the same shape (control)"],
        [(row["measure"], _cell(row["table"], 3), _cell(row["random_table"], 3)) for row in rows],
    )


def markdown(rows, settings, key_layers, uriel=None):
    shown = [row for row in rows if "(layer " not in row["metric"] or any(f"(layer {layer})" in row["metric"] for layer in key_layers)]
    table_rows = []
    for row in shown:
        digits = 0 if "perplexity" in row["metric"] else 3 if "cosine" in row["metric"] else 1
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
    uriel = f"{uriel_markdown(uriel)}\n\n" if uriel else ""
    return f"{table}\n\n{uriel}{settings}\n\n{paper}\n"


def best_layer(rows, column):
    retrieval = [row for row in rows if row["metric"].startswith("UDHR retrieval top-1 ")]
    best = max(retrieval, key=lambda row: row[column]["mean"])
    return int(best["metric"].split("(layer ")[1].rstrip("), %"))


def build_parser():
    parser = ArgumentParser(prog=command_name("compare_baseline.py"), description=__doc__.split("\n\n")[0])  # errors on one line, exit 2
    parser.add_argument("--output_dir", default="outputs/compare", help="runs, logs, results.json, comparison.md, plots")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier comparison with other settings in --output_dir")
    parser.add_argument("--model", default=str(DEMO_ENCODER), help="the starting encoder (default: the imported e5 encoder)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44], help="one baseline and one LangSAMP run per seed")
    parser.add_argument("--max_steps", type=int, default=MAX_STEPS, help="pretraining steps of each run, the warm-up included")
    parser.add_argument("--head_warmup_steps", type=int, default=HEAD_WARMUP_STEPS,
                        help="the first steps train only the LM head and the tables (train.py's flag; 0: one stage)")
    parser.add_argument("--head_warmup_learning_rate", type=float, default=HEAD_WARMUP_LEARNING_RATE, help="the warm-up's learning rate")
    parser.add_argument("--learning_rate", type=float, default=LEARNING_RATE, help="the full stage's peak learning rate")
    parser.add_argument("--languages", nargs="+", default=LANGUAGES, help="UDHR labels (or ISO codes) to pretrain and evaluate on (with eng_Latn)")
    parser.add_argument("--skip_training", action="store_true", help="evaluate the runs already in --output_dir")
    parser.add_argument("--layers", type=int, nargs="+", default=None, help="retrieval layers (default: every layer)")
    parser.add_argument("--classify_epochs", type=float, default=CLASSIFY_EPOCHS, help="over 45 English paragraphs")
    parser.add_argument("--classify_learning_rate", type=float, default=CLASSIFY_LEARNING_RATE)
    parser.add_argument("--classify_batch_size", type=int, default=CLASSIFY_BATCH_SIZE)
    parser.add_argument("--probe_folds", type=int, default=5, help="folds of the language-ID probe (0: no probe)")
    parser.add_argument("--mlm_sentences", type=int, default=10, help="held-out paragraphs a language for the masked-LM figures")
    parser.add_argument("--mask_rounds", type=int, default=2, help="mask draws pooled for masked accuracy / perplexity")
    parser.add_argument("--max_length", type=int, default=128)
    parser.add_argument("--train_script", default=None, help="a pretraining script taking train.py's flags (default: this package's train.py)")
    parser.add_argument("--train_args", nargs=argparse.REMAINDER, default=[], help="everything after this goes to train.py")
    return parser


# Settings that decide what the pretraining runs are: an --output_dir made with others is not reused.
TRAINING_SETTINGS = ("model", "languages", "max_steps", "head_warmup_steps", "head_warmup_learning_rate", "learning_rate", "train_args")
# Settings that decide the evaluations: a cached evaluation made with others is computed again.
EVALUATION_SETTINGS = ("layers", "classify_epochs", "classify_learning_rate", "classify_batch_size", "probe_folds", "mlm_sentences",
                       "mask_rounds", "max_length", "languages")
SETTINGS_FILE = "settings.json"


def _settings(args, names):
    return {name: getattr(args, name) for name in names}


def train_arguments(args):
    """The flags every train.py run gets besides model, corpus, output, steps and seed."""
    warmup = ["--head_warmup_steps", str(args.head_warmup_steps), "--head_warmup_learning_rate", str(args.head_warmup_learning_rate)]
    # Always explicit: left out, train.py's auto rule would turn a warm-up on for an encoder without a trained head.
    return [*TRAIN_DEFAULTS, "--learning_rate", str(args.learning_rate), *warmup, *args.train_args]


def check_args(args):
    """Every problem with the arguments, before anything is written or trained: a list of one-line messages.
    Resolves --languages to UDHR labels (`deu` -> `deu_Latn`) in place."""
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
        problems.append("--languages: give eng_Latn and at least one other language (retrieval and transfer need a target)")
    if len(set(args.seeds)) != len(args.seeds):
        problems.append(f"--seeds {' '.join(map(str, args.seeds))}: repeated seeds would count one run twice")
    if len(args.seeds) < 2:
        problems.append("--seeds: give at least 2 (3 or more to tell a difference from the seed spread)")
    if args.max_steps < 1:
        problems.append(f"--max_steps must be >= 1, got {args.max_steps}")
    if args.head_warmup_steps < 0:
        problems.append(f"--head_warmup_steps must be >= 0, got {args.head_warmup_steps}")
    elif args.head_warmup_steps and args.max_steps <= args.head_warmup_steps:
        problems.append(f"--max_steps {args.max_steps} must exceed --head_warmup_steps {args.head_warmup_steps} "
                        "(steps count the warm-up: the full stage would never run); raise --max_steps or lower the warm-up")
    bad_seeds = [seed for seed in args.seeds if not 0 <= seed < 2**32]
    if bad_seeds:
        problems.append(f"--seeds {' '.join(map(str, bad_seeds))}: give seeds from 0 to 2**32 - 1 (numpy's range)")
    for name in ("learning_rate", "head_warmup_learning_rate", "classify_learning_rate", "classify_epochs"):
        if not (math.isfinite(getattr(args, name)) and getattr(args, name) > 0):
            problems.append(f"--{name} must be > 0, got {getattr(args, name)}")
    for name, low in (("classify_batch_size", 1), ("mlm_sentences", 1), ("mask_rounds", 1), ("max_length", 8)):
        if getattr(args, name) < low:
            problems.append(f"--{name} must be >= {low}, got {getattr(args, name)}")
    if args.probe_folds and not 2 <= args.probe_folds <= 31:
        problems.append(f"--probe_folds must be 0 (no probe) or 2 to 31 (the UDHR's parallel units), got {args.probe_folds}")
    model = Path(args.model)
    model_ok = True
    if str(args.model) == str(DEMO_ENCODER) and not (model / "config.json").is_file():
        problems.append(f"the default encoder is not in {model}: run `bash setup.sh` (it imports it)")
        model_ok = False
    else:
        try:
            check_source(args.model, "--model")
        except (ValueError, FileNotFoundError) as error:
            problems.append(str(error).rstrip("."))
            model_ok = False
    if model_ok and args.layers:
        try:
            depth = ev.checkpoint_config(args.model)["num_hidden_layers"]
        except (OSError, ValueError, KeyError):
            depth = None
        bad = [layer for layer in args.layers if depth is not None and not 0 <= layer <= depth]
        if bad:
            problems.append(f"--layers {' '.join(map(str, bad))}: {args.model} has {depth} layers, so give layers 0 (the embeddings) to {depth}")
    if args.train_script is None or (CHECKOUT is not None and Path(args.train_script).resolve() == CHECKOUT / "train.py"):
        problems += _check_train_args(args)
    problems += _check_output_dir(args)
    return problems


def _check_train_args(args):
    """train.py parses every run's flags (extras after --train_args included) without training: a bad flag is found now."""
    from langsamp.training.arguments import check_arguments, parse_arguments

    argv = ["--model_name_or_path", str(args.model), "--corpus", "corpus", "--output_dir", str(Path(args.output_dir) / "check"),
            "--max_steps", str(args.max_steps), *train_arguments(args)]
    try:
        # train.py's own checks, as each run will make them (numbers, reporting, evaluation, warm-up), minus the corpus
        # that is written later ("corpus" passes as a Hub id)
        check_arguments(*parse_arguments(argv))
    except (ValueError, FileNotFoundError, SystemExit) as error:
        return [f"train.py refuses the runs' flags: {str(error).rstrip('.')}"]
    return []


def _check_output_dir(args):
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
        return [f"--output_dir {output} is not empty and holds no {SETTINGS_FILE} of a comparison: pass --overwrite to replace "
                "what is there, or another --output_dir"]
    before = json.loads(saved.read_text(encoding="utf-8"))["training"]
    now = json.loads(json.dumps(_settings(args, TRAINING_SETTINGS)))
    changed = [f"--{name} {_show(before.get(name))} -> {_show(now[name])}" for name in TRAINING_SETTINGS if before.get(name) != now[name]]
    if changed:
        return [f"--output_dir {output} holds a comparison with other pretraining settings ({'; '.join(changed)}): pass --overwrite "
                "to replace it, or another --output_dir (the same settings resume it)"]
    return []


def _show(value):
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def _clear(output):
    """--overwrite: remove what a comparison writes (nothing else)."""
    for path in [*output.glob("seed*"), output / "corpus", output / "evaluations", output / "plots"]:
        if path.is_dir():
            shutil.rmtree(path)
    for name in (SETTINGS_FILE, "comparison.md", "results.json"):
        (output / name).unlink(missing_ok=True)


def _evaluation_file(output, column, seed):
    return output / "evaluations" / f"{column}_seed{seed}.json"


def _cached_evaluation(output, column, seed, settings):
    path = _evaluation_file(output, column, seed)
    if not path.is_file():
        return None
    saved = json.loads(path.read_text(encoding="utf-8"))
    return saved if saved.get("settings") == settings else None


def _int_keys(result):
    """JSON turned the per-layer keys into strings: back to ints."""
    for name in ("retrieval",):
        if name in result:
            result[name] = {int(k): v for k, v in result[name].items()}
    if "neutrality" in result:
        result["neutrality"]["per_layer"] = {int(k): v for k, v in result["neutrality"]["per_layer"].items()}
    return result


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    problems = check_args(args)
    if problems:
        print(f"{parser.prog}: error: {'; '.join(problems)}.", file=sys.stderr)
        sys.exit(2)
    output = Path(args.output_dir)
    if args.overwrite and output.is_dir():
        print(f"--overwrite: removing the earlier comparison in {output}", flush=True)
        _clear(output)
    output.mkdir(parents=True, exist_ok=True)
    few = len(args.languages) < 3
    if few:
        print(f"Only {len(args.languages)} languages: the pictures need at least 3, so they are left out.", flush=True)
    no_uriel = uriel_unavailable(args.languages)
    if no_uriel:
        print(f"The URIEL correlation is left out: {no_uriel}. Everything else is measured.", flush=True)
    (output / SETTINGS_FILE).write_text(json.dumps({"training": _settings(args, TRAINING_SETTINGS)}, indent=2) + "\n", encoding="utf-8")
    started = time.perf_counter()
    translations = write_corpus(output / "corpus", args.languages)
    timings = {}
    runs = {(variant, seed): output / f"seed{seed}" / variant for seed in args.seeds for variant in VARIANTS}
    missing = [str(path) for (variant, seed), path in runs.items() if not (path.parent / f"{variant}.done").is_file()]
    if args.skip_training and missing:
        print(f"{parser.prog}: error: --skip_training: {', '.join(missing)} hold no finished run; run without "
              "--skip_training (finished runs are kept).", file=sys.stderr)
        sys.exit(2)
    reused = len(runs) - len(missing)
    if reused:
        print(f"Resuming {output}: {reused} of {len(runs)} pretraining runs are finished and kept.", flush=True)
    for (variant, seed), run_dir in runs.items():
        done = run_dir.parent / f"{variant}.done"
        if done.is_file():
            timings[f"pretrain_{variant}_seed{seed}_s"] = json.loads(done.read_text())["seconds"]
            continue
        if run_dir.exists():  # an interrupted run: train.py starts it again from its first step
            shutil.rmtree(run_dir)
        t = time.perf_counter()
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        pretrain(variant, seed, args.model, output / "corpus", run_dir, args.max_steps, train_arguments(args),
                 run_dir.parent / f"{variant}.log", args.train_script)
        timings[f"pretrain_{variant}_seed{seed}_s"] = round(time.perf_counter() - t)
        done.write_text(json.dumps({"seconds": timings[f"pretrain_{variant}_seed{seed}_s"]}) + "\n", encoding="utf-8")

    # The same fine-tuning seed for a pretraining seed's two runs (identical fine-tuning data order and head init);
    # the starting encoder is fine-tuned once per seed too, so its column has a spread from fine-tuning alone.
    # Every evaluation is saved as it finishes (evaluations/), so a re-run with the same settings skips it.
    settings = json.loads(json.dumps(_settings(args, EVALUATION_SETTINGS)))
    evaluated = {column: [] for column in COLUMNS}
    raw = {}
    for index, seed in enumerate(args.seeds):
        for column in COLUMNS:
            checkpoint = args.model if column == "start" else runs[(column, seed)]
            cached = _cached_evaluation(output, column, seed, settings)
            if cached:
                print(f"[{column}, seed {seed}] evaluated before: {_evaluation_file(output, column, seed)}", flush=True)
                result, seconds = _int_keys(cached["result"]), cached["seconds"]
            else:
                t = time.perf_counter()
                print(f"[{column}, seed {seed}] evaluating {checkpoint}", flush=True)
                # The start's retrieval, neutrality and masked LM do not depend on the seed: computed once.
                first = raw.get(("start", args.seeds[0])) if column == "start" else None
                reuse = {key: first[key] for key in ("retrieval", "neutrality", "mlm")} if first else None
                result = evaluate_run(checkpoint, args.languages, translations, args, classify_seed=index, reuse=reuse,
                                      uriel=column == "langsamp" and not no_uriel)
                seconds = round(time.perf_counter() - t)
                ev.write_json(json.loads(json.dumps({"settings": settings, "seconds": seconds, "result": result}, default=str)),
                              _evaluation_file(output, column, seed))
            raw[(column, seed)] = result
            evaluated[column].append(figures(result))
            timings[f"evaluate_{column}_seed{seed}_s"] = seconds
    plots = {}
    if not few:
        plots = ev.plot_language_embeddings(
            runs[("langsamp", args.seeds[0])], output / "plots", languages=list(args.languages),
            title=f"LangSAMP language embeddings after {args.max_steps} steps (seed {args.seeds[0]})",
        )
    timings["total_s"] = sum(timings.values())  # pretraining and evaluation time, the reused parts' included
    timings["this_invocation_s"] = round(time.perf_counter() - started)

    rows = summarise(evaluated)
    uriel = uriel_rows([raw[("langsamp", seed)]["uriel"] for seed in args.seeds]) if not no_uriel else None
    depth = ev.checkpoint_config(args.model)["num_hidden_layers"]
    key_layers = sorted({8, depth, *(best_layer(rows, column) for column in COLUMNS)} & set(args.layers or range(1, depth + 1)))
    description = describe_runs(output, args, argv, timings, rows, runs)
    text = markdown(rows, description, key_layers, uriel)
    print("\n" + text)
    (output / "comparison.md").write_text(text, encoding="utf-8")
    serialisable = {
        "settings": vars(args),
        "timings": timings,
        "plots": {name: str(path) for name, path in plots.items()},
        "rows": rows,
        "uriel_rows": uriel,
        "results": {f"{column}/seed{seed}": result for (column, seed), result in raw.items()},
        "paper": [{"metric": n, "baseline": b, "langsamp": o} for n, b, o in PAPER_FIGURES],
    }
    (output / "results.json").write_text(json.dumps(serialisable, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"written: {output / 'comparison.md'}, {output / 'results.json'}" + (f", pictures in {output / 'plots'}" if plots else ""))
    return rows


def cli(argv=None):
    """The command line (`python compare_baseline.py`, `langsamp-compare-baseline`): exit status 0 once the tables are
    written (main returns the rows for code that calls it)."""
    main(argv)


def describe_runs(output, args, argv, timings, rows, runs):
    """How the figures were made, read back from the runs themselves (steps, model size)."""
    config = json.loads((runs[("langsamp", args.seeds[0])] / "config.json").read_text())
    steps = sorted({json.loads((path / "trainer_state.json").read_text())["global_step"] for path in runs.values()
                    if (path / "trainer_state.json").is_file()})
    command = f"{command_line('compare_baseline.py')} {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip()
    targets = len(args.languages) - 1
    best = {column: best_layer(rows, column) for column in COLUMNS}
    warmup = (f"the first {args.head_warmup_steps} train only the LM head and the tables at {args.head_warmup_learning_rate:g}, "
              f"the rest everything at a peak {args.learning_rate:g}" if args.head_warmup_steps else f"peak lr {args.learning_rate:g}")
    return (
        f"Made by `{command}` on {os.cpu_count()} CPU cores, {timings['total_s'] / 60:.0f} min of pretraining and evaluation in all. "
        f"Start: `{args.model}` ({config['num_hidden_layers']} layers x {config['hidden_size']}). "
        f"Pretraining: {len(args.languages)} UDHR languages (articles 26-30 held out), {'/'.join(map(str, steps)) or args.max_steps} steps of "
        f"8 x 128 tokens per run ({warmup}), seeds {', '.join(map(str, args.seeds))} (per seed, baseline and LangSAMP see the "
        f"same chunks, masks and initial weights). Cells: mean ± sd over the {len(args.seeds)} seeds (start: over fine-tuning "
        f"seeds only). Retrieval: English queries against {targets} languages, 31 UDHR units each (chance: top-1 3.2%, top-10 "
        f"32%); best top-1 layer: start {best['start']}, baseline {best['baseline']}, LangSAMP {best['langsamp']} (every layer in "
        f"results.json). Neutrality: cosine of parallel UDHR units' mean-pooled states, mean over language pairs (and minus the "
        f"same for non-parallel units); language-ID probe: {args.probe_folds}-fold logistic regression at the embeddings, a third "
        f"and two thirds of the depth and the last layer (chance "
        f"{100 / len(args.languages):.1f}%). Topics: 6 classes, fine-tuned on English ({args.classify_epochs:g} epochs at "
        f"{args.classify_learning_rate:g}, batch {args.classify_batch_size}), zero-shot on the {targets} others (majority-class "
        f"accuracy 28.9%, macro-F1 7.5%). Masked LM: held-out articles 26-30, {args.mlm_sentences} paragraphs a language, "
        f"{args.mask_rounds} mask draws (the start's LM head is untrained: its perplexity shows that). 'Exceeds seed spread': "
        f"paired t-test p < 0.05 over seeds and |difference| larger than either variant's sd."
    )


if __name__ == "__main__":
    main()
