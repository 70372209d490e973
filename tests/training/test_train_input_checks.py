"""train.py as a new user runs it: `--help` works, every bad flag value is one line before any work,
a finished model is never overwritten, a resume that cannot work fails before the model is built (and one that
changes the mixture warns), Ctrl-C says how to continue, and the run reports how many chunks each pair got."""

import json
import logging
import os
import runpy
import signal
import subprocess
import sys

import datasets
import pytest
from fixtures.models import TRAIN_SCRIPT, tiny_config
from transformers import TrainerCallback

from langsamp.data import split_held_out
from langsamp.training import arguments, builders, cli, resume, trainer
from modeling_langsamp import LangSAMPForMaskedLM

TINY = "hidden_size=32,num_hidden_layers=1,num_attention_heads=2,intermediate_size=64"
QUIET = ["--report_to", "none", "--disable_tqdm", "true", "--dataloader_num_workers", "0"]  # (a later --report_to wins)


def run_script(capsys, monkeypatch, *argv):
    """train.py run as a script (`__main__`, in this process: the imports are already paid for): (exit code, stdout,
    stderr)."""
    monkeypatch.setattr(sys, "argv", [TRAIN_SCRIPT, *map(str, argv)])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(TRAIN_SCRIPT, run_name="__main__")
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


# ------------------------------------------------------------------------------------------------------------ --help


def test_help_lists_the_scripts_own_flags(capsys, monkeypatch):
    # One fresh process for the crash as it was reported, then -h as a script in this process.
    proc = subprocess.run(
        [sys.executable, TRAIN_SCRIPT, "--help"],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ, COLUMNS="250", HF_HUB_OFFLINE="1"),
    )  # argparse wraps at the terminal width
    # before: "train.py: error: unsupported format character '<' (0x3c)" (the bare % of a help text)
    assert proc.returncode == 0, proc.stderr[-2000:]
    monkeypatch.setenv("COLUMNS", "250")
    status, out, _ = run_script(capsys, monkeypatch, "-h")
    assert status == 0 and out == proc.stdout
    for text in (
        "--corpus CORPUS",
        "--max_seq_length MAX_SEQ_LENGTH",
        "--use_lang_embedding",
        "Share of tokens masked (80% <mask>, 10% random, 10% kept); or a schedule",
        "from 40% of the steps on",
        "at most 10% of the chunks",
        "--learning_rate LEARNING_RATE",
    ):  # and TrainingArguments' after this script's own
        assert text in out, text


# ------------------------------------------------------------------------------------------- numeric flag values


