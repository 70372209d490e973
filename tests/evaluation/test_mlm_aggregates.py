"""The summary of `mlm` across languages, against hand computations. `_average` defines it: the plain mean over
languages of each figure (a macro-mean: every language counts once, whatever its number of tokens), accuracy kept
as a fraction, and for the perplexities also the geometric mean over languages, exp(mean log). The per-language
figures are chosen so that the plausible wrong summaries (token-weighted, median, arithmetic for geometric, in %)
all give other numbers."""

import json
import math

import pytest
import torch
from fixtures.models import tiny_config

from langsamp import evaluation as ev
from langsamp.evaluation import mlm_quality
from langsamp.evaluation.cli import main
from modeling_langsamp import LangSAMPForMaskedLM

VOCAB = 250002


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return LangSAMPForMaskedLM(tiny_config()).eval()


# ---------------------------------------------------------------- the Python API, per-language figures as literals

# Sentence count -> (language, its figures). The languages differ in size, so token-weighted means differ from
# means over languages.
FIGURES = {
    1: ("deu_Latn", {"masked_accuracy": 0.5, "masked_perplexity": 2.0, "masked_tokens": 10},
        {"pseudo_perplexity": 3.0, "scored_tokens": 60}),
    2: ("rus_Cyrl", {"masked_accuracy": 0.1, "masked_perplexity": 16.0, "masked_tokens": 60},
        {"pseudo_perplexity": 16.0, "scored_tokens": 400}),
    3: ("hin_Deva", {"masked_accuracy": 0.6, "masked_perplexity": 54.0, "masked_tokens": 30},
        {"pseudo_perplexity": 36.0, "scored_tokens": 200}),
}  # fmt: skip


@pytest.fixture
def literal_figures(monkeypatch):
    """masked_lm_quality with each language's figures replaced by FIGURES (told apart by the sentence count)."""
    monkeypatch.setattr(
        mlm_quality, "_masked_figures", lambda model, tok, sentences, *_: dict(FIGURES[len(sentences)][1])
    )
    monkeypatch.setattr(
        mlm_quality, "_pseudo_perplexity", lambda model, tok, sentences, *_: dict(FIGURES[len(sentences)][2])
    )
    return {code: ["Freiheit"] * count for count, (code, _, _) in FIGURES.items()}


def test_average_is_the_mean_over_languages_and_the_geomean_of_perplexities(model, tokenizer, literal_figures):
    result = ev.masked_lm_quality(model, tokenizer, literal_figures)
    assert {code: r["masked_tokens"] for code, r in result["per_language"].items()} == {
        "deu_Latn": 10, "rus_Cyrl": 60, "hin_Deva": 30,
    }  # fmt: skip
    average = result["average"]
    assert set(average) == {
        "masked_accuracy", "masked_perplexity", "masked_perplexity_geomean",
        "pseudo_perplexity", "pseudo_perplexity_geomean",
    }  # fmt: skip
    # (0.5 + 0.1 + 0.6) / 3; token-weighted: (5 + 6 + 18) / 100 = 0.29; median 0.5; in %: 40
    assert average["masked_accuracy"] == pytest.approx(0.4, rel=1e-12)
    # (2 + 16 + 54) / 3; geometric 12; median 16; token-weighted (20 + 960 + 1620) / 100 = 26
    assert average["masked_perplexity"] == pytest.approx(24.0, rel=1e-12)
    # (2 * 16 * 54) ** (1/3) = 1728 ** (1/3); arithmetic 24; median 16; token-weighted exp(mean log) = 18.7
    assert average["masked_perplexity_geomean"] == pytest.approx(12.0, rel=1e-12)
    # (3 + 16 + 36) / 3; geometric 12; median 16; token-weighted (180 + 6400 + 7200) / 660 = 20.9
    assert average["pseudo_perplexity"] == pytest.approx(55 / 3, rel=1e-12)
    # (3 * 16 * 36) ** (1/3) = 1728 ** (1/3); token-weighted exp(mean log) 17.6
    assert average["pseudo_perplexity_geomean"] == pytest.approx(12.0, rel=1e-12)


def test_average_without_pseudo_perplexity_has_only_the_masked_figures(model, tokenizer, literal_figures):
    average = ev.masked_lm_quality(model, tokenizer, literal_figures, pseudo_perplexity=False)["average"]
    assert average == pytest.approx(
        {"masked_accuracy": 0.4, "masked_perplexity": 24.0, "masked_perplexity_geomean": 12.0}, rel=1e-12
    )


