"""Loading, the way users load: a fresh process with the Auto classes and `trust_remote_code=True` from a
Hub-ready folder, the authors' release format, stock XLM-R checkpoints, and the fill-mask pipeline."""

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fixtures.models import tiny_config
from safetensors.torch import load_file, save_file
from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM, XLMRobertaModel, pipeline

from langsamp.hub.export import save_for_hub
from langsamp.hub.remote_code import REMOTE_CODE_FILES
from langsamp_inventory import RELEASE_LANGUAGES, RELEASE_SCRIPTS
from modeling_langsamp import LangSAMPForMaskedLM

REPO = Path(__file__).resolve().parents[2]
TEXTS = ["Paris is the <mask> of France.", "नमस्ते दुनिया", "Все люди рождаются <mask> и равными."]
LANGS = ["eng", "hin_Deva", "rus"]
HIDDEN = 32


def randomize(model, seed):
    """Every parameter random (LayerNorms and biases too), the tables large, so that misplaced tensors show."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            scale = 1.0 if "language_script" in name else 0.05
            param.add_(torch.randn(param.shape, generator=generator) * scale)
    return model


# ------------------------------------------------------------------------------- fresh process, Auto classes

CHILD = textwrap.dedent(
    """
    import json, sys
    folder, out = sys.argv[1], sys.argv[2]
    texts, langs = json.loads(sys.argv[3]), json.loads(sys.argv[4])
    # Everything has to come from the folder, as for a user without this package: the copies that `pip install`
    # (setup.sh's editable one included) puts in the venv are hidden, so that the remote code's fallback to top-level
    # imports cannot stand in for a file missing from the folder.
    REMOTE = {
        "configuration_langsamp", "modeling_langsamp", "tokenization_langsamp", "langsamp_codes", "langsamp_inventory"
    }

    class Uninstalled:
        def find_spec(self, name, path=None, target=None):
            if name in REMOTE or name == "langsamp" or name.startswith("langsamp."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    sys.meta_path.insert(0, Uninstalled())
    try:
        import modeling_langsamp
        raise SystemExit("the checkout's modules are importable in the fresh process")
    except ModuleNotFoundError:
        pass
    import numpy as np, torch
    from transformers import (AutoConfig, AutoModel, AutoModelForMaskedLM, AutoModelForMultipleChoice,
        AutoModelForQuestionAnswering, AutoModelForSequenceClassification, AutoModelForTokenClassification,
        AutoTokenizer, pipeline)

    report = {}
    config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    report["config"] = [type(config).__name__, type(config).__module__, config.model_type, len(config.languages)]
    report["tokenizer"] = [type(tokenizer).__name__, type(tokenizer).__module__]
    batch = tokenizer(texts, lang=langs, padding=True, return_tensors="pt")
    report["batch"] = {key: value.tolist() for key, value in batch.items()}
    arrays = {}
    mlm = AutoModelForMaskedLM.from_pretrained(folder, trust_remote_code=True).eval()
    encoder = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    with torch.no_grad():
        arrays["logits"] = mlm(**batch).logits.numpy()
        arrays["hidden"] = encoder(**batch).last_hidden_state.numpy()
    arrays["hin"] = mlm.language_embedding("hin").numpy()
    report["models"] = {"AutoModelForMaskedLM": [type(mlm).__name__, type(mlm).__module__],
                        "AutoModel": [type(encoder).__name__, type(encoder).__module__]}
    heads = {"AutoModelForSequenceClassification": AutoModelForSequenceClassification,
             "AutoModelForTokenClassification": AutoModelForTokenClassification,
             "AutoModelForQuestionAnswering": AutoModelForQuestionAnswering,
             "AutoModelForMultipleChoice": AutoModelForMultipleChoice}
    for name, auto in heads.items():
        head, info = auto.from_pretrained(folder, trust_remote_code=True, output_loading_info=True)
        head.eval()
        inputs = {k: v[None] for k, v in batch.items()} if name.endswith("MultipleChoice") else dict(batch)
        with torch.no_grad():
            output = head(**inputs)  # straight from our tokenizer, ids included
            states = head.roberta(batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        report["models"][name] = [type(head).__name__, type(head).__module__]
        report.setdefault("missing", {})[name] = sorted(info["missing_keys"])
        report.setdefault("unexpected", {})[name] = sorted(info["unexpected_keys"])
        report.setdefault("encoder_diff", {})[name] = float((states - torch.from_numpy(arrays["hidden"])).abs().max())
        report.setdefault("output_shape", {})[name] = list(output[0].shape)
    fill = pipeline("fill-mask", model=mlm, tokenizer=tokenizer)
    report["fill"] = fill(texts[0], tokenizer_kwargs={"lang": langs[0]}, top_k=3)
    np.savez(out, **arrays)
    print("REPORT" + json.dumps(report))
    """
)


@pytest.fixture(scope="module")
def hub_folder(tmp_path_factory, tokenizer):
    """A Hub-ready folder written by export.save_for_hub, and the numbers the saved model gave."""
    torch.manual_seed(0)
    model = randomize(LangSAMPForMaskedLM(tiny_config()), seed=1).eval()
    folder = save_for_hub(model, tokenizer, tmp_path_factory.mktemp("hub") / "langsamp-tiny")
    batch = tokenizer(TEXTS, lang=LANGS, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = {
            "logits": model(**batch).logits.numpy(),
            "hidden": model.roberta(
                batch["input_ids"], attention_mask=batch["attention_mask"]
            ).last_hidden_state.numpy(),
            "hin": model.language_embedding("hin").numpy(),
        }
    return folder, expected, {key: value.tolist() for key, value in batch.items()}


def test_fresh_process_loads_the_folder_with_auto_classes(hub_folder, tmp_path):
    folder, expected, batch = hub_folder
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["README.md", "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", *REMOTE_CODE_FILES]
        + ["modules.json", "sentence_bert_config.json", "config_sentence_transformers.json", "1_Pooling"]
    )  # the last four: the sentence-transformers configuration
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"), TOKENIZERS_PARALLELISM="false")
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), str(tmp_path / "out.npz"), json.dumps(TEXTS), json.dumps(LANGS)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.split("REPORT", 1)[1])
    arrays = np.load(tmp_path / "out.npz")

    # every class came from the folder's code (transformers' module cache), not from the checkout
    assert report["config"][0] == "LangSAMPConfig" and report["config"][2:] == ["langsamp", 610]
    assert report["tokenizer"][0] == "LangSAMPTokenizer"
    for name, (cls, module) in {
        **report["models"],
        "config": report["config"][:2],
        "tokenizer": report["tokenizer"],
    }.items():
        assert module.startswith("transformers_modules."), (name, module)
    assert {name: cls for name, (cls, _) in report["models"].items()} == {
        "AutoModelForMaskedLM": "LangSAMPForMaskedLM",
        "AutoModel": "LangSAMPModel",
        "AutoModelForSequenceClassification": "LangSAMPForSequenceClassification",
        "AutoModelForTokenClassification": "LangSAMPForTokenClassification",
        "AutoModelForQuestionAnswering": "LangSAMPForQuestionAnswering",
        "AutoModelForMultipleChoice": "LangSAMPForMultipleChoice",
    }
    # the tokenizer's ids and the model's numbers are the original ones
    assert report["batch"] == batch
    assert np.abs(arrays["logits"] - expected["logits"]).max() < 1e-5
    assert np.abs(arrays["hidden"] - expected["hidden"]).max() < 1e-5
    assert np.array_equal(arrays["hin"], expected["hin"])
    # task heads: the encoder is loaded in full (only the new head, and the pooler an MLM has none of, is missing)
    for name, missing in report["missing"].items():
        assert missing and not [
            k for k in missing if k.startswith("roberta.") and not k.startswith("roberta.pooler.")
        ], (name, missing)
        # the pretraining tables are dropped by design (no warning); only the MLM head is left over, as in XLM-R
        assert not [k for k in report["unexpected"][name] if not k.startswith("lm_head.")], (
            name,
            report["unexpected"][name],
        )
        assert report["encoder_diff"][name] < 1e-5, name
    seq = len(batch["input_ids"][0])
    assert report["output_shape"] == {
        "AutoModelForSequenceClassification": [3, 2],
        "AutoModelForTokenClassification": [3, seq, 2],
        "AutoModelForQuestionAnswering": [3, seq],
        "AutoModelForMultipleChoice": [1, 3],
    }
    assert len(report["fill"]) == 3 and all("<mask>" not in p["sequence"] for p in report["fill"])


def test_plain_save_pretrained_writes_the_code_for_trust_remote_code(tmp_path, tokenizer):
    """Not export.py: `save_pretrained` of a model built from the checkout's modules, as a user would write it."""
    torch.manual_seed(0)
    model = randomize(LangSAMPForMaskedLM(tiny_config()), seed=9).eval()
    folder = tmp_path / "saved"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    assert set(REMOTE_CODE_FILES) <= {p.name for p in folder.iterdir()}  # written by transformers' custom_object_save
    batch = tokenizer(TEXTS[:1], lang=LANGS[:1], return_tensors="pt")
    with torch.no_grad():
        expected = model(**batch).logits.numpy()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"), TOKENIZERS_PARALLELISM="false")
    child = textwrap.dedent(
        """
        import sys, numpy as np, torch
        from transformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer
        folder, text, lang = sys.argv[1:4]
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
        mlm = AutoModelForMaskedLM.from_pretrained(folder, trust_remote_code=True).eval()
        encoder = AutoModel.from_pretrained(folder, trust_remote_code=True)
        with torch.no_grad():
            np.save(sys.argv[4], mlm(**tokenizer([text], lang=lang, return_tensors="pt")).logits.numpy())
        classes = (type(tokenizer).__name__, type(mlm).__name__, type(encoder).__name__)
        print("CLASSES", *classes, type(mlm).__module__.split(".")[0])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", child, str(folder), TEXTS[0], LANGS[0], str(tmp_path / "logits.npy")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.split("CLASSES", 1)[1].split() == [
        "LangSAMPTokenizer",
        "LangSAMPForMaskedLM",
        "LangSAMPModel",
        "transformers_modules",
    ]
    assert np.abs(np.load(tmp_path / "logits.npy") - expected).max() < 1e-5


# ------------------------------------------------------------------------------ the authors' release format


def release_tensors(seed=2):
    """A random checkpoint in the release's layout: stock roberta.*/lm_head.* keys, no token-type row, the tables
    inside the embeddings module."""
    generator = torch.Generator().manual_seed(seed)
    shapes = {k: v.shape for k, v in XLMRobertaForMaskedLM(stock_config()).state_dict().items()}
    tensors = {}
    for key, shape in shapes.items():
        if "token_type" in key or key.startswith("lm_head.decoder.") or key.endswith("position_ids"):
            continue
        tensors[key] = torch.randn(shape, generator=generator) * 0.05 + (
            1.0 if key.endswith("LayerNorm.weight") or key.endswith("layer_norm.weight") else 0.0
        )
    tensors["roberta.embeddings.lang_type_embeddings.weight"] = torch.randn(610, HIDDEN, generator=generator)
    tensors["roberta.embeddings.script_type_embeddings.weight"] = torch.randn(30, HIDDEN, generator=generator)
    return tensors


def stock_config(**overrides):
    values = dict(
        vocab_size=250002,
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=130,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    values.update(overrides)
    return XLMRobertaConfig(**values)


def write_release_folder(folder, tensors, **config_overrides):
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "architectures": ["XLMRobertaDecoupledForMaskedLM"],
        "model_type": "xlm-roberta",
        "attention_probs_dropout_prob": 0.1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "pad_token_id": 1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": 64,
        "layer_norm_eps": 1e-05,
        "max_position_embeddings": 130,
        "num_attention_heads": 2,
        "num_hidden_layers": 2,
        "position_embedding_type": "absolute",
        "type_vocab_size": 1,
        "use_cache": True,
        "vocab_size": 250002,
        "lang_size": 610,
        "script_size": 30,
        "use_lang_embedding": True,
        "use_script_embedding": True,
        "decouple_at_input_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": "4.33.0",
    }
    config.update(config_overrides)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    save_file({k: v.contiguous() for k, v in tensors.items()}, folder / "model.safetensors", metadata={"format": "pt"})
    return folder


def release_formula(tensors, input_ids, attention_mask, lang_ids, script_ids):
    """The release's predictions computed from its own tensors: transformers' stock XLM-R encoder (token-type row
    zero), then decoder(LN(gelu(dense(h + E_l + E_s)))) + bias."""
    encoder = XLMRobertaModel(stock_config(), add_pooling_layer=False).eval()
    state = {
        k.removeprefix("roberta."): v
        for k, v in tensors.items()
        if k.startswith("roberta.") and "_type_embeddings" not in k
    }
    state["embeddings.token_type_embeddings.weight"] = torch.zeros(1, HIDDEN)
    missing, unexpected = encoder.load_state_dict(state, strict=False)
    assert not unexpected and not [k for k in missing if not k.endswith("position_ids")]
    with torch.no_grad():
        h = encoder(input_ids, attention_mask=attention_mask).last_hidden_state
    o = (
        h
        + tensors["roberta.embeddings.lang_type_embeddings.weight"][lang_ids][:, None]
        + tensors["roberta.embeddings.script_type_embeddings.weight"][script_ids][:, None]
    )
    x = F.gelu(o @ tensors["lm_head.dense.weight"].T + tensors["lm_head.dense.bias"])
    x = F.layer_norm(x, (HIDDEN,), tensors["lm_head.layer_norm.weight"], tensors["lm_head.layer_norm.bias"], 1e-5)
    return x @ tensors["roberta.embeddings.word_embeddings.weight"].T + tensors["lm_head.bias"]


# where each release tensor must land in our model
RELEASE_TO_OURS = {
    "roberta.embeddings.lang_type_embeddings.weight": "language_script_embeddings.language_embeddings.weight",
    "roberta.embeddings.script_type_embeddings.weight": "language_script_embeddings.script_embeddings.weight",
}


@pytest.mark.parametrize("with_tied_copies", [False, True], ids=["tied-keys-dropped", "tied-keys-saved"])
def test_release_format(tmp_path, tokenizer, with_tied_copies):
    tensors = release_tensors()
    if with_tied_copies:  # a torch state_dict dump also holds the decoder's (tied) copies
        tensors["lm_head.decoder.weight"] = tensors["roberta.embeddings.word_embeddings.weight"].clone()
        tensors["lm_head.decoder.bias"] = tensors["lm_head.bias"].clone()
    folder = write_release_folder(tmp_path / "release", tensors)

    model, info = LangSAMPForMaskedLM.from_pretrained(folder, output_loading_info=True)
    model.eval()
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    assert model.config.model_type == "langsamp"
    assert model.config.languages == RELEASE_LANGUAGES and model.config.scripts == RELEASE_SCRIPTS
    ours = model.state_dict()
    for key, value in tensors.items():
        assert torch.equal(ours[RELEASE_TO_OURS.get(key, key)], value), key
    assert torch.equal(ours["roberta.embeddings.token_type_embeddings.weight"], torch.zeros(1, HIDDEN))
    assert model.lm_head.decoder.weight is model.roberta.embeddings.word_embeddings.weight
    hin = RELEASE_LANGUAGES.index("hin")
    assert torch.equal(model.language_embedding("hin"), tensors["roberta.embeddings.lang_type_embeddings.weight"][hin])

    batch = tokenizer(TEXTS, lang=LANGS, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    expected = release_formula(
        tensors, batch["input_ids"], batch["attention_mask"], batch["lang_ids"][:, 0], batch["script_ids"][:, 0]
    )
    assert (logits - expected).abs().max().item() < 1e-4

    # saving again writes this package's names and config, and reloads identically
    model.save_pretrained(tmp_path / "ours")
    keys = set(load_file(tmp_path / "ours" / "model.safetensors"))
    assert {
        "language_script_embeddings.language_embeddings.weight",
        "language_script_embeddings.script_embeddings.weight",
    } <= keys
    assert not [k for k in keys if "lang_type" in k or "script_type" in k]
    config = json.loads((tmp_path / "ours" / "config.json").read_text())
    assert (
        config["model_type"] == "langsamp"
        and config["architectures"] == ["LangSAMPForMaskedLM"]
        and "auto_map" in config
    )
    assert not {"lang_size", "script_size", "decouple_at_input_embeddings"} & set(config)
    reloaded, info = LangSAMPForMaskedLM.from_pretrained(tmp_path / "ours", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    with torch.no_grad():
        assert torch.equal(reloaded.eval()(**batch).logits, logits)


def test_release_format_stock_class_is_wrong(tmp_path, tokenizer):
    """Why this loader exists: transformers' own class drops both tables from the same folder."""
    tensors = release_tensors()
    folder = write_release_folder(tmp_path / "release", tensors)
    stock, info = XLMRobertaForMaskedLM.from_pretrained(folder, output_loading_info=True)
    assert {
        "roberta.embeddings.lang_type_embeddings.weight",
        "roberta.embeddings.script_type_embeddings.weight",
    } <= set(info["unexpected_keys"])


def test_release_decoupled_at_input_is_refused(tmp_path):
    folder = write_release_folder(tmp_path / "decoupled", release_tensors(), decouple_at_input_embeddings=True)
    with pytest.raises(ValueError, match=r"decouple_at_input_embeddings"):
        LangSAMPForMaskedLM.from_pretrained(folder)


def test_release_with_other_table_sizes_asks_for_the_codes(tmp_path):
    tensors = release_tensors()
    tensors["roberta.embeddings.lang_type_embeddings.weight"] = tensors[
        "roberta.embeddings.lang_type_embeddings.weight"
    ][:5]
    folder = write_release_folder(tmp_path / "five", tensors, lang_size=5)
    with pytest.raises(ValueError, match=r"5 rows but 610 codes.*languages="):
        LangSAMPForMaskedLM.from_pretrained(folder)
    codes = ["eng", "fra", "hin", "rus", "zho"]
    model = LangSAMPForMaskedLM.from_pretrained(folder, languages=codes)
    assert model.config.languages == codes
    assert torch.equal(model.language_embedding("hin"), tensors["roberta.embeddings.lang_type_embeddings.weight"][2])


# --------------------------------------------------------------------------------------- stock XLM-R checkpoint


def test_stock_xlmr_checkpoint(tmp_path, caplog):
    torch.manual_seed(3)
    stock = randomize(XLMRobertaForMaskedLM(stock_config()), seed=4).eval()
    with torch.no_grad():  # XLM-R's own token-type row is zeros; make it not, to see that it is copied, not zeroed
        stock.roberta.embeddings.token_type_embeddings.weight.normal_()
    stock.save_pretrained(tmp_path / "stock")

    with caplog.at_level(logging.WARNING):
        model, info = LangSAMPForMaskedLM.from_pretrained(tmp_path / "stock", output_loading_info=True)
    model.eval()
    assert set(info["missing_keys"]) == {
        "language_script_embeddings.language_embeddings.weight",
        "language_script_embeddings.script_embeddings.weight",
    }
    assert not info["unexpected_keys"]
    logged = [r.getMessage() for r in caplog.records if "LangSAMP tables" in r.getMessage()]
    assert len(logged) == 1 and "N(0, 0.02)" in logged[0] and "language_embeddings" in logged[0], caplog.text

    theirs, ours = stock.state_dict(), model.state_dict()
    for key, value in theirs.items():
        assert torch.equal(ours[key], value), key  # encoder and LM head copied exactly
    for table, rows in (
        (model.language_script_embeddings.language_embeddings, 610),
        (model.language_script_embeddings.script_embeddings, 30),
    ):
        weight = table.weight.detach()
        assert weight.shape == (rows, HIDDEN)
        assert abs(weight.std().item() - 0.02) < (0.0015 if rows == 610 else 0.004), weight.std()
        assert abs(weight.mean().item()) < 0.003
    assert model.config.model_type == "langsamp" and len(model.config.languages) == 610

    input_ids = torch.tensor([[0, 581, 10323, 83, 250001, 2], [0, 33600, 31, 2, 1, 1]])
    mask = (input_ids != 1).long()
    with torch.no_grad():
        model.language_script_embeddings.language_embeddings.weight.zero_()
        model.language_script_embeddings.script_embeddings.weight.zero_()
        ids = dict(lang_ids=torch.tensor([1, 2]), script_ids=torch.tensor([19, 19]))
        assert (
            model(input_ids, attention_mask=mask, **ids).logits - stock(input_ids, attention_mask=mask).logits
        ).abs().max() < 1e-5


def test_stock_xlmr_checkpoint_into_a_task_head(tmp_path):
    from modeling_langsamp import LangSAMPForSequenceClassification

    torch.manual_seed(5)
    stock = randomize(XLMRobertaForMaskedLM(stock_config()), seed=6)
    stock.save_pretrained(tmp_path / "stock")
    head, info = LangSAMPForSequenceClassification.from_pretrained(
        tmp_path / "stock", num_labels=3, output_loading_info=True
    )
    assert info["missing_keys"] and all(k.startswith("classifier.") for k in info["missing_keys"])
    assert torch.equal(head.roberta.embeddings.word_embeddings.weight, stock.roberta.embeddings.word_embeddings.weight)


# -------------------------------------------------------------------------------------------------- pipeline


@pytest.fixture(scope="module")
def pipeline_model():
    torch.manual_seed(7)
    return randomize(LangSAMPForMaskedLM(tiny_config()), seed=8).eval()


def test_fill_mask_pipeline_with_a_language(pipeline_model, tokenizer):
    fill = pipeline("fill-mask", model=pipeline_model, tokenizer=tokenizer)
    text = "Paris is the <mask> of France."
    predictions = fill(text, tokenizer_kwargs={"lang": "eng"}, top_k=5)
    assert len(predictions) == 5 and all(text.replace("<mask>", "") != p["sequence"] for p in predictions)

    # the pipeline's answer is the model's own, with the ids the tokenizer gives for English
    batch = tokenizer(text, lang="eng", return_tensors="pt")
    position = batch["input_ids"][0].tolist().index(tokenizer.mask_token_id)
    with torch.no_grad():
        probabilities = pipeline_model(**batch).logits[0, position].softmax(-1)
    top = probabilities.topk(5)
    assert [p["token"] for p in predictions] == top.indices.tolist()
    assert np.allclose([p["score"] for p in predictions], top.values.numpy(), rtol=1e-4)

    # the language really reaches the model: another language, other scores
    russian = fill(text, tokenizer_kwargs={"lang": "rus"}, top_k=5)
    assert [p["score"] for p in russian] != [p["score"] for p in predictions]
    # given once at construction, it applies to every call
    preset = pipeline("fill-mask", model=pipeline_model, tokenizer=tokenizer, tokenizer_kwargs={"lang": "eng"})
    assert [p["token"] for p in preset(text, top_k=5)] == [p["token"] for p in predictions]


def test_fill_mask_pipeline_without_a_language_says_how(pipeline_model, tokenizer):
    fill = pipeline("fill-mask", model=pipeline_model, tokenizer=tokenizer)
    with pytest.raises(ValueError, match=r"`lang_ids` is required.*tokenizer\(texts, lang="):
        fill("Paris is the <mask> of France.")


def test_fill_mask_pipeline_with_a_default_language(pipeline_model, tokenizer, tmp_path):
    """X-MOD's convention: once `set_default_language` is called, the pipeline needs no `tokenizer_kwargs`, and
    its answer is the one the tokenizer's English ids give; the default survives save/load in config.json."""
    text = "Paris is the <mask> of France."
    expected = pipeline("fill-mask", model=pipeline_model, tokenizer=tokenizer)(
        text, tokenizer_kwargs={"lang": "eng"}, top_k=5
    )
    try:
        pipeline_model.set_default_language("en")
        assert (pipeline_model.config.default_language, pipeline_model.config.default_script) == ("eng", "Latn")
        predictions = pipeline("fill-mask", model=pipeline_model, tokenizer=tokenizer)(text, top_k=5)
        pipeline_model.save_pretrained(tmp_path)
    finally:
        pipeline_model.config.default_language = pipeline_model.config.default_script = None
    assert [p["token"] for p in predictions] == [p["token"] for p in expected]
    assert np.allclose([p["score"] for p in predictions], [p["score"] for p in expected], rtol=1e-5)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert (saved["default_language"], saved["default_script"]) == ("eng", "Latn")
    reloaded = LangSAMPForMaskedLM.from_pretrained(tmp_path).eval()
    again = pipeline("fill-mask", model=reloaded, tokenizer=tokenizer)(text, top_k=5)
    assert [p["token"] for p in again] == [p["token"] for p in expected]
