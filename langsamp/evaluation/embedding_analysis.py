"""The learned language (and script) embeddings: similarities, nearest languages, recommended source languages for a
target, and PNG pictures (clustered heatmap, PCA map, dendrogram, script heatmap)."""

import logging
from pathlib import Path

import numpy as np
import torch.nn.functional as F

from langsamp.evaluation.languages import model_languages, trained_languages
from langsamp.evaluation.models import checkpoint_config, is_langsamp_checkpoint, load_model

logger = logging.getLogger(__name__)

# Languages the analysis pictures show when none are named: widely known languages across families and scripts.
ANALYSIS_LANGUAGES = tuple(
    """eng_Latn deu_Latn nld_Latn swe_Latn dan_Latn isl_Latn fra_Latn spa_Latn por_Latn ita_Latn ron_Latn cat_Latn
    rus_Cyrl ukr_Cyrl bul_Cyrl srp_Cyrl pol_Latn ces_Latn slv_Latn lit_Latn lav_Latn ell_Grek hye_Armn kat_Geor
    hin_Deva mar_Deva ben_Beng urd_Arab pes_Arab pus_Arab arb_Arab heb_Hebr amh_Ethi tur_Latn kaz_Cyrl uzb_Latn
    fin_Latn est_Latn hun_Latn cmn_Hani jpn_Jpan kor_Hang vie_Latn tha_Thai khm_Khmr ind_Latn tgl_Latn swh_Latn
    yor_Latn hau_Latn tam_Taml tel_Telu""".split()
)

NO_LANGUAGE_TABLE = (
    "{what} has no learned language embeddings ({why}). The analysis needs a LangSAMP masked-LM checkpoint "
    "pretrained with the language table (use_lang_embedding=True); the paper's baseline, stock XLM-R and "
    "fine-tuned task heads have none."
)


def embedding_model(model):
    """A loaded model that has a language table, or a clear ValueError (checked before loading a path)."""
    if isinstance(model, (str, Path)):
        config = checkpoint_config(model)
        if not is_langsamp_checkpoint(model):
            raise ValueError(
                NO_LANGUAGE_TABLE.format(
                    what=f"Checkpoint {str(model)!r}", why=f"model_type {config.get('model_type')!r} is not LangSAMP"
                )
            )
        if config.get("use_lang_embedding", True) is False:
            raise ValueError(
                NO_LANGUAGE_TABLE.format(what=f"Checkpoint {str(model)!r}", why="use_lang_embedding=False")
            )
        model = load_model(model, "masked-lm")
    tables = getattr(model, "language_script_embeddings", None)
    if tables is None or tables.language_embeddings is None:
        why = "use_lang_embedding=False" if tables is not None else f"{type(model).__name__} carries no LangSAMP tables"
        raise ValueError(NO_LANGUAGE_TABLE.format(what="This model", why=why))
    return model


def check_analysis_inputs(checkpoint, codes, plot_languages=None, plot_dir=None):
    """Before the weights load: each of `codes` names a language of the checkpoint's inventory (a bad code is named),
    and pictures (`plot_dir`) of `plot_languages` show at least 3 languages. `checkpoint`: a path or Hub id."""
    from langsamp_codes import parse_language

    inventory = model_languages(checkpoint_config(checkpoint))
    for code in codes if inventory else []:
        parse_language(code, inventory)
    if plot_dir and plot_languages and len(set(plot_languages)) < 3:
        raise ValueError(f"--plot-dir needs at least 3 --languages for its pictures, got {' '.join(plot_languages)}.")


def _language_codes(model, languages):
    from langsamp_codes import parse_language

    inventory = list(model.config.languages)
    if languages is None:
        return inventory
    return list(dict.fromkeys(parse_language(code, inventory)[0] for code in languages))


def language_similarity(model, languages=None):
    """Cosine similarities between learned language embeddings: (codes, `[n, n]` numpy array).
    `languages` takes any code the tokenizer accepts (`hi`, `hin_Deva`); default all of the model's."""
    model = embedding_model(model)
    codes = _language_codes(model, languages)
    vectors = F.normalize(model.language_embedding(codes).double(), dim=-1)  # float64: rank ties survive rounding
    return codes, (vectors @ vectors.T).numpy()


def script_similarity(model, scripts=None):
    """Cosine similarities between learned script embeddings: (codes, `[n, n]` numpy array)."""
    model = embedding_model(model)
    if model.language_script_embeddings.script_embeddings is None:
        raise ValueError("This model has no script embeddings (use_script_embedding=False).")
    codes = list(model.config.scripts) if scripts is None else list(scripts)
    vectors = F.normalize(model.script_embedding(codes).float(), dim=-1)
    return codes, (vectors @ vectors.T).numpy()


