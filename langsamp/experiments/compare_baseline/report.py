"""The comparison's report: the markdown tables (measured here, the language table against URIEL, the paper's
headline figures beside them), how the figures were made, the pictures of the language table, and results.json."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from langsamp import evaluation as ev
from langsamp.experiments.compare_baseline.methods import describe_runs
from langsamp.experiments.compare_baseline.recorded import read_run
from langsamp.experiments.compare_baseline.settings import COLUMNS
from langsamp.experiments.compare_baseline.statistics import best_layer

# Headline averages quoted for the paper (baseline -> LangSAMP, all languages; XLM-R base continually pretrained on
# Glot500-c), from summaries of the paper rather than its tables.
PAPER_FIGURES = [
    ("SR-B (Bible retrieval, top-10 acc., 369 languages)", 42.9, 45.1),
    ("SR-T (Tatoeba retrieval, top-10 acc., 98 languages)", 69.7, 71.1),
    ("Taxi1500 (topic classification, macro-F1)", 50.3, 53.4),
    ("SIB-200 (topic classification, macro-F1)", 75.0, 75.9),
    ("NER (WikiANN, F1)", 62.2, 62.6),
    ("POS (Universal Dependencies, F1)", 71.5, 71.6),
]
MEASURED_HEADER = ["measured here (offline default)", "start (no continual pretraining)", "baseline", "LangSAMP",
                   "LangSAMP - baseline", "p (paired t)", "exceeds seed spread"]  # fmt: skip
PAPER_HEADER = ["reported for the paper (XLM-R base on Glot500-c; NOT measured here)", "baseline", "LangSAMP",
                "difference"]  # fmt: skip
URIEL_HEADER = ["LangSAMP's language table vs URIEL similarity", "learned table (LangSAMP runs)",
                "random N(0, 0.02) table of the same shape (control)"]  # fmt: skip


def cell(stat: dict, digits: int = 1) -> str:
    """`mean ± sd` (the mean alone for one seed)."""
    return f"{stat['mean']:.{digits}f} ± {stat['sd']:.{digits}f}" if stat["n"] > 1 else f"{stat['mean']:.{digits}f}"


def uriel_markdown(rows: list[dict]) -> str:
    """statistics.uriel_rows as a markdown table: the learned table beside the random one."""
    return ev.markdown_table(
        URIEL_HEADER, [(row["measure"], cell(row["table"], 3), cell(row["random_table"], 3)) for row in rows]
    )


def markdown(rows: list[dict], settings: str, key_layers: list[int], uriel: list[dict] | None = None) -> str:
    """The comparison as markdown: the measured rows (per-layer rows at `key_layers` only), the URIEL table, how the
    figures were made (`settings`), and the paper's figures for reference."""
    shown = [
        row
        for row in rows
        if "(layer " not in row["metric"] or any(f"(layer {layer})" in row["metric"] for layer in key_layers)
    ]
    table_rows = []
    for row in shown:
        digits = 0 if "perplexity" in row["metric"] else 3 if "cosine" in row["metric"] else 1
        p = "n/a" if np.isnan(row["p"]) else f"{row['p']:.2f}"
        verdict = "yes" if row["exceeds_spread"] else "no"
        cells = [cell(row[column], digits) for column in COLUMNS]
        table_rows.append((row["metric"], *cells, f"{row['difference']['mean']:+.{max(digits, 1)}f}", p, verdict))
    table = ev.markdown_table(MEASURED_HEADER, table_rows)
    paper = ev.markdown_table(PAPER_HEADER, [(n, f"{b:.1f}", f"{o:.1f}", f"{o - b:+.1f}") for n, b, o in PAPER_FIGURES])
    uriel = f"{uriel_markdown(uriel)}\n\n" if uriel else ""
    return f"{table}\n\n{uriel}{settings}\n\n{paper}\n"


def key_layers(rows: list[dict], args: argparse.Namespace) -> list[int]:
    """The layers the table shows: the paper's 8th, the last and each column's best retrieval layer, among those
    evaluated."""
    depth = ev.checkpoint_config(args.model)["num_hidden_layers"]
    best = {8, depth, *(best_layer(rows, column) for column in COLUMNS)}
    return sorted(best & set(args.layers or range(1, depth + 1)))


def plot_table(runs: dict[tuple[str, int], Path], output: Path, args: argparse.Namespace) -> dict[str, Path]:
    """Pictures of the first seed's LangSAMP language table, in output/plots."""
    run = runs[("langsamp", args.seeds[0])]
    steps = read_run(run).steps
    after = "" if steps is None else f" after {steps} steps"  # as the run recorded it
    return ev.plot_language_embeddings(
        run, output / "plots", languages=list(args.languages),
        title=f"LangSAMP language embeddings{after} (seed {args.seeds[0]})",
    )  # fmt: skip


def write_report(
    output: Path,
    args: argparse.Namespace,
    argv: Sequence[str] | None,
    timings: dict[str, int],
    plots: dict[str, Path],
    rows: list[dict],
    uriel: list[dict] | None,
    raw: dict[tuple[str, int], dict],
    runs: dict[tuple[str, int], Path],
) -> None:
    """Print the tables; write them to output/comparison.md and everything (settings, timings, each result) to
    output/results.json."""
    description = describe_runs(args, argv, timings, rows, runs)
    text = markdown(rows, description, key_layers(rows, args), uriel)
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
    pictures = f", pictures in {output / 'plots'}" if plots else ""
    print(f"written: {output / 'comparison.md'}, {output / 'results.json'}{pictures}")
