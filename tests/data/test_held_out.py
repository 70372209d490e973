"""The held-out split (langsamp.data.held_out) and the masking of training batches (langsamp.data.collator), on
hand-made mixtures whose expected splits are counted here, and on a real UDHR build: the held-out chunks never reach
training, whatever the sampling repeats, and they are scored with the same masks every time."""

import datasets
import pytest
import torch

from langsamp.data import ResumableMasking, build, make_collator, mask_once, open_corpus, split_held_out
from langsamp.resources.udhr import write_glot500_corpus

CHUNKS = [[0, 100 + k, 200 + k, 2] for k in range(10)]  # ten distinct 4-token chunks c0 .. c9


def rows_of(order):
    return datasets.Dataset.from_list([{"input_ids": CHUNKS[k], "lang_ids": k % 3, "script_ids": 5} for k in order])


def numbers(rows):
    return [CHUNKS.index(list(ids)) for ids in rows["input_ids"]]


def test_distinct_chunks_caps_the_held_out_chunks_at_a_tenth_of_them():
    # 100 rows cycling c0 .. c9: the first 10 rows are ten distinct chunks; the corpus has 10, so only 1 is held out.
    order = [k % 10 for k in range(100)]
    train, held_out = split_held_out(rows_of(order), max_eval_samples=50, distinct_chunks=10)
    assert numbers(held_out) == [0]
    assert numbers(train) == [k for k in order if k != 0] and len(train) == 90
    # Without the cap, all ten are candidates, and no training row would be left.
    with pytest.raises(ValueError, match=r"^Holding out 10 chunk\(s\) .* no training row \(the run draws only 100 "):
        split_held_out(rows_of(order), max_eval_samples=50)


def test_a_cap_below_one_chunk_holds_nothing_out(caplog):
    dataset = rows_of([k % 10 for k in range(100)])
    assert split_held_out(dataset, max_eval_samples=50, distinct_chunks=9) == (dataset, None)  # 9 // 10 = 0
    assert "Too few chunks to hold some out" in caplog.text


def test_a_stream_holds_out_its_first_rows_and_drops_their_copies():
    order = [3, 3, 7, 1] + [k % 10 for k in range(40)]
    train, held_out = split_held_out(rows_of(order).to_iterable_dataset(), max_eval_samples=3)
    assert isinstance(train, datasets.IterableDataset)
    assert numbers(held_out) == [3, 7]  # the first 3 rows: c3 twice, then c7
    assert [CHUNKS.index(row["input_ids"]) for row in train] == [k for k in order if k not in (3, 7)]


@pytest.fixture(scope="module")
def small_build(tmp_path_factory, tokenizer, udhr_translations):
    """Three UDHR translations, 32-token chunks, 2,000 rows drawn (every chunk repeated several times)."""
    root = write_glot500_corpus(
        {label: udhr_translations[label] for label in ("eng_Latn", "hin_Deva", "kor_Hang")},
        tmp_path_factory.mktemp("held-out") / "corpus",
    )
    corpus = open_corpus(root, tokenizer)
    dataset, mixture = build(corpus, tokenizer, max_seq_length=32, num_samples=2000, cache_dir=root.parent / "cache")
    return dataset, mixture


