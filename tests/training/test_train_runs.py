"""train.py end to end, each run a real subprocess on a small real corpus (UDHR) with a tiny random model, most
through tests/fixtures/record_run.py, which records the mixture, the training rows, every collated batch and the
weights:
the loss falls on held-out chunks that are never trained on (nor any copy), scored with identical masks, and the
output loads with the Auto classes in a fresh process; the paper's recipe (a stock XLM-R checkpoint, a larger
tokenizer) starts from the checkpoint's weights; a SIGKILLed run resumes with the same data order; every revision
pushed to a (local) Hub loads; a dead Hub does not stop training; under torchrun (2 processes, gloo) the ranks see
disjoint batches of one world-sized draw and end with one model; bad input fails clearly before training; the head
warm-up (head_warmup.py) leaves every encoder and word-embedding weight bit-identical while the head and the tables
train, then trains everything, resumes across its boundary after SIGKILLs in either stage, and runs under DDP.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from fixtures.models import tiny_config

REPO = Path(__file__).resolve().parents[2]
TRAIN = str(REPO / "train.py")
RECORDER = str(REPO / "tests" / "fixtures" / "record_run.py")  # train.py, recording its rows, batches and weights
PAIRS = ["eng_Latn", "deu_Latn", "rus_Cyrl", "hin_Deva", "arb_Arab", "cmn_Hani"]
SENTENCE = "Everyone has the right to life, liberty and security of person."


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


@pytest.fixture(scope="module")
def datasets_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("datasets-cache")


def base_args(corpus, config_dir, output_dir, datasets_cache, **overrides):
    values = {
        "corpus": corpus,
        "config_name": config_dir,
        "output_dir": output_dir,
        "cache_dir": datasets_cache,
        "max_seq_length": 32,
        "per_device_train_batch_size": 8,
        "learning_rate": 1e-2,
        "max_eval_samples": 16,
        "per_device_eval_batch_size": 16,
        "logging_steps": 1,
        "report_to": "none",
        "disable_tqdm": "true",
        "dataloader_num_workers": 0,
        "seed": 0,
    }
    values.update(overrides)
    argv = []
    for key, value in values.items():
        if value is not None:  # None: leave the flag out
            argv += [f"--{key}", str(value)]
    return argv


def run(argv, env=None, timeout=300, runner=(TRAIN,)):
    env = dict(os.environ if env is None else env, TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, *runner, *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def ok(proc):
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-6000:]}"
    )
    return proc


def step_losses(output_dir):
    state = json.loads((Path(output_dir) / "trainer_state.json").read_text())
    return state["global_step"], {entry["step"]: entry["loss"] for entry in state["log_history"] if "loss" in entry}


def weights(folder):
    from safetensors.torch import load_file

    return load_file(str(Path(folder) / "model.safetensors"))


LOAD_SCRIPT = """
import json, sys
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer
repo, out, revisions = sys.argv[1], sys.argv[2], sys.argv[3:] or [None]
results = []
for revision in revisions:
    tokenizer = AutoTokenizer.from_pretrained(repo, revision=revision, trust_remote_code=True)
    model = AutoModelForMaskedLM.from_pretrained(repo, revision=revision, trust_remote_code=True).eval()
    batch = tokenizer([SENTENCE], lang="eng", return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    results.append({"class": type(model).__module__, "input_ids": batch["input_ids"].tolist(),
                    "lang_ids": batch["lang_ids"].tolist(), "logits": logits[0, :4, :50].tolist()})
json.dump(results, open(out, "w"))
""".replace("SENTENCE", repr(SENTENCE))


def load_in_fresh_process(tmp_path, repo, revisions=(), env=None, cwd=None):
    """AutoTokenizer + AutoModelForMaskedLM (trust_remote_code) in a new interpreter that cannot import the checkout."""
    script, out = tmp_path / "load.py", tmp_path / "loaded.json"
    script.write_text(LOAD_SCRIPT)
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, str(script), str(repo), str(out), *revisions],
        cwd=cwd or tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    return json.loads(out.read_text())


def unmasked(batch):
    """The original chunks of a collated batch: the label where a token was masked, the input elsewhere."""
    return [
        tuple(label if label != -100 else token for token, label in zip(ids, labels))
        for ids, labels in zip(batch["input_ids"], batch["labels"])
    ]


def test_training_lowers_the_loss_and_the_output_loads_in_a_fresh_process(tmp_path, corpus, config_dir, datasets_cache):
    output_dir, record_dir = tmp_path / "run", tmp_path / "record"
    proc = ok(
        run(
            base_args(corpus, config_dir, output_dir, datasets_cache, max_steps=60, save_steps=30, logging_steps=10),
            env=dict(os.environ, RECORD_DIR=str(record_dir)),
            runner=(RECORDER,),
        )
    )
    results = json.loads((output_dir / "train_results.json").read_text())
    before, after = results["held_out_loss_before"], results["held_out_loss_after"]
    assert before > 12.0  # a random model: about ln(250002) = 12.43
    assert after < before - 1.5, (before, after)  # same masks before and after: the drop is the training
    assert "MLM loss" in proc.stdout and "trust_remote_code=True" in proc.stdout

    # The held-out loss is measured on text the model never trained on, with the same masks both times.
    record = json.loads((record_dir / "rank0.json").read_text())
    batches = record["batches"]
    first_train = next(i for i, b in enumerate(batches) if b["kind"] == "train")
    last_train = max(i for i, b in enumerate(batches) if b["kind"] == "train")
    evaluations = [
        [b for b in batches[:first_train] if b["kind"] == "eval"],
        [b for b in batches[last_train:] if b["kind"] == "eval"],
    ]
    assert evaluations[0] and evaluations[0] == evaluations[1]  # identical inputs, masked positions and labels
    held_out = [row for batch in evaluations[0] for row in unmasked(batch)]
    assert len(held_out) == len(set(held_out)) == 16  # --max_eval_samples, well under 10% of the 60 x 8 + 16 rows
    labels = [label for batch in evaluations[0] for row in batch["labels"] for label in row]
    assert 0.08 < sum(label != -100 for label in labels) / len(labels) < 0.2  # about 15% of the tokens are scored
    assert set(held_out) == {tuple(row) for row in record["held_out"]}
    mixture = [tuple(row) for row in record["mixture"]]
    assert len(mixture) == 60 * 8 + 16
    # Sampling repeats the chunks of small pairs: copies of held-out chunks occur elsewhere in the mixture ...
    assert sum(row in set(held_out) for row in mixture) > len(held_out)
    # ... and none of them is trained on: not in the training rows, not in any batch the model saw.
    trained = {
        row for batch in batches[first_train : last_train + 1] if batch["kind"] == "train" for row in unmasked(batch)
    }
    assert not trained & set(held_out)
    assert not {tuple(row) for row in record["train"]} & set(held_out)
    # Nothing else was removed: the training rows are the mixture less the held-out chunks, in order.
    assert [tuple(row) for row in record["train"]] == [row for row in mixture if row not in set(held_out)]

    # Every checkpoint is self-contained too: code, card, tokenizer next to the weights.
    for folder in (output_dir / "checkpoint-30", output_dir / "checkpoint-60", output_dir):
        names = {p.name for p in folder.iterdir()}
        # trained with the masked-only head (sparse_prediction), saved with the stock output contract
        assert json.loads((folder / "config.json").read_text())["sparse_prediction"] is False, folder
        assert {
            "modeling_langsamp.py",
            "configuration_langsamp.py",
            "tokenization_langsamp.py",
            "README.md",
            "config.json",
            "model.safetensors",
            "tokenizer.json",
        } <= names, (folder, names)
    card = (output_dir / "README.md").read_text()
    assert "| optimisation steps | 60 |" in card and "eng_Latn" in card and "hin_Deva" in card  # the run's metadata
    assert "| optimisation steps | 30 |" in (output_dir / "checkpoint-30" / "README.md").read_text()

    # Only what the package wrote (no checkpoints), loaded by a process that cannot import the checkout.
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in output_dir.iterdir():
        if path.is_file():
            shutil.copy(path, copy / path.name)
    fresh = load_in_fresh_process(tmp_path, copy)[0]
    assert fresh["class"].startswith("transformers_modules.")

    from modeling_langsamp import LangSAMPForMaskedLM
    from tokenization_langsamp import LangSAMPTokenizer

    tokenizer = LangSAMPTokenizer.from_pretrained(output_dir)
    model = LangSAMPForMaskedLM.from_pretrained(output_dir).eval()
    batch = tokenizer([SENTENCE], lang="eng", return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    assert fresh["input_ids"] == batch["input_ids"].tolist() and fresh["lang_ids"] == batch["lang_ids"].tolist()
    torch.testing.assert_close(torch.tensor(fresh["logits"]), logits[0, :4, :50], rtol=1e-5, atol=1e-5)


KILL_RUNNER = """
import os, signal, sys
sys.path.insert(0, os.getcwd())
from transformers import TrainerCallback
from langsamp.training import cli

class KillAfterSave(TrainerCallback):
    # SIGKILL (no clean-up of any kind) right after the checkpoint of step %d is written.
    def on_save(self, args, state, control, **kwargs):
        if state.global_step == %d:
            os.kill(os.getpid(), signal.SIGKILL)

cli.main(sys.argv[1:], callbacks=[KillAfterSave()])
"""


def test_sigkill_then_resume_gives_the_same_steps_and_data_order(tmp_path, corpus, config_dir, datasets_cache):
    steps, save_every, kill_at = 12, 3, 6
    common = dict(max_steps=steps, save_steps=save_every, save_total_limit=2)
    straight = tmp_path / "straight"
    ok(run(base_args(corpus, config_dir, straight, datasets_cache, **common)))

    interrupted = tmp_path / "interrupted"
    runner = tmp_path / "kill_runner.py"
    runner.write_text(KILL_RUNNER % (kill_at, kill_at))
    killed = run(base_args(corpus, config_dir, interrupted, datasets_cache, **common), runner=(str(runner),))
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert sorted(p.name for p in interrupted.glob("checkpoint-*")) == ["checkpoint-3", "checkpoint-6"]
    # A kill in the middle of the next save leaves a folder without trainer_state.json: `auto` must skip it.
    partial = interrupted / "checkpoint-9"
    partial.mkdir()
    shutil.copy(interrupted / "checkpoint-6" / "config.json", partial / "config.json")

    # Without --resume_from_checkpoint the run refuses to start over on top of the checkpoints.
    refused = run(base_args(corpus, config_dir, interrupted, datasets_cache, **common))
    assert refused.returncode != 0 and "--resume_from_checkpoint auto" in refused.stderr

    resumed = ok(
        run(base_args(corpus, config_dir, interrupted, datasets_cache, resume_from_checkpoint="auto", **common))
    )
    assert "checkpoint-6" in resumed.stderr + resumed.stdout and "Ignoring" in resumed.stderr

    final_step, losses = step_losses(interrupted)
    straight_step, straight_losses = step_losses(straight)
    assert final_step == straight_step == steps
    # Same batches with the same masks at every step, before and after the kill: the per-step losses and the final
    # weights of the resumed run are those of the uninterrupted one.
    assert sorted(losses) == list(range(1, steps + 1))
    for step in range(1, steps + 1):
        assert losses[step] == pytest.approx(straight_losses[step], rel=1e-4, abs=1e-4), (step, losses, straight_losses)
    final, reference = weights(interrupted), weights(straight)
    for name in reference:
        torch.testing.assert_close(final[name], reference[name], rtol=1e-4, atol=1e-5)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_pushed_revision_loads_from_the_hub(tmp_path, corpus, config_dir, datasets_cache):
    from fixtures.hub_server import LocalHub

    repo = "local-user/langsamp-every-save"
    with LocalHub(root=tmp_path / "hub") as hub:
        env = hub.subprocess_env(tmp_path / "hf_home")
        argv = base_args(
            corpus,
            config_dir,
            tmp_path / "run",
            datasets_cache,
            max_steps=9,
            save_steps=3,
            push_to_hub="true",
            hub_model_id=repo,
            hub_strategy="every_save",
            hub_always_push="true",
        )
        proc = ok(run(argv, env=env))
        assert "Pushing step" not in proc.stderr  # no push failed
        commits = hub.list_commits(repo)
        pushed = [sha for sha in commits if "config.json" in hub.files_at(repo, sha)]
        # Steps 3, 6 and 9 pushed while training, then the end-of-training push.
        assert len(pushed) >= 3, [hub.files_at(repo, sha) for sha in commits]
        for sha in pushed:
            files = set(hub.files_at(repo, sha))
            assert {
                "modeling_langsamp.py",
                "configuration_langsamp.py",
                "tokenization_langsamp.py",
                "langsamp_codes.py",
                "langsamp_inventory.py",
                "README.md",
                "model.safetensors",
                "tokenizer.json",
            } <= files, (sha, files)
        loaded = load_in_fresh_process(tmp_path, repo, pushed, env=env)
        assert len(loaded) == len(pushed)
        assert all(entry["class"].startswith("transformers_modules.") for entry in loaded)
        # Training moved between the pushes: the revisions hold different weights.
        assert loaded[0]["logits"] != loaded[-1]["logits"]
        # Each revision's card describes that revision.
        steps = [
            re.search(
                r"\| optimisation steps \| (\d+) \|", hub.read_file(repo, "README.md", revision=sha).decode()
            ).group(1)
            for sha in pushed
        ]
        assert steps[:3] == ["3", "6", "9"] and set(steps[3:]) <= {"9"}, steps


def test_a_dead_hub_does_not_stop_training(tmp_path, corpus, config_dir, datasets_cache):
    output_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(
        HF_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        HF_HUB_DISABLE_XET="1",
        HF_TOKEN="hf_dead",
        HF_HOME=str(tmp_path / "hf_home"),
        HF_HUB_DISABLE_TELEMETRY="1",
    )
    argv = base_args(
        corpus,
        config_dir,
        output_dir,
        datasets_cache,
        max_steps=4,
        save_steps=2,
        push_to_hub="true",
        hub_model_id="local-user/nowhere",
        hub_strategy="every_save",
    )
    proc = run(argv, env=env)
    # The run trains and saves; it did not push, so it exits non-zero with one line saying how to upload.
    assert proc.returncode == 1, proc.stderr[-6000:]
    assert proc.stderr.splitlines()[-1] == (
        f"train.py: error: the final push to local-user/nowhere failed (see the warnings); the model is saved in "
        f"{output_dir.resolve()}: upload it with `hf upload local-user/nowhere {output_dir.resolve()}`."
    )
    assert "Could not create or reach the Hub repo" in proc.stderr
    assert "Pushing step 2 to the Hub failed" in proc.stderr  # the background push's failure is reported
    assert "final push to the Hub failed" in proc.stderr
    assert step_losses(output_dir)[0] == 4
    assert (output_dir / "model.safetensors").is_file() and (output_dir / "modeling_langsamp.py").is_file()


def test_the_papers_recipe_continues_a_stock_xlmr_checkpoint_with_a_larger_tokenizer(tmp_path, corpus, datasets_cache):
    """--model_name_or_path a stock XLM-R masked LM (the paper starts from xlm-roberta-base) and a tokenizer with more
    pieces (the paper's Glot500 one): the encoder and LM head start from the checkpoint's weights, the vocabulary is
    resized with the new rows and both tables drawn from N(0, 0.02)."""
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM, XLMRobertaTokenizer

    from langsamp.resources.xlmr_tokenizer import xlmr_tokenizer_json

    stock_dir, bigger_tokenizer_dir = tmp_path / "xlm-roberta-tiny", tmp_path / "bigger-tokenizer"
    torch.manual_seed(7)
    stock = XLMRobertaForMaskedLM(
        XLMRobertaConfig(
            vocab_size=250002,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=130,
            type_vocab_size=1,
            hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
        )
    )
    stock.save_pretrained(stock_dir)
    xlmr = XLMRobertaTokenizer(tokenizer_file=str(xlmr_tokenizer_json()))
    xlmr.save_pretrained(stock_dir)  # a Hub checkpoint ships its tokenizer: the stock class
    new_pieces = 300
    assert xlmr.add_tokens([f"glotpiece{k}" for k in range(new_pieces)]) == new_pieces
    xlmr.save_pretrained(bigger_tokenizer_dir)

    output_dir, record_dir = tmp_path / "run", tmp_path / "record"
    argv = base_args(
        corpus,
        None,
        output_dir,
        datasets_cache,
        max_steps=2,
        save_steps=2,
        max_eval_samples=8,
        model_name_or_path=stock_dir,
        tokenizer_name=bigger_tokenizer_dir,
    )
    proc = ok(run(argv, env=dict(os.environ, RECORD_DIR=str(record_dir), RECORD_WEIGHTS="begin"), runner=(RECORDER,)))
    assert "has no LangSAMP tables" in proc.stderr

    begin, expected = torch.load(record_dir / "rank0-begin.pt"), stock.state_dict()
    vocab = 250002 + new_pieces
    for name, value in expected.items():  # every weight of the checkpoint, the old vocabulary rows included
        if name in (
            "roberta.embeddings.word_embeddings.weight",
            "lm_head.decoder.weight",
            "lm_head.bias",
            "lm_head.decoder.bias",
        ):
            assert begin[name].shape[0] == vocab, name
            loaded = begin[name][:250002]
        else:
            loaded = begin[name]
        assert torch.equal(loaded, value), name
    torch.testing.assert_close(
        begin["lm_head.decoder.weight"], begin["roberta.embeddings.word_embeddings.weight"]
    )  # tied
    new_rows = begin["roberta.embeddings.word_embeddings.weight"][250002:]
    tables = {
        name: begin[f"language_script_embeddings.{name}.weight"]
        for name in ("language_embeddings", "script_embeddings")
    }
    assert tables["language_embeddings"].shape == (610, 32) and tables["script_embeddings"].shape == (30, 32)
    for name, values in [("new vocabulary rows", new_rows), *tables.items()]:
        # N(0, 0.02): the standard deviation of n >= 960 draws is within 10% of 0.02, the mean within 4 standard errors.
        assert abs(values.std().item() - 0.02) < 0.002, (name, values.std())
        assert abs(values.mean().item()) < 4 * 0.02 / values.numel() ** 0.5, (name, values.mean())

    config = json.loads((output_dir / "config.json").read_text())
    assert config["vocab_size"] == vocab and len(config["languages"]) == 610 and config["use_lang_embedding"] is True
    assert step_losses(output_dir)[0] == 2


def test_the_papers_baseline_trains_on_the_same_batches(tmp_path, corpus, config_dir, datasets_cache):
    """Both tables off: the collator's lang/script ids still reach the model, which ignores them."""
    output_dir = tmp_path / "run"
    argv = base_args(
        corpus,
        config_dir,
        output_dir,
        datasets_cache,
        max_steps=4,
        save_steps=4,
        use_lang_embedding="false",
        use_script_embedding="false",
    )
    ok(run(argv))
    config = json.loads((output_dir / "config.json").read_text())
    assert config["use_lang_embedding"] is False and config["use_script_embedding"] is False
    assert not any(name.startswith("language_script_embeddings.") for name in weights(output_dir))
    steps, losses = step_losses(output_dir)
    assert steps == 4 and all(0 < loss < 20 for loss in losses.values())


def test_torchrun_ranks_see_disjoint_batches_of_one_world_sized_draw_and_end_with_one_model(
    tmp_path, corpus, config_dir, datasets_cache
):
    steps, per_device, world, held, warm = 6, 4, 2, 16, 2
    output_dir, record_dir = tmp_path / "run", tmp_path / "record"
    # With a head warm-up (steps 1-2): DDP with the encoder's parameters unused, then all of them.
    argv = base_args(
        corpus,
        config_dir,
        output_dir,
        datasets_cache,
        max_steps=steps,
        save_steps=steps,
        per_device_train_batch_size=per_device,
        max_eval_samples=held,
        use_cpu="true",
        ddp_backend="gloo",
        head_warmup_steps=warm,
        head_warmup_learning_rate=5e-2,
    )
    env = dict(os.environ, RECORD_DIR=str(record_dir), RECORD_WEIGHTS=f"begin,step{warm},end")
    proc = ok(
        run(
            argv,
            env=env,
            runner=("-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(world), RECORDER),
        )
    )
    assert proc.stdout.count("LangSAMP continual pretraining: done") == 1  # one summary, from rank 0
    records = [json.loads((record_dir / f"rank{rank}.json").read_text()) for rank in range(world)]
    # Every rank left the process group before exiting: one that exits with gloo's threads alive aborts at random.
    assert [record["process_group_left"] for record in records] == [True] * world

    # Both ranks built the same mixture, sized for the GLOBAL batch: steps x per-device batch x world + held-out rows.
    assert (
        records[0]["mixture"] == records[1]["mixture"]
        and len(records[0]["mixture"]) == steps * per_device * world + held
    )
    state = json.loads((output_dir / "trainer_state.json").read_text())
    assert state["global_step"] == steps and state["epoch"] <= 1.0  # the run fits in that one draw: no row twice
    assert torch.load(output_dir / "training_args.bin", weights_only=False).world_size == world

    # Each rank trained on its own rows: at every step the two batches differ, and all the rows consumed, counted
    # over both ranks, are among the training rows at most as often as they occur there (no row seen by both).
    per_rank = [[unmasked(b) for b in record["batches"] if b["kind"] == "train"][:steps] for record in records]
    assert all(len(batches) == steps and all(len(b) == per_device for b in batches) for batches in per_rank)
    for step in range(steps):
        assert sorted(per_rank[0][step]) != sorted(per_rank[1][step]), step
    from collections import Counter

    available = Counter(tuple(row) for row in records[0]["train"])
    consumed = Counter(row for batches in per_rank for batch in batches for row in batch)
    assert sum(consumed.values()) == steps * per_device * world
    assert not consumed - available, consumed - available

    # One model: both ranks end with the same weights, which are the ones saved (and checkpointed), and they moved.
    ends = [torch.load(record_dir / f"rank{rank}-end.pt") for rank in range(world)]
    saved, checkpoint = weights(output_dir), weights(output_dir / f"checkpoint-{steps}")
    assert sorted(p.name for p in output_dir.glob("checkpoint-*")) == [f"checkpoint-{steps}"]
    for name in saved:
        assert torch.equal(ends[0][name], ends[1][name]), name
        assert torch.equal(saved[name], ends[0][name]) and torch.equal(checkpoint[name], saved[name]), name
    initial = LangSAMPForMaskedLMFromConfig(config_dir)
    assert not torch.equal(saved["lm_head.dense.weight"], initial["lm_head.dense.weight"])
    # The head warm-up under DDP: after it, both ranks hold the same head, which moved, over the untouched encoder;
    # then the encoder trained too, in step on both ranks (its gradients all-reduced although unused at first).
    begins, warmed = (
        [torch.load(record_dir / f"rank{rank}-{event}.pt") for rank in range(world)]
        for event in ("begin", f"step{warm}")
    )
    for name in saved:
        assert torch.equal(warmed[0][name], warmed[1][name]), name
        if name in HEAD_KEYS:
            assert not torch.equal(warmed[0][name], begins[0][name]), name
        else:
            assert torch.equal(warmed[0][name], begins[0][name]) and not torch.equal(saved[name], warmed[0][name]), name


def LangSAMPForMaskedLMFromConfig(config_dir):
    """The initial weights of a run from --config_name with seed 0 (train.py seeds before building the model)."""
    from transformers import set_seed

    from configuration_langsamp import LangSAMPConfig
    from modeling_langsamp import LangSAMPForMaskedLM

    set_seed(0)
    return LangSAMPForMaskedLM(LangSAMPConfig.from_pretrained(config_dir)).state_dict()


@pytest.fixture()
def no_model(monkeypatch, tokenizer):
    """In-process cli.main with the session tokenizer; building a model would mean validation came too late."""
    from langsamp.training import cli

    monkeypatch.setattr(cli, "load_tokenizer", lambda model_args: tokenizer)
    monkeypatch.setattr(
        cli, "load_model", lambda *a, **k: pytest.fail("the model was built before the input was checked")
    )
    return cli


def test_a_missing_corpus_exits_with_a_clear_error(tmp_path, config_dir):
    proc = run(
        ["--corpus", str(tmp_path / "nowhere"), "--config_name", str(config_dir), "--output_dir", str(tmp_path / "out")]
    )
    assert proc.returncode != 0
    assert "nowhere" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "case, expected",
    [
        ("bad_name", "english.txt"),
        ("unknown_language", "qqa"),
        ("empty_file", "empty"),
        ("no_lang_column", "lang"),
    ],
)
def test_bad_input_is_refused_before_training(tmp_path, no_model, config_dir, udhr_translations, case, expected):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    english = "\n".join(udhr_translations["eng_Latn"].paragraphs())
    (corpus / "eng_Latn").write_text(english)
    if case == "bad_name":
        (corpus / "english.txt").write_text(english)
    elif case == "unknown_language":
        (corpus / "qqa_Latn").write_text(english)
    elif case == "empty_file":
        (corpus / "deu_Latn").write_text("")
    elif case == "no_lang_column":
        import datasets

        shutil.rmtree(corpus)
        datasets.Dataset.from_dict({"text": [english], "language": ["eng"]}).save_to_disk(str(corpus))
    with pytest.raises(no_model.BadInput) as error:
        no_model.main(
            [
                "--corpus",
                str(corpus),
                "--config_name",
                str(config_dir),
                "--output_dir",
                str(tmp_path / "out"),
                "--report_to",
                "none",
            ]
        )
    assert expected in str(error.value), str(error.value)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------------------------------
# Head warm-up (head_warmup.py): the first N steps train only the LM head's dense/LayerNorm/bias and the tables
# ---------------------------------------------------------------------------------------------------------------------

HEAD_KEYS = {
    "lm_head.dense.weight",
    "lm_head.dense.bias",
    "lm_head.layer_norm.weight",
    "lm_head.layer_norm.bias",
    "lm_head.bias",
    "lm_head.decoder.bias",  # the decoder's bias IS lm_head.bias
    "language_script_embeddings.language_embeddings.weight",
    "language_script_embeddings.script_embeddings.weight",
}


def logged(output_dir, key):
    state = json.loads((Path(output_dir) / "trainer_state.json").read_text())
    return {entry["step"]: entry[key] for entry in state["log_history"] if key in entry}


def test_the_head_warmup_trains_only_the_head_and_the_tables_then_everything(
    tmp_path, corpus, config_dir, datasets_cache
):
    warm, steps, lr, head_lr = 3, 5, 1e-2, 5e-2
    output_dir, record_dir = tmp_path / "run", tmp_path / "record"
    # weight decay on: parameters that get a zero gradient instead of none would still move (decoupled decay).
    argv = base_args(
        corpus,
        config_dir,
        output_dir,
        datasets_cache,
        max_steps=steps,
        save_steps=2,
        learning_rate=lr,
        weight_decay=0.1,
        head_warmup_steps=warm,
        head_warmup_learning_rate=head_lr,
    )
    proc = ok(
        run(
            argv,
            env=dict(os.environ, RECORD_DIR=str(record_dir), RECORD_WEIGHTS=f"begin,step{warm},end"),
            runner=(RECORDER,),
        )
    )
    assert "head warm-up      steps 1-3" in proc.stdout
    begin, warmed, end = (torch.load(record_dir / f"rank0-{event}.pt") for event in ("begin", f"step{warm}", "end"))
    assert HEAD_KEYS <= set(begin)
    # Stage 1: every encoder weight and the word embeddings (= the tied decoder) bit-identical ...
    for name in sorted(set(begin) - HEAD_KEYS):
        assert torch.equal(begin[name], warmed[name]), f"{name} moved during the head warm-up"
    # ... while the head and the rows of the trained languages and scripts moved.
    config = json.loads((output_dir / "config.json").read_text())
    languages = [config["languages"].index(pair.split("_")[0]) for pair in PAIRS]
    scripts = [config["scripts"].index(pair.split("_")[1]) for pair in PAIRS]
    for name in HEAD_KEYS - {
        "language_script_embeddings.language_embeddings.weight",
        "language_script_embeddings.script_embeddings.weight",
    }:
        assert not torch.equal(begin[name], warmed[name]), f"{name} did not train in the head warm-up"
    for name, rows in (("language_embeddings", languages), ("script_embeddings", scripts)):
        key = f"language_script_embeddings.{name}.weight"
        assert all(not torch.equal(begin[key][row], warmed[key][row]) for row in rows), name
    # Stage 2: everything trains.
    for name in (
        "roberta.embeddings.word_embeddings.weight",
        "roberta.encoder.layer.0.attention.self.query.weight",
        "roberta.encoder.layer.1.output.dense.weight",
        "lm_head.dense.weight",
    ):
        assert not torch.equal(warmed[name], end[name]), f"{name} did not train after the warm-up"

    # No backward into the body: AdamW holds state for the head's 7 parameters alone in the warm-up's checkpoint
    # (a body given zero gradients, or gated by a zero learning rate only, would have state too), for all after.
    inside = torch.load(output_dir / "checkpoint-2" / "optimizer.pt", weights_only=False)
    parts = [group["langsamp_part"] for group in inside["param_groups"] for _ in group["params"]]
    assert len(inside["state"]) == 7 and all(parts[index] == "head" for index in inside["state"])
    after = torch.load(output_dir / "checkpoint-4" / "optimizer.pt", weights_only=False)
    assert len(after["state"]) == len(parts) > 7
    # Learning rates: the head's for steps 1-3, then the main linear schedule laid over the 2 remaining steps.
    rates = logged(output_dir, "learning_rate")
    assert [rates[s] for s in range(1, steps + 1)] == pytest.approx([head_lr] * warm + [lr, lr / 2])

    # Each checkpoint and card says which stage it is in.
    def stage(folder):
        state = json.loads((folder / "trainer_state.json").read_text())
        return state["stateful_callbacks"]["HeadWarmup"]

    assert stage(output_dir / "checkpoint-2")["attributes"] == {"checkpoint_step": 2, "checkpoint_stage": "head_warmup"}
    assert stage(output_dir / "checkpoint-4")["attributes"] == {"checkpoint_step": 4, "checkpoint_stage": "full"}
    assert stage(output_dir / "checkpoint-2")["args"]["steps"] == warm
    assert "INSIDE the head warm-up" in (output_dir / "checkpoint-2" / "README.md").read_text()
    assert "in full training, past the head warm-up" in (output_dir / "README.md").read_text()


def test_sigkill_in_either_stage_of_the_head_warmup_then_resume_gives_the_same_losses(
    tmp_path, corpus, config_dir, datasets_cache
):
    """Killed inside the warm-up (step 2 of 4), resumed, killed in full training (step 6), resumed: the per-step
    losses and final weights are those of the uninterrupted run (the stage, the frozen parameters, the optimizer's
    head-only state and both stages' learning rates all come back from the checkpoint)."""
    steps = 8
    common = dict(
        max_steps=steps, save_steps=2, save_total_limit=2, head_warmup_steps=4, head_warmup_learning_rate=3e-2
    )
    straight = tmp_path / "straight"
    ok(run(base_args(corpus, config_dir, straight, datasets_cache, **common)))
    interrupted = tmp_path / "interrupted"
    for kill_at in (2, 6):
        runner = tmp_path / f"kill_at_{kill_at}.py"
        runner.write_text(KILL_RUNNER % (kill_at, kill_at))
        killed = run(
            base_args(corpus, config_dir, interrupted, datasets_cache, resume_from_checkpoint="auto", **common),
            runner=(str(runner),),
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
        assert (interrupted / f"checkpoint-{kill_at}").is_dir()
    ok(run(base_args(corpus, config_dir, interrupted, datasets_cache, resume_from_checkpoint="auto", **common)))
    final_step, losses = step_losses(interrupted)
    _, straight_losses = step_losses(straight)
    assert final_step == steps and sorted(losses) == list(range(1, steps + 1))
    for step in range(1, steps + 1):
        assert losses[step] == pytest.approx(straight_losses[step], rel=1e-4, abs=1e-4), (step, losses, straight_losses)
    assert logged(interrupted, "learning_rate") == pytest.approx(logged(straight, "learning_rate"))
    final, reference = weights(interrupted), weights(straight)
    for name in reference:
        torch.testing.assert_close(final[name], reference[name], rtol=1e-4, atol=1e-5)
