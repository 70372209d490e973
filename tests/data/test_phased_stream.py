"""A run with schedules from a streamed corpus (langsamp/data/phased_stream.py): each step's rows come from the pairs
its phase has joined, drawn by a Generator seeded with (seed, step), each pair's chunks in order and from the start
again at its end, with the step's masking rate; the stream is the same on every pass (what a resumed run reads), the
held-out chunks never come back, and --dedup drops the duplicate lines. Expected rows derived from the text."""

import numpy as np
import pytest

from langsamp.data import LineRules, open_corpus
from langsamp.data.pipeline import build_phased
from langsamp.data.schedule import RunSchedule, parse_schedule

ENGLISH = ["The cat sat on the mat.", "A dog ran in the park today.", "Birds sing in the morning."]
GERMAN = ["Die Katze sitzt auf der Matte.", "Ein Hund lief heute im Park."]


@pytest.fixture
def corpus(tmp_path, tokenizer):
    folder = tmp_path / "corpus"
    folder.mkdir()
    # English's first line twice: --dedup drops the second copy
    (folder / "eng_Latn.txt").write_text("\n".join([ENGLISH[0], *ENGLISH]) + "\n", encoding="utf-8")
    (folder / "deu_Latn.txt").write_text("\n".join(GERMAN) + "\n", encoding="utf-8")
    return open_corpus(str(folder), tokenizer, streaming=True)


def chunks(tokenizer, lines, length):
    """A pair's chunks by hand: its lines' tokens (<s> ... </s> each) one after the other, cut every `length`."""
    tokens = [t for ids in tokenizer(lines)["input_ids"] for t in ids]
    return [tokens[i : i + length] for i in range(0, len(tokens) - length + 1, length)]


def scheduled(corpus, tokenizer, length=8, held_out_rows=0, rules=None):
    # 4 steps of 3 rows; German joins at step 2, where alpha 0 makes both pairs equally likely; masking 0.3 then 0.15
    schedule = RunSchedule(
        alpha=parse_schedule("a", "1,0@0.5", 0, 10), stages={"deu_Latn": 0.5},
        masking=parse_schedule("m", "0.3,0.15@0.5", 0, 1, open_low=True), total_steps=4, rows_per_step=3,
        held_out_rows=held_out_rows, seed=3,
    )  # fmt: skip
    return build_phased(corpus, tokenizer, schedule, max_seq_length=length, rules=rules, streaming=True)


def expected_rows(corpus, pair_chunks):
    """Steps 0-1: English only. Steps 2-3: each row's pair drawn by default_rng([seed, step]) with p = 1/2 over the
    corpus' pairs in its order; each pair's next chunk, from its first again after its last."""
    order = [label for label in corpus.labels]
    pairs = ["eng_Latn"] * 6
    for step in (2, 3):
        pairs += [order[k] for k in np.random.default_rng([3, step]).choice(2, size=3, p=[0.5, 0.5])]
    used = dict.fromkeys(pair_chunks, 0)
    rows = []
    for label in pairs:
        rows.append((label, pair_chunks[label][used[label] % len(pair_chunks[label])]))
        used[label] += 1
    return rows


def test_each_steps_rows_follow_its_phase_and_every_pass_is_the_same(corpus, tokenizer):
    run = scheduled(corpus, tokenizer)
    by_id = {tokenizer.language_id("eng"): "eng_Latn", tokenizer.language_id("deu"): "deu_Latn"}
    rows = list(run.train)
    english = chunks(tokenizer, [ENGLISH[0], *ENGLISH], 8)
    expected = expected_rows(corpus, {"eng_Latn": english, "deu_Latn": chunks(tokenizer, GERMAN, 8)})
    assert len(english) == 4  # 9 + 9 + 10 + 9 = 37 tokens: 4 chunks, English wraps round in steps 0-1
    assert [(by_id[row["lang_ids"]], row["input_ids"]) for row in rows] == expected
    assert [row["mlm_probability"] for row in rows] == [0.3] * 6 + [0.15] * 6
    assert [p["steps"] for p in run.mixture.phases] == [[0, 2], [2, 4]]
    drawn = [label for label, _ in expected[6:]]
    assert run.mixture.phases[1]["rows"] == {label: drawn.count(label) for label in ("deu_Latn", "eng_Latn")}
    # a resumed run re-reads the stream and skips the rows it trained on: the same rows, from a fresh build too
    assert list(run.train.skip(6)) == rows[6:]
    assert list(scheduled(corpus, tokenizer).train) == rows


def test_dedup_drops_the_duplicate_line_from_the_streamed_schedule(corpus, tokenizer):
    run = scheduled(corpus, tokenizer, rules=LineRules("lines"))
    english = chunks(tokenizer, ENGLISH, 8)  # 9 + 10 + 9 = 28 tokens: 3 chunks
    expected = expected_rows(corpus, {"eng_Latn": english, "deu_Latn": chunks(tokenizer, GERMAN, 8)})
    assert [row["input_ids"] for row in run.train] == [ids for _, ids in expected]
    assert run.mixture.lines["eng_Latn"] == {"lines": 4, "excluded": 0, "duplicates": 1, "kept": 3}


def test_held_out_chunks_are_the_streams_first_and_never_trained_on(corpus, tokenizer):
    run = scheduled(corpus, tokenizer, length=2, held_out_rows=2)
    english, german = chunks(tokenizer, [ENGLISH[0], *ENGLISH], 2), chunks(tokenizer, GERMAN, 2)
    assert len(english) + len(german) >= 20  # a tenth of the distinct chunks allows 2 held out
    held = [english[0], english[1]]  # the first two rows of the unskipped stream: English's first chunks
    assert run.held_out["input_ids"] == held and "mlm_probability" not in run.held_out.column_names
    left = [ids for ids in english if ids not in held]
    expected = expected_rows(corpus, {"eng_Latn": left, "deu_Latn": german})
    assert [row["input_ids"] for row in run.train] == [ids for _, ids in expected]
