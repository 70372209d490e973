"""Schedules over a run (langsamp/data/schedule.py): per-step values, stage membership and each phase's rows, against
values derived by hand; every bad value refused in one line."""

import numpy as np
import pytest

from langsamp.data.schedule import RunSchedule, parse_schedule, parse_stages, plan_phases, scheduled_indices


def test_a_schedule_gives_each_step_its_phases_value():
    alpha = parse_schedule("--sampling_alpha", "0.7,0.5@0.4,0.3@0.8", 0, 10)
    # 10 steps: 0.7 for steps 0-3, 0.5 from ceil(0.4 x 10) = 4 to 7, 0.3 from ceil(0.8 x 10) = 8.
    assert [alpha.value_at(step, 10) for step in range(10)] == [0.7] * 4 + [0.5] * 4 + [0.3] * 2
    # 7 steps: from ceil(2.8) = 3 and ceil(5.6) = 6.
    assert [alpha.value_at(step, 7) for step in range(7)] == [0.7] * 3 + [0.5] * 3 + [0.3]
    masking = parse_schedule("--mlm_probability", "0.3,0.15@0.5,0.05@0.9", 0, 1, open_low=True)
    assert [masking.value_at(step, 4) for step in range(4)] == [0.3, 0.3, 0.15, 0.15]  # ceil(3.6) = 4: never 0.05
    assert parse_schedule("--sampling_alpha", "0.3", 0, 10).phases == ((0.0, 0.3),)  # a number: constant


@pytest.mark.parametrize(
    "text, message",
    [
        ("0.7,0.5@0.8,0.3@0.4", "--sampling_alpha '0.7,0.5@0.8,0.3@0.4': '0.3@0.4' starts at or before the previous"),
        ("0.7,0.5@1.2", "--sampling_alpha '0.7,0.5@1.2': '0.5@1.2' starts at 1.2, outside [0, 1) of the run's steps."),
        ("0.7,0.5@1", "'0.5@1' starts at 1, outside [0, 1)"),
        ("0.7,0.5", "--sampling_alpha '0.7,0.5': '0.5' needs `@fraction`"),
        ("0.5@0.3", "the first value must hold from the start"),
        ("0.7,x@0.5", "'x@0.5' is not `value` or `value@fraction`"),
    ],
)
def test_a_bad_schedule_is_one_line(text, message):
    with pytest.raises(ValueError) as error:
        parse_schedule("--sampling_alpha", text, 0, 10)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_masking_rate_outside_0_1_is_refused():
    with pytest.raises(ValueError, match=r"the value 1.5 of '1.5@0.5' is outside \(0, 1\]"):
        parse_schedule("--mlm_probability", "0.3,1.5@0.5", 0, 1, open_low=True)


def test_stages_say_which_pairs_join_when_and_refuse_what_is_not_in_the_corpus():
    labels = ["deu_Latn", "eng_Latn", "zgh_Tfng", "kab_Latn"]
    assert parse_stages(["zgh_Tfng,kab_Latn@0.5"], labels) == {"zgh_Tfng": 0.5, "kab_Latn": 0.5}
    with pytest.raises(ValueError, match=r"^--language_stages 'xyz_Latn@0.5': 'xyz_Latn' is not a pair of the corpus"):
        parse_stages(["xyz_Latn@0.5"], labels)
    with pytest.raises(ValueError, match=r"'zgh_Tfng' is named twice"):
        parse_stages(["zgh_Tfng@0.5", "zgh_Tfng@0.7"], labels)
    with pytest.raises(ValueError, match=r"1.5 is outside \[0, 1\)"):
        parse_stages(["zgh_Tfng@1.5"], labels)
    with pytest.raises(ValueError, match="every pair joins later"):
        parse_stages(["deu_Latn,eng_Latn,zgh_Tfng,kab_Latn@0.2"], labels)


def test_each_phase_draws_its_joined_pairs_at_its_alpha():
    sizes = {"a": 100, "b": 25, "c": 4}
    alpha = parse_schedule("--sampling_alpha", "1,0@0.5", 0, 10)
    phases = plan_phases(sizes, alpha, {"c": 0.5}, total_steps=4, rows_per_step=12)
    # Steps 0-1 (24 rows): a and b at alpha 1, p = 100/125, 25/125 = 0.8, 0.2 -> 19.2, 4.8 rows -> 19, 5 (largest
    # remainder). Steps 2-3 (24 rows): a, b and c joined, alpha 0: uniform, 8 rows each.
    assert [(p.first, p.end, p.alpha) for p in phases] == [(0, 2, 1.0), (2, 4, 0.0)]
    assert phases[0].probabilities == pytest.approx({"a": 0.8, "b": 0.2})
    assert phases[0].rows == {"a": 19, "b": 5}
    assert phases[1].rows == {"a": 8, "b": 8, "c": 8}

    indices = scheduled_indices(list(sizes), list(sizes.values()), phases, seed=0)
    pair = np.select([indices < 100, indices < 125], ["a", "b"], "c")
    first, second = pair[:24].tolist(), pair[24:].tolist()
    assert (first.count("a"), first.count("b"), first.count("c")) == (19, 5, 0)  # c is never drawn before its stage
    assert (second.count("a"), second.count("b"), second.count("c")) == (8, 8, 8)
    # a pair's chunks carry on across phases: b's 13 rows are distinct chunks (it has 25), c's 8 rows are its 4
    # chunks twice, each pass a permutation
    assert len(set(indices[pair == "b"].tolist())) == 13
    c_rows = indices[pair == "c"].tolist()
    assert sorted(c_rows[:4]) == sorted(c_rows[4:]) == [125, 126, 127, 128]
    assert scheduled_indices(list(sizes), list(sizes.values()), phases, seed=0).tolist() == indices.tolist()


def test_the_phased_mixture_reports_the_lines_the_build_dropped_after_holding_chunks_out():
    from datasets import Dataset

    from langsamp.data.chunking import PairChunks
    from langsamp.data.dedup import LineCounts
    from langsamp.data.phased import draw_phased

    # 20 distinct chunks: a's 0-11, b's 12-19; a read 9 lines, 1 held evaluation text and 2 were duplicates.
    chunks = Dataset.from_dict({"input_ids": [[i, i] for i in range(20)], "lang_ids": [0] * 12 + [1] * 8})
    lines = {"a": LineCounts(9, 1, 2), "b": LineCounts(4, 0, 0)}
    pairs = PairChunks(chunks, ["a", "b"], {"a": 12, "b": 8}, {"a": 24, "b": 16}, {"a": 0, "b": 1}, {"a": 0, "b": 0},
                       2, lines)  # fmt: skip
    constant = parse_schedule("--mlm_probability", "0.15", 0, 1)
    run = draw_phased(
        pairs, RunSchedule(alpha=constant, stages={}, masking=constant, total_steps=2, rows_per_step=2, held_out_rows=2)
    )
    assert len(run.held_out) == 2 and sum(run.mixture.sizes.values()) == 18  # 2 of the 20 chunks held out
    assert run.mixture.lines == {
        "a": {"lines": 9, "excluded": 1, "duplicates": 2, "kept": 6},
        "b": {"lines": 4, "excluded": 0, "duplicates": 0, "kept": 4},
    }
    assert "| a | 9 | 1 | 2 | 6 |" in run.mixture.table()