@pytest.mark.parametrize(
    "flags, message",
    [
        (
            ["--max_steps", "-5"],
            "--max_steps -5: give a positive number of optimizer steps, or leave it out (-1) to "
            "train --num_train_epochs (3) epochs.",
        ),
        (["--max_steps", "0"], "--max_steps 0: give a positive number"),
        (
            ["--num_train_epochs", "0"],
            "--num_train_epochs 0 trains nothing: give a positive number of epochs, or --max_steps.",
        ),
        (["--learning_rate", "0"], "--learning_rate 0 would never change the weights: give a positive rate"),
        (["--learning_rate", "-1e-4"], "--learning_rate -0.0001 would raise the loss: give a positive rate"),
        (["--max_eval_samples", "-3"], "--max_eval_samples -3 must be >= 0 (0 disables the held-out loss)."),
        (
            ["--per_device_train_batch_size", "0"],
            "--per_device_train_batch_size 0 must be >= 1 (sequences per device and step).",
        ),
        (["--per_device_eval_batch_size", "-1"], "--per_device_eval_batch_size -1 must be >= 1"),
        (
            ["--gradient_accumulation_steps", "0"],
            "--gradient_accumulation_steps 0 must be >= 1 (batches per optimizer step).",
        ),
        (["--dataloader_num_workers", "-1"], "--dataloader_num_workers -1 must be >= 0"),
        (["--preprocessing_num_workers", "0"], "--preprocessing_num_workers 0 must be >= 1 (processes)."),
        (["--save_steps", "0"], "--save_steps 0 must be positive"),
        (
            ["--save_total_limit", "0"],
            "--save_total_limit 0 must be >= 1 (checkpoints kept; leave it out to keep all).",
        ),
        (["--logging_steps", "-3"], "--logging_steps -3.0 must be >= 0"),
        (["--weight_decay", "-0.01"], "--weight_decay -0.01 must be >= 0 (0 disables it)."),
        (["--max_grad_norm", "-1"], "--max_grad_norm -1.0 must be >= 0 (0 disables clipping)."),
        (["--adam_beta2", "1"], "--adam_beta2 1 must be in [0, 1) (a moving-average decay)."),
        (["--adam_epsilon", "-1e-8"], "--adam_epsilon -1e-08 must be >= 0"),
        (["--seed", "-3"], "--seed -3 must be >= 0 (numpy takes 0 .. 2**32 - 1)."),
        (["--head_warmup_steps", "-3"], "--head_warmup_steps -3 must be >= 0 (0 = no warm-up; leave it out for auto)."),
        (
            ["--head_warmup_learning_rate", "inf"],
            "--head_warmup_learning_rate inf must be a positive number (default 0.001).",
        ),
        (["--head_warmup_learning_rate", "0"], "--head_warmup_learning_rate 0 must be a positive number"),
        (
            [
                "--head_warmup_steps",
                "5",
                "--lr_scheduler_type",
                "reduce_lr_on_plateau",
                "--eval_strategy",
                "steps",
                "--eval_steps",
                "2",
            ],
            "--lr_scheduler_type reduce_lr_on_plateau cannot follow --head_warmup_steps 5 (it is not a step-wise "
            "schedule)",
        ),
    ],
)
def test_train_numeric_flags_out_of_range_fail_before_any_work(tmp_path, checked_train, small_corpus, flags, message):  # noqa: F811
    argv = ["--corpus", str(small_corpus), "--output_dir", str(tmp_path / "out"), *QUIET, *flags]
    with pytest.raises(cli.BadInput) as error:
        checked_train.main(argv)
    assert str(error.value).startswith(message), str(error.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "flags, message",
    [
        (
            ["--report_to", "wandb"],
            "--report_to wandb: not installed (e.g. pip install wandb); or pass --report_to none.",
        ),
        (["--report_to", "tensorbord"], "--report_to: tensorbord is not supported, only azure_ml, comet_ml, mlflow"),
        (
            ["--eval_strategy", "steps", "--eval_steps", "2", "--max_eval_samples", "0"],
            "--eval_strategy steps evaluates the held-out chunks, but --max_eval_samples 0 holds none out: give "
            "--max_eval_samples, or leave --eval_strategy out.",
        ),
    ],
)
def test_train_flags_the_trainer_refused_only_after_the_model_was_built(
    tmp_path, checked_train, small_corpus, flags, message
):  # noqa: F811
    # before: a traceback from Trainer.__init__ (an integration not installed, an evaluation without a dataset)
    with pytest.raises(cli.BadInput) as error:
        checked_train.main(["--corpus", str(small_corpus), "--output_dir", str(tmp_path / "out"), *QUIET, *flags])
    assert str(error.value).startswith(message), str(error.value)


def test_a_bad_flag_value_is_one_line_and_exit_2(tmp_path, small_corpus, capsys, monkeypatch):  # noqa: F811
    status, _, err = run_script(
        capsys, monkeypatch, "--corpus", small_corpus, "--output_dir", tmp_path / "out", "--learning_rate", "-1e-4"
    )  # scientific notation: a value, not an unknown flag
    # before: trained with a negative rate without a word
    assert status == 2 and err.splitlines() == [
        "train.py: error: --learning_rate -0.0001 would raise the loss: give a positive rate (the paper's continual "
        "pretraining uses 5e-5)."
    ], err[-2000:]
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------------ corpus, --languages


def test_a_misspelled_script_in_languages(tmp_path, checked_train, small_corpus):  # noqa: F811
    with pytest.raises(
        cli.BadInput,
        match=r"^Language 'rus_Cyr': 'Cyr' is not a script code \(ISO 15924 codes have "
        r"4 letters; closest: Cyrl\)\. Write the label as `<lang>_<Script>`, e\.g\. 'rus_Cyrl'\.$",
    ):
        checked_train.main(
            ["--corpus", str(small_corpus), "--languages", "rus_Cyr", "--output_dir", str(tmp_path / "out"), *QUIET]
        )


