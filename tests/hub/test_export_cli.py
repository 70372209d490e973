"""export.py's command line, every path: a good run into a non-empty folder, a checkpoint without tokenizer files, and
each bad value as one line and exit status 2 with nothing written."""

import json
import re

import pytest
from fixtures.models import TRAINED, tiny_config
from huggingface_hub import constants

from langsamp.hub import export
from langsamp.hub.remote_code import REMOTE_CODE_FILES
from modeling_langsamp import LangSAMPForMaskedLM, LangSAMPForSequenceClassification, LangSAMPModel


def run_export(capsys, *argv):
    """export.main in-process: (exit status, stdout, stderr)."""
    try:
        export.main([str(a) for a in argv])
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def test_export_into_a_non_empty_folder_needs_overwrite_which_replaces_it(capsys, mlm_folder, tmp_path):
    (tmp_path / "hub").mkdir()
    (tmp_path / "hub" / "pytorch_model.bin").write_text("an older model")
    status, _, err = run_export(capsys, "--model", mlm_folder, "--output_dir", tmp_path / "hub")
    assert (
        status == 2
        and err
        == f"export.py: error: --output_dir {tmp_path / 'hub'} already holds files: pass --overwrite to replace them, "
        "or choose an empty folder.\n"
    )
    assert (tmp_path / "hub" / "pytorch_model.bin").read_text() == "an older model"

    status, out, _ = run_export(capsys, "--model", mlm_folder, "--output_dir", tmp_path / "hub", "--overwrite")
    assert status == 0 and "Hub-ready folder" in out
    assert sorted(p.name for p in (tmp_path / "hub").iterdir()) == sorted(
        [
            "README.md",
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "tokenizer_config.json",
            *REMOTE_CODE_FILES,
            "modules.json",  # the sentence-transformers configuration (mean pooling)
            "sentence_bert_config.json",
            "config_sentence_transformers.json",
            "1_Pooling",
        ]
    )  # the stale weights are gone
    assert [p.name for p in tmp_path.iterdir()] == ["hub"]  # nothing staged is left beside it
    for name in ("config.json", "tokenizer_config.json"):  # the record of what it was trained on travels
        assert json.loads((tmp_path / "hub" / name).read_text())["trained_pairs"] == TRAINED


def test_export_without_tokenizer_files_falls_back_to_xlmr_saying_so(capsys, tmp_path):
    LangSAMPForMaskedLM(tiny_config()).save_pretrained(tmp_path / "weights-only")
    status, out, _ = run_export(capsys, "--model", tmp_path / "weights-only", "--output_dir", tmp_path / "hub")
    assert status == 0 and "has no tokenizer files: exporting XLM-R's (250002 pieces" in out
    LangSAMPForMaskedLM(tiny_config(vocab_size=1000)).save_pretrained(tmp_path / "other-vocab")
    status, _, err = run_export(capsys, "--model", tmp_path / "other-vocab", "--output_dir", tmp_path / "hub2")
    assert status == 2 and "has no tokenizer files and its 1000-row vocabulary is not XLM-R's" in err


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing-path", r"--model {tmp}/nowhere: no such folder"),
        ("hub-id-offline", r"--model user/nothing: no such folder, and HF_HUB_OFFLINE is set"),
        ("model-is-a-file", r"--model {tmp}/file.txt is a file: pass the folder"),
        ("config-not-json", r"--model {tmp}/broken: It looks like the config file .* is not a valid JSON file"),
        ("no-weights", r"--model {tmp}/no-weights: .*no file named model.safetensors"),
        ("classifier", r"is a LangSAMPForSequenceClassification checkpoint, not a masked LM: .*random LM head"),
        ("bare-encoder", r"is a LangSAMPModel checkpoint, not a masked LM"),
        ("output-is-a-file", r"--output_dir {tmp}/file.txt is a file, not a folder"),
        (
            "output-under-a-file",
            r"--output_dir {tmp}/file.txt/sub: {tmp}/file.txt is a file, so no folder can be created",
        ),
        ("output-is-the-model", r"--output_dir .* holds --model .*: writing there would replace it"),
        ("tokenizer-missing", r"--tokenizer {tmp}/nowhere: no such folder"),
        ("tokenizer-without-files", r"--tokenizer {tmp}/no-weights: No tokenizer files"),
        ("bad-repo-id", r"--push_to_hub bad id!: Repo id must use alphanumeric chars"),
        ("other-inventory", r"The tokenizer's languages differ from the model's"),
    ],
)
def test_export_bad_values_print_one_line_and_exit_2(
    capsys, monkeypatch, tmp_path, mlm_folder, tokenizer_dir, case, message
):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    (tmp_path / "no-weights").mkdir()
    tiny_config().save_pretrained(tmp_path / "no-weights")
    model, output, extra = mlm_folder, tmp_path / "out", []
    if case == "missing-path":
        model = tmp_path / "nowhere"
    elif case == "hub-id-offline":
        model = "user/nothing"
    elif case == "model-is-a-file":
        model = tmp_path / "file.txt"
    elif case == "config-not-json":
        model = tmp_path / "broken"
    elif case == "no-weights":
        model = tmp_path / "no-weights"
    elif case == "classifier":
        model = tmp_path / "classifier"
        LangSAMPForSequenceClassification(tiny_config(num_labels=3)).save_pretrained(model)
    elif case == "bare-encoder":
        model = tmp_path / "encoder"
        LangSAMPModel(tiny_config()).save_pretrained(model)
    elif case == "output-is-a-file":
        output = tmp_path / "file.txt"
    elif case == "output-under-a-file":
        output = tmp_path / "file.txt" / "sub"
    elif case == "output-is-the-model":
        output = mlm_folder
    elif case == "tokenizer-missing":
        extra = ["--tokenizer", tmp_path / "nowhere"]
    elif case == "tokenizer-without-files":
        extra = ["--tokenizer", tmp_path / "no-weights"]
    elif case == "bad-repo-id":
        extra = ["--push_to_hub", "bad id!"]
    elif case == "other-inventory":
        model = tmp_path / "five-languages"
        LangSAMPForMaskedLM(tiny_config(languages=["eng", "fra", "hin", "rus", "zho"])).save_pretrained(model)
        extra = ["--tokenizer", tokenizer_dir]
    status, _, err = run_export(capsys, "--model", model, "--output_dir", output, *extra)
    lines = [line for line in err.splitlines() if line.startswith("export.py: error:")]
    assert status == 2 and len(lines) == 1, err
    assert "Traceback" not in err

    assert re.search(message.format(tmp=re.escape(str(tmp_path))), lines[0]), lines[0]
    assert not (tmp_path / "out").exists()  # nothing written


def test_export_takes_no_abbreviated_flag(capsys, mlm_folder, tmp_path):
    """`--mod` is not `--model` (argparse's prefix matching is off): a misspelt flag is refused in one line."""
    status, _, err = run_export(capsys, "--mod", mlm_folder, "--output_dir", tmp_path / "out")
    assert status == 2 and "the following arguments are required: --model" in err
    assert not (tmp_path / "out").exists()
