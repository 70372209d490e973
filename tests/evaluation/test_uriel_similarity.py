"""uriel_similarity.py against hand computations: Spearman's rho of two similarity matrices and its exact Mantel
permutation p over all 24 orders of 4 languages (rho from the no-ties formula 1 - 6 sum d^2 / (m (m^2 - 1))), the
URIEL similarities from lang2vec's real data files as set arithmetic on the binary features, and the table
correlation of a model whose language table holds URIEL's own vectors (rho exactly 1)."""

import itertools
import math

import numpy as np
import pytest
import torch
from fixtures.models import tiny_config

pytest.importorskip("scipy")

# 4 languages; upper-triangle pairs in the order (0,1) (0,2) (0,3) (1,2) (1,3) (2,3).
A = np.array([[1, 0.9, 0.1, 0.3], [0.9, 1, 0.2, 0.4], [0.1, 0.2, 1, 0.8], [0.3, 0.4, 0.8, 1]])
B = np.array([[1, 0.8, 0.3, 0.1], [0.8, 1, 0.2, 0.5], [0.3, 0.2, 1, 0.7], [0.1, 0.5, 0.7, 1]])


def spearman_no_ties(x, y):
    rank = lambda values: [sorted(values).index(v) + 1 for v in values]  # noqa: E731 - distinct values
    m = len(x)
    return 1 - 6 * sum((p - q) ** 2 for p, q in zip(rank(x), rank(y))) / (m * (m * m - 1))


def pairs_of(matrix, order=(0, 1, 2, 3)):
    return [matrix[order[i]][order[j]] for i, j in itertools.combinations(range(4), 2)]


def test_spearman_and_the_exact_permutation_p_on_four_languages():
    from langsamp.evaluation.uriel_similarity import permutation_rank_correlation

    # By hand: ranks of A's pairs (.9 .1 .3 .2 .4 .8) are 6 1 3 2 4 5, of B's (.8 .3 .1 .2 .5 .7) 6 3 1 2 4 5:
    # sum d^2 = 8, rho = 1 - 48 / 210.
    assert spearman_no_ties(pairs_of(A), pairs_of(B)) == pytest.approx(1 - 48 / 210)
    rho, p, n_pairs = permutation_rank_correlation(A, B, permutations=1000)  # 4! = 24 <= 1000: exact
    assert rho == pytest.approx(1 - 48 / 210) and n_pairs == 6
    # Every relabelling of B's languages, the identity included.
    null = [spearman_no_ties(pairs_of(A), pairs_of(B, order)) for order in itertools.permutations(range(4))]
    assert len(null) == 24
    expected = sum(value >= 1 - 48 / 210 - 1e-12 for value in null) / 24
    assert p == pytest.approx(expected) and 0 < p < 1
    # A's pairs are not independent observations: a pair-wise (not language-wise) shuffle would give another p.
    # Identical matrices: rho = 1, and only orders that keep every pair's rank reach it.
    rho_same, p_same, _ = permutation_rank_correlation(A, A, permutations=1000)
    assert rho_same == pytest.approx(1.0)
    assert p_same == pytest.approx(
        sum(spearman_no_ties(pairs_of(A), pairs_of(A, o)) >= 1 - 1e-12 for o in itertools.permutations(range(4))) / 24
    )


def test_monte_carlo_p_and_the_pair_mask():
    from langsamp.evaluation.uriel_similarity import permutation_rank_correlation

    rng = np.random.default_rng(1)
    points = rng.normal(size=(9, 3))
    a = -np.linalg.norm(points[:, None] - points[None], axis=-1)  # a similarity: minus the distance
    rho, p, n_pairs = permutation_rank_correlation(a, a, permutations=199, seed=0)  # 9! > 199: sampled
    assert rho == pytest.approx(1.0) and n_pairs == 36
    assert p == pytest.approx(1 / 200)  # no random relabelling of 9 distinct points reproduces every rank
    # Only the masked pairs count: the (0,1) and (2,3) entries of B are swapped relative to A, the rest agree.
    mask = np.ones((4, 4), dtype=bool)
    mask[0, 1] = mask[1, 0] = mask[2, 3] = mask[3, 2] = False
    b = A.copy()
    b[0, 1] = b[1, 0] = A[2, 3]
    b[2, 3] = b[3, 2] = A[0, 1]
    rho_masked, _, n_masked = permutation_rank_correlation(A, b, permutations=24, pair_mask=mask)
    assert n_masked == 4 and rho_masked == pytest.approx(1.0)
    assert permutation_rank_correlation(A, b, permutations=24)[0] < 1.0
    with pytest.raises(ValueError, match="same size"):
        permutation_rank_correlation(A, np.eye(3))


def feature_set(filename, prefix, code):
    """The names of the features a language has (value 1), read straight from lang2vec's file."""
    from langsamp.evaluation.uriel_similarity import lang2vec_data_dir

    with np.load(lang2vec_data_dir() / filename) as database:
        row = database["data"][database["langs"].tolist().index(code), :, 0]
        return {name for name, value in zip(database["feats"].tolist(), row) if name.startswith(prefix) and value == 1}


