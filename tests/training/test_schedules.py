"""train.py with schedules (langsamp/training/schedules.py, langsamp/data/phased.py): each step's rows come from the
pairs that have joined, with the step's masking rate; a run killed inside a later phase resumes with the same losses;
bad stages are one line before any work."""

import json
import shutil

import pytest
import torch
from fixtures.models import tiny_config

from langsamp.training import cli
from langsamp.training.arguments import parse_arguments
from langsamp.training.schedules import build_phased_data
from modeling_langsamp import LangSAMPForMaskedLM

PAIRS = ("eng_Latn", "deu_Latn", "rus_Cyrl")
SCHEDULE = ["--sampling_alpha", "1,0.3@0.5", "--mlm_probability", "0.3,0.15@0.5", "--language_stages", "rus_Cyrl@0.5"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, udhr_translations):
    from langsamp.resources.udhr import write_glot500_corpus

    return write_glot500_corpus({p: udhr_translations[p] for p in PAIRS}, tmp_path_factory.mktemp("corpus") / "udhr")


@pytest.fixture(scope="module")
def base(tmp_path_factory, tokenizer):
    folder = tmp_path_factory.mktemp("base")
    torch.manual_seed(0)
    LangSAMPForMaskedLM(tiny_config(trained_pairs=["eng_Latn"], max_position_embeddings=66)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def argv(base, corpus, output_dir, cache, *extra):
    return [
        *("--model_name_or_path", str(base), "--corpus", str(corpus), "--output_dir", str(output_dir)),
        *("--max_steps", "6", "--max_seq_length", "32", "--per_device_train_batch_size", "4"),
        *("--max_eval_samples", "8", "--report_to", "none", "--disable_tqdm", "true", "--logging_steps", "1"),
        *("--save_steps", "1", "--head_warmup_steps", "0", "--cache_dir", str(cache), "--seed", "3"),
        *SCHEDULE,
        *extra,
    ]


def test_each_steps_rows_follow_the_schedule(tmp_path, base, corpus, tokenizer):
    run = cli.check_run(*parse_arguments(argv(base, corpus, tmp_path / "out", tmp_path / "cache")), demo=False)
    train, _, mixture = build_phased_data(run.corpus, tokenizer, run.data_args, run.training_args, run.stages)
    # 6 steps x 4 rows: phase 0 = steps 0-2 (ceil(0.5 x 6) = 3), rows 0-11; phase 1 = steps 3-5, rows 12-23.
    assert len(train) == 24
    rus = tokenizer.language_id("rus")
    lang_ids, rates = train["lang_ids"], train["mlm_probability"]
    assert rus not in lang_ids[:12] and rus in lang_ids[12:]  # rus_Cyrl joins at half the steps
    assert rates == [0.3] * 12 + [0.15] * 12
    assert [(p["steps"], p["alpha"], sorted(p["rows"])) for p in mixture.phases] == [
        ([0, 3], 1.0, ["deu_Latn", "eng_Latn"]),
        ([3, 6], 0.3, ["deu_Latn", "eng_Latn", "rus_Cyrl"]),
    ]
    assert run.training_args.train_sampling_strategy == "sequential"


def losses(folder):
    state = json.loads((folder / "trainer_state.json").read_text())
    return {entry["step"]: entry["loss"] for entry in state["log_history"] if "loss" in entry}


@pytest.mark.parametrize("streaming", [[], ["--streaming"]], ids=["cached", "streaming"])
def test_kill_inside_a_later_phase_then_resume_gives_the_same_losses(tmp_path, base, corpus, caplog, streaming):
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    cli.main(argv(base, corpus, whole, tmp_path / "cache", *streaming))
    # A run killed after its step-4 checkpoint (inside the second phase): only that checkpoint is left.
    resumed.mkdir()
    shutil.copytree(whole / "checkpoint-4", resumed / "checkpoint-4")
    shutil.copy(whole / "langsamp_run.json", resumed / "langsamp_run.json")
    cli.main(argv(base, corpus, resumed, tmp_path / "cache", "--resume_from_checkpoint", "auto", *streaming))
    expected, got = losses(whole), losses(resumed)
    assert sorted(got) == [1, 2, 3, 4, 5, 6] and all(got[step] == expected[step] for step in (5, 6))
    if streaming:  # the stream's phases are on the card as the cached build's are
        assert "| 3-5 | 0.3 | 0.15 | rus_Cyrl |" in (whole / "README.md").read_text()

    # Resuming with another schedule warns, naming both.
    again = tmp_path / "again"
    again.mkdir()
    shutil.copytree(whole / "checkpoint-4", again / "checkpoint-4")
    shutil.copy(whole / "langsamp_run.json", again / "langsamp_run.json")
    other = argv(base, corpus, again, tmp_path / "cache", "--resume_from_checkpoint", "auto", "--max_steps", "5")
    other[other.index("1,0.3@0.5")] = "1,0.5@0.5"
    cli.main(other)
    assert "sampling_alpha: '1,0.3@0.5' -> '1,0.5@0.5'" in caplog.text


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--language_stages", "zgh_Tfng@0.5"], "--language_stages 'zgh_Tfng@0.5': 'zgh_Tfng' is not a pair of the"),
        (["--sampling_alpha", "0.7,0.5@0.8,0.3@0.4"], "'0.3@0.4' starts at or before the previous entry"),
        (["--mlm_probability", "0.3,1.5@0.5"], "the value 1.5 of '1.5@0.5' is outside (0, 1]"),
        (["--sampling_alpha", "0.7,0.5@0.5", "--max_steps", "-1"], "a schedule needs --max_steps"),
    ],
)
def test_a_bad_schedule_is_one_line_before_any_work(tmp_path, checked_train, small_corpus, flags, message):
    args = ["--corpus", str(small_corpus), "--output_dir", str(tmp_path / "out"), "--max_steps", "4", *flags]
    with pytest.raises(cli.BadInput) as error:
        checked_train.main(args)
    assert message in str(error.value) and "\n" not in str(error.value)
