"""A checkpoint save that fails (a full disk) ends train.py with one line naming the last complete checkpoint and exit
1, and leaves no half-written `checkpoint-N` that `--resume_from_checkpoint auto` could pick up; the run then resumes
from the last complete one. A failure after the checkpoint is complete keeps it; any other error keeps its traceback.
"""

import errno
import json
import logging
from pathlib import Path

import pytest
import safetensors
import transformers.modeling_utils as modeling_utils
from fixtures.models import tiny_config
from transformers import TrainingArguments
from transformers import trainer as hf_trainer

from langsamp.training import cli, resume
from langsamp.training.trainer import CheckpointNotSaved, FinalModelNotSaved, LangSAMPTrainer

# safetensors' own words for ENOSPC (its Rust I/O error, no errno), as `save_file` raises them on a full disk.
ENOSPC_TEXT = "Error while serializing: I/O error: No space left on device (os error 28)"


def arguments(corpus, config_dir, output_dir, cache, **overrides):
    values = dict(
        corpus=corpus,
        config_name=config_dir,
        output_dir=output_dir,
        cache_dir=cache,
        max_seq_length=32,
        per_device_train_batch_size=4,
        learning_rate=1e-2,
        max_eval_samples=0,
        max_steps=6,
        save_steps=2,
        logging_steps=1,
        report_to="none",
        disable_tqdm="true",
        dataloader_num_workers=0,
        use_cpu="true",
        seed=0,
    )
    values.update(overrides)
    return [item for key, value in values.items() for item in (f"--{key}", str(value))]


def test_a_full_disk_during_a_checkpoint_ends_in_one_line_and_the_run_resumes(
    tmp_path, small_corpus, tokenizer, monkeypatch, capsys, caplog
):
    config_dir, out = tmp_path / "config", tmp_path / "out"
    tiny_config().save_pretrained(config_dir)
    argv = arguments(small_corpus, config_dir, out, tmp_path / "cache")
    monkeypatch.setattr(cli, "load_tokenizer", lambda model_args: tokenizer)
    real_save, calls = modeling_utils.safe_save_file, []

    def save_file(tensors, filename, metadata=None):  # the second weights file: half written, then the disk is full
        calls.append(filename)
        if len(calls) < 2:
            return real_save(tensors, filename, metadata=metadata)
        Path(filename).write_bytes(b"\0" * 1000)
        raise safetensors.SafetensorError(ENOSPC_TEXT)

    monkeypatch.setattr(modeling_utils, "safe_save_file", save_file)
    with pytest.raises(SystemExit) as exit_:
        cli.cli(argv)

    assert exit_.value.code == 1
    expected = (
        f"train.py: error: saving checkpoint-4 failed: the disk is full (SafetensorError: {ENOSPC_TEXT}); its "
        f"half-written folder was removed. The last complete checkpoint is {out / 'checkpoint-2'}: free some space, "
        "then run the same command with --resume_from_checkpoint auto to continue from it."
    )
    assert [line for line in capsys.readouterr().err.splitlines() if line.startswith("train.py:")] == [expected]
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2"]  # checkpoint-4's half is gone

    monkeypatch.setattr(modeling_utils, "safe_save_file", real_save)  # space freed
    with caplog.at_level(logging.INFO, logger="langsamp.training"):
        cli.cli([*argv, "--resume_from_checkpoint", "auto"])

    assert f"Resuming from {out / 'checkpoint-2'} (step 2)." in caplog.text
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 6
    assert [entry["step"] for entry in state["log_history"] if "loss" in entry] == [1, 2, 3, 4, 5, 6]


@pytest.fixture
def trainer(tmp_path):
    from modeling_langsamp import LangSAMPForMaskedLM

    model = LangSAMPForMaskedLM(tiny_config(num_hidden_layers=1))
    args = TrainingArguments(output_dir=str(tmp_path / "out"), report_to="none", use_cpu=True, save_only_model=True)
    langsamp_trainer = LangSAMPTrainer(model=model, args=args)
    langsamp_trainer.state.global_step = 7
    return langsamp_trainer


def test_a_trainer_state_cut_short_by_a_full_disk_removes_the_folder(trainer, monkeypatch, tmp_path):
    def save_to_json(state, path):
        Path(path).write_text('{"global_step": 7, "log_hi')  # what the disk took before it was full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(hf_trainer.TrainerState, "save_to_json", save_to_json)
    with pytest.raises(CheckpointNotSaved) as failure:
        trainer._save_checkpoint(trainer.model, None)
    assert str(failure.value) == (
        "saving checkpoint-7 failed: the disk is full (OSError: [Errno 28] No space left on device); its half-written "
        "folder was removed"
    )
    assert not (tmp_path / "out" / "checkpoint-7").exists()
    assert trainer.model.config.sparse_prediction is True  # training would go on with the masked-only head