# ---------------------------------------------------------------- the CLI, on a model known in closed form

# Each language's text is one word (one token) repeated; the head gives every position the same logits: BIAS on
# that language's word, 0 elsewhere. Whichever tokens are masked, a language's (pseudo-)perplexity is 1 / p(word)
# and its accuracy is 1 if its word is the argmax (German's), else 0.
WORDS = {"deu_Latn": "Freiheit", "rus_Cyrl": "свобода", "hin_Deva": "स्वतंत्रता"}
BIAS = {"deu_Latn": 13.0, "rus_Cyrl": 12.0, "hin_Deva": 9.0}
SENTENCES = {"deu_Latn": 1, "rus_Cyrl": 2, "hin_Deva": 3}  # x 1 masked token each (mask probability ~0)
LENGTH = {"deu_Latn": 2, "rus_Cyrl": 3, "hin_Deva": 4}  # words a sentence: every one pseudo-scored


@pytest.fixture(scope="module")
def word_ids(tokenizer):
    ids = {code: tokenizer(word)["input_ids"][1:-1] for code, word in WORDS.items()}
    assert all(len(i) == 1 for i in ids.values())  # single tokens, else the closed form does not hold
    return {code: i[0] for code, i in ids.items()}


@pytest.fixture(scope="module")
def closed_form_checkpoint(tmp_path_factory, model, tokenizer, word_ids):
    """`model` whose LM head outputs the same logits everywhere: dense = 0 -> gelu 0 -> LayerNorm(0) = its bias,
    set to 0 -> decoder(0) = the output bias."""
    fixed = LangSAMPForMaskedLM(model.config).eval()
    fixed.load_state_dict(model.state_dict())
    bias = torch.zeros(VOCAB)
    for code, value in BIAS.items():
        bias[word_ids[code]] = value
    with torch.no_grad():
        fixed.lm_head.dense.weight.zero_()
        fixed.lm_head.dense.bias.zero_()
        fixed.lm_head.layer_norm.bias.zero_()
        fixed.lm_head.bias.copy_(bias)
    folder = tmp_path_factory.mktemp("closed-form-mlm")
    fixed.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_cli_prints_and_writes_the_averages_over_languages(closed_form_checkpoint, tmp_path, capsys):
    corpus = tmp_path / "corpus.json"
    texts = {code: [" ".join([WORDS[code]] * LENGTH[code])] * n for code, n in SENTENCES.items()}
    corpus.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    output = tmp_path / "mlm.json"
    argv = ["mlm", "--model", str(closed_form_checkpoint), "--corpus", str(corpus), "--mask-probability", "1e-9"]
    assert main(argv + ["--output", str(output)]) == 0
    result = json.loads(output.read_text(encoding="utf-8"))

    z = (VOCAB - 3) + sum(math.exp(b) for b in BIAS.values())  # softmax's denominator
    perplexity = {code: z / math.exp(b) for code, b in BIAS.items()}  # 1.95, 5.30, 106.5
    for code, r in result["per_language"].items():  # the figures the summary is made of, and their weights
        assert r["masked_accuracy"] == (1.0 if code == "deu_Latn" else 0.0)
        assert r["masked_perplexity"] == pytest.approx(perplexity[code], rel=1e-9)
        assert (r["masked_tokens"], r["scored_tokens"]) == (SENTENCES[code], SENTENCES[code] * LENGTH[code])
    # accuracy: token-weighted 1/6; median 0; in % 33.3. Mean perplexity 37.9: geometric 10.3, median 5.3,
    # token-weighted 55.4 (pseudo 65.7). Geometric mean 10.3: token-weighted exp(mean log) 20.1 (pseudo 29.0).
    expected = {
        "masked_accuracy": 1 / 3,
        "masked_perplexity": sum(perplexity.values()) / 3,
        "masked_perplexity_geomean": z / math.exp(sum(BIAS.values()) / 3),  # (prod z / e^b) ** (1/3)
    }
    expected["pseudo_perplexity"] = expected["masked_perplexity"]
    expected["pseudo_perplexity_geomean"] = expected["masked_perplexity_geomean"]
    assert result["average"] == pytest.approx(expected, rel=1e-9)

    table_row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| **average**"))
    mean = f"{expected['masked_perplexity']:.2f}"
    assert table_row == f"| **average** | 33.33 | {mean} | {mean} |"  # accuracy in %, perplexities as they are
