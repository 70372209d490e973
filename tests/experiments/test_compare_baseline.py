"""compare_baseline.py's statistics (mean ± sd over seeds, the paired test, the 'exceeds seed spread' verdict) against
figures worked out by hand, and its command line on bad values."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from scipy.stats import t as student_t

from langsamp.experiments.compare_baseline import (
    checks,
    cli,
    evaluations,
    methods,
    recorded,
    report,
    runs,
    settings,
    statistics,
)

REPO = Path(__file__).resolve().parents[2]


def seeds(values):
    return [{"m": value} for value in values]


def test_summary_statistics_by_hand():
    per_seed = {
        "start": seeds([50.0, 52.0, 54.0]),
        "baseline": seeds([60.0, 61.0, 65.0]),
        "langsamp": seeds([63.0, 64.5, 67.0]),
    }
    (row,) = statistics.summarise(per_seed)
    assert row["baseline"]["mean"] == pytest.approx(62.0)
    # sample sd (n - 1): deviations -2, -1, 3 -> sqrt(14 / 2)
    assert row["baseline"]["sd"] == pytest.approx(math.sqrt(7.0))
    assert row["start"]["sd"] == pytest.approx(2.0)
    # paired differences 3, 3.5, 2: mean 2.8333, sd sqrt(((1/6)^2 + (2/3)^2 + (5/6)^2) / 2)
    diffs = [3.0, 3.5, 2.0]
    mean = sum(diffs) / 3
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / 2)
    assert row["difference"]["mean"] == pytest.approx(mean) and row["difference"]["sd"] == pytest.approx(sd)
    t_value = mean / (sd / math.sqrt(3))
    assert row["p"] == pytest.approx(2 * student_t.sf(t_value, df=2))
    # p ~ 0.02, and the difference (2.83) exceeds both variants' sd (baseline 2.65, LangSAMP 2.02)
    assert row["p"] < 0.05 and row["exceeds_spread"]


def test_a_difference_within_the_spread_is_not_claimed():
    per_seed = {
        "start": seeds([1.0, 1.0, 1.0]),
        "baseline": seeds([60.0, 70.0, 80.0]),
        "langsamp": seeds([61.0, 71.2, 80.9]),
    }
    (row,) = statistics.summarise(per_seed)
    assert row["p"] < 0.05 and abs(row["difference"]["mean"]) < row["baseline"]["sd"]
    assert not row["exceeds_spread"]  # consistent sign, but far smaller than the seed spread
    equal = statistics.summarise(
        {"start": seeds([1.0, 1.0]), "baseline": seeds([5.0, 6.0]), "langsamp": seeds([5.0, 6.0])}
    )[0]
    assert math.isnan(equal["p"]) and not equal["exceeds_spread"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--seeds", "1"], "at least 2"),
        (["--seeds", "1", "1", "2"], "repeated seeds"),
        (["--languages", "deu_Latn", "rus_Cyrl"], "must include eng_Latn"),
        (["--max_steps", "0"], "--max_steps must be >= 1"),
        (["--model", "no/such/folder/here"], "--model no/such/folder/here: no such folder"),
        (["--max_steps", "many"], "argument --max_steps: invalid int value: 'many'"),
    ],
)
def test_bad_values_give_one_line_and_exit_2(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_code:  # in this process: train.py's parser is imported once for all cases
        cli.main(["--output_dir", str(tmp_path / "c"), *argv])
    error = capsys.readouterr().err
    assert exit_code.value.code == 2 and error.count("\n") == 1, error
    assert error.startswith("compare_baseline.py: error: ") and message in error
    assert not (tmp_path / "c").exists()  # refused before any work


# ---------------------------------------------------------------- validation first, keeping what finished, resuming
# tests/fixtures/fake_train.py stands in for train.py (a tiny random model in a second), so these runs take seconds.

FAKE_TRAIN = REPO / "tests" / "fixtures" / "fake_train.py"


@pytest.fixture(scope="module")
def tiny_checkpoints(tmp_path_factory, tokenizer):
    """Tiny random checkpoints: the start and the baseline without tables, LangSAMP with them."""
    import torch
    from fixtures.models import tiny_config

    from modeling_langsamp import LangSAMPForMaskedLM

    folders = {}
    for name, tables in (("start", False), ("baseline", False), ("langsamp", True)):
        folders[name] = tmp_path_factory.mktemp(name)
        torch.manual_seed(len(folders))
        LangSAMPForMaskedLM(tiny_config(use_lang_embedding=tables, use_script_embedding=tables)).save_pretrained(
            folders[name]
        )
        tokenizer.save_pretrained(folders[name])
    return folders


@pytest.fixture
def tiny_start(tiny_checkpoints, monkeypatch):
    monkeypatch.setenv("FAKE_TRAIN_BASELINE", str(tiny_checkpoints["baseline"]))
    monkeypatch.setenv("FAKE_TRAIN_LANGSAMP", str(tiny_checkpoints["langsamp"]))
    return tiny_checkpoints["start"]


def tiny_argv(start, output, *extra):
    return [
        "--model",
        str(start),
        "--output_dir",
        str(output),
        "--languages",
        "eng_Latn",
        "deu",
        "--seeds",
        "1",
        "2",
        "--max_steps",
        "2",
        "--head_warmup_steps",
        "0",
        "--layers",
        "1",
        "2",
        "--classify_epochs",
        "1",
        "--mlm_sentences",
        "1",
        "--mask_rounds",
        "1",
        "--max_length",
        "32",
        "--probe_folds",
        "2",
        "--train_script",
        str(FAKE_TRAIN),
        *extra,
    ]


def stand_in_evaluation(log):
    """evaluations.evaluate_run without the models (each evaluation has its own tests, in tests/evaluation/): figures
    laid out like the real ones, different per checkpoint; every call logged."""

    def evaluate(checkpoint, languages, translations, args, classify_seed, reuse=None, uriel=False):
        log.append((str(checkpoint), classify_seed, sorted(reuse or {})))
        x = 0.1 * len(log)
        result = dict(reuse or {})
        result.setdefault("retrieval", {layer: {"average": {"top1": x / layer, "top10": x}} for layer in args.layers})
        result.setdefault(
            "neutrality",
            {
                "per_layer": {
                    layer: {"mean": x, "mean_non_parallel": x / 2, "lid_accuracy": 1 - x / 9}
                    for layer in [0, *args.layers]
                }
            },
        )
        result.setdefault("mlm", {"average": {"masked_accuracy": x / 3, "masked_perplexity_geomean": 100 * x}})
        result["classification"] = {
            "average": {"macro_f1": x / 4, "accuracy": x / 2},
            "source_metrics": {"accuracy": x},
        }
        return result

    return evaluate


def test_two_languages_run_keep_what_finished_and_resume(tiny_start, tmp_path, monkeypatch, capsys):
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("FAKE_TRAIN_CALLS", str(calls))
    evaluated = []
    monkeypatch.setattr(evaluations, "evaluate_run", stand_in_evaluation(evaluated))
    output = tmp_path / "compare"
    # 1. Seed 2's first pretraining run fails: seed 1's two finished runs are kept.
    monkeypatch.setenv("FAKE_TRAIN_FAIL_SEED", "2")
    with pytest.raises(SystemExit, match="train.py failed"):
        cli.main(tiny_argv(tiny_start, output))
    assert calls.read_text().split("\n")[:3] == ["1 False", "1 True", "2 False"]
    assert (output / "seed1" / "baseline.done").is_file() and (output / "seed1" / "langsamp.done").is_file()
    # 2. The same command resumes: only seed 2 is trained; a 2-language comparison is written (the deu in --languages
    #    resolved to the UDHR's deu_Latn), without the URIEL figures and pictures that need 3 languages.
    monkeypatch.delenv("FAKE_TRAIN_FAIL_SEED")
    cli.main(tiny_argv(tiny_start, output))
    assert calls.read_text().split() == "1 False 1 True 2 False 2 False 2 True".split()
    out = capsys.readouterr().out
    assert (
        "2 of 4 pretraining runs are finished and kept" in out
        and "need at least 3" in out
        and "URIEL correlation is left out" in out
    )
    results = json.loads((output / "results.json").read_text())
    assert results["settings"]["languages"] == ["eng_Latn", "deu_Latn"] and results["uriel_rows"] is None
    metrics = {row["metric"] for row in results["rows"]}
    assert (
        "Cross-language cosine of parallel sentences (layer 2)" in metrics
        and "UDHR retrieval top-1 (layer 1), %" in metrics
    )
    assert (output / "comparison.md").read_text().count("| UDHR retrieval top-1 (layer") == 2  # layers 1 and 2
    # start, baseline, LangSAMP per seed; the start's seed-independent figures are computed once and reused
    assert len(evaluated) == 6 and evaluated[3] == (str(tiny_start), 1, ["mlm", "neutrality", "retrieval"])
    # 3. Again: nothing is trained or evaluated again, and the tables come out the same.
    cli.main(tiny_argv(tiny_start, output))
    assert len(calls.read_text().split("\n")) == 6 and len(evaluated) == 6  # 5 calls and the last newline
    assert capsys.readouterr().out.count("evaluated before") == 6
    assert json.loads((output / "results.json").read_text())["rows"] == results["rows"]
    # 4. Other pretraining settings in the same folder are refused, naming the difference and the way out.
    with pytest.raises(SystemExit) as exit_code:
        cli.main(tiny_argv(tiny_start, output, "--learning_rate", "1e-4"))
    error = capsys.readouterr().err
    assert exit_code.value.code == 2 and error.count("\n") == 1
    assert "--learning_rate 5e-05 -> 0.0001" in error and "--overwrite" in error
    assert len(calls.read_text().split("\n")) == 6 and (output / "results.json").is_file()
    # 5. --overwrite replaces it: all four runs are trained again, under the new setting.
    cli.main(tiny_argv(tiny_start, output, "--learning_rate", "1e-4", "--overwrite"))
    assert len(calls.read_text().split("\n")) == 10 and len(evaluated) == 12
    assert json.loads((output / "results.json").read_text())["settings"]["learning_rate"] == 1e-4


def test_every_bad_argument_is_named_in_one_line(tiny_start, tmp_path):
    argv = [
        sys.executable,
        str(REPO / "compare_baseline.py"),
        "--output_dir",
        str(tmp_path / "c"),
        "--model",
        str(tiny_start),
        "--layers",
        "1",
        "40",
        "--languages",
        "eng_Latn",
        "deu_Xxxx",
        "--seeds",
        "1",
        "--max_steps",
        "50",
        "--classify_batch_size",
        "0",
        "--train_args",
        "--no_such_flag",
        "1",
    ]
    result = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    for part in (
        "--layers 40: ",
        "has 2 layers",
        "'deu_Xxxx' is not in the UDHR",
        "--seeds: give at least 2",
        "--max_steps 50 must exceed --head_warmup_steps 100",
        "--classify_batch_size must be >= 1",
        "--no_such_flag",
    ):
        assert part in result.stderr, part
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--seeds", "-1", "0"], "--seeds -1: give seeds from 0 to 2**32 - 1 (numpy's range)"),
        (["--learning_rate", "inf"], "--learning_rate must be > 0, got inf"),
        # train.py's own checks, run now rather than in the first pretraining run's subprocess
        (
            ["--train_args", "--weight_decay", "-1"],
            "train.py refuses the runs' flags: --weight_decay -1.0 must be >= 0",
        ),
        (
            ["--train_args", "--eval_strategy", "steps"],
            "train.py refuses the runs' flags: --eval_strategy steps evaluates",
        ),
        (
            ["--train_args", "--report_to", "wandb"],
            "train.py refuses the runs' flags: --report_to wandb: not installed",
        ),
    ],
)
def test_what_train_py_would_refuse_is_found_before_any_run(tiny_start, tmp_path, flags, message):
    args = cli.build_parser().parse_args(["--output_dir", str(tmp_path / "c"), "--model", str(tiny_start), *flags])
    assert any(problem.startswith(message) for problem in checks.check_args(args)), checks.check_args(args)


def test_no_warmup_is_passed_to_train_py_explicitly(tiny_start, tmp_path):
    # Left out, train.py's auto rule turns a warm-up on for an encoder without a trained head (e5): 0 must say 0.
    args = cli.build_parser().parse_args(["--output_dir", str(tmp_path / "c"), "--head_warmup_steps", "0"])
    flags = settings.train_arguments(args)
    assert flags[flags.index("--head_warmup_steps") + 1] == "0"


def test_a_folder_that_is_not_a_comparison_is_not_overwritten(tiny_start, tmp_path, capsys):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit) as exit_code:
        cli.main(tiny_argv(tiny_start, tmp_path / "c"))
    error = capsys.readouterr().err
    assert exit_code.value.code == 2 and "is not empty and holds no settings.json" in error and "--overwrite" in error
    assert (tmp_path / "c" / "notes.txt").read_text() == "mine" and sorted(
        p.name for p in (tmp_path / "c").iterdir()
    ) == ["notes.txt"]


def test_uriel_rows_are_mean_and_sd_over_seeds_beside_the_random_table():
    def one(rho, p):
        return {
            "syntax": {
                "rho": rho,
                "p_value": p,
                "n_languages": 41,
                "n_pairs": 820,
                "rho_different_script": rho / 2,
                "p_value_different_script": 2 * p,
            }
        }

    per_seed = [
        {"table": one(0.25, 0.001), "random_table": one(0.01, 0.4)},
        {"table": one(0.35, 0.003), "random_table": one(-0.03, 0.6)},
        {"table": one(0.30, 0.002), "random_table": one(0.02, 0.5)},
    ]
    rows = statistics.uriel_rows(per_seed)
    assert [row["measure"] for row in rows] == [
        "URIEL syntax: Spearman rho, all pairs (41 languages, 820 pairs)",
        "URIEL syntax: permutation p, all pairs",
        "URIEL syntax: Spearman rho, different-script pairs",
        "URIEL syntax: permutation p, different-script pairs",
    ]
    assert rows[0]["table"]["mean"] == pytest.approx(0.30) and rows[0]["table"]["sd"] == pytest.approx(
        0.05
    )  # 0.25, 0.35, 0.30
    assert rows[0]["random_table"]["mean"] == pytest.approx(0.0, abs=1e-12) and rows[0]["random_table"][
        "sd"
    ] == pytest.approx(math.sqrt(0.0007))
    assert rows[2]["table"]["mean"] == pytest.approx(0.15) and rows[3]["random_table"]["mean"] == pytest.approx(1.0)
    table = report.uriel_markdown(rows)
    assert (
        "| URIEL syntax: Spearman rho, all pairs (41 languages, 820 pairs) | 0.300 ± 0.050 | 0.000 ± 0.026 |" in table
    )


def test_the_default_pretraining_command_is_this_packages_train_py(tiny_checkpoints, tmp_path):
    # No --train_script: `python -m langsamp.training.train`, the code behind train.py and langsamp-train, which also
    # runs where the package is installed without a clone. A corpus that does not exist stops it at its first check,
    # so its own one-line error comes back through compare_baseline's log.
    log = tmp_path / "langsamp.log"
    with pytest.raises(SystemExit) as stop:
        runs.pretrain("langsamp", 1, tiny_checkpoints["start"], tmp_path / "no-corpus", tmp_path / "run", 2, [], log)
    assert "train.py failed (exit 2)" in str(stop.value)
    assert log.read_text().splitlines()[-1] == (
        f"train.py: error: --corpus {tmp_path / 'no-corpus'}: no such file or directory (a Hub dataset id looks like "
        "`user/name`)."
    )


def test_pretraining_runs_in_the_users_folder_and_the_command_exits_0(tiny_start, tmp_path, monkeypatch):
    # Relative paths given in the user's folder mean that folder (before, the runs started in the clone's root), and
    # the console script's entry returns nothing for sys.exit to turn into exit status 1 and a printed list.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FAKE_TRAIN_CALLS", str(tmp_path / "calls.txt"))
    (tmp_path / "corpus").mkdir()
    folder = runs.pretrain(
        "langsamp", 1, tiny_start, Path("corpus"), Path("run"), 2, [], Path("run.log"), train_script=FAKE_TRAIN
    )
    assert (tmp_path / "run" / "config.json").is_file() and (tmp_path / "run.log").is_file(), folder
    monkeypatch.setattr(cli, "main", lambda argv=None: [{"metric": "rows for code that calls main"}])
    assert cli.cli([]) is None


# ---------------------------------------------------------------- the report describes the runs as they ran


def write_finished_run(source, run_dir, steps, per_device, accumulation, tokens, head_warmup_steps=0):
    """A finished train.py run as train.py leaves its --output_dir (the model, trainer_state.json, training_args.bin,
    langsamp_run.json), and compare_baseline's `.done` beside it."""
    import shutil

    import torch
    from transformers import TrainingArguments

    shutil.copytree(source, run_dir)
    training_args = TrainingArguments(
        output_dir=str(run_dir), per_device_train_batch_size=per_device, gradient_accumulation_steps=accumulation,
        learning_rate=5e-5, max_steps=steps, report_to="none", use_cpu=True,
    )  # fmt: skip
    torch.save(training_args, run_dir / "training_args.bin")  # as the Trainer's save_model does
    warmup = {"args": {"steps": head_warmup_steps, "learning_rate": 1e-3, "reason": None}, "attributes": {}}
    state = {"global_step": steps, "max_steps": steps, "train_batch_size": per_device,
             "stateful_callbacks": {"HeadWarmup": warmup}}  # fmt: skip
    (run_dir / "trainer_state.json").write_text(json.dumps(state))
    data = {"corpus": "corpus", "languages": None, "max_seq_length": tokens, "sampling_alpha": 0.3, "streaming": False,
            "mlm_probability": 0.15, "max_eval_samples": 0, "pairs": ["deu_Latn", "eng_Latn"]}  # fmt: skip
    (run_dir / "langsamp_run.json").write_text(json.dumps({"parts": [{"from_step": 0, "data": data}]}))
    (run_dir.parent / f"{run_dir.name}.done").write_text(json.dumps({"seconds": 1}))


