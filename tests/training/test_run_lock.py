"""One train.py run per --output_dir (langsamp/training/run_lock.py): a second run into a folder a live run holds
stops with one line naming that run (pid, host, start time) and exit 2, before reading the folder or building
anything; a run holds the lock from its start to its end; a holder killed with SIGKILL blocks nobody; the lock's files
never reach the Hub."""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.models import tiny_config
from transformers import TrainerCallback

from langsamp.training import cli
from langsamp.training.run_lock import LOCK_NAME, OWNER_NAME, RunLock

HOLDER = """
import sys, time
from langsamp.training.run_lock import RunLock
lock = RunLock(sys.argv[1])  # kept: a FileLock is released when collected
lock.acquire()
print("held", flush=True)
time.sleep(120)
"""


@pytest.fixture
def holder(tmp_path):
    """Another process holding the lock of tmp_path/"out" (through the same code a run takes it with)."""
    out = tmp_path / "out"
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    yield child
    child.kill()
    child.wait()


def arguments(corpus, output_dir, **overrides):
    values = dict(
        corpus=corpus,
        output_dir=output_dir,
        max_seq_length=32,
        per_device_train_batch_size=4,
        max_eval_samples=0,
        report_to="none",
        disable_tqdm="true",
        use_cpu="true",
        seed=0,
    )
    values.update(overrides)
    return [item for key, value in values.items() for item in (f"--{key}", str(value))]


def test_a_run_into_a_folder_a_live_run_holds_stops_naming_that_run(
    tmp_path, holder, checked_train, small_corpus, capsys
):
    out = tmp_path / "out"
    # The live run has saved a checkpoint: without the lock, this run would be told to resume it.
    (out / "checkpoint-2").mkdir()
    (out / "checkpoint-2" / "trainer_state.json").write_text(json.dumps({"global_step": 2}))
    before = sorted(p.name for p in out.rglob("*"))
    started = json.loads((out / OWNER_NAME).read_text())["started"]

    with pytest.raises(SystemExit) as exit_:
        checked_train.cli(arguments(small_corpus, out, max_steps=4))

    assert exit_.value.code == 2
    expected = (
        f"train.py: error: --output_dir {out} is in use by another train.py run (pid {holder.pid} on "
        f"{socket.gethostname()}, started {started}): wait for it to end, or choose another --output_dir."
    )
    assert capsys.readouterr().err.strip().splitlines() == [expected]
    assert sorted(p.name for p in out.rglob("*")) == before  # nothing written into the other run's folder
    assert holder.poll() is None  # the live run goes on


def test_a_folder_that_does_not_exist_yet_is_created_and_locked_only_after_the_checks(tmp_path, checked_train):
    out = tmp_path / "out"
    with pytest.raises(cli.BadInput, match="nowhere"):
        checked_train.main(arguments(tmp_path / "nowhere", out, max_steps=4))
    assert not out.exists()  # bad input leaves nothing behind, no lock either


class ProbeTheLock(TrainerCallback):
    """At every step: may another process take the lock? (A second lock object on the same file behaves as one in
    another process would: flock locks belong to the open file, not to the process.)"""

    def __init__(self, output_dir):
        self.output_dir = output_dir
        self.seen = []

    def on_step_end(self, args, state, control, **kwargs):
        other = RunLock(self.output_dir)
        try:
            other.acquire()
            other.release()
            self.seen.append("free")
        except ValueError as refused:
            self.seen.append(str(refused))


def test_a_run_holds_the_lock_from_its_start_to_its_end(tmp_path, monkeypatch, tokenizer, small_corpus):
    monkeypatch.setattr(cli, "load_tokenizer", lambda model_args: tokenizer)
    config = tmp_path / "config"
    tiny_config().save_pretrained(config)
    out = tmp_path / "out"
    probe = ProbeTheLock(out)
    argv = arguments(small_corpus, out, max_steps=2, config_name=config, cache_dir=tmp_path / "cache")
    cli.main(argv, callbacks=[probe])

    here = f"(pid {os.getpid()} on {socket.gethostname()}, started "
    assert len(probe.seen) == 2 and all("is in use by another train.py run " + here in seen for seen in probe.seen)
    assert (out / "model.safetensors").is_file()
    # Released when the run ends: the next run (here: a lock in this process) takes it.
    assert not (out / OWNER_NAME).exists()
    lock = RunLock(out)
    lock.acquire()
    lock.release()


def test_a_killed_holder_blocks_nobody(tmp_path, holder):
    out = tmp_path / "out"
    assert json.loads((out / OWNER_NAME).read_text())["pid"] == holder.pid
    holder.send_signal(signal.SIGKILL)  # no clean-up of any kind
    holder.wait()
    assert (out / LOCK_NAME).exists() and (out / OWNER_NAME).exists()  # what the killed run left
    with RunLock(out) as lock:
        lock.acquire()
        assert json.loads((out / OWNER_NAME).read_text())["pid"] == os.getpid()


def test_ranks_that_do_not_save_take_no_lock(tmp_path, holder):
    # Under torchrun every rank runs train.py into the same folder; only the saving one locks it.
    RunLock(tmp_path / "out", enabled=False).acquire()


def test_the_lock_files_are_not_pushed_to_the_hub(tmp_path, monkeypatch):
    """The Trainer's final push uploads output_dir with its own ignore patterns: the lock's files are left out."""
    from huggingface_hub.utils import filter_repo_objects
    from transformers import TrainingArguments
    from transformers import trainer as hf_trainer

    from langsamp.training.trainer import LangSAMPTrainer
    from modeling_langsamp import LangSAMPForMaskedLM

    uploads = []

    class RecordingApi:
        def create_repo(self, repo_id, **kwargs):
            return f"http://hub/{repo_id}"

        def upload_folder(self, folder_path, ignore_patterns=None, **kwargs):
            files = [p.name for p in sorted(Path(folder_path).iterdir()) if p.is_file()]
            uploads.append(list(filter_repo_objects(files, ignore_patterns=ignore_patterns)))

    monkeypatch.setattr(hf_trainer, "hf_api", RecordingApi)
    out = tmp_path / "out"
    model = LangSAMPForMaskedLM(tiny_config(num_hidden_layers=1))
    args = TrainingArguments(output_dir=str(out), report_to="none", use_cpu=True, push_to_hub=True, hub_model_id="u/m")
    trainer = LangSAMPTrainer(model=model, args=args, card_metadata=lambda state: {})
    monkeypatch.setattr(trainer, "create_model_card", lambda **kwargs: None)
    with RunLock(out) as lock:
        lock.acquire()
        trainer.push_to_hub()
        assert {LOCK_NAME, OWNER_NAME} <= {p.name for p in out.iterdir()}
    assert len(uploads) == 1 and "model.safetensors" in uploads[0]
    assert not {LOCK_NAME, OWNER_NAME} & set(uploads[0])