def test_a_text_file_not_named_after_its_pair(tmp_path, checked_train):  # noqa: F811
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "english.txt").write_text("All human beings are born free and equal in dignity and rights.\n")
    # before: "Corpus ... has no 'lang' column" (read as a dataset of rows)
    with pytest.raises(cli.BadInput) as error:
        checked_train.main(["--corpus", str(corpus), "--output_dir", str(tmp_path / "out"), *QUIET])
    assert str(error.value) == (
        f"Corpus entry '{corpus / 'english.txt'}' is not named <iso639-3>_<Script>: expected a name such as "
        f"'hin_Deva', "
        "'hin_Deva.txt' or 'hin_Deva.txt.gz' (or a folder 'hin_Deva/' of such text files). Rename it or move it out of "
        "the corpus directory."
    )


def test_a_rows_corpus_with_a_mislabelled_script(tmp_path, checked_train, udhr_translations):  # noqa: F811
    english, russian = udhr_translations["eng_Latn"].paragraphs(), udhr_translations["rus_Cyrl"].paragraphs()
    rows = [{"text": t, "lang": "eng", "script": "Latn"} for t in english]
    rows += [{"text": t, "lang": "rus", "script": "Latn"} for t in russian]  # Cyrillic text labelled Latin
    datasets.Dataset.from_list(rows).save_to_disk(tmp_path / "rows")
    with pytest.raises(cli.BadInput) as error:
        checked_train.main(
            [
                "--corpus",
                str(tmp_path / "rows"),
                "--output_dir",
                str(tmp_path / "out"),
                "--cache_dir",
                str(tmp_path / "cache"),
                *QUIET,
            ]
        )
    # before: trained under the Latin script id (text folders were checked, rows were not)
    lines = len([t for t in russian if t.strip()][:200])
    assert str(error.value) == (
        f"The corpus' rows (rus_Latn): only 0% of its first {lines} lines are in Latn; found Cyrl 100%. Its text would "
        "train under the wrong script id: correct their `script` (or `lang`) values (`Cyrl`?), or leave the script out "
        "to detect it."
    )
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------------- --output_dir


@pytest.mark.parametrize("resume", [[], ["--resume_from_checkpoint", "auto"]], ids=["fresh", "auto"])
def test_a_finished_model_in_output_dir_is_not_overwritten(tmp_path, checked_train, small_corpus, resume):  # noqa: F811
    LangSAMPForMaskedLM(tiny_config(num_hidden_layers=1)).save_pretrained(tmp_path / "done")  # no checkpoint-N left
    before = (tmp_path / "done" / "model.safetensors").read_bytes()
    with pytest.raises(cli.BadInput) as error:
        checked_train.main(["--corpus", str(small_corpus), "--output_dir", str(tmp_path / "done"), *QUIET, *resume])
    assert str(error.value) == (
        f"--output_dir {tmp_path / 'done'} already holds a trained model (config.json, model.safetensors) and no "
        "checkpoint to resume: training would overwrite it. Choose another --output_dir, or delete (or move) that "
        "model first."
    )
    assert (tmp_path / "done" / "model.safetensors").read_bytes() == before


# ------------------------------------------------------------------------------ Ctrl-C, then resuming that run


class InterruptAt(TrainerCallback):
    """Ctrl-C as the user presses it: a KeyboardInterrupt in the middle of training, after step `step`."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory, small_corpus, tokenizer):  # noqa: F811
    """A tiny run of 3 steps (a checkpoint each step) interrupted at step 2, before that step's checkpoint."""
    out = tmp_path_factory.mktemp("interrupted") / "run"
    argv = [
        "--corpus",
        str(small_corpus),
        "--output_dir",
        str(out),
        "--config_overrides",
        TINY,
        "--max_seq_length",
        "32",
        "--per_device_train_batch_size",
        "2",
        "--max_eval_samples",
        "4",
        "--save_steps",
        "1",
        "--max_steps",
        "3",
        "--cache_dir",
        str(out.parent / "cache"),
        *QUIET,
    ]
    saved = dict(tokenizer.init_kwargs)
    cli.load_tokenizer, load_tokenizer = (lambda model_args: tokenizer), cli.load_tokenizer
    try:
        with pytest.raises(cli.Interrupted) as interrupt:
            cli.main(argv, callbacks=[InterruptAt(2)])
    finally:
        cli.load_tokenizer = load_tokenizer
        tokenizer.init_kwargs.clear()
        tokenizer.init_kwargs.update(saved)
    return out, argv, str(interrupt.value)