def nearest_languages(model, lang, k=5, candidates=None, all_languages=False):
    """The `k` languages whose embeddings are most cosine-similar to `lang`'s: [(iso639_3, similarity)], best first.

    When the checkpoint records the pairs it was trained on (`config.trained_pairs`), only their languages are
    ranked (the other rows never left their random initialisation); candidates outside them are dropped with a
    warning. all_languages=True ranks every candidate (default: every language of the inventory).
    """
    from langsamp_codes import parse_language

    if not isinstance(k, int) or isinstance(k, bool) or k < 1:  # before the checkpoint loads
        raise ValueError(f"k={k!r} must be a positive integer.")
    model = embedding_model(model)
    target = parse_language(lang, list(model.config.languages))[0]
    pool = [code for code in _language_codes(model, candidates) if code != target]
    trained = None if all_languages else trained_languages(model)
    if trained:
        untrained = [code for code in pool if code not in trained]
        if untrained and candidates is not None:
            logger.warning(
                "Ranking only the languages this checkpoint was trained on (config.trained_pairs); left out: %s. "
                "Pass all_languages=True (--all-languages) to rank them too.",
                ", ".join(untrained),
            )
        pool = [code for code in pool if code in trained]
        if target not in trained:
            logger.warning(
                "%s was not among the trained languages: its embedding is its random initialisation.", target
            )
    if not pool:
        raise ValueError(
            f"No candidate language besides {target!r}"
            + (" among the trained languages (pass --all-languages to rank the others)." if trained else ".")
        )
    vectors = F.normalize(model.language_embedding([target] + pool).float(), dim=-1)
    scores = (vectors[1:] @ vectors[0]).tolist()
    ranked = sorted(zip(pool, scores), key=lambda item: -item[1])
    return [(code, float(score)) for code, score in ranked[:k]]


def recommend_source_languages(model, target, k=5, candidates=None, all_languages=False):
    """Rank candidate source languages for zero-shot transfer to `target` by the cosine similarity of their learned
    language embeddings (the paper's use of the table): [(iso639_3, similarity)], best first.

    candidates: the languages you have training data in (e.g. ["eng", "deu", "rus", "hin", "cmn", "arb"]); default
    every language of the model (only the trained ones when the checkpoint records them, unless all_languages).
    """
    return nearest_languages(model, target, k=k, candidates=candidates, all_languages=all_languages)


# Colours dark enough to read as label text on white, the most distinct first (tab10, then the darker tab20b/c).
SCRIPT_PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#111111",
    "#e6550d",
    "#31a354",
    "#756bb1",
    "#636363",
    "#5254a3",
    "#8ca252",
    "#bd9e39",
    "#ad494a",
    "#a55194",
    "#6baed6",
    "#fd8d3c",
    "#74c476",
    "#9e9ac8",
    "#969696",
)


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