def test_the_report_says_what_the_runs_ran_with_not_the_recipe(tiny_checkpoints, tmp_path, monkeypatch):
    # --train_args made the batches 2 x 32 tokens (the recipe's are 8 x 128) and the probe is off (--probe_folds 0):
    # the report's account of the method says what the runs recorded, and no word of a probe that did not run.
    monkeypatch.setattr(evaluations, "evaluate_run", stand_in_evaluation([]))
    output = tmp_path / "compare"
    flags = ["--probe_folds", "0", "--skip_training", "--train_args", "--per_device_train_batch_size", "2",
             "--max_seq_length", "32"]  # fmt: skip
    argv = tiny_argv(tiny_checkpoints["start"], output, *flags)
    args = cli.build_parser().parse_args(argv)
    checks.check_args(args)  # deu -> deu_Latn, as the comparison that made these runs saved it
    output.mkdir()
    runs.write_settings(output, args)
    for (variant, _), run_dir in runs.planned_runs(output, args.seeds).items():
        write_finished_run(tiny_checkpoints[variant], run_dir, steps=2, per_device=2, accumulation=1, tokens=32)
    cli.main(argv)
    text = (output / "comparison.md").read_text(encoding="utf-8")
    assert "2 UDHR languages" in text and "2 steps of 2 x 32 tokens per run (peak lr 5e-05)" in text, text
    assert "8 x 128" not in text and "-fold" not in text and "no language-ID probe (--probe_folds 0)" in text, text
    # eng_Latn and deu_Latn: 1 target, the preamble and articles 1-30 (chance top-1 1/31); 1 paragraph a language
    assert "English queries against 1 language, 31 UDHR units each (chance: top-1 3.2%, top-10 32%)" in text, text
    assert "1 paragraph a language in 2 languages, 1 mask draw." in text, text