def test_ctrl_c_says_where_the_last_checkpoint_is(interrupted_run):
    out, _, message = interrupted_run
    assert message == (
        f"interrupted at step 2; the last complete checkpoint is {out / 'checkpoint-1'}: run the same command with "
        "--resume_from_checkpoint auto to continue from it."
    )
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-1"]


def test_ctrl_c_before_the_first_checkpoint_exits_130(tmp_path, small_corpus, capsys, monkeypatch):  # noqa: F811
    # The script itself, Ctrl-C at the first training step (Trainer.training_step raising it): no checkpoint yet.
    from transformers import Trainer

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "training_step", ctrl_c)
    status, _, err = run_script(
        capsys,
        monkeypatch,
        "--corpus",
        small_corpus,
        "--output_dir",
        tmp_path / "out",
        "--config_overrides",
        TINY,
        "--max_seq_length",
        "32",
        "--max_steps",
        "2",
        "--max_eval_samples",
        "0",
        "--cache_dir",
        tmp_path / "cache",
        *QUIET,
    )
    assert status == 130 and "Traceback" not in err, err[-3000:]
    assert err.splitlines()[-1] == (
        "train.py: interrupted at step 0, before the first checkpoint (--save_steps 500): nothing was saved; the same "
        "command starts over."
    )


def test_resuming_with_a_table_toggled_fails_before_the_model_is_built(interrupted_run, checked_train):  # noqa: F811
    out, argv, _ = interrupted_run
    # before: torch's optimizer-state traceback ("loaded state dict contains a parameter group that doesn't match")
    with pytest.raises(cli.BadInput) as error:
        checked_train.main(argv + ["--resume_from_checkpoint", "auto", "--use_lang_embedding", "false"])
    assert str(error.value) == (
        f"--resume_from_checkpoint {out / 'checkpoint-1'} was trained with use_lang_embedding=True, this run asks for "
        "--use_lang_embedding False: its weights and optimizer state do not fit. Resume without changing it, or start "
        "a "
        "new run in another --output_dir."
    )


def test_resuming_with_other_max_steps_warns_naming_both(interrupted_run, tokenizer, monkeypatch, caplog):
    out, argv, _ = interrupted_run
    monkeypatch.setattr(cli, "load_tokenizer", lambda model_args: tokenizer)
    with caplog.at_level(logging.WARNING, logger="langsamp.training"):
        cli.main([*argv, "--max_steps", "2", "--resume_from_checkpoint", "auto"])  # the later --max_steps wins
    warned = [r.getMessage() for r in caplog.records if "--max_steps" in r.getMessage()]
    assert warned == [
        f"Resuming {out / 'checkpoint-1'} with --max_steps 2; the run began with --max_steps 3. The mixture of rows is "
        "drawn once for the whole run from max_steps, so the rows from step 1 on differ from those the uninterrupted "
        "run "
        "would have seen (another draw of the same corpus and sampling)."
    ]
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 2


# ------------------------------------------------------- the default 512-token chunks on a small corpus; chunk counts