def plot_language_embeddings(model, plot_dir, languages=None, max_languages=60, title=None):
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
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from scipy.cluster.hierarchy import dendrogram, leaves_list, linkage
    from scipy.spatial.distance import squareform
    from sklearn.decomposition import PCA

    from langsamp.evaluation.arguments import check_int, check_output_folder
    from langsamp_codes import parse_language

    check_int("max_languages", max_languages, minimum=3, why=" (a picture needs at least 3 languages)")
    check_output_folder(plot_dir, "plot_dir")
    model = embedding_model(model)
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
    plot_dir = Path(plot_dir)
    plot_dir.mkdir(parents=True, exist_ok=True)
    scripts, colour, legend_order = _script_colours(codes, named)
    labels = _language_names(codes)
    legend = [Line2D([], [], marker="o", linestyle="", color=colour[s], label=s) for s in legend_order]
    title = title or "LangSAMP language embeddings"
    written = {}
    n = len(codes)

    distance = np.clip(1 - similarity, 0, None)
    np.fill_diagonal(distance, 0)
    tree = linkage(squareform((distance + distance.T) / 2, checks=False), method="average")
    order = leaves_list(tree)

    # Heatmap, clustered order so that groups show as blocks; the diagonal (always 1) is greyed out so that the colour
    # scale spans the off-diagonal similarities.
    side = max(6.0, 0.3 * n + 2.5)
    fig, ax = plt.subplots(figsize=(side + 1.5, side))
    shown = similarity[np.ix_(order, order)].astype(float)
    np.fill_diagonal(shown, np.nan)
    limit = float(np.nanmax(np.abs(shown))) or 1.0
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="#d9d9d9")
    image = ax.imshow(shown, cmap=cmap, vmin=-limit, vmax=limit)
    if n <= 16:  # few enough cells to print the values
        for i in range(n):
            for j in range(n):
                if i != j:
                    ax.text(
                        j,
                        i,
                        f"{shown[i, j]:.2f}",
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white" if abs(shown[i, j]) > 0.6 * limit else "black",
                    )
    ax.set_xticks(range(n), [codes[i] for i in order], rotation=90, fontsize=9)
    ax.set_yticks(range(n), [labels[i] for i in order], fontsize=9)
    for ticks in (ax.get_xticklabels(), ax.get_yticklabels()):
        for tick, i in zip(ticks, order):
            tick.set_color(colour[scripts[i]])
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="cosine similarity (diagonal greyed out)")
    ax.set_title(f"{title}: cosine similarity\n(clustered order; labels coloured by script)", fontsize=12)
    ax.legend(handles=legend, title="script", loc="upper left", bbox_to_anchor=(1.25, 1.0), fontsize=9, frameon=False)
    fig.tight_layout()
    written["heatmap"] = plot_dir / "language_similarity_heatmap.png"
    fig.savefig(written["heatmap"], dpi=130, bbox_inches="tight")
    plt.close(fig)

    # 2-D map: PCA of the unit-normalised vectors (cosine geometry).
    vectors = F.normalize(model.language_embedding(codes).float(), dim=-1).numpy()
    pca = PCA(n_components=2).fit(vectors)
    points = pca.transform(vectors)
    fig, ax = plt.subplots(figsize=(10, 8))
    for script in legend_order:
        members = [i for i in range(n) if scripts[i] == script]
        ax.scatter(
            points[members, 0],
            points[members, 1],
            s=60,
            color=colour[script],
            label=script,
            edgecolor="white",
            linewidth=0.6,
            zorder=3,
        )
    for i, code in enumerate(codes):
        ax.annotate(code, points[i], xytext=(4, 3), textcoords="offset points", fontsize=9, color="#222222")
    variance = pca.explained_variance_ratio_ * 100
    ax.set_xlabel(f"PC 1 ({variance[0]:.0f}% of variance)")
    ax.set_ylabel(f"PC 2 ({variance[1]:.0f}% of variance)")
    ax.set_title(f"{title}: 2-D map (PCA), coloured by script", fontsize=12)
    ax.grid(alpha=0.3)
    ax.legend(title="script", loc="best", fontsize=9)
    fig.tight_layout()
    written["map"] = plot_dir / "language_map_pca.png"
    fig.savefig(written["map"], dpi=130)
    plt.close(fig)

    # Dendrogram.
    fig, ax = plt.subplots(figsize=(8, max(5.0, 0.28 * n + 1.5)))
    dendrogram(
        tree,
        labels=labels,
        orientation="left",
        ax=ax,
        color_threshold=0,
        above_threshold_color="#555555",
        leaf_font_size=9,
    )
    for tick in ax.get_yticklabels():
        code = tick.get_text().split(" ")[0]
        tick.set_color(colour[scripts[codes.index(code)]])
    ax.set_xlabel("cosine distance (average linkage)")
    ax.set_title(f"{title}: hierarchical clustering\n(labels coloured by script)", fontsize=12)
    fig.tight_layout()
    # Below the axes: the leaf labels take the space on the right.
    fig.legend(
        handles=legend,
        title="script",
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=min(8, len(legend)),
        fontsize=9,
        frameon=False,
    )
    written["dendrogram"] = plot_dir / "language_dendrogram.png"
    fig.savefig(written["dendrogram"], dpi=130, bbox_inches="tight")
    plt.close(fig)

    if model.language_script_embeddings.script_embeddings is not None:
        script_codes, script_sim = script_similarity(model)
        m = len(script_codes)
        fig, ax = plt.subplots(figsize=(0.32 * m + 3, 0.32 * m + 2.5))
        image = ax.imshow(script_sim, cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_xticks(range(m), script_codes, rotation=90, fontsize=9)
        ax.set_yticks(range(m), script_codes, fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="cosine similarity")
        ax.set_title(f"{title}: script embeddings", fontsize=12)
        fig.tight_layout()
        written["scripts"] = plot_dir / "script_similarity_heatmap.png"
        fig.savefig(written["scripts"], dpi=130)
        plt.close(fig)
    return written
