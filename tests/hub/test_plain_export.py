"""`langsamp-export --format xlm-roberta [--language CODE]`: a stock XLM-R masked LM that stock transformers loads
without remote code, whose encoder is LangSAMP's to the bit and whose logits are LangSAMP's with the folded
language's ids; the atomic write (a full disk leaves nothing behind); a peft adapter folder refused in one line.

Expected logits come from the LangSAMP model's own forward with language ids (its tables added before the head), not
from the conversion; the plain folder is loaded in a fresh process, as a user of another tool would."""

import errno
import json
import shutil
import subprocess
import sys

import pytest
import torch
from fixtures.models import TRAINED

from langsamp.hub import export
from modeling_langsamp import LangSAMPForMaskedLM

TEXTS = ["Alle Menschen sind frei und gleich an <mask> und Rechten geboren.", "All human beings are <mask> free."]


@pytest.fixture(scope="module")
def langsamp_folder(tmp_path_factory, mlm_folder):
    """conftest's tiny masked LM (trained on TRAINED, with its tokenizer), its tables made large enough that folding
    the wrong row (or none) shows."""
    torch.manual_seed(0)
    model = LangSAMPForMaskedLM.from_pretrained(mlm_folder).eval()
    assert model.config.trained_pairs == TRAINED
    with torch.no_grad():
        for table in (
            model.language_script_embeddings.language_embeddings,
            model.language_script_embeddings.script_embeddings,
        ):
            table.weight.normal_(0.0, 1.0)
    folder = tmp_path_factory.mktemp("langsamp")
    model.save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(mlm_folder / name, folder / name)
    return folder


def run_export(capsys, *argv):
    with pytest.raises(SystemExit) as exit_info:
        export.main([str(a) for a in argv])
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def load_plainly(folder, texts):
    """In a fresh process with stock transformers only: the class, the config, the logits and last hidden states."""
    code = f"""
import json, sys, torch
from transformers import AutoConfig, AutoModelForMaskedLM, AutoTokenizer
folder = {str(folder)!r}
tokenizer = AutoTokenizer.from_pretrained(folder)
model = AutoModelForMaskedLM.from_pretrained(folder).eval()
batch = tokenizer({texts!r}, padding=True, return_tensors="pt")
with torch.no_grad():
    out = model(**batch, output_hidden_states=True)
outputs = {{"logits": out.logits, "hidden": out.hidden_states[-1], "input_ids": batch["input_ids"]}}
torch.save(outputs, folder + "/../out.pt")
print(json.dumps({{"model": type(model).__name__, "tokenizer": type(tokenizer).__name__,
                  "config": AutoConfig.from_pretrained(folder).to_dict()}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), torch.load(folder.parent / "out.pt")


def langsamp_outputs(folder, tokenizer, texts, language, script):
    """LangSAMP's forward with the rows of `language` and `script` for every text (ids set by hand: the tokenizer
    would detect each text's script)."""
    model = LangSAMPForMaskedLM.from_pretrained(folder).eval()
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    rows = len(texts)
    lang_ids = torch.full((rows,), model.config.languages.index(language))
    script_ids = torch.full((rows,), model.config.scripts.index(script))
    with torch.no_grad():
        out = model(**batch, lang_ids=lang_ids, script_ids=script_ids, output_hidden_states=True)
        bare = model.lm_head(out.hidden_states[-1])  # the head on the encoder's output, no table rows
    return out, bare, batch


@pytest.mark.parametrize("language", ["hin", None])
def test_plain_export_is_stock_xlmr_with_langsamps_logits(capsys, tmp_path, langsamp_folder, tokenizer, language):
    output = tmp_path / "plain" / "folder"
    extra = ["--language", language] if language else []
    status, out, err = run_export(
        capsys, "--model", langsamp_folder, "--output_dir", output, "--format", "xlm-roberta", *extra
    )
    assert status == 0, err
    files = {path.name for path in output.iterdir()}
    assert not {name for name in files if name.endswith(".py")}, files
    assert {"model.safetensors", "config.json", "tokenizer.json", "README.md", "modules.json"} <= files
    facts, plain = load_plainly(output, TEXTS)
    assert facts["model"] == "XLMRobertaForMaskedLM" and facts["tokenizer"] == "XLMRobertaTokenizer"
    config = facts["config"]
    assert config["model_type"] == "xlm-roberta" and config["architectures"] == ["XLMRobertaForMaskedLM"]
    assert not {"auto_map", "languages", "scripts", "trained_pairs", "use_lang_embedding"} & set(config)

    reference, bare, batch = langsamp_outputs(langsamp_folder, tokenizer, TEXTS, language or "eng", "Deva")
    assert torch.equal(plain["input_ids"], batch["input_ids"])
    assert torch.equal(plain["hidden"], reference.hidden_states[-1])  # the encoder, bit for bit
    expected = reference.logits if language else bare
    other = bare if language else reference.logits
    difference = (plain["logits"] - expected).abs().max().item()
    assert difference < 1e-4, difference
    assert (plain["logits"] - other).abs().max().item() > 100 * max(difference, 1e-6)  # the folding matters
    card = (output / "README.md").read_text()
    assert ("Folded language: `hin`, script `Deva`" in card) if language else ("No language folded in" in card)
    assert "trust_remote_code" in card and "custom_code" not in card


