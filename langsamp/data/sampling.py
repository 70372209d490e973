"""How many rows each language-script pair contributes to the pretraining mixture.

Two rules, both on the pairs' sizes n_l (chunks, or anything proportional to them):

* `alpha` (the default, the paper's description): p_l = n_l^alpha / sum_k n_k^alpha. alpha = 0.3 up-samples small
  pairs (Glot500's exponent), 1.0 keeps the corpus proportions, 0 is uniform.
* `glot500`: the rule Glot500-c itself was built with (cisnlp/Glot500 `preprocessing/merge_files.py`,
  `--lg_sampling_factor 0.3 --scale 30`), which produced the corpus the release trained on. With p_l as above,
  min_p the smallest p_l and min_c the smallest pair's size: every head pair (a pair XLM-R was trained on) gets a
  flat scale x min_c rows, every tail pair scale x min_c x p_l / min_p rows. Head pairs are thereby DOWN-sampled
  to the size of the smallest pair's share, tail pairs up-sampled by their p_l. The head/tail split is
  Glot500's own (`glot500_languages_stats.csv`, column XLM-R): `GLOT500_HEAD_PAIRS`.

Both give probabilities; `sample_counts` turns them into whole rows per epoch. The rows themselves are drawn by
`epoch_indices`: each pair's chunks in seeded permutations, a new permutation only once the previous one is used
up. For a pair drawn more often than it has chunks this repeats chunks as sampling with replacement would, but
evenly; a down-sampled pair contributes distinct chunks (Glot500's `random.choices`-style draw would repeat some
and skip others at the same counts).
"""

import numpy as np

SAMPLING_METHODS = ("alpha", "glot500")
GLOT500_SCALE = 30  # merge_files.py --scale

# The 100 pairs of glot500_languages_stats.csv marked XLM-R=True (Glot500's "head"); every other pair is "tail".
GLOT500_HEAD_PAIRS = frozenset(
    "afr_Latn amh_Ethi ara_Arab arb_Arab azb_Arab bel_Cyrl ben_Beng bre_Latn bul_Cyrl cat_Latn ces_Latn cmn_Hani "
    "cym_Latn dan_Latn deu_Latn ell_Grek eng_Latn epo_Latn est_Latn eus_Latn fas_Arab fin_Latn fra_Latn fry_Latn "
    "gla_Latn gle_Latn glg_Latn hau_Arab hau_Latn heb_Hebr hin_Deva hrv_Latn hun_Latn hye_Armn ind_Latn isl_Latn "
    "ita_Latn jav_Latn jpn_Latn kan_Knda kat_Geor kaz_Cyrl khm_Khmr kir_Cyrl kir_Latn kor_Hang kur_Latn lao_Laoo "
    "lao_Latn lat_Latn lav_Latn lit_Latn mal_Mlym mar_Deva mkd_Cyrl mlg_Latn mon_Cyrl msa_Latn mya_Mymr nep_Deva "
    "nld_Latn nor_Latn ori_Latn ori_Orya pan_Guru pes_Arab pol_Latn por_Latn prs_Arab pus_Arab ron_Latn rus_Cyrl "
    "san_Deva san_Latn sin_Sinh slk_Latn slv_Latn snd_Arab som_Arab som_Latn spa_Latn sqi_Latn srp_Latn swa_Latn "
    "swe_Latn swh_Latn tam_Taml tel_Telu tgl_Latn tha_Thai tur_Latn uig_Arab uig_Latn ukr_Cyrl urd_Arab uzb_Latn "
    "vie_Latn xho_Latn yid_Hebr zho_Hani".split()
)


def _check_sizes(sizes):
    if not sizes:
        raise ValueError("Sampling needs at least one pair size.")
    bad = {label: n for label, n in sizes.items() if not n > 0}
    if bad:
        raise ValueError(f"Pair sizes must be positive; got {bad}.")


def check_sampling(method, alpha):
    """ValueError for an unknown method or a bad alpha (before any work)."""
    if method not in SAMPLING_METHODS:
        raise ValueError(f"sampling must be one of {', '.join(SAMPLING_METHODS)}, not {method!r}.")
    if alpha is None or not np.isfinite(alpha) or alpha < 0:
        raise ValueError(
            f"sampling_alpha must be a number >= 0 (Glot500 uses 0.3; 1.0 = corpus proportions), not {alpha!r}."
        )


def sampling_probabilities(sizes, alpha):
    """p_l = n_l^alpha / sum_k n_k^alpha for `sizes` {pair: n_l}."""
    check_sampling("alpha", alpha)
    _check_sizes(sizes)
    labels = list(sizes)
    weights = np.asarray([sizes[label] for label in labels], dtype=np.float64) ** alpha
    return dict(zip(labels, (weights / weights.sum()).tolist()))


def glot500_counts(sizes, alpha=0.3, scale=GLOT500_SCALE, head_pairs=GLOT500_HEAD_PAIRS):
    """Rows per pair as Glot500-c was sampled: head pairs scale x min_c, tail pairs scale x min_c x p_l / min_p
    (rounded to whole rows)."""
    probabilities = sampling_probabilities(sizes, alpha)
    min_c, min_p = min(sizes.values()), min(probabilities.values())
    flat = scale * min_c
    return {label: int(round(flat if label in head_pairs else flat * probabilities[label] / min_p)) for label in sizes}


def mixture_probabilities(sizes, method="alpha", alpha=0.3):
    """The share of the mixture each pair gets under `method` ('alpha' or 'glot500')."""
    check_sampling(method, alpha)
    if method == "alpha":
        return sampling_probabilities(sizes, alpha)
    counts = glot500_counts(sizes, alpha)
    total = sum(counts.values())
    return {label: n / total for label, n in counts.items()}


def default_epoch_size(sizes, method="alpha", alpha=0.3):
    """Rows of one epoch when none is asked for: the corpus' chunk count ('alpha': with alpha = 1 an epoch is a
    shuffle of the corpus), or the size of the corpus Glot500's rule writes ('glot500')."""
    if method == "glot500":
        return sum(glot500_counts(sizes, alpha).values())
    return int(sum(sizes.values()))


def sample_counts(probabilities, num_samples):
    """Rows per pair in an epoch of `num_samples`: num_samples * p_l with largest-remainder rounding."""
    p = np.asarray(list(probabilities.values()), dtype=np.float64)
    exact = p * num_samples
    counts = np.floor(exact).astype(np.int64)
    extra = num_samples - counts.sum()
    counts[np.argsort(-(exact - counts), kind="stable")[:extra]] += 1
    return dict(zip(probabilities, counts.tolist()))


def epoch_indices(sizes, counts, seed):
    """Row indices into the pairs' concatenated chunks: pair order shuffled, each pair's chunks in seeded
    permutations (a fresh one only after the previous was used up)."""
    rng = np.random.default_rng(seed)
    sizes_arr = np.asarray(sizes, dtype=np.int64)
    counts_arr = np.asarray(counts, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes_arr)[:-1]])
    sequence = np.repeat(np.arange(len(sizes_arr)), counts_arr)
    rng.shuffle(sequence)
    positions = np.argsort(sequence, kind="stable")  # grouped by pair, in sequence order within a pair
    indices = np.empty(len(sequence), dtype=np.int64)
    start = 0
    for pair, (n, m) in enumerate(zip(sizes_arr, counts_arr)):
        passes = [rng.permutation(n) for _ in range(-(-m // n))] if m else []
        order = np.concatenate(passes)[:m] if passes else np.empty(0, dtype=np.int64)
        indices[positions[start : start + m]] = offsets[pair] + order
        start += m
    return indices