def test_default_chunk_length_on_a_small_corpus_trains_and_reports_each_pairs_chunks(
    tmp_path,
    small_corpus,
    tokenizer,
    monkeypatch,
    caplog,
    recwarn,  # noqa: F811
):
    monkeypatch.setattr(cli, "load_tokenizer", lambda model_args: tokenizer)
    out = tmp_path / "run"
    with caplog.at_level(logging.INFO, logger="langsamp.training"):
        summary = cli.main(
            [
                "--corpus",
                str(small_corpus),
                "--output_dir",
                str(out),
                "--config_overrides",
                TINY,
                "--per_device_train_batch_size",
                "2",
                "--max_steps",
                "1",
                "--cache_dir",
                str(tmp_path / "cache"),
                *QUIET,
            ]
        )  # --max_seq_length 512 and --max_eval_samples 256: the defaults
    # before: the held-out set took every chunk, then "num_samples=0" after the model was built
    assert summary["steps"] == 1 and summary["loss_before"] is not None

    # Chunks per pair, by hand: the lines' tokens with <s> </s> each, in 512-token pieces; p_l ~ n_l^0.3.
    chunks = {}
    for path in sorted(small_corpus.iterdir()):
        lines = [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
        chunks[path.name] = sum(len(ids) for ids in tokenizer(lines)["input_ids"]) // 512
    weights = {label: n**0.3 for label, n in chunks.items()}
    p = {label: w / sum(weights.values()) for label, w in weights.items()}
    # at most a tenth of the DISTINCT chunks is held out (not a tenth of the rows, which repeat them)
    assert len(json.loads((out / "all_results.json").read_text())) and sum(chunks.values()) // 10 >= 1
    card = (out / "README.md").read_text()
    for label in chunks:
        assert f"| {label} | {chunks[label]} | {p[label]:.4f} |" in card, card
        assert f"{label}: {chunks[label]} chunks, p={p[label]:.4f}" in caplog.text
    assert "Training mixture: 3 pairs, 512-token chunks, alpha sampling (alpha=0.3)." in card
    assert not [w for w in recwarn if "pin_memory" in str(w.message)]  # the CPU run's repeated torch warning


def test_held_out_chunks_are_at_most_a_tenth_of_the_distinct_chunks():
    # 10 distinct chunks, each drawn 20 times (a small corpus): the first 10% of the rows hold all ten.
    rows = [{"input_ids": [0, 10 + k, 2], "lang_ids": 0, "script_ids": 0} for _ in range(20) for k in range(10)]
    mixture = datasets.Dataset.from_list(rows)
    train_rows, held_out = split_held_out(mixture, max_eval_samples=256, distinct_chunks=10)
    assert held_out["input_ids"] == [[0, 10, 2]]  # one chunk: 10 // 10
    assert len(train_rows) == 180 and [0, 10, 2] not in train_rows["input_ids"]
    # Without the corpus' count (the rows alone), nothing would be left: said before the model is built.
    with pytest.raises(
        ValueError,
        match=r"^Holding out 10 chunk\(s\) for the held-out loss leaves no training row \(the "
        r"run draws only 200 rows\): lower --max_eval_samples",
    ):
        split_held_out(mixture, max_eval_samples=256)


# ------------------------------------------------------------------------------------------- transformers' noise


def test_expected_load_reports_are_silenced_and_real_ones_kept(tmp_path, capfd, caplog):
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    builders.quiet_expected_load_reports()
    config = XLMRobertaConfig(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, vocab_size=1000
    )
    XLMRobertaForMaskedLM(config).save_pretrained(tmp_path / "xlmr")  # a stock masked LM: no LangSAMP tables
    LangSAMPForMaskedLM.from_pretrained(tmp_path / "xlmr")
    err = capfd.readouterr().err + caplog.text  # transformers' own handler writes to stderr
    assert "LOAD REPORT" not in err and "to instantiate a model of type" not in err
    assert "The checkpoint has no LangSAMP tables" in err  # the one line that says it
    caplog.clear()
    # A real mismatch (a missing LM-head weight) keeps the whole report.
    from safetensors.torch import load_file, save_file

    weights = load_file(tmp_path / "xlmr" / "model.safetensors")
    del weights["lm_head.dense.weight"]
    save_file(weights, tmp_path / "xlmr" / "model.safetensors", metadata={"format": "pt"})
    LangSAMPForMaskedLM.from_pretrained(tmp_path / "xlmr")
    err = capfd.readouterr().err + caplog.text
    assert "LOAD REPORT" in err and "lm_head.dense.weight" in err and "language_script_embeddings" in err


class CtrlCAt(TrainerCallback):
    """Sends this process a real SIGINT (what Ctrl-C in a terminal sends) while optimizer step `step` runs,
    `times` times."""

    def __init__(self, step, times=1):
        self.step, self.times = step, times

    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step + 1 == self.step:
            for _ in range(self.times):
                os.kill(os.getpid(), signal.SIGINT)


def ctrl_c_run(tmp_path, small_corpus, tokenizer, times):  # noqa: F811
    out = tmp_path / "run"
    argv = [
        "--corpus",
        str(small_corpus),
        "--output_dir",
        str(out),
        "--config_overrides",
        TINY,
        "--max_seq_length",
        "32",
        "--per_device_train_batch_size",
        "2",
        "--max_eval_samples",
        "0",
        "--max_steps",
        "4",
        "--cache_dir",
        str(tmp_path / "cache"),
        *QUIET,
    ]  # --save_steps: the default 500, no periodic checkpoint
    saved = dict(tokenizer.init_kwargs)
    cli.load_tokenizer, load_tokenizer = (lambda model_args: tokenizer), cli.load_tokenizer
    # As in a terminal: a suite started in the background (`cmd &`) begins with SIGINT ignored.
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(cli.Interrupted) as interrupt:
            cli.main(argv, callbacks=[CtrlCAt(2, times)])
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Python's own handling is back
        return out, argv, str(interrupt.value)
    finally:
        signal.signal(signal.SIGINT, outer)
        cli.load_tokenizer = load_tokenizer
        tokenizer.init_kwargs.clear()
        tokenizer.init_kwargs.update(saved)


def test_ctrl_c_saves_the_step_reached_and_resume_continues_from_it(tmp_path, small_corpus, tokenizer, monkeypatch):  # noqa: F811
    out, argv, message = ctrl_c_run(tmp_path, small_corpus, tokenizer, times=1)
    # before: a bare KeyboardInterrupt, and with --save_steps 500 every step since the start was lost
    assert message == (
        f"interrupted at step 2; the last complete checkpoint is {out / 'checkpoint-2'}: run the same command with "
        "--resume_from_checkpoint auto to continue from it."
    )
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2"]
    assert json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())["global_step"] == 2
    # saved with the stock output contract, as every checkpoint (training itself runs the masked-only head)
    saved = json.loads((out / "checkpoint-2" / "config.json").read_text())
    assert saved["sparse_prediction"] is False and saved["chunked_loss_rows"] is None
    monkeypatch.setattr(cli, "load_tokenizer", lambda model_args: tokenizer)
    cli.main([*argv, "--resume_from_checkpoint", "auto"])
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 4