def test_fill_mask_top5_of_the_plain_export_equals_langsamps_with_the_language(capsys, tmp_path, langsamp_folder):
    from transformers import pipeline

    output = tmp_path / "plain"
    status, _, err = run_export(
        capsys, "--model", langsamp_folder, "--output_dir", output, "--format", "xlm-roberta", "--language", "arb"
    )
    assert status == 0, err
    text = "All human beings are born <mask> and equal."
    plain = pipeline("fill-mask", model=str(output), top_k=5)(text)
    langsamp = pipeline("fill-mask", model=str(langsamp_folder), trust_remote_code=True, top_k=5)
    reference = langsamp(text, tokenizer_kwargs={"lang": "arb_Arab"})  # the label fixes the script: the folded one
    assert [r["token"] for r in plain] == [r["token"] for r in reference]
    assert [r["score"] for r in plain] == pytest.approx([r["score"] for r in reference], abs=1e-5)


def test_save_for_hub_writes_the_plain_format_in_python(tmp_path, langsamp_folder, tokenizer):
    model = LangSAMPForMaskedLM.from_pretrained(langsamp_folder)
    export.save_for_hub(model, tokenizer, tmp_path / "plain", format="xlm-roberta", language="cmn_Hani")
    config = json.loads((tmp_path / "plain" / "config.json").read_text())
    assert config["model_type"] == "xlm-roberta" and "auto_map" not in config
    assert "Folded language: `cmn`, script `Hani`" in (tmp_path / "plain" / "README.md").read_text()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--format", "xlm-roberta", "--language", "qqq"], "--language qqq: "),
        (["--format", "xlm-roberta", "--language", "hin_Xxxx"], "--language hin_Xxxx:"),
        (["--language", "hin"], "--language hin folds a language into the plain export: add --format xlm-roberta"),
    ],
)
def test_bad_language_is_one_line_before_anything_is_written(capsys, tmp_path, langsamp_folder, extra, message):
    output = tmp_path / "out"
    status, _, err = run_export(capsys, "--model", langsamp_folder, "--output_dir", output, *extra)
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and lines[0].startswith(f"export.py: error: {message}"), err
    assert not output.exists() and list(tmp_path.iterdir()) == []


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_full_disk_leaves_the_output_folder_as_it_was(capsys, monkeypatch, tmp_path, langsamp_folder, overwrite):
    import transformers.modeling_utils

    output = tmp_path / "out"
    if overwrite:
        output.mkdir()
        (output / "kept.txt").write_text("an earlier export")
    monkeypatch.setattr(transformers.modeling_utils, "safe_save_file", no_space)
    extra = ["--overwrite"] if overwrite else []
    status, out, err = run_export(capsys, "--model", langsamp_folder, "--output_dir", output, *extra)
    lines = [line for line in err.splitlines() if line.startswith("export.py:")]
    assert status == 1 and len(lines) == 1 and "No space left on device" in lines[0], err
    assert lines[0].endswith("it is kept as it was." if overwrite else "it is not created."), lines[0]
    assert "Traceback" not in err and "Hub-ready folder" not in out
    if overwrite:
        assert [p.name for p in output.iterdir()] == ["kept.txt"]
    assert [p.name for p in tmp_path.iterdir()] == (["out"] if overwrite else [])  # no half-written folder


def test_a_peft_adapter_folder_is_one_line_before_anything_is_written(capsys, tmp_path, langsamp_folder):
    peft = pytest.importorskip("peft")
    from transformers import AutoModelForSequenceClassification

    base = AutoModelForSequenceClassification.from_pretrained(langsamp_folder, trust_remote_code=True, num_labels=2)
    adapter = peft.get_peft_model(base, peft.LoraConfig(task_type="SEQ_CLS", target_modules=["query", "value"]))
    adapter.save_pretrained(tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()
    for extra in ([], ["--tokenizer", str(langsamp_folder)]):
        status, _, err = run_export(capsys, "--model", tmp_path / "adapter", "--output_dir", tmp_path / "out", *extra)
        lines = [line for line in err.splitlines() if line.startswith("export.py:")]
        assert "Traceback" not in err
        assert status == 2 and len(lines) == 1, err
        assert "is a peft adapter (adapter_config.json)" in lines[0] and "merge_and_unload()" in lines[0]
        assert str(langsamp_folder) in lines[0]  # the base it names
        assert not (tmp_path / "out").exists()


def test_sentence_transformers_loads_the_plain_folder_with_mean_pooling(capsys, tmp_path, langsamp_folder):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    from transformers import AutoModel, AutoTokenizer

    output = tmp_path / "plain"
    status, _, err = run_export(capsys, "--model", langsamp_folder, "--output_dir", output, "--format", "xlm-roberta")
    assert status == 0, err
    texts = ["Alle Menschen sind frei.", "All human beings are born free and equal in dignity and rights."]
    embeddings = sentence_transformers.SentenceTransformer(str(output), device="cpu").encode(texts)
    tokenizer, encoder = AutoTokenizer.from_pretrained(output), AutoModel.from_pretrained(output).eval()
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        states = encoder(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    expected = (states * mask).sum(1) / mask.sum(1)  # mean over each text's own tokens
    assert torch.allclose(torch.from_numpy(embeddings), expected, atol=1e-5)
