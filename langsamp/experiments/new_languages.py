"""Languages new to a trained checkpoint's table: does a typology start help, and does an annealed alpha?

    python -m langsamp.experiments.new_languages --output_dir runs/new-languages          # the e5 encoder, the UDHR

A base run trains the starting encoder on `--base` pairs; each seed then continues it on the base pairs plus `--new`
ones (languages outside the release's table, one in a script it lacks), which join at `--stage` of the steps
(`--language_stages`), in three conditions: `typology` (new rows at their URIEL neighbours' weighted mean, constant
alpha), `random` (N(0, initializer_range), constant alpha) and `annealed` (typology rows, alpha 0.7,0.5@0.4,0.3@0.8).
Measured on the UDHR's held-out articles: the new languages' masked-token loss (mean cross-entropy, from the
geometric-mean perplexity) and the language table's rank correlation with URIEL syntax over base and new languages.
Reported per condition as mean +- sd over seeds, and typology vs random, annealed vs typology as paired differences
with a paired t-test: results.json and report.md in `--output_dir`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from langsamp import evaluation as ev
from langsamp.evaluation.uriel_similarity import table_vs_uriel
from langsamp.experiments.compare_baseline.runs import write_corpus
from langsamp.experiments.compare_baseline.statistics import spread
from langsamp.resources.demo import DEMO_ENCODER

BASE = ["eng_Latn", "deu_Latn", "fra_Latn", "fin_Latn", "rus_Cyrl", "arb_Arab", "hin_Deva", "kab_Latn"]
NEW = ["krl_Latn", "smn_Latn", "ady_Cyrl", "evn_Cyrl", "dje_Latn", "zgh_Tfng"]  # zgh_Tfng: a new script too
CONDITIONS = {
    "typology": ["--new_language_init", "typology", "--sampling_alpha", "0.3"],
    "random": ["--new_language_init", "random", "--sampling_alpha", "0.3"],
    "annealed": ["--new_language_init", "typology", "--sampling_alpha", "0.7,0.5@0.4,0.3@0.8"],
}
COMPARISONS = (("typology", "random"), ("annealed", "typology"))


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m langsamp.experiments.new_languages", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--model", default=None, help="The starting encoder (default: the imported e5 encoder).")
    parser.add_argument("--base", nargs="+", default=BASE)
    parser.add_argument("--new", nargs="+", default=NEW)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--base_steps", type=int, default=300)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--stage", type=float, default=0.5, help="The fraction of the steps the new pairs join at.")
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--mlm_sentences", type=int, default=16)
    args = parser.parse_args(argv)
    if set(args.base) & set(args.new):
        parser.error(f"--base and --new share {sorted(set(args.base) & set(args.new))}: the new pairs must be new.")
    if not 0 < args.stage < 1:
        parser.error(f"--stage {args.stage} is outside (0, 1).")
    return args


def train(model: str | Path, corpus: Path, output: Path, steps: int, seed: int, args, extra: list[str]) -> Path:
    """One train.py run, in this process; returns its output folder (kept when it finished before)."""
    from langsamp.training import cli

    if (output / "config.json").is_file():
        return output
    cli.main(
        [
            *("--model_name_or_path", str(model), "--corpus", str(corpus), "--output_dir", str(output)),
            *("--max_steps", str(steps), "--seed", str(seed), "--max_seq_length", str(args.max_seq_length)),
            *("--per_device_train_batch_size", str(args.batch_size), "--report_to", "none", "--save_strategy", "no"),
            *("--disable_tqdm", "true", "--max_eval_samples", "0", "--learning_rate", "5e-4"),
            *extra,
        ]
    )
    return output


def measure(checkpoint: Path, translations: dict, base: list[str], new: list[str], mlm_sentences: int) -> dict:
    """The new languages' held-out masked-token loss and the table's URIEL syntax correlation."""
    heldout = {label: texts for label, texts in ev.udhr_heldout_texts(translations).items() if label in new}
    mlm = ev.masked_lm_quality(checkpoint, None, heldout, max_sentences=mlm_sentences, pseudo_perplexity=False)
    losses = [math.log(one["masked_perplexity"]) for one in mlm["per_language"].values()]
    uriel = table_vs_uriel(checkpoint, [*base, *new], kinds=("syntax",), permutations=200)["syntax"]
    return {"new_language_mlm_loss": float(np.mean(losses)), "uriel_syntax_rho": uriel["rho"]}


def compare(results: dict, ours: str, theirs: str) -> dict:
    """Per figure: ours - theirs paired by seed (mean, sd) and the paired t-test's p (nan for one seed)."""
    from scipy.stats import ttest_rel

    rows = {}
    for figure in next(iter(results[ours].values())):
        a = np.array([results[ours][seed][figure] for seed in sorted(results[ours])])
        b = np.array([results[theirs][seed][figure] for seed in sorted(results[theirs])])
        diff = a - b
        p = float(ttest_rel(a, b).pvalue) if len(diff) > 1 and diff.std() > 0 else float("nan")
        rows[figure] = {"difference": spread(diff), "p": p}
    return rows


def report(results: dict, comparisons: dict) -> str:
    lines = ["| condition | figure | mean | sd | n |", "|---|---|---|---|---|"]
    for condition, per_seed in results.items():
        for figure in next(iter(per_seed.values())):
            one = spread(np.array([per_seed[seed][figure] for seed in sorted(per_seed)]))
            lines.append(f"| {condition} | {figure} | {one['mean']:.4f} | {one['sd']:.4f} | {one['n']} |")
    lines += ["", "| comparison | figure | difference mean | sd | paired t-test p |", "|---|---|---|---|---|"]
    for name, rows in comparisons.items():
        for figure, row in rows.items():
            d = row["difference"]
            lines.append(f"| {name} | {figure} | {d['mean']:+.4f} | {d['sd']:.4f} | {row['p']:.3g} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    args = arguments(argv)
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    model = args.model or str(DEMO_ENCODER)
    translations = write_corpus(output / "corpus-base", args.base)
    translations.update(write_corpus(output / "corpus-grown", [*args.base, *args.new]))
    base = train(model, output / "corpus-base", output / "base", args.base_steps, 0, args, [])
    stages = ["--language_stages", ",".join(args.new) + f"@{args.stage}"]
    results = {condition: {} for condition in CONDITIONS}
    for seed in args.seeds:
        for condition, extra in CONDITIONS.items():
            run = train(base, output / "corpus-grown", output / f"seed{seed}" / condition, args.steps, seed, args,
                        [*extra, *stages])  # fmt: skip
            results[condition][seed] = measure(run, translations, args.base, args.new, args.mlm_sentences)
    comparisons = {f"{a} - {b}": compare(results, a, b) for a, b in COMPARISONS}
    summary = {"settings": vars(args), "results": results, "comparisons": comparisons}
    (output / "results.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    (output / "report.md").write_text(report(results, comparisons), encoding="utf-8")
    print(report(results, comparisons), flush=True)
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
