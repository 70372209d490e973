"""PNG pictures of the learned language (and script) embeddings: a clustered similarity heatmap, a PCA map and a
dendrogram of the languages, coloured by script, and a heatmap of the script table."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch.nn.functional as F

from langsamp.evaluation.arguments import check_int, check_output_folder
from langsamp.evaluation.embedding_analysis import (
    ANALYSIS_LANGUAGES,
    embedding_model,
    language_similarity,
    script_similarity,
)

if TYPE_CHECKING:
    from transformers import PreTrainedModel

logger = logging.getLogger(__name__)

# Colours dark enough to read as label text on white, the most distinct first (tab10, then the darker tab20b/c).
SCRIPT_PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
    "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#111111", "#e6550d", "#31a354", "#756bb1", "#636363",
    "#5254a3", "#8ca252", "#bd9e39", "#ad494a", "#a55194", "#6baed6", "#fd8d3c", "#74c476", "#9e9ac8", "#969696",
)  # fmt: skip


def _script_colours(codes, named=None):
    """Each language's script and a colour per script, most frequent first. The script is the one its label
    named (`jpn_Jpan`), else the language's most frequent script in Glot500-c (langsamp_inventory.DEFAULT_SCRIPT;
    note that this is `Latn` for Japanese, whose romanised text outnumbers the rest there)."""
    from langsamp_inventory import DEFAULT_SCRIPT

    named = named or {}
    scripts = [named.get(code) or DEFAULT_SCRIPT.get(code, "?") for code in codes]
    ordered = sorted(set(scripts), key=lambda s: (-scripts.count(s), s))
    colour = {script: SCRIPT_PALETTE[i % len(SCRIPT_PALETTE)] for i, script in enumerate(ordered)}
    return scripts, colour, ordered


def _language_names(codes):
    """`code (Name)` labels where a name is known to `langcodes`, else the code (the package is optional)."""
    try:
        import langcodes
    except ImportError:
        return list(codes)
    labels = []
    for code in codes:
        try:
            name = langcodes.Language.get(code).display_name()
            labels.append(code if name.lower().startswith("unknown") else f"{code} ({name})")
        except Exception:  # noqa: BLE001 - a label is cosmetic
            labels.append(code)
    return labels


@dataclass
class _Picture:
    """What every picture of one call shares: the languages, their similarities, scripts and colours, the title."""

    codes: list
    similarity: np.ndarray
    scripts: list
    colour: dict
    legend_order: list
    labels: list
    legend: list
    title: str
    plot_dir: Path

    @property
    def n(self):
        return len(self.codes)


def plot_language_embeddings(
    model: str | Path | PreTrainedModel,
    plot_dir: str | Path,
    languages: list[str] | None = None,
    max_languages: int = 60,
    title: str | None = None,
) -> dict[str, Path]:
    """Write PNG pictures of the learned language embeddings into `plot_dir`:

    - `language_similarity_heatmap.png`: cosine similarities, rows ordered by hierarchical clustering;
    - `language_map_pca.png`: the languages on the first two principal components, coloured by script;
    - `language_dendrogram.png`: average-linkage clustering on cosine distance, labels coloured by script;
    - `script_similarity_heatmap.png` when the model has a script table.
    languages: which languages to show (default: ANALYSIS_LANGUAGES present in the model); at most `max_languages`.
    Returns {name: Path}.
    """
    import matplotlib

    matplotlib.use("Agg")
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    check_int("max_languages", max_languages, minimum=3, why=" (a picture needs at least 3 languages)")
    check_output_folder(plot_dir, "plot_dir")
    model = embedding_model(model)
    picture = _picture(model, Path(plot_dir), languages, max_languages, title)
    distance = np.clip(1 - picture.similarity, 0, None)
    np.fill_diagonal(distance, 0)
    tree = linkage(squareform((distance + distance.T) / 2, checks=False), method="average")
    order = leaves_list(tree)
    written = {
        "heatmap": _heatmap(picture, order),
        "map": _pca_map(picture, model),
        "dendrogram": _dendrogram(picture, tree),
    }
    if model.language_script_embeddings.script_embeddings is not None:
        written["scripts"] = _script_heatmap(picture, model)
    return written


def _picture(model, plot_dir, languages, max_languages, title):
    """The languages to show (each with the script its label named), their similarities, colours and labels."""
    from matplotlib.lines import Line2D

    from langsamp_codes import parse_language

    inventory = list(model.config.languages)
    if languages is None:
        languages = [label for label in ANALYSIS_LANGUAGES if label.split("_")[0] in inventory] or inventory
    named = {}
    for code in languages:
        language, script = parse_language(code, inventory)
        named.setdefault(language, script)
    codes, similarity = language_similarity(model, languages)
    if len(codes) < 3:
        raise ValueError(f"Pictures need at least 3 languages, got {codes}.")
    if len(codes) > max_languages:
        logger.warning("Showing the first %d of %d languages (max_languages).", max_languages, len(codes))
        codes, similarity = codes[:max_languages], similarity[:max_languages, :max_languages]
    plot_dir.mkdir(parents=True, exist_ok=True)
    scripts, colour, legend_order = _script_colours(codes, named)
    legend = [Line2D([], [], marker="o", linestyle="", color=colour[s], label=s) for s in legend_order]
    title = title or "LangSAMP language embeddings"
    return _Picture(codes, similarity, scripts, colour, legend_order, _language_names(codes), legend, title, plot_dir)


def _heatmap(picture, order):
    """Heatmap, clustered order so that groups show as blocks; the diagonal (always 1) is greyed out so that the colour
    scale spans the off-diagonal similarities."""
    import matplotlib
    import matplotlib.pyplot as plt

    n = picture.n
    side = max(6.0, 0.3 * n + 2.5)
    fig, ax = plt.subplots(figsize=(side + 1.5, side))
    shown = picture.similarity[np.ix_(order, order)].astype(float)
    np.fill_diagonal(shown, np.nan)
    limit = float(np.nanmax(np.abs(shown))) or 1.0
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="#d9d9d9")
    image = ax.imshow(shown, cmap=cmap, vmin=-limit, vmax=limit)
    if n <= 16:  # few enough cells to print the values
        for i in range(n):
            for j in range(n):
                if i != j:
                    colour = "white" if abs(shown[i, j]) > 0.6 * limit else "black"
                    ax.text(j, i, f"{shown[i, j]:.2f}", ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(n), [picture.codes[i] for i in order], rotation=90, fontsize=9)
    ax.set_yticks(range(n), [picture.labels[i] for i in order], fontsize=9)
    for ticks in (ax.get_xticklabels(), ax.get_yticklabels()):
        for tick, i in zip(ticks, order):
            tick.set_color(picture.colour[picture.scripts[i]])
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="cosine similarity (diagonal greyed out)")
    ax.set_title(f"{picture.title}: cosine similarity\n(clustered order; labels coloured by script)", fontsize=12)
    ax.legend(handles=picture.legend, title="script", loc="upper left", bbox_to_anchor=(1.25, 1.0), fontsize=9,
              frameon=False)  # fmt: skip
    fig.tight_layout()
    path = picture.plot_dir / "language_similarity_heatmap.png"
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return path


def _pca_map(picture, model):
    """2-D map: PCA of the unit-normalised vectors (cosine geometry)."""
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    vectors = F.normalize(model.language_embedding(picture.codes).float(), dim=-1).numpy()
    pca = PCA(n_components=2).fit(vectors)
    points = pca.transform(vectors)
    fig, ax = plt.subplots(figsize=(10, 8))
    for script in picture.legend_order:
        members = [i for i in range(picture.n) if picture.scripts[i] == script]
        ax.scatter(points[members, 0], points[members, 1], s=60, color=picture.colour[script], label=script,
                   edgecolor="white", linewidth=0.6, zorder=3)  # fmt: skip
    for i, code in enumerate(picture.codes):
        ax.annotate(code, points[i], xytext=(4, 3), textcoords="offset points", fontsize=9, color="#222222")
    variance = pca.explained_variance_ratio_ * 100
    ax.set_xlabel(f"PC 1 ({variance[0]:.0f}% of variance)")
    ax.set_ylabel(f"PC 2 ({variance[1]:.0f}% of variance)")
    ax.set_title(f"{picture.title}: 2-D map (PCA), coloured by script", fontsize=12)
    ax.grid(alpha=0.3)
    ax.legend(title="script", loc="best", fontsize=9)
    fig.tight_layout()
    path = picture.plot_dir / "language_map_pca.png"
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def _dendrogram(picture, tree):
    """Average-linkage clustering on cosine distance, leaf labels coloured by script."""
    import matplotlib.pyplot as plt
    from scipy.cluster.hierarchy import dendrogram

    fig, ax = plt.subplots(figsize=(8, max(5.0, 0.28 * picture.n + 1.5)))
    dendrogram(tree, labels=picture.labels, orientation="left", ax=ax, color_threshold=0,
               above_threshold_color="#555555", leaf_font_size=9)  # fmt: skip
    for tick in ax.get_yticklabels():
        code = tick.get_text().split(" ")[0]
        tick.set_color(picture.colour[picture.scripts[picture.codes.index(code)]])
    ax.set_xlabel("cosine distance (average linkage)")
    ax.set_title(f"{picture.title}: hierarchical clustering\n(labels coloured by script)", fontsize=12)
    fig.tight_layout()
    # Below the axes: the leaf labels take the space on the right.
    fig.legend(handles=picture.legend, title="script", loc="upper center", bbox_to_anchor=(0.5, 0.0),
               ncol=min(8, len(picture.legend)), fontsize=9, frameon=False)  # fmt: skip
    path = picture.plot_dir / "language_dendrogram.png"
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return path


def _script_heatmap(picture, model):
    """Cosine similarities of the script table."""
    import matplotlib.pyplot as plt

    script_codes, script_sim = script_similarity(model)
    m = len(script_codes)
    fig, ax = plt.subplots(figsize=(0.32 * m + 3, 0.32 * m + 2.5))
    image = ax.imshow(script_sim, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(m), script_codes, rotation=90, fontsize=9)
    ax.set_yticks(range(m), script_codes, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="cosine similarity")
    ax.set_title(f"{picture.title}: script embeddings", fontsize=12)
    fig.tight_layout()
    path = picture.plot_dir / "script_similarity_heatmap.png"
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
