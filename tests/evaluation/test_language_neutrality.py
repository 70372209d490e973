"""language_neutrality.py and `langsamp_eval.py neutrality`: the cross-language cosine against hand-computed values,
the language-ID probe on cases whose accuracy is known exactly, a tiny model's figures against an independent
per-sentence forward pass, and the command line's refusals before loading."""

import json
import math

import numpy as np
import pytest
import torch
from fixtures.models import tiny_config

from langsamp import evaluation as ev
from langsamp.evaluation.cli import main
from langsamp.evaluation.language_neutrality import (
    check_neutrality_inputs,
    cross_language_cosine,
    language_identification_accuracy,
    language_neutrality,
)
from modeling_langsamp import LangSAMPForMaskedLM

R = 1 / math.sqrt(2)


def test_cross_language_cosine_by_hand():
    # Two parallel sentences in three languages; deu's vectors are scaled (cosine ignores length, a dot product would
    # not).
    states = {"eng": [[1.0, 0.0], [0.0, 1.0]], "deu": [[2.0, 2.0], [0.0, 3.0]], "rus": [[1.0, 0.0], [-1.0, 0.0]]}
    result = cross_language_cosine(states)
    # parallel: eng-deu (cos 45° + cos 0°) / 2; eng-rus (1 + 0) / 2; deu-rus (cos 45° + cos 90°) / 2
    eng_deu, eng_rus, deu_rus = (R + 1) / 2, 0.5, R / 2
    assert result["languages"] == ["eng", "deu", "rus"]
    assert np.allclose(
        result["matrix"], [[1, eng_deu, eng_rus], [eng_deu, 1, deu_rus], [eng_rus, deu_rus, 1]], atol=1e-6
    )
    assert result["mean"] == pytest.approx((eng_deu + eng_rus + deu_rus) / 3)  # unordered pairs, diagonal left out
    # non-parallel (sentence 0 against 1 and 1 against 0): eng-deu (0 + R) / 2; eng-rus (-1 + 0) / 2;
    # deu-rus (-R + 0) / 2
    assert result["mean_non_parallel"] == pytest.approx((R / 2 - 0.5 - R / 2) / 3)


def test_probe_is_perfect_on_separable_languages_and_at_chance_on_identical_ones():
    rng = np.random.default_rng(0)
    content = rng.normal(size=(20, 50))  # 20 parallel units, 50 dimensions: enough for a probe to memorise a unit
    separable = {"a": content + 5.0, "b": content - 5.0}
    assert language_identification_accuracy(separable, folds=4) == 1.0
    # Identical states in both languages: a held-out unit's two states get the same prediction, so exactly one of the
    # two is right: 50.0%. Folds that split a unit's translations apart would let the probe memorise "unit i is
    # language a" from the training copy and score below 50%.
    identical = {"a": content, "b": content.copy()}
    assert language_identification_accuracy(identical, folds=4) == 0.5


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return LangSAMPForMaskedLM(tiny_config()).eval()


@pytest.fixture(scope="module")
def corpus(udhr_translations):
    full = ev.udhr_parallel_corpus({code: udhr_translations[code] for code in ("eng_Latn", "deu_Latn", "rus_Cyrl")})
    return {code: units[1:5] for code, units in full.items()}  # articles 1-4: 4 parallel units of different lengths


def test_tiny_model_matches_an_independent_per_sentence_forward_pass(model, tokenizer, corpus):
    result = language_neutrality(model, tokenizer, corpus, layers=[0, 2], probe_folds=2, max_length=64, batch_size=3)
    assert result["languages"] == ["eng_Latn", "deu_Latn", "rus_Cyrl"] and result["sentences"] == 4
    for layer in (0, 2):
        pooled = {}
        for code, texts in corpus.items():
            vectors = []
            for text in texts:  # one sentence at a time: no padding, so the mean is over every token
                ids = tokenizer(text, truncation=True, max_length=64, return_tensors="pt")["input_ids"]
                with torch.no_grad():
                    states = model.base_model(input_ids=ids, output_hidden_states=True).hidden_states[layer][0]
                vectors.append(states.mean(0).double().numpy())
            pooled[code] = np.stack(vectors)
        codes = list(corpus)
        pairs = []
        for a in range(3):
            for b in range(a + 1, 3):
                x, y = pooled[codes[a]], pooled[codes[b]]
                cosines = (x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)
                pairs.append(cosines.mean())
                assert result["per_layer"][layer]["matrix"][a][b] == pytest.approx(cosines.mean(), abs=1e-5)
        assert result["per_layer"][layer]["mean"] == pytest.approx(np.mean(pairs), abs=1e-5)
        assert 0.0 <= result["per_layer"][layer]["lid_accuracy"] <= 1.0


def test_every_bad_input_is_named_at_once(model, corpus):
    with pytest.raises(ValueError) as error:
        check_neutrality_inputs(
            corpus, ["deu", "xxx_Latn"], model, layers=[1, 5, -9], probe_folds=9, batch_size=0, max_length=2, seed=-1
        )
    message = str(error.value)
    for part in (
        "'xxx_Latn' is not in the corpus",
        "layer 5 is out of range",
        "layer -9 is out of range",
        "probe folds 9",
        "batch size 0",
        "max length 2: give at least 3 tokens",
        "seed -1: give an integer from 0",
    ):
        assert part in message
    with pytest.raises(ValueError, match="at least 2"):
        check_neutrality_inputs(corpus, ["deu"], model)
    ragged = dict(corpus, deu_Latn=corpus["deu_Latn"][:3])
    with pytest.raises(ValueError, match="not aligned: eng_Latn has 4, deu_Latn has 3"):
        check_neutrality_inputs(ragged, None, model)


def test_cli_writes_every_layer_and_refuses_bad_input_in_one_line(model, tokenizer, corpus, tmp_path, capsys):
    folder = tmp_path / "tiny"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (tmp_path / "corpus.json").write_text(json.dumps(corpus), encoding="utf-8")
    output = tmp_path / "neutrality.json"
    argv = [
        "neutrality",
        "--model",
        str(folder),
        "--corpus",
        str(tmp_path / "corpus.json"),
        "--probe-folds",
        "2",
        "--max-length",
        "32",
    ]
    assert main(argv + ["--output", str(output)]) == 0
    result = json.loads(output.read_text())
    assert sorted(result["per_layer"], key=int) == ["0", "1", "2"] and len(result["per_layer"]["2"]["matrix"]) == 3
    assert "| 2 |" in capsys.readouterr().out
    assert main(argv + ["--layers", "7", "--languages", "deu", "zzz"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("langsamp_eval.py neutrality: error: ")
    assert "layer 7 is out of range" in error and "'zzz'" in error and "Traceback" not in error