@pytest.mark.parametrize(
    "kind, filename, prefix", [("genetic", "family_features.npz", "F_"), ("syntax", "feature_predictions.npz", "S_")]
)
def test_uriel_similarity_is_the_cosine_of_binary_feature_sets(kind, filename, prefix):
    from langsamp.evaluation.uriel_similarity import uriel_similarity

    codes = ["hin", "urd", "mar", "eng", "kor"]
    found, similarity = uriel_similarity(codes + ["qqq"], kind)  # an unknown code is left out
    assert found == codes
    sets = {code: feature_set(filename, prefix, code) for code in codes}
    if kind == "genetic":
        assert "F_Indo-Aryan" in sets["hin"] and "F_Hindustani" in sets["urd"] and not sets["kor"] & sets["hin"]
    for i, x in enumerate(codes):
        for j, y in enumerate(codes):
            expected = 1.0 if i == j else len(sets[x] & sets[y]) / math.sqrt(len(sets[x]) * len(sets[y]))
            assert similarity[i, j] == pytest.approx(expected), (kind, x, y)
    if kind == "genetic":  # Hindi and Urdu: one Glottolog lineage (Hindustani); Korean shares no ancestor
        assert similarity[0, 1] == pytest.approx(1.0) and similarity[0, 4] == 0.0


def test_a_table_holding_uriels_vectors_correlates_perfectly():
    """Rows of the language table set to the languages' URIEL syntax vectors: table cosine = URIEL similarity, so
    rho = 1 over all pairs and over the different-script pairs; rows looked up for the wrong languages would not."""
    from langsamp.evaluation.uriel_similarity import table_vs_uriel, uriel_features
    from modeling_langsamp import LangSAMPForMaskedLM

    config = tiny_config(hidden_size=128, num_attention_heads=2, vocab_size=1000)
    model = LangSAMPForMaskedLM(config)
    pairs = [
        "hin_Deva",
        "hin_Latn",
        "mar_Deva",
        "urd_Arab",
        "pes_Arab",
        "eng_Latn",
        "deu_Latn",
        "rus_Cyrl",
        "tur_Latn",
        "jpn_Jpan",
    ]
    codes = list(dict.fromkeys(p.split("_")[0] for p in pairs))
    found, vectors = uriel_features(codes, "syntax")
    assert found == codes
    with torch.no_grad():
        table = model.language_script_embeddings.language_embeddings.weight
        for code, vector in zip(codes, vectors):
            table[config.languages.index(code)] = torch.tensor(
                np.pad(vector, (0, 128 - len(vector))), dtype=table.dtype
            )
    result = table_vs_uriel(model, pairs, kinds=("syntax",), permutations=99, seed=0)["syntax"]
    assert result["n_languages"] == 9 and result["n_pairs"] == 36  # hin_Deva and hin_Latn: one row
    assert result["rho"] == pytest.approx(1.0) and result["p_value"] == pytest.approx(1 / 100)
    # Pairs of different scripts only: 36 less hin-mar, hin-eng, hin-deu, hin-tur (hin is written in Deva and Latn),
    # urd-pes, eng-deu, eng-tur, deu-tur.
    assert result["n_pairs_different_script"] == 28 and result["rho_different_script"] == pytest.approx(1.0)
    with torch.no_grad():  # the same vectors in a shuffled order of rows: no longer URIEL's ranking
        rows = [config.languages.index(code) for code in codes]
        table[rows] = table[rows[::-1]].clone()
    assert table_vs_uriel(model, pairs, kinds=("syntax",), permutations=99)["syntax"]["rho"] < 0.9


def test_ties_that_differ_only_in_rounding_stay_ties():
    """Similarities equal in exact arithmetic but computed by another BLAS differ in their last bits; ranked as they
    come, the ties would break by machine and a perfect correlation would read 0.9999. Hand-made: 6 pairs, 3 of
    them tied at 0.5 in `a`; `b` is `a` with last-bit noise on the tied ones, so rho must still be exactly 1."""
    from langsamp.evaluation.uriel_similarity import permutation_rank_correlation

    a = np.array([[1.0, 0.5, 0.5, 0.2], [0.5, 1.0, 0.5, 0.1], [0.5, 0.5, 1.0, 0.3], [0.2, 0.1, 0.3, 1.0]])
    b = a.copy()
    for (i, j), noise in zip([(0, 1), (0, 2), (1, 2)], [2e-16, -1e-16, 3e-16]):
        b[i, j] = b[j, i] = a[i, j] + noise
    assert b[0, 1] != b[0, 2]  # the noise is real in float64
    rho, _, n_pairs = permutation_rank_correlation(a, b, permutations=10)
    assert n_pairs == 6 and rho == pytest.approx(1.0, abs=1e-12)