def test_a_failure_after_the_checkpoint_is_complete_keeps_it(trainer, monkeypatch, tmp_path):
    def rotate_checkpoints(**kwargs):  # deleting an old checkpoint, after trainer_state.json is written
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "out" / "checkpoint-1"))

    monkeypatch.setattr(hf_trainer, "rotate_checkpoints", rotate_checkpoints)
    with pytest.raises(CheckpointNotSaved) as failure:
        trainer._save_checkpoint(trainer.model, None)
    message = str(failure.value)
    assert message.startswith("saving checkpoint-7 failed: PermissionError: [Errno 13] Permission denied: ")
    assert message.endswith(" GB free on that disk; the checkpoint itself is complete")
    assert resume.complete_checkpoints(tmp_path / "out") == [tmp_path / "out" / "checkpoint-7"]


def test_any_other_error_keeps_its_traceback_and_the_half_folder_goes(trainer, monkeypatch, tmp_path):
    def save_to_json(state, path):
        raise TypeError("Object of type Tensor is not JSON serializable")  # a callback's state, say

    monkeypatch.setattr(hf_trainer.TrainerState, "save_to_json", save_to_json)
    with pytest.raises(TypeError, match="not JSON serializable"):
        trainer._save_checkpoint(trainer.model, None)
    assert not (tmp_path / "out" / "checkpoint-7").exists()


def test_resume_skips_a_checkpoint_whose_trainer_state_was_cut_short(tmp_path):
    for step, state in ((2, '{"global_step": 2}'), (4, '{"global_step": 4, "log_hi')):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(state)
    assert resume.complete_checkpoints(tmp_path) == [tmp_path / "checkpoint-2"]
    with pytest.raises(ValueError, match="checkpoint-4 is incomplete"):
        resume.resolve_resume(
            TrainingArguments(output_dir=str(tmp_path), resume_from_checkpoint=str(tmp_path / "checkpoint-4"))
        )


def test_a_full_disk_during_the_final_save_ends_in_one_line_and_leaves_no_half_model(
    tmp_path, small_corpus, tokenizer, monkeypatch, capsys
):
    config_dir, out = tmp_path / "config", tmp_path / "out"
    tiny_config().save_pretrained(config_dir)
    argv = arguments(small_corpus, config_dir, out, tmp_path / "cache")
    monkeypatch.setattr(cli, "load_tokenizer", lambda model_args: tokenizer)
    real_save, calls = modeling_utils.safe_save_file, []

    def save_file(tensors, filename, metadata=None):  # checkpoints 2, 4 and 6 fit; the final weights fill the disk
        calls.append(filename)
        if len(calls) < 4:
            return real_save(tensors, filename, metadata=metadata)
        Path(filename).write_bytes(b"\0" * 1000)
        raise safetensors.SafetensorError(ENOSPC_TEXT)

    monkeypatch.setattr(modeling_utils, "safe_save_file", save_file)
    with pytest.raises(SystemExit) as exit_:
        cli.cli(argv)

    assert exit_.value.code == 1
    assert Path(calls[-1]) == out / "model.safetensors"
    expected = (
        f"train.py: error: saving the final model in {out} failed: the disk is full (SafetensorError: {ENOSPC_TEXT}); "
        f"its half-written files were removed. The last complete checkpoint is {out / 'checkpoint-6'}: free some "
        "space, then run the same command with --resume_from_checkpoint auto to continue from it."
    )
    assert [line for line in capsys.readouterr().err.splitlines() if line.startswith("train.py:")] == [expected]
    assert not (out / "config.json").exists() and not (out / "model.safetensors").exists()  # no half model to load

    monkeypatch.setattr(modeling_utils, "safe_save_file", real_save)  # space freed
    cli.cli([*argv, "--resume_from_checkpoint", "auto"])

    from modeling_langsamp import LangSAMPForMaskedLM

    assert LangSAMPForMaskedLM.from_pretrained(out).config.num_hidden_layers == tiny_config().num_hidden_layers
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 6


def test_a_final_save_that_fails_before_any_model_file_keeps_the_earlier_model(trainer, monkeypatch, tmp_path):
    out = tmp_path / "out"
    trainer.model.save_pretrained(out)  # a finished run's model, which this resumed run's final save would replace
    before = {path.name: path.read_bytes() for path in out.iterdir()}

    def save_to_json(state, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(hf_trainer.TrainerState, "save_to_json", save_to_json)
    with pytest.raises(FinalModelNotSaved) as failure, trainer.final_save():
        trainer.save_state()
    assert str(failure.value) == (
        f"saving the final model in {out} failed: the disk is full (OSError: [Errno 28] No space left on device); no "
        "model file of it was written"
    )
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
