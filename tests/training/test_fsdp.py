"""FSDP through train.py (the stock Trainer + accelerate).

accelerate (1.15) turns FSDP on only for accelerators: `Accelerator(fsdp_plugin=...)` switches to
DistributedType.FSDP from MULTI_GPU/XPU/NPU/... but never from MULTI_CPU, and `accelerate launch` refuses
`--cpu` with `--use_fsdp`. So on CPU `--fsdp` would silently train plain DDP with the whole model on every rank
(checked: no parameter is a DTensor, the checkpoints are DDP's). train.py refuses that (tested here, on CPU). The
FSDP run itself - train, SIGKILL after a checkpoint, resume with the same losses and weights, load in a fresh
process - needs a GPU: it runs where one is (2 processes with 2 GPUs, else 1) and is skipped elsewhere.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from fixtures.models import tiny_config

REPO = Path(__file__).resolve().parents[2]
TRAIN = str(REPO / "train.py")
PAIRS = ["eng_Latn", "deu_Latn", "rus_Cyrl", "hin_Deva", "arb_Arab", "cmn_Hani"]
FSDP = [
    "--fsdp",
    "full_shard auto_wrap",
    "--fsdp_config",
    json.dumps({"transformer_layer_cls_to_wrap": ["XLMRobertaLayer"]}),
]
GPUS = torch.cuda.device_count()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, udhr_translations):
    from langsamp.resources.udhr import write_glot500_corpus

    return write_glot500_corpus(
        {label: udhr_translations[label] for label in PAIRS}, tmp_path_factory.mktemp("corpus") / "udhr"
    )


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-config")
    tiny_config().save_pretrained(folder)
    return folder


def arguments(corpus, config_dir, output_dir, cache, **overrides):
    values = dict(
        corpus=corpus,
        config_name=config_dir,
        output_dir=output_dir,
        cache_dir=cache,
        max_seq_length=32,
        per_device_train_batch_size=4,
        learning_rate=1e-2,
        max_eval_samples=16,
        per_device_eval_batch_size=16,
        logging_steps=1,
        report_to="none",
        disable_tqdm="true",
        dataloader_num_workers=0,
        seed=0,
    )
    values.update(overrides)
    return [item for key, value in values.items() for item in (f"--{key}", str(value))] + FSDP


def test_fsdp_on_cpu_is_refused_before_training(tmp_path, monkeypatch, tokenizer, corpus, config_dir):
    from langsamp.training import cli

    monkeypatch.setattr(cli, "load_tokenizer", lambda model_args: tokenizer)
    monkeypatch.setattr(
        cli, "load_model", lambda *a, **k: pytest.fail("the model was built before the input was checked")
    )
    argv = arguments(corpus, config_dir, tmp_path / "out", tmp_path / "cache", use_cpu="true", max_steps=2)
    with pytest.raises(cli.BadInput, match=r"--fsdp does nothing on CPU: accelerate enables FSDP only on GPUs.*DDP"):
        cli.main(argv)
    assert not (tmp_path / "out").exists()


RUNNER = """
import json, os, signal, sys
sys.path.insert(0, os.getcwd())
from torch.distributed.tensor import DTensor
from transformers import TrainerCallback
from langsamp.training import cli

KILL_AT, PROBE = int(sys.argv[1]), sys.argv[2]

class ShardProbeAndKill(TrainerCallback):
    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step == 1:  # what FSDP did to the parameters, per rank
            params = list(model.parameters())
            with open(f"{PROBE}.{args.process_index}", "w") as f:
                json.dump({"dtensors": sum(isinstance(p, DTensor) for p in params), "params": len(params)}, f)

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)  # no clean-up of any kind

cli.main(sys.argv[3:], callbacks=[ShardProbeAndKill()])
"""


def launch(tmp_path, argv, kill_at=-1, processes=1):
    runner = tmp_path / "fsdp_runner.py"
    runner.write_text(RUNNER)
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        str(processes),
        str(runner),
        str(kill_at),
        str(tmp_path / "probe"),
        *argv,
    ]
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def losses_of(folder):
    state = json.loads((Path(folder) / "trainer_state.json").read_text())
    return state["global_step"], {entry["step"]: entry["loss"] for entry in state["log_history"] if "loss" in entry}


@pytest.mark.skipif(GPUS == 0, reason="accelerate enables FSDP only on GPUs/accelerators (see the module doc)")
def test_fsdp_kill_and_resume_gives_the_same_losses_and_a_loadable_model(tmp_path, corpus, config_dir):
    from safetensors.torch import load_file

    processes, steps = min(2, GPUS), 8
    common = dict(max_steps=steps, save_steps=2, save_total_limit=2)
    straight = tmp_path / "straight"
    done = launch(tmp_path, arguments(corpus, config_dir, straight, tmp_path / "cache", **common), processes=processes)
    assert done.returncode == 0, done.stderr[-6000:]
    for rank in range(processes):  # really sharded: FSDP2 turned the parameters into DTensors
        probe = json.loads((tmp_path / f"probe.{rank}").read_text())
        assert probe["dtensors"] == probe["params"] > 0, probe

    interrupted = tmp_path / "interrupted"
    killed = launch(
        tmp_path,
        arguments(corpus, config_dir, interrupted, tmp_path / "cache", **common),
        kill_at=4,
        processes=processes,
    )
    assert killed.returncode != 0 and not (interrupted / "trainer_state.json").exists(), killed.stderr[-3000:]
    assert sorted(p.name for p in interrupted.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    resumed = launch(
        tmp_path,
        arguments(corpus, config_dir, interrupted, tmp_path / "cache", resume_from_checkpoint="auto", **common),
        processes=processes,
    )
    assert resumed.returncode == 0, resumed.stderr[-6000:]

    (final_step, losses), (straight_step, reference) = losses_of(interrupted), losses_of(straight)
    assert final_step == straight_step == steps and sorted(losses) == list(range(1, steps + 1))
    for step in range(1, steps + 1):
        assert losses[step] == pytest.approx(reference[step], rel=1e-3, abs=1e-3), (step, losses, reference)
    final, expected = load_file(str(interrupted / "model.safetensors")), load_file(str(straight / "model.safetensors"))
    for name in expected:
        torch.testing.assert_close(final[name], expected[name], rtol=1e-3, atol=1e-4)

    # The output loads with the Auto classes in a process that cannot import the checkout.
    script = tmp_path / "load.py"
    script.write_text(
        "import sys, torch\n"
        "from transformers import AutoModelForMaskedLM, AutoTokenizer\n"
        "tok = AutoTokenizer.from_pretrained(sys.argv[1], trust_remote_code=True)\n"
        "model = AutoModelForMaskedLM.from_pretrained(sys.argv[1], trust_remote_code=True).eval()\n"
        "batch = tok(['Everyone has the right to life.'], lang='eng', return_tensors='pt')\n"
        "with torch.no_grad():\n"
        "    logits = model(**batch).logits\n"
        "assert type(model).__module__.startswith('transformers_modules.') and torch.isfinite(logits).all()\n"
        "print('LOADED', tuple(logits.shape))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    loaded = subprocess.run(
        [sys.executable, str(script), str(interrupted)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert loaded.returncode == 0 and "LOADED" in loaded.stdout, loaded.stderr[-4000:]