def test_a_second_ctrl_c_stops_at_once(tmp_path, small_corpus, tokenizer):  # noqa: F811
    out, _, message = ctrl_c_run(tmp_path, small_corpus, tokenizer, times=2)
    assert message == (
        "interrupted at step 1, before the first checkpoint (--save_steps 500): nothing was saved; the same command "
        "starts over."
    )
    assert not list(out.glob("checkpoint-*"))


def test_resuming_with_the_head_warmup_switched_on_or_off_fails_in_one_line(interrupted_run, checked_train):
    out, argv, _ = interrupted_run  # a from-scratch run: no warm-up (auto: nothing pretrained to protect)
    newest = resume.complete_checkpoints(out)[-1]  # (other tests resume this run too)
    # before: torch's "loaded state dict has a different number of parameter groups" traceback
    with pytest.raises(cli.BadInput) as error:
        checked_train.main(argv + ["--resume_from_checkpoint", "auto", "--head_warmup_steps", "1"])
    assert str(error.value) == (
        f"--resume_from_checkpoint {newest} began with --head_warmup_steps 0; this run asks for 1: a run "
        "with a warm-up keeps its optimizer state in head and body groups that a run without one does not have, so it "
        "does not fit. Leave --head_warmup_steps out (a resumed run keeps its stages), or start a new run in another "
        "--output_dir."
    )


class CtrlCInFinalSave(TrainerCallback):
    def on_train_end(self, args, state, control, **kwargs):
        trainer.LangSAMPTrainer.save_model = lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt)


