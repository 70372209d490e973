"""LangSAMP against the paper's baseline: the same continual pretraining twice with train.py, once with the language
and script tables (LangSAMP) and once without (`--use_lang_embedding False --use_script_embedding False`), then
the same evaluations of both (langsamp_eval.py), side by side as a markdown table.

    python compare_baseline.py                                   # the offline default (UDHR, small model, CPU)
    python compare_baseline.py --max_steps 2000 --output_dir outputs/compare-long
    python compare_baseline.py --skip_training --output_dir outputs/compare   # evaluate existing runs again
    python compare_baseline.py --train_args --model_name_or_path FacebookAI/xlm-roberta-base --max_seq_length 512 ...

Everything after `--train_args` goes to both train.py runs unchanged (and overrides the defaults below).

Offline default: the UDHR in the 41 languages / 23 scripts of train.py's demo. Pretraining text = every paragraph
except articles 26-30, which are held out for the masked-LM evaluation. No XLM-R weights install offline, so both
runs train the same small XLM-R-shaped model (XLM-R's real 250,002-piece vocabulary) from the same random
initialisation (same seed); the figures measure the method at toy scale, not the paper's models.

Evaluations (the tables are never used by the first two, as in the paper):
  * sentence retrieval on the UDHR (English queries, 31 articles a language), top-1 / top-10, at every layer;
  * the Taxi1500-like UDHR topic task: fine-tune on English, test zero-shot on the other languages, macro-F1,
    averaged over `--classify_seeds` fine-tuning seeds;
  * masked-LM accuracy and pseudo-perplexity on the held-out articles;
  * for LangSAMP only, pictures of the learned language embeddings.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import langsamp_eval as ev

ROOT = Path(__file__).resolve().parent

# train.py's demo languages: 41 UDHR translations in 23 scripts, all in the LangSAMP inventory.
LANGUAGES = (
    "eng_Latn deu_Latn fra_Latn spa_Latn ind_Latn swh_Latn yor_Latn tur_Latn vie_Latn hau_Latn "
    "rus_Cyrl ukr_Cyrl kaz_Cyrl arb_Arab pes_Arab urd_Arab uig_Arab hye_Armn ben_Beng hin_Deva mar_Deva "
    "amh_Ethi kat_Geor ell_Grek guj_Gujr pan_Guru kor_Hang cmn_Hani heb_Hebr jpn_Jpan khm_Khmr kan_Knda "
    "lao_Laoo mal_Mlym mya_Mymr sin_Sinh tam_Taml tel_Telu div_Thaa tha_Thai bod_Tibt"
).split()

# The pretraining both runs share (train.py flags), sized for ~10 minutes on 2 CPU cores in all: a small model
# from a random start (its learning rate suits that, not the paper's 5e-5 for continuing XLM-R); most of a step is
# the 250,002-row vocabulary (embeddings, tied LM head). Positions: 128 tokens + RoBERTa's offset of 2.
TRAIN_DEFAULTS = [
    "--config_overrides", "hidden_size=64,num_hidden_layers=2,num_attention_heads=2,intermediate_size=256,max_position_embeddings=130",
    "--max_seq_length", "128",
    "--per_device_train_batch_size", "16",
    "--learning_rate", "5e-3",
    "--warmup_steps", "20",
    "--logging_steps", "20",
    "--save_strategy", "no",
    "--max_eval_samples", "0",
    "--dataloader_num_workers", "0",
    "--report_to", "none",
    "--seed", "42",
]

VARIANTS = {
    "baseline": ["--use_lang_embedding", "False", "--use_script_embedding", "False"],
    "langsamp": ["--use_lang_embedding", "True", "--use_script_embedding", "True"],
}

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


def pretrain(variant, corpus, output_dir, max_steps, extra_args, log_file, train_script=ROOT / "train.py"):
    """One train.py run in a subprocess (its own log); returns the checkpoint folder."""
    command = [
        sys.executable, str(train_script),
        "--corpus", str(corpus),
        "--output_dir", str(output_dir),
        "--max_steps", str(max_steps),
        *TRAIN_DEFAULTS,
        *VARIANTS[variant],
        *extra_args,  # last: argparse keeps the last value of a repeated flag
    ]
    print(f"[{variant}] python {' '.join(command[1:])}\n[{variant}] log: {log_file}", flush=True)
    started = time.perf_counter()
    with open(log_file, "w", encoding="utf-8") as log:
        process = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    if process.returncode != 0:
        tail = Path(log_file).read_text(encoding="utf-8").splitlines()[-30:]
        raise SystemExit(f"[{variant}] train.py failed (exit {process.returncode}); end of {log_file}:\n" + "\n".join(tail))
    print(f"[{variant}] trained in {time.perf_counter() - started:.0f} s", flush=True)
    return Path(output_dir)


def evaluate_run(checkpoint, languages, translations, args):
    """All evaluations of one checkpoint: {name: result}."""
    tokenizer = ev.load_tokenizer(checkpoint)
    encoder = ev.load_model(checkpoint, "encoder")
    corpus = {label: units for label, units in ev.udhr_parallel_corpus(translations).items() if label in languages}
    depth = encoder.config.num_hidden_layers
    layers = args.layers or list(range(1, depth + 1))
    clock = time.perf_counter()
    results = {"retrieval": ev.sentence_retrieval(encoder, tokenizer, corpus, source="eng_Latn", layer=layers, max_length=args.max_length)}
    del encoder
    print(f"  retrieval at layers {layers}: {time.perf_counter() - clock:.0f} s", flush=True)

    clock = time.perf_counter()
    train, tests, labels = ev.udhr_topic_classification(translations, source="eng_Latn", languages=languages)
    runs = []
    for seed in range(args.classify_seeds):
        runs.append(
            ev.zero_shot_transfer(
                checkpoint, tokenizer, train, tests, label_names=labels, source="eng_Latn",
                num_train_epochs=args.classify_epochs, learning_rate=args.classify_learning_rate,
                batch_size=16, max_length=args.max_length, seed=seed, warmup_steps=0.1, disable_tqdm=True, logging_strategy="no",
            )
        )
    results["classification"] = {
        "runs": runs,
        "macro_f1": float(np.mean([run["average"]["macro_f1"] for run in runs])),
        "macro_f1_std": float(np.std([run["average"]["macro_f1"] for run in runs])),
        "accuracy": float(np.mean([run["average"]["accuracy"] for run in runs])),
        "source_accuracy": float(np.mean([run["source_metrics"]["accuracy"] for run in runs])),
    }

    print(f"  topic classification, {args.classify_seeds} seed(s): {time.perf_counter() - clock:.0f} s", flush=True)

    clock = time.perf_counter()
    heldout = {label: texts for label, texts in ev.udhr_heldout_texts(translations).items() if label in languages}
    results["mlm"] = ev.masked_lm_quality(
        checkpoint, tokenizer, heldout, max_sentences=args.mlm_sentences, max_length=args.max_length,
        mask_rounds=args.mask_rounds, pseudo_perplexity=args.pseudo_perplexity,
    )
    print(f"  masked LM: {time.perf_counter() - clock:.0f} s", flush=True)
    return results


def comparison_rows(results):
    """(metric, baseline, langsamp) rows, in %, except perplexity."""
    base, ours = results["baseline"], results["langsamp"]
    rows = []
    for layer in base["retrieval"]:
        for k in ("top1", "top10"):
            rows.append((f"UDHR retrieval {k.replace('top', 'top-')} (layer {layer}), %", 100 * base["retrieval"][layer]["average"][k], 100 * ours["retrieval"][layer]["average"][k]))
    seeds = len(base["classification"]["runs"])
    rows.append((f"UDHR topics zero-shot macro-F1 (mean of {seeds} seeds), %", 100 * base["classification"]["macro_f1"], 100 * ours["classification"]["macro_f1"]))
    rows.append((f"UDHR topics zero-shot accuracy (mean of {seeds} seeds), %", 100 * base["classification"]["accuracy"], 100 * ours["classification"]["accuracy"]))
    rows.append((f"UDHR topics English training-set accuracy (mean of {seeds} seeds), %", 100 * base["classification"]["source_accuracy"], 100 * ours["classification"]["source_accuracy"]))
    rows.append(("Held-out masked-token accuracy, %", 100 * base["mlm"]["average"]["masked_accuracy"], 100 * ours["mlm"]["average"]["masked_accuracy"]))
    for name, label in (("masked_perplexity", "masked-token perplexity"), ("pseudo_perplexity", "pseudo-perplexity")):
        key = f"{name}_geomean"
        if key in base["mlm"]["average"]:
            rows.append((f"Held-out {label} (geometric mean over languages; lower is better)", base["mlm"]["average"][key], ours["mlm"]["average"][key]))
    return rows


def markdown(results, settings):
    rows = [(name, b, o, o - b) for name, b, o in comparison_rows(results)]
    table = ev.markdown_table(["measured here (offline default)", "baseline", "LangSAMP", "difference"], [(n, b, o, f"{d:+.2f}") for n, b, o, d in rows])
    paper = ev.markdown_table(
        ["reported for the paper (XLM-R base on Glot500-c; NOT measured here)", "baseline", "LangSAMP", "difference"],
        [(n, f"{b:.1f}", f"{o:.1f}", f"{o - b:+.1f}") for n, b, o in PAPER_FIGURES],
    )
    return f"{table}\n\n{settings}\n\n{paper}\n"


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output_dir", default="outputs/compare", help="runs, logs, results.json, comparison.md, plots")
    parser.add_argument("--max_steps", type=int, default=160, help="pretraining steps of each run")
    parser.add_argument("--languages", nargs="+", default=LANGUAGES, help="UDHR labels to pretrain and evaluate on (must include eng_Latn)")
    parser.add_argument("--skip_training", action="store_true", help="evaluate the runs already in --output_dir")
    parser.add_argument("--layers", type=int, nargs="+", default=None, help="retrieval layers (default: every layer)")
    parser.add_argument("--classify_seeds", type=int, default=3)
    parser.add_argument("--classify_epochs", type=float, default=30, help="over 45 English paragraphs: 3 steps an epoch")
    parser.add_argument("--classify_learning_rate", type=float, default=2e-3, help="suits the small default model; ~2e-5 for XLM-R base")
    parser.add_argument("--mlm_sentences", type=int, default=10, help="held-out paragraphs a language for the masked-LM figures")
    parser.add_argument("--mask_rounds", type=int, default=2, help="mask draws pooled for masked accuracy / perplexity")
    parser.add_argument("--pseudo_perplexity", action="store_true", help="also pseudo-perplexity (one forward per token: slow on CPU)")
    parser.add_argument("--max_length", type=int, default=128)
    parser.add_argument("--train_script", default=str(ROOT / "train.py"), help="the pretraining script (train.py's flags)")
    parser.add_argument("--train_args", nargs=argparse.REMAINDER, default=[], help="everything after this goes to train.py")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if "eng_Latn" not in args.languages:
        raise SystemExit("--languages must include eng_Latn: it is the source of retrieval queries and of fine-tuning.")
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    translations = write_corpus(output / "corpus", args.languages)
    timings = {}
    for variant in VARIANTS:
        run_dir = output / variant
        if args.skip_training:
            if not (run_dir / "config.json").is_file():
                raise SystemExit(f"--skip_training: {run_dir} holds no trained model; run without --skip_training first.")
            continue
        t = time.perf_counter()
        pretrain(variant, output / "corpus", run_dir, args.max_steps, args.train_args, output / f"{variant}.log", args.train_script)
        timings[f"pretrain_{variant}_s"] = round(time.perf_counter() - t)

    results = {}
    for variant in VARIANTS:
        t = time.perf_counter()
        print(f"[{variant}] evaluating", flush=True)
        results[variant] = evaluate_run(output / variant, args.languages, translations, args)
        timings[f"evaluate_{variant}_s"] = round(time.perf_counter() - t)
    plots = ev.plot_language_embeddings(
        output / "langsamp", output / "plots", languages=[label for label in args.languages], title="LangSAMP (toy run) language embeddings"
    )
    timings["total_s"] = round(time.perf_counter() - started)

    settings = describe_runs(output, args, argv, timings)
    text = markdown(results, settings)
    print("\n" + text)
    (output / "comparison.md").write_text(text, encoding="utf-8")
    serialisable = {
        "settings": vars(args),
        "timings": timings,
        "plots": {name: str(path) for name, path in plots.items()},
        "results": results,
        "paper": [{"metric": n, "baseline": b, "langsamp": o} for n, b, o in PAPER_FIGURES],
    }
    (output / "results.json").write_text(json.dumps(serialisable, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"written: {output / 'comparison.md'}, {output / 'results.json'}, pictures in {output / 'plots'}")
    return results


def describe_runs(output, args, argv, timings):
    """How the figures were made, read back from the runs themselves (steps, model size)."""
    import os

    config = json.loads((output / "langsamp" / "config.json").read_text())
    steps = {}
    for variant in VARIANTS:
        state = output / variant / "trainer_state.json"
        steps[variant] = json.loads(state.read_text())["global_step"] if state.is_file() else "?"
    command = f"python compare_baseline.py {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip()
    targets = len(args.languages) - 1
    return (
        f"Made by `{command}` on {os.cpu_count()} CPU cores, {timings['total_s']} s in all. "
        f"Pretraining: {len(args.languages)} UDHR languages (articles 26-30 held out), {steps['baseline']} (baseline) / "
        f"{steps['langsamp']} (LangSAMP) steps of 16 x {args.max_length} tokens, a {config['num_hidden_layers']}-layer x "
        f"{config['hidden_size']} XLM-R-shaped model with XLM-R's vocabulary from the same random initialisation. "
        f"Retrieval: English queries against {targets} languages, 31 UDHR units each (chance: top-1 3.2%, top-10 32%). "
        f"Topics: 6 classes, fine-tuned on English ({args.classify_epochs:g} epochs at {args.classify_learning_rate:g}, "
        f"{args.classify_seeds} seeds; majority-class accuracy 28.9%, macro-F1 7.5%), "
        f"zero-shot on the {targets} others. Masked LM: held-out articles 26-30, {args.mlm_sentences} paragraphs a "
        f"language, {args.mask_rounds} mask draws."
    )


if __name__ == "__main__":
    main()
