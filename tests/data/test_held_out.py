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
    root = write_glot500_corpus({label: udhr_translations[label] for label in ("eng_Latn", "hin_Deva", "kor_Hang")},
                                tmp_path_factory.mktemp("held-out") / "corpus")
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
