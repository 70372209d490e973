"""The multilingual sampling of langsamp.data, on hand-made sizes whose expected values are worked out here: the
probabilities p_l ~ n_l^alpha, the rows per pair (largest remainders) and the epoch's row order (each pair's chunks in
permutations, a fresh pass only after the previous one is used up, pairs interleaved). Fast: no corpus, no tokenizer;
the mutation-testing run (README "Development") relies on them."""

from collections import Counter

import numpy as np
import pytest

from langsamp.data.sampling import epoch_indices, sample_counts, sampling_probabilities


@pytest.mark.parametrize(
    "sizes, alpha, expected",
    [
        ({"a": 1, "b": 8}, 1 / 3, {"a": 1 / 3, "b": 2 / 3}),  # 8^(1/3) = 2
        ({"a": 1, "b": 3}, 1.0, {"a": 0.25, "b": 0.75}),  # alpha 1: the corpus proportions
        ({"a": 7, "b": 1, "c": 2}, 0.0, {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}),  # alpha 0: uniform
        ({"a": 16, "b": 1, "c": 81}, 0.25, {"a": 2 / 6, "b": 1 / 6, "c": 3 / 6}),  # 16^.25 = 2, 81^.25 = 3
    ],
)
def test_sampling_probabilities(sizes, alpha, expected):
    p = sampling_probabilities(sizes, alpha)
    assert list(p) == list(sizes)  # keyed and ordered like the sizes
    assert p == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "sizes, alpha, message",
    [
        ({"a": 1}, -0.5, "sampling_alpha"),
        ({"a": 1}, float("nan"), "sampling_alpha"),
        ({"a": 1}, None, "sampling_alpha"),
        ({}, 0.3, "at least one"),
        ({"a": 3, "b": 0}, 0.3, "'b': 0"),
        ({"a": -2}, 0.3, "positive"),
    ],
)
def test_sampling_probabilities_refuses(sizes, alpha, message):
    with pytest.raises(ValueError, match=message):
        sampling_probabilities(sizes, alpha)


@pytest.mark.parametrize(
    "probabilities, n, expected",
    [
        # 10 x (0.45, 0.35, 0.2) = 4.5, 3.5, 2: floors 4 + 3 + 2 = 9, one row left: the first of the tied remainders.
        ({"a": 0.45, "b": 0.35, "c": 0.2}, 10, {"a": 5, "b": 3, "c": 2}),
        # 7 x (0.1, 0.6, 0.3) = 0.7, 4.2, 2.1: floors 0 + 4 + 2 = 6; the largest remainder (0.7) gets the row.
        ({"a": 0.1, "b": 0.6, "c": 0.3}, 7, {"a": 1, "b": 4, "c": 2}),
        # 3 x 1/3 each: exact.
        ({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, 3, {"a": 1, "b": 1, "c": 1}),
        # 5 x (0.58, 0.22, 0.2) = 2.9, 1.1, 1.0: floors 2 + 1 + 1 = 4; 0.9 beats 0.1 and 0.0.
        ({"a": 0.58, "b": 0.22, "c": 0.2}, 5, {"a": 3, "b": 1, "c": 1}),
        # 2 rows, 4 pairs of 0.25: 0.5 each, floors 0: the first two (stable order) get one row.
        ({"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}, 2, {"a": 1, "b": 1, "c": 0, "d": 0}),
    ],
)
def test_sample_counts_largest_remainder(probabilities, n, expected):
    counts = sample_counts(probabilities, n)
    assert counts == expected and list(counts) == list(probabilities)
    assert all(isinstance(value, int) for value in counts.values())


# Pair 0: 3 chunks drawn 7 times (passes 3 + 3 + 1); pair 1: 2 of its 5; pair 2: none.
SIZES, COUNTS = [3, 5, 2], [7, 2, 0]


def test_epoch_indices_draw_each_pair_in_fresh_permutations():
    indices = epoch_indices(SIZES, COUNTS, seed=0)
    assert len(indices) == 9 and indices.dtype == np.int64
    pair0 = [int(i) for i in indices if i < 3]
    pair1 = [int(i) for i in indices if 3 <= i < 8]
    assert not any(i >= 8 for i in indices)  # pair 2 (rows 8, 9) is never drawn
    assert len(pair0) == 7 and len(pair1) == 2
    # Pair 0: a whole permutation of its 3 chunks, then another, then one more chunk.
    assert sorted(pair0[:3]) == [0, 1, 2] and sorted(pair0[3:6]) == [0, 1, 2] and pair0[6] in (0, 1, 2)
    assert max(Counter(pair0).values()) == 3 and min(Counter(pair0).values()) == 2
    # Pair 1: two distinct chunks among its 5 (an under-sampled pair never repeats one).
    assert len(set(pair1)) == 2 and all(3 <= i < 8 for i in pair1)


def test_epoch_indices_are_seeded_and_interleave_the_pairs():
    sizes, counts = [50, 50], [50, 50]
    first, again, other = (epoch_indices(sizes, counts, seed) for seed in (1, 1, 2))
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    # With alpha = 1 counts (= sizes) an epoch is a shuffle of the whole corpus: every row exactly once.
    assert sorted(first.tolist()) == list(range(100))
    # The pairs are mixed, not one block after the other: both pairs occur in the first 20 rows.
    pairs = (first >= 50).astype(int)
    assert 0 < pairs[:20].sum() < 20
    # Within a pair the chunks are shuffled, not in corpus order.
    assert first[pairs == 0].tolist() != sorted(first[pairs == 0].tolist())


def test_epoch_indices_use_a_pass_up_before_repeating_a_chunk():
    # 70 rows: a 3-chunk pair drawn 30 times among a 50-chunk pair drawn 40 times. In the epoch's order, the small
    # pair's draws come in blocks of 3 that are each a full permutation of its chunks (no chunk twice in a block).
    indices = epoch_indices([3, 50], [30, 40], seed=5)
    small = [int(i) for i in indices if i < 3]
    assert len(small) == 30
    for start in range(0, 30, 3):
        assert sorted(small[start : start + 3]) == [0, 1, 2], (start, small)
    large = [int(i) for i in indices if i >= 3]
    assert len(large) == 40 == len(set(large)) and min(large) >= 3 and max(large) < 53


def test_epoch_indices_with_every_pair_drawn_cover_the_corpus_once():
    # Three pairs, each drawn as often as it has chunks: every row of the 4 + 6 + 5 chunks exactly once.
    indices = epoch_indices([4, 6, 5], [4, 6, 5], seed=3)
    assert sorted(indices.tolist()) == list(range(15))