def test_held_out_chunks_of_a_real_build_never_reach_training(small_build):
    dataset, mixture = small_build
    distinct = sum(mixture.sizes.values())
    assert len(dataset) == 2000 > 3 * distinct  # chunks come back: the case the split is built for
    train, held_out = split_held_out(dataset, max_eval_samples=64, distinct_chunks=distinct)
    first_rows = [tuple(ids) for ids in dataset.select(range(64))["input_ids"]]
    expected = list(dict.fromkeys(first_rows))[: distinct // 10]  # the first distinct chunks, at most a tenth of all
    assert [tuple(ids) for ids in held_out["input_ids"]] == expected
    kept = [tuple(ids) for ids in train["input_ids"]]
    assert not set(kept) & set(expected)
    assert kept == [ids for ids in map(tuple, dataset["input_ids"]) if ids not in set(expected)]


def test_held_out_masks_are_fixed_and_training_masks_follow_the_batch(small_build, tokenizer):
    dataset, mixture = small_build
    _, held_out = split_held_out(dataset, max_eval_samples=64, distinct_chunks=sum(mixture.sizes.values()))
    evaluation = mask_once(held_out, tokenizer, mlm_probability=0.15, seed=7, batch_size=4)
    assert evaluation.to_list() == mask_once(held_out, tokenizer, mlm_probability=0.15, seed=7, batch_size=4).to_list()
    for row, chunk in zip(evaluation, held_out):
        scored = [i for i, label in enumerate(row["labels"]) if label != -100]
        assert [row["labels"][i] for i in scored] == [chunk["input_ids"][i] for i in scored]
        assert row["lang_ids"] == chunk["lang_ids"] and row["script_ids"] == chunk["script_ids"]
    collator = ResumableMasking(make_collator(tokenizer, mlm_probability=0.15), seed=7)
    stored = collator(evaluation.select(range(3)).to_list())  # already masked: stacked as they are
    assert stored["labels"].tolist() == evaluation.select(range(3))["labels"]
    batch = dataset.select(range(8)).to_list()
    torch.manual_seed(0)
    first = collator(batch)
    torch.manual_seed(1)
    again = collator(batch)
    assert torch.equal(first["input_ids"], again["input_ids"]) and torch.equal(first["labels"], again["labels"])
    assert first["lang_ids"].tolist() == [row["lang_ids"] for row in batch]


# ---------------------------------------------------------------------------------------------------------------------
# split_held_out: the first rows of the mixture are held out, and every copy of them leaves the training rows
# ---------------------------------------------------------------------------------------------------------------------

DISTINCT_CHUNKS = [[0, 10 + k, 20 + k, 2] for k in range(10)]  # ten distinct 4-token chunks "c0" .. "c9"
# A mixture that repeats chunks as sampling does for small pairs: it starts c0 c1 c0 c2 c3, then cycles c0 .. c9.
ORDER = [0, 1, 0, 2, 3] + [k % 10 for k in range(95)]


def mixture(order=ORDER):
    return datasets.Dataset.from_list(
        [{"input_ids": DISTINCT_CHUNKS[k], "lang_ids": k, "script_ids": 100 + k} for k in order]
    )


def chunk_numbers(dataset):
    return [DISTINCT_CHUNKS.index(list(ids)) for ids in dataset["input_ids"]]


def test_held_out_chunks_and_all_their_copies_leave_the_training_rows():
    train_rows, held_out = split_held_out(mixture(), max_eval_samples=5)
    # The first 5 rows are c0 c1 c0 c2 c3: four distinct chunks, each held out once, with its ids.
    assert chunk_numbers(held_out) == [0, 1, 2, 3]
    assert held_out["lang_ids"] == [0, 1, 2, 3] and held_out["script_ids"] == [100, 101, 102, 103]
    # Training keeps exactly the rows of the other chunks, in mixture order: the 95-row cycle less c0 .. c3.
    assert chunk_numbers(train_rows) == [k % 10 for k in range(95) if k % 10 >= 4]
    assert len(train_rows) == 9 * 6 + 1  # 95 rows = 9 cycles (6 of 10 kept each) + c0 .. c4 (c4 kept)


def test_at_most_a_tenth_of_the_rows_is_held_out():
    train_rows, held_out = split_held_out(mixture(), max_eval_samples=50)
    # 100 rows: the first 10 (c0 c1 c0 c2 c3 c0 c1 c2 c3 c4) are the candidates, i.e. chunks c0 .. c4.
    assert chunk_numbers(held_out) == [0, 1, 2, 3, 4]
    assert set(chunk_numbers(train_rows)) == {5, 6, 7, 8, 9} and len(train_rows) == 9 * 5 + 0


def test_a_single_held_out_chunk():
    train_rows, held_out = split_held_out(mixture(), max_eval_samples=1)
    assert chunk_numbers(held_out) == [0]
    assert chunk_numbers(train_rows) == [k for k in ORDER if k != 0]


def test_no_held_out_split_when_disabled_or_too_small(caplog):
    dataset = mixture()
    assert split_held_out(dataset, max_eval_samples=0) == (dataset, None)
    assert "Too few chunks" not in caplog.text  # 0 is a choice, not a shortage: nothing to warn about
    few = mixture([0, 1, 2, 3, 4, 5, 6, 7, 8])  # 9 rows: 10% is no row at all
    assert split_held_out(few, max_eval_samples=4) == (few, None)
    assert "Too few chunks" in caplog.text


def test_a_streamed_mixture_is_split_the_same_way():
    stream = mixture().to_iterable_dataset()
    train_rows, held_out = split_held_out(stream, max_eval_samples=5)
    assert isinstance(train_rows, datasets.IterableDataset)
    assert chunk_numbers(held_out) == [0, 1, 2, 3]
    assert [DISTINCT_CHUNKS.index(row["input_ids"]) for row in train_rows] == [k % 10 for k in range(95) if k % 10 >= 4]


# ---------------------------------------------------------------------------------------------------------------------
# mask_once and ResumableMasking
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chunks(tokenizer, udhr_translations):
    """64 real 32-token chunks (UDHR articles in 4 scripts), the shape the pipeline gives."""
    rows = []
    for lang_id, label in enumerate(["eng_Latn", "rus_Cyrl", "hin_Deva", "cmn_Hani"]):
        ids = [i for line in udhr_translations[label].paragraphs() for i in tokenizer(line)["input_ids"]]
        rows += [
            {"input_ids": ids[k * 32 : (k + 1) * 32], "lang_ids": lang_id, "script_ids": 7 + lang_id} for k in range(16)
        ]
    return datasets.Dataset.from_list(rows)


def check_masking(batch_rows, originals, tokenizer):
    """Masked rows against the chunks they came from; returns the share of eligible tokens masked."""
    special = set(tokenizer.all_special_ids)
    eligible = masked = 0
    for row, original in zip(batch_rows, originals):
        for token, label, source in zip(row["input_ids"], row["labels"], original):
            if label == -100:
                assert token == source  # unscored positions are the original text
            else:
                assert label == source and source not in special  # scored: the original token, never a special one
                masked += 1
            eligible += source not in special
    return masked / eligible


def test_mask_once_stores_one_fixed_masking_of_the_held_out_chunks(chunks, tokenizer):
    masked = mask_once(chunks, tokenizer, mlm_probability=0.15, seed=3, batch_size=10)
    rows = masked.to_list()
    assert len(rows) == 64
    assert [row["lang_ids"] for row in rows] == chunks["lang_ids"] and [row["script_ids"] for row in rows] == chunks[
        "script_ids"
    ]
    share = check_masking(rows, chunks["input_ids"], tokenizer)
    assert 0.12 < share < 0.18  # 15% of about 1,900 eligible tokens (binomial sd 0.8%)
    assert sum(row["input_ids"].count(tokenizer.mask_token_id) for row in rows) > 0.6 * share * 1900
    # The same seed gives the same masks; another seed other masks.
    assert mask_once(chunks, tokenizer, 0.15, seed=3, batch_size=10).to_list() == rows
    assert mask_once(chunks, tokenizer, 0.15, seed=4, batch_size=10)["labels"] != masked["labels"]
    # The training collator passes stored masks through unchanged, whatever the global RNG does.
    collator = ResumableMasking(make_collator(tokenizer), seed=0)
    torch.manual_seed(123)
    batch = collator(rows[:8])
    assert batch["labels"].tolist() == [row["labels"] for row in rows[:8]]
    assert batch["input_ids"].tolist() == [row["input_ids"] for row in rows[:8]]
    # Also a last evaluation batch of one row.
    assert collator(rows[8:9])["labels"].tolist() == [rows[8]["labels"]]


def test_resumable_masking_depends_on_the_batch_and_seed_only(chunks, tokenizer):
    features = chunks.select(range(8)).to_list()
    collator = ResumableMasking(make_collator(tokenizer), seed=42)
    torch.manual_seed(1)
    first = collator(features)
    torch.manual_seed(2)
    state = torch.get_rng_state()
    second = collator(features)
    assert torch.equal(torch.get_rng_state(), state)  # the training RNG (dropout) is left where it was
    assert torch.equal(first["labels"], second["labels"]) and torch.equal(first["input_ids"], second["input_ids"])
    share = check_masking(
        [
            {"input_ids": ids, "labels": labels}
            for ids, labels in zip(first["input_ids"].tolist(), first["labels"].tolist())
        ],
        [f["input_ids"] for f in features],
        tokenizer,
    )
    assert 0.05 < share < 0.3
    assert first["lang_ids"].tolist() == [f["lang_ids"] for f in features]
    # A chunk that comes back in another batch, or a run with another seed, is masked afresh.
    other_batch = collator(features[:7] + chunks.select([20]).to_list())
    assert not torch.equal(other_batch["labels"][:7], first["labels"][:7])
    other_seed = ResumableMasking(make_collator(tokenizer), seed=43)(features)
    assert not torch.equal(other_seed["labels"], first["labels"])
