"""Bad input to the evaluation CLIs (langsamp_eval.py, export.py) and their Python API: one line naming the value and
the fix, exit status 2, before anything expensive. The checkpoint these tests hand over has a config and tokenizer
files but NO weights: a command that got as far as loading the model would fail with another message."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from fixtures.models import tiny_config
from huggingface_hub import constants

from langsamp import evaluation as ev
from langsamp.evaluation.cli import main
from langsamp.hub import export

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def weightless(tmp_path_factory, tokenizer):
    """A 2-layer LangSAMP checkpoint folder without its weights file."""
    folder = tmp_path_factory.mktemp("weightless")
    tiny_config(architectures=["LangSAMPForMaskedLM"]).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    (folder / "file.txt").write_text("x")
    (folder / "empty.jsonl").write_text("")
    (folder / "ints.jsonl").write_text(
        "".join(json.dumps({"text": t, "label": i % 2}) + "\n" for i, t in enumerate(["a b", "c d", "e f", "g h"]))
    )
    (folder / "three.jsonl").write_text(json.dumps({"text": "x y", "label": 2}) + "\n")
    return folder


def run_cli(argv, capsys):
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse's own errors
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


R = ["retrieval", "--model", "CKPT", "--layer", "2", "--languages", "deu"]
B = ["benchmark", "--task", "udhr-topics", "--models", "CKPT"]
C = ["classify", "--model", "CKPT", "--train", "FILES/ints.jsonl", "--test", "deu=FILES/ints.jsonl"]
M = ["mlm", "--model", "CKPT", "--languages", "deu"]
E = ["embeddings", "--model", "CKPT"]
N = ["neutrality", "--model", "CKPT", "--languages", "eng", "deu"]

CASES = [
    # retrieval: --max-length and --batch-size at and below their bounds, then the other flags
    (
        R + ["--max-length", "0"],
        "argument --max-length: 0 must be an integer of at least 3 (room for <s>, a token and </s>)",
    ),
    (R + ["--max-length", "-5"], "argument --max-length: -5 must be an integer of at least 3"),
    (R + ["--batch-size", "0"], "argument --batch-size: 0 must be a positive integer"),
    (R + ["--output", "FILES"], "--output FILES is a folder: give a file name, such as FILES/result.json"),
    (
        R + ["--output", "FILES/file.txt/result.json"],
        "--output FILES/file.txt/result.json: FILES/file.txt is a file, so nothing can be written under it",
    ),
    (R + ["--batch-size", "two"], "argument --batch-size: 'two' is not an integer"),
    (["retrieval", "--model", "CKPT", "--languages", "deu"], "Layer 8 is out of range: this model has 2 layers"),
    (R[:-1] + ["xx_Yyyy"], "Language 'xx_Yyyy' is not in the corpus"),
    (R + ["--source", "qqq"], "Language 'qqq' is not in the corpus"),
    (R + ["--corpus", "FILES/nowhere.json"], "Corpus 'FILES/nowhere.json' does not exist"),
    (R + ["--tokenizer", "FILES/file.txt"], "--tokenizer 'FILES/file.txt' is a file"),
    (R + ["--tokenizer", "FILES"], "--tokenizer 'FILES' holds no tokenizer files"),
    (["retrieval", "--model", "FILES/file.txt"], "Checkpoint 'FILES/file.txt' is a file"),
    (
        ["retrieval", "--model", "someone/not-cached"],
        "Checkpoint 'someone/not-cached' is neither a local folder nor a readable Hub repo",
    ),
    # benchmark: every task setting's sign and zero
    (B + ["--epochs", "-1"], "argument --epochs: -1 must be a number > 0"),
    (B + ["--epochs", "0"], "argument --epochs: 0 must be a number > 0"),
    (B + ["--learning-rate", "0"], "argument --learning-rate: 0 must be a number > 0"),
    (B + ["--learning-rate", "nan"], "argument --learning-rate: nan must be a number > 0"),
    (B + ["--batch-size", "-8"], "argument --batch-size: -8 must be a positive integer"),
    (
        B + ["--gradient-accumulation-steps", "0"],
        "argument --gradient-accumulation-steps: 0 must be a positive integer",
    ),
    (B + ["--max-length", "2"], "argument --max-length: 2 must be an integer of at least 3"),
    (B + ["--seeds", "-1"], "argument --seeds: -1 must be an integer of at least 0"),
    (
        B + ["--seeds", "1", "2", "1"],
        "seed(s) 1 given twice; a repeated seed repeats the same run and understates the sd",
    ),
    (B + ["--max-steps", "-5"], "argument --max-steps: -5 must be a positive integer"),
    # no prefix matching: argparse alone would take it as --max-steps
    (B + ["--max-step", "5"], "unrecognized arguments: --max-step 5"),
    (B + ["--max-steps", "0"], "argument --max-steps: 0 must be a positive integer"),
    (B + ["--max-examples", "-3"], "argument --max-examples: -3 must be a positive integer"),
    (
        ["benchmark", "--task", "udhr-retrieval", "--models", "CKPT", "--top-k", "0"],
        "argument --top-k: 0 must be a positive integer",
    ),
    (B + ["--markdown", "FILES"], "--markdown FILES is a folder"),
    (B + ["--output", "FILES/r.json", "--markdown", "FILES/r.json"], "--output and --markdown are the same file"),
    (
        B + ["--dataset", "FILES/file.txt"],
        "--dataset FILES/file.txt is a file: pass the folder laid out like the Hub repo",
    ),
    (B + ["--dataset", "./nowhere"], "--dataset ./nowhere: no such folder"),
    # the Hub unreachable (HF_HUB_OFFLINE: the suite's setting): named before any model loads
    (
        ["benchmark", "--task", "sib200", "--models", "CKPT"],
        "Dataset 'Davlan/sib200' cannot be loaded: HF_HUB_OFFLINE is set and the "
        "dataset is not in the local datasets cache. Pass --dataset DIR with a local copy laid out like the Hub repo",
    ),
    # sources
    (
        ["sources", "--model", "CKPT", "--targets", "deu_Latn", "--candidates", "hin_Deva", "--max-steps", "0"],
        "argument --max-steps: 0 must be a positive integer",
    ),
    (
        ["sources", "--model", "CKPT", "--targets", "deu_Latn", "--candidates", "hin_Deva", "--markdown", "FILES"],
        "--markdown FILES is a folder",
    ),
    # classify
    (C + ["--epochs", "0"], "argument --epochs: 0 must be a number > 0"),
    (C + ["--max-steps", "-5"], "argument --max-steps: -5 must be a positive integer"),
    (C + ["--seed", "-1"], "argument --seed: -1 must be an integer of at least 0"),
    (C + ["--learning-rate", "-0.001"], "argument --learning-rate: -0.001 must be a number > 0"),
    (C + ["--batch-size", "0"], "argument --batch-size: 0 must be a positive integer"),
    (C[:-1] + ["deu=FILES/empty.jsonl"], "Dataset 'FILES/empty.jsonl' is an empty file"),
    (
        C[:-1] + ["deu=FILES/nowhere.jsonl"],
        "Dataset 'FILES/nowhere.jsonl': give an existing .json/.jsonl/.csv/.tsv/.parquet file",
    ),
    (C[:-1] + ["deu=FILES"], "Dataset 'FILES' is a folder but not a save_to_disk dataset"),
    (C[:-1] + ["FILES/ints.jsonl"], "--test 'FILES/ints.jsonl': write LANG=PATH"),
    (C + ["deu=FILES/ints.jsonl"], "--test: language 'deu' is given twice"),
    (
        C[:-1] + ["deu=FILES/three.jsonl"],
        "Dataset 'deu': label(s) 2 are not among the 2 training classes (0, 1): pass label_names (--label-names) with "
        "every class",
    ),
    (C + ["--label-names", "only"], "label_names ['only']: a classifier needs at least 2 distinct classes"),
    (
        C[:-2] + ["--label-names", "no", "yes", "--test", "deu=FILES/ints.jsonl", "en=FILES/three.jsonl"],
        "Dataset 'en': label(s) 2 are not among the 2 training classes (no, yes)",
    ),
    (C + ["--languages", "deu"], "--languages apply to the UDHR default task only"),
    (C + ["--heldout-articles", "3"], "--heldout-articles apply to the UDHR default task only"),
    (["classify", "--model", "CKPT", "--test", "deu=FILES/ints.jsonl"], "--test and --label-names need --train"),
    (["classify", "--model", "CKPT", "--heldout-articles", "31"], "Held-out articles [31] belong to no class"),
    (["classify", "--model", "CKPT", "--source", "qqq"], "Language 'qqq' is not in the UDHR"),
    # mlm
    (M + ["--max-sentences", "0"], "argument --max-sentences: 0 must be a positive integer"),
    (M + ["--mask-rounds", "0"], "argument --mask-rounds: 0 must be a positive integer"),
    (M + ["--mask-probability", "1"], "argument --mask-probability: 1 must be a number > 0 and < 1"),
    (M + ["--batch-size", "0"], "argument --batch-size: 0 must be a positive integer"),
    (M[:-1] + ["xx_Yyyy"], "Language 'xx_Yyyy' is not in the corpus"),
    # embeddings
    (E + ["-k", "0"], "argument -k: 0 must be a positive integer"),
    (
        E + ["--max-languages", "2"],
        "argument --max-languages: 2 must be an integer of at least 3 (a picture needs at least 3 languages)",
    ),
    (E + ["--plot-dir", "FILES/file.txt"], "--plot-dir FILES/file.txt is a file: give a folder"),
    (E + ["--output", "FILES"], "--output FILES is a folder"),
    (
        E + ["--plot-dir", "FILES/plots", "--languages", "deu", "hin"],
        "--plot-dir needs at least 3 --languages for its pictures, got deu hin",
    ),
    (E + ["--nearest", "xqz"], "Unknown language 'xqz'"),
    # neutrality: as the others, argparse's line before loading (before: numpy's "expected non-negative integer"
    # for --seed -1, after every embedding was computed)
    (N + ["--seed", "-1"], "argument --seed: -1 must be an integer of at least 0"),
    (N + ["--max-length", "2"], "argument --max-length: 2 must be an integer of at least 3"),
    (N + ["--batch-size", "0"], "argument --batch-size: 0 must be a positive integer"),
    (N + ["--probe-folds", "-1"], "argument --probe-folds: -1 must be an integer of at least 0"),
    (N + ["--probe-folds", "40"], "probe folds 40: give 2 to the number of parallel sentences (31)"),
]


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(a[:1] + a[-2:]) for a, _ in CASES])
def test_eval_cli_bad_input_is_one_line_exit_2_before_loading(argv, message, weightless, files, capsys):
    swap = lambda a: a.replace("CKPT", str(weightless)).replace("FILES", str(files))  # noqa: E731
    status, out, err = run_cli([swap(a) for a in argv], capsys)
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"langsamp_eval.py {argv[0]}: error: ") and swap(message) in lines[0], lines[0]
    assert "== " not in out  # no task started


def test_the_api_checks_its_arguments_before_loading(weightless):
    corpus = {"eng": ["a", "b", "c"], "deu": ["x", "y", "z"]}
    with pytest.raises(ValueError, match=r"max_length=0: must be an integer of at least 3"):
        ev.sentence_retrieval(weightless, corpus=corpus, layer=2, max_length=0)
    with pytest.raises(ValueError, match=r"batch_size=0: must be a positive integer"):
        ev.sentence_retrieval(weightless, corpus=corpus, layer=2, batch_size=0)
    with pytest.raises(ValueError, match=r"top_k=0: must be a positive integer"):
        ev.sentence_retrieval(weightless, corpus=corpus, layer=2, top_k=(1, 0))
    with pytest.raises(ValueError, match=r"max_sentences=0"):
        ev.masked_lm_quality(weightless, corpus=corpus, max_sentences=0)
    with pytest.raises(ValueError, match=r"Language\(s\) deu have no text in the corpus"):
        ev.masked_lm_quality(weightless, corpus={"eng": ["a b"], "deu": ["", " "]}, languages=["deu"])
    with pytest.raises(ValueError, match=r"languages=\[\]: name at least one language"):
        ev.masked_lm_quality(weightless, corpus=corpus, languages=[])
    with pytest.raises(ValueError, match=r"k=0 must be a positive integer"):
        ev.nearest_languages(weightless, "deu", k=0)
    with pytest.raises(ValueError, match=r"max_languages=2"):
        ev.plot_language_embeddings(weightless, "unused", max_languages=2)
    with pytest.raises(ValueError, match=r"udhr-topics: epochs=-1: must be a number > 0"):
        ev.run_task("udhr-topics", weightless, epochs=-1)
    with pytest.raises(
        ValueError, match=r"udhr-topics: max_steps=0: must be a positive integer \(or -1 for no limit\)"
    ):
        ev.run_task("udhr-topics", weightless, max_steps=0)
    with pytest.raises(ValueError, match=r"udhr-topics: seeds: seed\(s\) 3 given twice"):
        ev.run_task("udhr-topics", weightless, seeds=[3, 3])
    with pytest.raises(ValueError, match=r"udhr-retrieval: top_k: give at least one k"):
        ev.run_task("udhr-retrieval", weightless, top_k=[])
    import datasets

    train = datasets.Dataset.from_dict({"text": ["a", "b"], "label": [0, 1]})
    with pytest.raises(ValueError, match=r"Dataset\(s\) 'deu' hold no examples"):
        ev.zero_shot_transfer(weightless, None, train, {"deu": train.select([])})
    for name, value, message in [
        ("num_train_epochs", 0, "num_train_epochs=0: must be a number > 0"),
        ("max_steps", -5, r"max_steps=-5: must be a positive integer \(or -1 for no limit\)"),
        ("learning_rate", -1.0, "learning_rate=-1.0: must be a number >= 0"),
        ("batch_size", 0, "batch_size=0"),
        ("seed", -1, "seed=-1: must be an integer of at least 0"),
    ]:
        with pytest.raises(ValueError, match=message):
            ev.zero_shot_transfer(weightless, None, train, {"deu": train}, **{name: value})


def test_top_k_at_least_the_pool_warns_and_many_languages_are_announced(caplog):
    from types import SimpleNamespace

    from transformers import BertConfig

    from langsamp.evaluation.retrieval import announce_duration

    model = SimpleNamespace(
        config=BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=1)
    )  # only its config is read
    caplog.set_level("WARNING", logger="langsamp.evaluation")
    announce_duration([f"l{i}" for i in range(427)], 31, model)
    announce_duration([f"l{i}" for i in range(10)], 31, model)  # few: no announcement
    announced = [r.getMessage() for r in caplog.records]
    assert len(announced) == 1 and announced[0].startswith("Retrieval over 427 target languages x 31 sentences"), (
        announced
    )
    assert "pass --languages" in announced[0]
    if not torch.cuda.is_available():
        # 14 s a language for 12 x 768^2, scaled to 1 x 8^2 -> under a minute: "roughly 1 min".
        assert ", roughly 1 min on this CPU" in announced[0]
    caplog.clear()
    base = SimpleNamespace(config=BertConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12))
    announce_duration([f"l{i}" for i in range(428)], 31, base)  # XLM-R base on every UDHR language
    if not torch.cuda.is_available():
        assert ", roughly 1 h 40 min on this CPU" in caplog.records[0].getMessage()  # 428 x 14 s = 99.9 min


# ---------------------------------------------------------------- classify: integer labels, the source named


def test_classify_names_integer_labels_and_the_real_source(tmp_path, files, tokenizer, capsys):
    from modeling_langsamp import LangSAMPForMaskedLM

    torch.manual_seed(0)
    checkpoint = tmp_path / "tiny"
    LangSAMPForMaskedLM(tiny_config()).save_pretrained(checkpoint)
    tokenizer.save_pretrained(checkpoint)
    output = tmp_path / "out" / "classify.json"  # a parent that does not exist yet is created
    argv = [
        "classify",
        "--model",
        checkpoint,
        "--train",
        files / "ints.jsonl",
        "--test",
        f"deu={files / 'ints.jsonl'}",
        f"eng={files / 'ints.jsonl'}",
        "--max-steps",
        "1",
        "--batch-size",
        "4",
        "--output",
        output,
    ]
    status, out, err = run_cli(argv, capsys)
    assert status == 0, err
    result = json.loads(output.read_text())
    assert result["labels"] == ["0", "1"] and result["test_examples"] == {"deu": 4, "eng": 4}
    assert result["source"] == "eng" and set(result["per_language"]) == {"deu"}  # English reported apart, as the source
    assert (
        "Zero-shot transfer from eng (the default: pass --source with the language of" in out and "from None" not in out
    )
    status, out, err = run_cli(
        argv[:-2] + ["--source", "deu", "--label-names", "no", "yes", "--output", output], capsys
    )
    result = json.loads(output.read_text())
    assert status == 0, err
    assert result["labels"] == ["no", "yes"] and result["source"] == "deu" and set(result["per_language"]) == {"eng"}
    assert "Zero-shot transfer from deu (4 training examples, 1 steps)" in out


# ---------------------------------------------------------------- the Hub unreachable, in a fresh process


def refusing_endpoint():
    """A local port nothing listens on: every connection is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def fresh_process(argv, tmp_path, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    environment.update(HF_HOME=str(tmp_path / "hf_home"), HF_HUB_DISABLE_TELEMETRY="1", **env)
    return subprocess.run(
        [sys.executable, *map(str, argv)], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300
    )


def test_benchmark_names_the_unreachable_hub_and_the_fix(weightless, tmp_path):
    endpoint = refusing_endpoint()
    done = fresh_process(
        ["langsamp_eval.py", "benchmark", "--task", "sib200", "--models", weightless], tmp_path, HF_ENDPOINT=endpoint
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0] == (
        "langsamp_eval.py benchmark: error: Dataset 'Davlan/sib200' cannot be loaded: the Hugging Face Hub "
        f"({endpoint}) is unreachable (ConnectError). Pass --dataset DIR with a local copy laid out like the Hub "
        "repo, or check the network (or HF_ENDPOINT), or set HF_HUB_OFFLINE=1 to use a copy already in the datasets "
        "cache; gated sets (flores) also need --token or HF_TOKEN."
    )
    # A checkpoint given as a Hub id: one quick request names the unreachable Hub (no 30 s of download retries).
    done = fresh_process(["langsamp_eval.py", "retrieval", "--model", "someone/model"], tmp_path, HF_ENDPOINT=endpoint)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith(
        "langsamp_eval.py retrieval: error: Checkpoint 'someone/model' is neither a local folder nor a "
        "readable Hub repo (ConnectError: [Errno 111] Connection refused). Pass a local checkpoint folder"
    ), lines[0]


def test_export_push_refused_before_writing_when_the_hub_is_unreachable(tmp_path, tokenizer):
    from modeling_langsamp import LangSAMPForMaskedLM

    model = tmp_path / "mlm"
    LangSAMPForMaskedLM(tiny_config()).save_pretrained(model)
    tokenizer.save_pretrained(model)
    output = tmp_path / "hub-folder"
    endpoint = refusing_endpoint()
    done = fresh_process(
        ["export.py", "--model", model, "--output_dir", output, "--push_to_hub", "me/tiny"],
        tmp_path,
        HF_ENDPOINT=endpoint,
        HF_TOKEN="hf_test",
    )
    assert done.returncode == 2 and done.stderr.strip() == (
        f"export.py: error: --push_to_hub me/tiny: the Hub ({endpoint}) is unreachable (ConnectError): check the "
        "network or HF_ENDPOINT, or export without --push_to_hub and upload the folder later with `hf upload me/tiny "
        f"{output}`."
    ), done.stderr
    assert not output.exists()  # nothing written
    done = fresh_process(
        ["export.py", "--model", model, "--output_dir", output, "--push_to_hub", "me/tiny"],
        tmp_path,
        HF_HUB_OFFLINE="1",
    )
    assert (
        done.returncode == 2
        and "--push_to_hub me/tiny: HF_HUB_OFFLINE is set, so nothing can be uploaded" in done.stderr
    )
    assert not output.exists()
    done = fresh_process(
        ["export.py", "--model", model, "--output_dir", output, "--push_to_hub", "me/tiny"],
        tmp_path,
        HF_ENDPOINT=endpoint,
    )
    assert (
        done.returncode == 2
        and "--push_to_hub me/tiny: no Hub token: log in with `hf auth login` or set HF_TOKEN" in done.stderr
    )
    assert not output.exists()


def test_export_push_failing_after_the_folder_is_written_says_so(tmp_path, tokenizer, monkeypatch, capsys):
    from huggingface_hub import HfApi

    from modeling_langsamp import LangSAMPForMaskedLM

    model = tmp_path / "mlm"
    LangSAMPForMaskedLM(tiny_config()).save_pretrained(model)
    tokenizer.save_pretrained(model)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(HfApi, "whoami", lambda self, *a, **k: {"name": "me"})  # the check passes, the push then fails

    def refused(self, *args, **kwargs):
        raise ConnectionError("connection reset by peer")

    monkeypatch.setattr(HfApi, "create_repo", refused)
    output = tmp_path / "hub-folder"
    with pytest.raises(SystemExit) as exit_:
        export.main(["--model", str(model), "--output_dir", str(output), "--push_to_hub", "me/tiny"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err
    assert [line for line in err.splitlines() if "error" in line] == [
        f"export.py: error: the Hub-ready folder {output} is written, but the push to me/tiny failed "
        f"(ConnectionError: connection reset by peer). Retry the upload alone with `hf upload me/tiny {output}` "
        "(huggingface_hub's upload_folder)."
    ]
    assert (output / "model.safetensors").is_file() and (output / "README.md").is_file()


@pytest.mark.parametrize(
    "command", ["", "tasks", "benchmark", "sources", "retrieval", "classify", "mlm", "embeddings", "neutrality"]
)
def test_every_help_prints(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(([command] if command else []) + ["--help"])
    assert exit_.value.code == 0 and "usage: langsamp_eval.py" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        export.main(["--help"])
    assert exit_.value.code == 0 and "--push_to_hub" in capsys.readouterr().out


def test_loading_a_masked_lm_for_classification_mutes_only_the_expected_load_report(tmp_path, caplog):
    # before: transformers' 14-line LOAD REPORT (new classifier MISSING, LM head and tables UNEXPECTED) at every
    # classify / benchmark run; a key outside those (a real mismatch) must still be reported whole.
    import logging

    from safetensors.torch import load_file, save_file
    from transformers.utils import logging as transformers_logging

    from langsamp.evaluation import models as eval_models
    from modeling_langsamp import LangSAMPForMaskedLM

    class Collect(logging.Handler):  # on transformers' own logger, which does not propagate to caplog
        reports = []

        def emit(self, record):
            if "LOAD REPORT" in record.getMessage():
                self.reports.append(record.getMessage())

    collect, target = Collect(), logging.getLogger("transformers.modeling_utils")
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_warning()  # transformers' default (other tests may have lowered it)
    target.addHandler(collect)
    try:
        torch.manual_seed(0)
        LangSAMPForMaskedLM(tiny_config()).save_pretrained(tmp_path / "mlm")
        with caplog.at_level(logging.INFO, logger="langsamp.evaluation"):
            eval_models.load_model(tmp_path / "mlm", "sequence-classification", num_labels=3)
        assert collect.reports == []
        assert any("a new sequence-classification head" in r.getMessage() for r in caplog.records)

        weights = load_file(tmp_path / "mlm" / "model.safetensors")
        del weights["roberta.encoder.layer.0.attention.self.query.weight"]  # a real hole in the encoder
        save_file(weights, tmp_path / "mlm" / "model.safetensors", metadata={"format": "pt"})
        eval_models.load_model(tmp_path / "mlm", "token-classification", num_labels=3)
    finally:
        target.removeHandler(collect)
        transformers_logging.set_verbosity(verbosity)
    assert len(collect.reports) == 1
    assert "roberta.encoder.layer.0.attention.self.query.weight | MISSING" in collect.reports[0]
    assert "classifier.weight" in collect.reports[0]  # kept whole
