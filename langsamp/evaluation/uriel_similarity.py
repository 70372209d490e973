"""Do the learned language embeddings encode how languages are related? The rank correlation of the language table's
pairwise cosine similarities with URIEL's typological and genealogical similarities (the paper's analysis claim:
the table knows language relationships, which makes it usable to pick source languages).

URIEL comes from PyPI `lang2vec==1.1.2` (Littell et al. 2017). Its Python module imports `pkg_resources` (gone from
current setuptools), so it is NOT imported: its `data/*.npz` files are located with importlib and read with numpy.
Similarities, each over languages' URIEL vectors:

* `syntax`: 1 - cosine distance of the `syntax_knn` vectors (103 binary WALS/SSWL/Ethnologue syntax features, missing
  values predicted by URIEL's k-NN; lang2vec's `feature_predictions.npz`), URIEL's "syntactic distance";
* `genetic`: 1 - cosine distance of the `fam` vectors (one binary feature per Glottolog family node the language
  descends from; `family_features.npz`) = shared ancestors / sqrt(depth_a * depth_b); 0 for unrelated languages;
* `geographic`: 1 - cosine distance of the `geo` vectors (the language's closeness to 299 fixed points on the globe;
  `geocoord_features.npz`), URIEL's "geographic distance".

Pairwise entries share languages, so they are not independent: the p-value comes from permuting the LANGUAGES of one
matrix (Mantel test), one-sided (a positive association). The control for languages that merely share a script (the
table could learn "same script" and URIEL relates many same-script languages) is the same correlation over the pairs
of DIFFERENT scripts only.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from transformers import PreTrainedModel

logger = logging.getLogger(__name__)

KINDS = {
    # kind: (file in lang2vec/data, feature-name prefix)
    "syntax": ("feature_predictions.npz", "S_"),
    "genetic": ("family_features.npz", "F_"),
    "geographic": ("geocoord_features.npz", "GC_"),
}
INSTALL = "pip install lang2vec==1.1.2"


def lang2vec_data_dir() -> Path:
    """lang2vec's data folder, found without importing the module (it imports the removed `pkg_resources`)."""
    spec = importlib.util.find_spec("lang2vec")
    if spec is None or not spec.origin:
        raise ImportError(
            f"URIEL similarities need lang2vec's data files: `{INSTALL}` (a dependency of the langsamp package)."
        )
    folder = Path(spec.origin).parent / "data"
    if not folder.is_dir():
        raise ImportError(f"lang2vec is installed but has no data folder ({folder}): reinstall it with `{INSTALL}`.")
    return folder


def uriel_features(codes: list[str], kind: str) -> tuple[list[str], np.ndarray]:
    """URIEL vectors of ISO 639-3 `codes` for `kind` ("syntax" or "genetic"): (codes found, `[n, features]` array).
    Codes URIEL does not know are left out with a warning."""
    if kind not in KINDS:
        raise ValueError(f"Unknown URIEL similarity kind {kind!r}: choose from {', '.join(KINDS)}.")
    filename, prefix = KINDS[kind]
    with np.load(lang2vec_data_dir() / filename) as database:
        languages = {code: i for i, code in enumerate(database["langs"].tolist())}
        columns = [i for i, name in enumerate(database["feats"].tolist()) if name.startswith(prefix)]
        found = [code for code in codes if code in languages]
        missing = [code for code in codes if code not in languages]
        rows = database["data"][[languages[code] for code in found]][:, columns, 0]
    if missing:
        logger.warning("URIEL has no %s features for %s: left out.", kind, ", ".join(missing))
    return found, rows.astype(np.float64)


def cosine_similarity_matrix(vectors: np.ndarray) -> np.ndarray:
    """`[n, n]` cosine similarities of the rows; a zero row (no feature: e.g. an isolate's family vector) is 0 to
    every other row and 1 to itself."""
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    unit = vectors / np.where(norms > 0, norms, 1.0)[:, None]
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, 1.0)
    return similarity


def uriel_similarity(codes: list[str], kind: str) -> tuple[list[str], np.ndarray]:
    """(codes found, `[n, n]` URIEL similarity = 1 - cosine distance of their `kind` vectors)."""
    found, vectors = uriel_features(codes, kind)
    return found, cosine_similarity_matrix(vectors)


TIE_DECIMALS = 9  # similarities closer than this are ties (float32 tables carry ~7 significant digits)


def _upper(matrix, pairs):
    return matrix[pairs[0], pairs[1]]