def test_ctrl_c_in_the_final_save_names_the_last_checkpoint(tmp_path, small_corpus, tokenizer, monkeypatch):  # noqa: F811
    monkeypatch.setattr(cli, "load_tokenizer", lambda model_args: tokenizer)
    monkeypatch.setattr(
        trainer.LangSAMPTrainer, "save_model", trainer.LangSAMPTrainer.save_model
    )  # restored afterwards
    out = tmp_path / "run"
    argv = [
        "--corpus",
        str(small_corpus),
        "--output_dir",
        str(out),
        "--config_overrides",
        TINY,
        "--max_seq_length",
        "32",
        "--per_device_train_batch_size",
        "2",
        "--max_eval_samples",
        "0",
        "--max_steps",
        "2",
        "--save_steps",
        "2",
        "--cache_dir",
        str(tmp_path / "cache"),
        *QUIET,
    ]
    with pytest.raises(cli.Interrupted) as interrupt:
        cli.main(argv, callbacks=[CtrlCInFinalSave()])
    # before: "interrupted before training started; nothing was trained or saved" (the __main__ fallback)
    assert str(interrupt.value) == (
        f"interrupted after training (step 2), before the final save ended; the last complete checkpoint is "
        f"{out / 'checkpoint-2'}: run the same command with --resume_from_checkpoint auto to continue from it."
    )


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--output_dir", "{tmp}/file.txt"], r"--output_dir .*file.txt is a file, not a folder"),
        (["--output_dir", "{tmp}/file.txt/run"], r"file.txt is a file, so no folder can be created there"),
        (["--config_overrides", "hidden_sizee=64"], r"'hidden_sizee' is not a config field; closest: hidden_size"),
        (["--config_overrides", "hidden_size=abc"], r"hidden_size=abc is not a valid int"),
        (["--config_overrides", "hidden_size=64,num_hidden_layers"], r"'num_hidden_layers' is not `key=value`"),
        (
            ["--config_overrides", "num_attention_heads=5"],
            r"hidden_size 768 is not a multiple of num_attention_heads 5",
        ),
        (["--config_overrides", "hidden_act=gleu"], r"hidden_act 'gleu' is unknown"),
        (["--config_overrides", "hidden_size=-64,num_attention_heads=1"], r"hidden_size must be positive, got -64"),
        (["--languages", ",", ","], r"--languages ', ,' names no language"),
        (["--model_name_or_path", "{tmp}/nowhere"], r"--model_name_or_path .*nowhere: no such folder"),
        (["--tokenizer_name", "{tmp}/file.txt"], r"--tokenizer_name .*file.txt is a file"),
    ],
)
def test_train_bad_arguments_fail_before_any_work(tmp_path, checked_train, small_corpus, flags, message):
    (tmp_path / "file.txt").write_text("x")
    argv = ["--corpus", str(small_corpus), "--output_dir", str(tmp_path / "out"), "--report_to", "none"]
    argv += [flag.format(tmp=tmp_path) for flag in flags]
    with pytest.raises(cli.BadInput, match=message):
        checked_train.main(argv)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("args.yaml", "max_steps: [1\n", r"args.yaml is not valid YAML: while parsing a flow sequence"),
        ("args.json", '{"max_steps": 1,}', r"args.json is not valid JSON: .*line 1 column 17"),
        ("args.yaml", "- max_steps\n- 1\n", r"args.yaml must hold a mapping of argument names to values .*got list"),
        ("args.yaml", "--max_steps: 1\n", r"'--max_steps' is not an argument name"),
        # a misspelt key is refused like an unknown flag (argparse's prefix matching would read it as learning_rate)
        ("args.json", '{"learning_rat": 1e-4}', r"unknown argument --learning_rat \(closest: --learning_rate"),
    ],
)
def test_train_broken_argument_files(tmp_path, checked_train, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(cli.BadInput, match=message):
        checked_train.main([str(tmp_path / name)])


def test_train_unknown_flags_and_bad_values_are_one_line(tmp_path):
    import subprocess
    import sys

    for flags, message in (
        (["--max_stepz", "3"], r"unknown argument --max_stepz \(closest: --max_steps"),
        # no prefix matching: argparse alone would take these as --learning_rate and --max_steps
        (["--learning_rat", "1e-4"], r"unknown argument --learning_rat \(closest: --learning_rate"),
        (["--max_step", "3"], r"unknown argument --max_step \(closest: --max_steps"),
        (["--max_steps", "three"], "argument --max_steps/--max-steps: invalid int value: 'three'"),
    ):
        with pytest.raises(cli.BadInput, match=message):
            cli.main(["--corpus", str(tmp_path), *flags])
    # the script itself: one line on stderr, exit 2 (argparse alone would print the whole usage first)
    proc = subprocess.run(
        [sys.executable, TRAIN_SCRIPT, "--max_steps", "three"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2 and proc.stderr.splitlines() == [
        "train.py: error: argument --max_steps/--max-steps: invalid int value: 'three' (python train.py --help lists "
        "the arguments)"
    ], proc.stderr[-2000:]


def test_train_languages_accept_spaces_commas_and_repeats():
    _, data_args, _ = arguments.parse_arguments(
        ["--languages", "eng_Latn deu_Latn,rus", "eng_Latn", "--output_dir", "x"]
    )
    assert data_args.languages == ["eng_Latn", "deu_Latn", "rus"]


def test_train_refuses_a_model_folder_without_tokenizer_files(tmp_path, small_corpus, monkeypatch):
    LangSAMPForMaskedLM(tiny_config()).save_pretrained(tmp_path / "weights-only")
    monkeypatch.setattr(
        cli, "load_model", lambda *a, **k: pytest.fail("the model was built before the input was checked")
    )
    with pytest.raises(cli.BadInput, match=r"Could not load a tokenizer from .*weights-only.*No tokenizer files"):
        cli.main(
            [
                "--corpus",
                str(small_corpus),
                "--model_name_or_path",
                str(tmp_path / "weights-only"),
                "--output_dir",
                str(tmp_path / "out"),
                "--report_to",
                "none",
            ]
        )


def test_resuming_with_other_data_warns_and_the_record_covers_the_whole_run(
    tmp_path, small_corpus, tokenizer, monkeypatch, caplog
):
    import logging

    monkeypatch.setattr(cli, "load_tokenizer", lambda model_args: tokenizer)
    monkeypatch.setattr(tokenizer, "init_kwargs", dict(tokenizer.init_kwargs))  # train.py records trained_pairs in it
    out = tmp_path / "run"
    common = [
        "--corpus",
        str(small_corpus),
        "--output_dir",
        str(out),
        "--config_overrides",
        "hidden_size=32,num_hidden_layers=1,num_attention_heads=2,intermediate_size=64,max_position_embeddings=40",
        "--max_seq_length",
        "32",
        "--per_device_train_batch_size",
        "2",
        "--max_eval_samples",
        "0",
        "--report_to",
        "none",
        "--disable_tqdm",
        "true",
        "--dataloader_num_workers",
        "0",
        "--dataloader_pin_memory",
        "false",
        "--save_steps",
        "1",
        "--cache_dir",
        str(tmp_path / "cache"),
    ]
    cli.main(common + ["--languages", "eng_Latn", "deu_Latn", "--max_steps", "1"])
    assert json.loads((out / "config.json").read_text())["trained_pairs"] == ["deu_Latn", "eng_Latn"]
    with caplog.at_level(logging.WARNING, logger="langsamp.training"):
        cli.main(
            common
            + [
                "--languages",
                "eng_Latn",
                "rus_Cyrl",
                "--max_steps",
                "2",
                "--max_seq_length",
                "24",
                "--resume_from_checkpoint",
                "auto",
            ]
        )
    warned = [r.getMessage() for r in caplog.records if "other data arguments" in r.getMessage()]
    assert len(warned) == 1, caplog.text
    for change in (
        "languages: +1 (rus_Cyrl); -1 (deu_Latn)",
        "max_seq_length: 32 -> 24",
        "pairs: +1 (rus_Cyrl); -1 (deu_Latn)",
    ):
        assert change in warned[0], warned[0]
    parts = json.loads((out / resume.RUN_RECORD_NAME).read_text())["parts"]
    assert [(p["from_step"], p["data"]["pairs"], p["data"]["max_seq_length"]) for p in parts] == [
        (0, ["deu_Latn", "eng_Latn"], 32),
        (1, ["eng_Latn", "rus_Cyrl"], 24),
    ]
    # the checkpoint records both parts: config, tokenizer and card
    for folder in (out, out / "checkpoint-2"):
        assert json.loads((folder / "config.json").read_text())["trained_pairs"] == ["deu_Latn", "eng_Latn", "rus_Cyrl"]
        assert json.loads((folder / "tokenizer_config.json").read_text())["trained_pairs"] == [
            "deu_Latn",
            "eng_Latn",
            "rus_Cyrl",
        ]
    card = (out / "README.md").read_text()
    assert "| languages in training | 3 (deu_Latn, eng_Latn, rus_Cyrl) |" in card
    assert "| 0 | " in card and "| 1 | " in card and "2 (eng_Latn, rus_Cyrl) | 24 |" in card
