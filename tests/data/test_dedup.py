"""--dedup and --exclude_eval in the build (dedup.py): fixture corpora with known duplicates (exact, differing in
white space only, in NFC form only) give hand-counted lines in the cached and the streaming path; the Bloom filter's
count on a larger corpus is within its stated false-positive rate; lines holding an evaluation sentence are dropped,
and only those."""

import math
import random

import pytest

from langsamp.data import BloomFilter, LineRules, SentenceIndex, build, open_corpus
from langsamp.data.dedup import LinePass

LENGTH = 8
BASE = [f"Line number {i} of the English fixture corpus, with some words." for i in range(40)]
# 40 distinct lines, then 2 exact repeats, 1 that differs in white space only, 2 blank lines (not lines), and one
# line in two NFC forms (a precomposed é against e + combining acute: one new line, one duplicate).
EXTRA = [BASE[0], BASE[1], "  Line number 2 of the English   fixture corpus,\twith some words. ", "", "   "]
EXTRA += ["Caf\u00e9 au lait for everyone in the room.", "Cafe\u0301 au lait for everyone in the room."]
GERMAN = ["Eine Zeile.", "Eine Zeile.", "Eine  Zeile.", "Zweite Zeile mit mehr Worten darin."] * 3


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("dedup") / "corpus"
    root.mkdir()
    (root / "eng_Latn.txt").write_text("\n".join(BASE + EXTRA) + "\n", encoding="utf-8")
    (root / "deu_Latn.txt").write_text("\n".join(GERMAN) + "\n", encoding="utf-8")
    return root


# By hand: eng 40 + 2 repeats + 1 white-space variant + 2 Café = 45 non-blank lines; duplicates 2 + 1 + 1.
ENG = {"lines": 45, "excluded": 0, "duplicates": 4, "kept": 41}
# deu: 12 lines, 2 distinct ("Eine Zeile." in three spellings, one other line): 10 duplicates.
DEU = {"lines": 12, "excluded": 0, "duplicates": 10, "kept": 2}


@pytest.mark.parametrize("streaming", [False, True])
def test_duplicates_are_counted_and_dropped_in_both_paths(corpus, tokenizer, tmp_path, streaming):
    opened = open_corpus(str(corpus), tokenizer, streaming=streaming)
    rows, mixture = build(
        opened, tokenizer, max_seq_length=LENGTH, streaming=streaming, rules=LineRules("lines"), cache_dir=tmp_path
    )
    assert mixture.lines == {"eng_Latn": ENG, "deu_Latn": DEU}
    # n_l counts the kept lines' tokens: "Zweite Zeile ..." and "Eine Zeile." once each.
    kept = ["Eine Zeile.", "Zweite Zeile mit mehr Worten darin."]
    tokens = sum(len(ids) for ids in tokenizer(kept)["input_ids"])
    assert mixture.sizes["deu_Latn"] == tokens // LENGTH
    assert "| deu_Latn | 12 | 0 | 10 | 2 |" in mixture.table()
    if streaming:  # the stream restarts a pair read through, so its chunks repeat: the distinct ones are the kept
        stream = [i for ids in tokenizer(kept)["input_ids"] for i in ids]
        expected = {tuple(stream[k * LENGTH : (k + 1) * LENGTH]) for k in range(tokens // LENGTH)}
        found = {tuple(row["input_ids"]) for row in rows.take(200) if row["lang_ids"] == tokenizer.language_id("deu")}
        assert found == expected
        # the stream's own counts of the pairs it read through, for the card
        assert {label: c.to_dict() for label, c in mixture.read_through.items()} == {"eng_Latn": ENG, "deu_Latn": DEU}
        assert "Lines per pair as the stream read them" in mixture.table()


def test_without_dedup_nothing_is_dropped_or_counted(corpus, tokenizer, tmp_path):
    _, mixture = build(open_corpus(str(corpus), tokenizer), tokenizer, max_seq_length=LENGTH, cache_dir=tmp_path)
    assert mixture.lines == {}
    tokens = sum(len(ids) for ids in tokenizer(GERMAN)["input_ids"])
    assert mixture.sizes["deu_Latn"] == tokens // LENGTH


def test_lines_holding_an_evaluation_sentence_are_dropped_and_only_those(corpus, tokenizer, tmp_path):
    held = BASE[5]
    index = SentenceIndex([held, "a sentence the corpus does not have at all"])
    rules = LineRules(None, {"eng_Latn": index}, ("fixture",))
    _, mixture = build(open_corpus(str(corpus), tokenizer), tokenizer, max_seq_length=LENGTH, rules=rules,
                       cache_dir=tmp_path)  # fmt: skip
    assert mixture.lines["eng_Latn"] == {"lines": 45, "excluded": 1, "duplicates": 0, "kept": 44}
    assert mixture.lines["deu_Latn"] == {"lines": 12, "excluded": 0, "duplicates": 0, "kept": 12}
    line = LinePass(False, index)
    assert line.keep([f"Prefix. {held} And more.", held.replace(" ", "  "), BASE[6], held[:-1]]) == [
        False, False, True, True,
    ]  # fmt: skip


def test_the_bloom_filter_count_is_within_its_stated_error():
    rng = random.Random(0)
    distinct = [f"sentence {i} {rng.random()}" for i in range(20_000)]
    lines = distinct + [rng.choice(distinct) for _ in range(10_000)]
    rng.shuffle(lines)
    bloom = BloomFilter(bits=160_000, hashes=4)  # 8 bits a distinct line: a rate of a few percent when full
    counted = LinePass(True, None, bloom)
    counted.keep(lines)
    exact = LinePass(True, None)
    exact.keep(lines)
    assert exact.counts.duplicates == 10_000
    # A Bloom filter never misses a duplicate; it takes a new line for one with at most the rate it has when full.
    extra = counted.counts.duplicates - exact.counts.duplicates
    rate = bloom.false_positive_rate()
    assert rate == pytest.approx((1 - math.exp(-4 * 20_000 / 160_000)) ** 4, rel=0.05)
    assert 0 <= extra <= 20_000 * rate + 4 * math.sqrt(20_000 * rate)


def test_a_dataset_of_text_lang_rows_is_deduplicated_per_pair(tokenizer, tmp_path):
    from datasets import Dataset

    # The same four lines labelled eng, then fra, then one more eng: by hand eng has 5 lines and fra 4, 2 distinct
    # each (white space aside); the text both pairs share is not a duplicate across them.
    texts = ["Hello there my friend.", "Hello there my friend.", "Hello there  my friend.", "Another line here."]
    rows = Dataset.from_dict({"text": texts * 2 + texts[:1], "lang": ["eng"] * 4 + ["fra"] * 4 + ["eng"]})
    _, mixture = build(open_corpus(rows, tokenizer), tokenizer, max_seq_length=4, rules=LineRules("lines"),
                       cache_dir=tmp_path)  # fmt: skip
    assert mixture.lines == {
        "eng_Latn": {"lines": 5, "excluded": 0, "duplicates": 3, "kept": 2},
        "fra_Latn": {"lines": 4, "excluded": 0, "duplicates": 2, "kept": 2},
    }