def test_accumulated_chunks_a_warm_up_and_what_a_run_did_not_record(tiny_checkpoints, tmp_path):
    args = cli.build_parser().parse_args(["--languages", "eng_Latn", "deu_Latn", "--seeds", "1", "2"])
    folder = tmp_path / "seed1" / "langsamp"
    write_finished_run(
        tiny_checkpoints["langsamp"], folder, 5, per_device=2, accumulation=3, tokens=32, head_warmup_steps=4
    )
    # 2 chunks a device x 3 accumulation steps x 1 process: 6 chunks of 32 tokens a step
    assert (
        "2 UDHR languages (articles 26-30 held out), 5 steps of 6 x 32 tokens per run (2 a device x 3 accumulation "
        "steps x 1 device; the first 4 train only the LM head and the tables at 0.001, the rest everything at a peak "
        "5e-05)" in methods.pretraining_text([recorded.read_run(folder)], args)
    )
    # A --train_script that leaves only its model and the step it reached (as tests/fixtures/fake_train.py does)
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "trainer_state.json").write_text(json.dumps({"global_step": 5}))
    assert (
        "5 steps per run (not recorded by the runs: chunks a step, chunk length, learning rate, head warm-up)"
        in methods.pretraining_text([recorded.read_run(bare)], args)
    )
