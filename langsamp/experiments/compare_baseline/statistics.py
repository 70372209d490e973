"""The comparison's figures and statistics: the scalar figures of an evaluated checkpoint, mean ± sd over seeds, the
paired test of LangSAMP against the baseline, and the same for the language table against URIEL."""

from __future__ import annotations

import numpy as np

from langsamp.experiments.compare_baseline.settings import COLUMNS

PERPLEXITY = "Held-out masked-token perplexity (geometric mean over languages; lower is better)"
URIEL_MEASURES = (
    ("rho", "Spearman rho, all pairs"),
    ("p_value", "permutation p, all pairs"),
    ("rho_different_script", "Spearman rho, different-script pairs"),
    ("p_value_different_script", "permutation p, different-script pairs"),
)


def figures(result: dict) -> dict[str, float]:
    """The scalar figures of one evaluated checkpoint: {metric name: value} (percentages, perplexity as is)."""
    out = {}
    for layer, one in result["retrieval"].items():
        for k in ("top1", "top10"):
            out[f"UDHR retrieval top-{k[3:]} (layer {layer}), %"] = 100 * one["average"][k]
    for layer, one in result["neutrality"]["per_layer"].items():
        out[f"Cross-language cosine of parallel sentences (layer {layer})"] = one["mean"]
        gap = one["mean"] - one["mean_non_parallel"]
        out[f"Cross-language cosine, parallel minus non-parallel (layer {layer})"] = gap
        if "lid_accuracy" in one:
            out[f"Language-ID probe accuracy (layer {layer}), %; lower = more neutral"] = 100 * one["lid_accuracy"]
    classification = result["classification"]
    out["UDHR topics zero-shot macro-F1, %"] = 100 * classification["average"]["macro_f1"]
    out["UDHR topics zero-shot accuracy, %"] = 100 * classification["average"]["accuracy"]
    out["UDHR topics English (source) accuracy, %"] = 100 * classification["source_metrics"]["accuracy"]
    out["Held-out masked-token accuracy, %"] = 100 * result["mlm"]["average"]["masked_accuracy"]
    out[PERPLEXITY] = result["mlm"]["average"]["masked_perplexity_geomean"]
    return out


def spread(values: np.ndarray) -> dict:
    """{mean, sd (sample sd; 0 for one value), n} of the values over seeds."""
    return {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0, "n": len(values)}


def summarise(per_seed: dict[str, list[dict[str, float]]]) -> list[dict]:
    """per_seed: {column: [figures(...) per seed]} -> rows of {metric, start, baseline, langsamp (mean, sd, n),
    difference (LangSAMP - baseline, paired by seed: mean, sd), p (paired t-test), exceeds_spread}."""
    from scipy.stats import ttest_rel

    rows = []
    for metric in per_seed["baseline"][0]:
        row = {"metric": metric}
        for column in COLUMNS:
            row[column] = spread(np.array([one[metric] for one in per_seed[column]]))
        base = np.array([one[metric] for one in per_seed["baseline"]])
        ours = np.array([one[metric] for one in per_seed["langsamp"]])
        diff = ours - base
        row["difference"] = {"mean": float(diff.mean()), "sd": float(diff.std(ddof=1)) if len(diff) > 1 else 0.0}
        p = float(ttest_rel(ours, base).pvalue) if len(diff) > 1 and diff.std() > 0 else float("nan")
        row["p"] = p
        # "Exceeds the seed spread": the paired difference is larger than the spread of either variant over seeds
        # and consistent (p < 0.05 in a paired t-test over the seeds).
        largest_sd = max(row["baseline"]["sd"], row["langsamp"]["sd"])
        row["exceeds_spread"] = bool(p < 0.05 and abs(diff.mean()) > largest_sd)
        rows.append(row)
    return rows


def uriel_rows(uriel_per_seed: list[dict]) -> list[dict]:
    """uriel_per_seed: [{"table": table_vs_uriel(...), "random_table": ...} per seed] -> rows of {measure, table,
    random_table (mean, sd, n)} for rho and p of every kind, over all pairs and over different-script pairs."""
    rows = []
    for kind in uriel_per_seed[0]["table"]:
        for key, what in URIEL_MEASURES:
            row = {"measure": f"URIEL {kind}: {what}"}
            for column in ("table", "random_table"):
                values = np.array([one[column][kind].get(key, np.nan) for one in uriel_per_seed], dtype=float)
                row[column] = spread(values)
            rows.append(row)
        first = uriel_per_seed[0]["table"][kind]
        rows[-4]["measure"] += f" ({first['n_languages']} languages, {first['n_pairs']} pairs)"
    return rows


def best_layer(rows: list[dict], column: str) -> int:
    """The layer whose UDHR retrieval top-1 (mean over seeds) is highest for `column`."""
    retrieval = [row for row in rows if row["metric"].startswith("UDHR retrieval top-1 ")]
    best = max(retrieval, key=lambda row: row[column]["mean"])
    return int(best["metric"].split("(layer ")[1].rstrip("), %"))