def permutation_rank_correlation(
    a: np.ndarray, b: np.ndarray, permutations: int = 1000, seed: int = 0, pair_mask: np.ndarray | None = None
) -> tuple[float, float, int]:
    """Spearman rank correlation of two symmetric `[n, n]` similarity matrices over their pairs i < j (or the pairs
    where `pair_mask[i, j]`), and its Mantel permutation p-value: the languages of `b` are permuted (rows and columns
    together; `a` and the mask stay), p = share of permutations whose correlation is >= the observed one (one-sided).
    When n! <= `permutations`, every permutation is enumerated (exact p, the identity counted); otherwise
    `permutations` random ones, p = (1 + count) / (1 + permutations). Returns (rho, p, number of pairs)."""
    from scipy.stats import rankdata

    # Rounded before ranking: similarities that are equal in exact arithmetic (URIEL's binary vectors give many) come
    # out of another BLAS or summation order unequal in their last bits, and would then rank apart by machine.
    a, b = (np.round(np.asarray(m, dtype=np.float64), TIE_DECIMALS) for m in (a, b))
    n = a.shape[0]
    if a.shape != (n, n) or b.shape != (n, n):
        raise ValueError(f"Both matrices must be square and of the same size, got {a.shape} and {b.shape}.")
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    if pair_mask is not None:
        upper &= np.asarray(pair_mask, dtype=bool)
    pairs = np.nonzero(upper)
    if len(pairs[0]) < 3:
        raise ValueError(f"A rank correlation needs at least 3 pairs, got {len(pairs[0])} (n = {n} languages).")
    ranks_a = rankdata(_upper(a, pairs))
    ranks_a = (ranks_a - ranks_a.mean()) / np.linalg.norm(ranks_a - ranks_a.mean())

    def rho(order):
        ranks_b = rankdata(_upper(b[np.ix_(order, order)], pairs))
        centred = ranks_b - ranks_b.mean()
        norm = np.linalg.norm(centred)
        return float(ranks_a @ centred / norm) if norm > 0 else 0.0

    observed = rho(np.arange(n))
    if math.factorial(n) <= permutations:
        values = [rho(np.array(order)) for order in itertools.permutations(range(n))]
        p = sum(value >= observed - 1e-12 for value in values) / len(values)
    else:
        generator = np.random.default_rng(seed)
        count = sum(rho(generator.permutation(n)) >= observed - 1e-12 for _ in range(permutations))
        p = (1 + count) / (1 + permutations)
    return observed, float(p), len(pairs[0])


def _languages_and_scripts(model, languages):
    """ISO 639-3 codes in first-seen order and each one's scripts (the `<lang>_<Script>` pairs' own, else the
    language's most frequent script in Glot500-c)."""
    from langsamp_codes import parse_language
    from langsamp_inventory import DEFAULT_SCRIPT

    scripts = {}
    for label in languages:
        code, script = parse_language(label, list(model.config.languages))
        scripts.setdefault(code, set()).add(script or DEFAULT_SCRIPT.get(code, "?"))
    return list(scripts), scripts


def table_vs_uriel(
    model: str | Path | PreTrainedModel,
    languages: list[str],
    kinds: tuple[str, ...] = ("syntax", "genetic"),
    permutations: int = 1000,
    seed: int = 0,
) -> dict:
    """How well the model's language table ranks language pairs like URIEL does.

    model: a LangSAMP masked LM with a language table (or a checkpoint path). languages: the trained
    `<lang>_<Script>` pairs or ISO 639-3 codes (pairs sharing a language collapse: the table is indexed by language).
    Returns {kind: {"rho", "p_value", "n_languages", "n_pairs", "rho_different_script", "p_value_different_script",
    "n_pairs_different_script"}}:
    Spearman's rho of table cosine similarity vs URIEL similarity over all pairs of the languages URIEL knows, its
    Mantel permutation p-value (`permutation_rank_correlation`), and the same over the pairs whose languages share no
    script (the control for languages that merely share one).
    """
    from langsamp.evaluation.embedding_analysis import embedding_model, language_similarity

    model = embedding_model(model)
    codes, scripts = _languages_and_scripts(model, languages)
    results = {}
    for kind in kinds:
        found, uriel = uriel_similarity(codes, kind)
        if len(found) < 4:
            raise ValueError(f"Too few languages for a rank correlation with URIEL ({kind}): {found} (need >= 4).")
        table_codes, table = language_similarity(model, found)
        assert table_codes == found
        different = np.array([[not (scripts[x] & scripts[y]) for y in found] for x in found])
        rho, p, n_pairs = permutation_rank_correlation(table, uriel, permutations, seed)
        try:
            rho_different, p_different, n_different = permutation_rank_correlation(
                table, uriel, permutations, seed, pair_mask=different
            )
        except ValueError:  # fewer than 3 pairs of different scripts
            rho_different, p_different, n_different = float("nan"), float("nan"), int(np.triu(different, k=1).sum())
        results[kind] = {
            "rho": rho,
            "p_value": p,
            "n_languages": len(found),
            "n_pairs": n_pairs,
            "rho_different_script": rho_different,
            "p_value_different_script": p_different,
            "n_pairs_different_script": n_different,
        }
    return results
