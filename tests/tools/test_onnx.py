"""ONNX, as docs/tools.md shows it: `torch.onnx.export` (the dynamo exporter; the inputs given as keyword
arguments, batch and sequence dynamic) of the encoder (AutoModel) and of the masked LM (AutoModelForMaskedLM, with
the tokenizer's `lang_ids` / `script_ids` as inputs) of a LangSAMP folder; onnxruntime's outputs match PyTorch's on the
batch it was exported with and on one of another shape. optimum's exporter is not used: see docs/tools.md."""

import warnings

import numpy as np
import pytest
import torch

TEXTS = ["Everyone has the right to life, liberty and security of person.", "All human beings are born <mask>."]
OTHER_SHAPE = ["No one shall be held in slavery or servitude; slavery and the slave trade shall be prohibited."]
TOLERANCE = 1e-4  # measured about 1e-6 (docs/tools.md): room for another CPU's kernels


def export_and_run(model, batch, path, other):
    """Export `model` called with `batch` to `path`; return PyTorch's and onnxruntime's first outputs, for `batch`
    and for `other` (another batch size and length)."""
    import onnx
    import onnxruntime

    dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("sequence")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on torch.export internals
        torch.onnx.export(
            model,
            (),
            str(path),
            kwargs=dict(batch),
            input_names=list(batch),
            dynamic_shapes={name: dims for name in batch},
            dynamo=True,
        )
    onnx.checker.check_model(str(path))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    results = []
    for inputs in (batch, other):
        with torch.no_grad():
            expected = model(**inputs)[0].numpy()
        got = session.run(None, {name: tensor.numpy() for name, tensor in inputs.items()})[0]
        results.append((expected, got))
    return results


@pytest.mark.parametrize("auto_class", ["AutoModel", "AutoModelForMaskedLM"])
def test_torch_onnx_export_runs_in_onnxruntime_as_in_pytorch(
    folder, folder_tokenizer, lang_kwargs, tmp_path, auto_class
):
    import transformers

    model = getattr(transformers, auto_class).from_pretrained(folder, trust_remote_code=True).eval()
    batch, other = (
        folder_tokenizer(texts, padding=True, return_tensors="pt", **lang_kwargs) for texts in (TEXTS, OTHER_SHAPE)
    )
    if auto_class == "AutoModel":  # the encoder ignores the ids: its graph takes the two inputs it uses
        batch, other = ({k: v for k, v in b.items() if k not in ("lang_ids", "script_ids")} for b in (batch, other))

    results = export_and_run(model, dict(batch), tmp_path / "model.onnx", dict(other))
    for (expected, got), inputs in zip(results, (batch, other)):
        width = model.config.hidden_size if auto_class == "AutoModel" else model.config.vocab_size
        assert got.shape == expected.shape == (*inputs["input_ids"].shape, width)
        difference = float(np.abs(got - expected).max())
        print(f"{auto_class} {tuple(got.shape)}: max |onnxruntime - PyTorch| = {difference:.2e}")
        assert difference < TOLERANCE
