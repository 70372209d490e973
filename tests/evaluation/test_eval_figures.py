"""The figures users read, each against a value derived independently of the code under test: retrieval pooling
recomputed by hand from `hidden_states[layer]`, perplexities of models whose probabilities are known in closed
form, pseudo-perplexity of a model that copies its input (so an unmasked scored token shows), and the `classify` /
`mlm` subcommands end to end."""

import json
import math
from types import SimpleNamespace

import pytest
import torch
from fixtures.models import tiny_config

from langsamp import evaluation as ev
from langsamp.evaluation.cli import main
from modeling_langsamp import LangSAMPForMaskedLM

VOCAB = 250002


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return LangSAMPForMaskedLM(tiny_config()).eval()


@pytest.fixture(scope="module")
def sentences(udhr_translations):
    # Real text of very different lengths, so that a batch carries a lot of padding.
    articles = udhr_translations["deu_Latn"].article_texts()
    return [articles[1], articles[3][:40], "Freiheit", articles[2][:200]]


# ---------------------------------------------------------------- retrieval pooling


@pytest.mark.parametrize("layer", [1, 2])
def test_pooling_is_the_mean_of_that_layer_over_the_sentence_tokens(model, tokenizer, sentences, layer):
    """Each sentence encoded alone (no padding at all), hidden_states[layer] averaged over every position, <s> and
    </s> included: what a batched call must give. Averaging padding, dropping <s>/</s> or pooling another layer
    gives other vectors."""
    expected = []
    with torch.no_grad():
        for text in sentences:
            ids = tokenizer(text, return_tensors="pt")
            assert (
                ids["input_ids"][0, 0] == tokenizer.bos_token_id and ids["input_ids"][0, -1] == tokenizer.eos_token_id
            )
            states = model.base_model(**ids, output_hidden_states=True).hidden_states[layer][0]
            expected.append(states.sum(0) / states.shape[0])
    pooled = ev.sentence_embeddings(model, tokenizer, sentences, layer=layer, batch_size=4)
    torch.testing.assert_close(pooled, torch.stack(expected), atol=1e-5, rtol=1e-4)
    other = ev.sentence_embeddings(model, tokenizer, sentences, layer=3 - layer, batch_size=4)
    assert not torch.allclose(other, pooled, atol=1e-3)  # the layers differ, so a pooling that ignores `layer` fails


# ---------------------------------------------------------------- masked-LM figures in closed form


def constant_head(model, bias):
    """A copy of `model` whose LM head outputs `bias` at every position: dense = 0 -> gelu 0 -> LayerNorm(0) =
    its bias, set to 0 -> decoder(0) = the output bias. So p(token) = softmax(bias)[token], whatever the input."""
    fixed = LangSAMPForMaskedLM(model.config).eval()
    fixed.load_state_dict(model.state_dict())
    with torch.no_grad():
        fixed.lm_head.dense.weight.zero_()
        fixed.lm_head.dense.bias.zero_()
        fixed.lm_head.layer_norm.bias.zero_()
        fixed.lm_head.bias.copy_(bias)
    return fixed


def test_uniform_head_has_perplexity_equal_to_the_vocabulary_size(model, tokenizer, sentences):
    fixed = constant_head(model, torch.zeros(VOCAB))
    result = ev.masked_lm_quality(fixed, tokenizer, {"deu_Latn": sentences}, max_sentences=4, max_length=24)
    scores = result["per_language"]["deu_Latn"]
    # p = 1/V for every token: exp(-mean log p) = V (a flipped sign gives 1/V).
    assert scores["masked_perplexity"] == pytest.approx(VOCAB, rel=1e-9)
    assert scores["pseudo_perplexity"] == pytest.approx(VOCAB, rel=1e-9)
    assert scores["masked_accuracy"] == 0.0  # all tied: argmax is id 0 (<s>), never a scored token


def test_pseudo_perplexity_of_a_known_distribution(model, tokenizer, sentences):
    """A non-uniform constant head: PPPL = exp(-mean over every non-special token t of log softmax(bias)[t])."""
    bias = torch.randn(VOCAB, generator=torch.Generator().manual_seed(3)) * 3
    log_p = torch.log_softmax(bias.double(), dim=0)
    tokens = [t for ids in tokenizer(sentences, truncation=True, max_length=24)["input_ids"] for t in ids[1:-1]]
    expected = math.exp(-float(log_p[tokens].mean()))
    fixed = constant_head(model, bias)
    scores = ev.masked_lm_quality(fixed, tokenizer, {"deu_Latn": sentences}, max_sentences=4, max_length=24)[
        "per_language"
    ]["deu_Latn"]
    assert scores["scored_tokens"] == len(tokens)
    assert scores["pseudo_perplexity"] == pytest.approx(expected, rel=1e-9)


class CopyInputLM(torch.nn.Module):
    """A masked LM that puts logit 10 on its input token at each position and 0 elsewhere: it predicts a token
    perfectly if it can see it, and predicts `<mask>` where the token was masked."""

    def __init__(self, vocab=VOCAB):
        super().__init__()
        self.vocab = vocab
        self.config = SimpleNamespace(model_type="copy-input")
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # for the device lookup

    def forward(self, input_ids, attention_mask=None, **_):
        logits = torch.zeros(*input_ids.shape, self.vocab)
        logits.scatter_(-1, input_ids[..., None], 10.0)
        return SimpleNamespace(logits=logits)


def test_scored_tokens_are_masked(tokenizer, sentences):
    """With the scored token masked, the copying model gives the gold token logit 0 against e^10 for `<mask>`:
    p = 1 / (e^10 + V - 1), so (pseudo-)perplexity = e^10 + V - 1 and accuracy 0. Scoring an unmasked token would
    give p = e^10 / (e^10 + V - 1): perplexity ~ 12 and accuracy 1."""
    result = ev.masked_lm_quality(
        CopyInputLM(), tokenizer, {"deu_Latn": sentences[1:3]}, max_sentences=2, max_length=12, batch_size=4
    )
    scores = result["per_language"]["deu_Latn"]
    masked = math.exp(10) + VOCAB - 1
    assert scores["pseudo_perplexity"] == pytest.approx(masked, rel=1e-9)
    assert scores["masked_perplexity"] == pytest.approx(masked, rel=1e-9)
    assert scores["masked_accuracy"] == 0.0


# ---------------------------------------------------------------- the `classify` and `mlm` subcommands


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, model, tokenizer):
    folder = tmp_path_factory.mktemp("tiny-langsamp")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_classify_subcommand_trains_and_scores_each_test_file(checkpoint, tmp_path, udhr_translations, capsys):
    def write(path, label, n):
        paragraphs = udhr_translations[label].paragraphs()[:n]
        path.write_text(
            "".join(json.dumps({"text": p, "label": ["a", "b"][i % 2]}) + "\n" for i, p in enumerate(paragraphs)),
            encoding="utf-8",
        )
        return path

    train = write(tmp_path / "en.jsonl", "eng_Latn", 6)
    tests = {"deu": write(tmp_path / "de.jsonl", "deu_Latn", 5), "hin": write(tmp_path / "hi.jsonl", "hin_Deva", 3)}
    output = tmp_path / "classify.json"
    argv = ["classify", "--model", str(checkpoint), "--train", str(train), "--test"] + [
        f"{k}={v}" for k, v in tests.items()
    ]
    assert main(argv + ["--max-steps", "1", "--batch-size", "4", "--output", str(output)]) == 0
    result = json.loads(output.read_text())
    assert result["steps"] == 1 and result["train_examples"] == 6 and result["labels"] == ["a", "b"]
    assert result["test_examples"] == {"deu": 5, "hin": 3}
    assert set(result["per_language"]) == {"deu", "hin"}
    assert "| deu |" in capsys.readouterr().out
    assert main(["classify", "--model", str(checkpoint), "--train", str(train)]) == 2
    assert "--train needs --test" in capsys.readouterr().err


def test_mlm_subcommand_scores_every_token_of_the_chosen_sentences(
    checkpoint, tmp_path, tokenizer, udhr_translations, capsys
):
    texts = udhr_translations["deu_Latn"].paragraphs()[:3]
    corpus = tmp_path / "corpus.json"
    corpus.write_text(
        json.dumps({"deu_Latn": texts, "rus_Cyrl": udhr_translations["rus_Cyrl"].paragraphs()[:3]}), encoding="utf-8"
    )
    output = tmp_path / "mlm.json"
    assert (
        main(
            [
                "mlm",
                "--model",
                str(checkpoint),
                "--corpus",
                str(corpus),
                "--languages",
                "deu",
                "--max-sentences",
                "2",
                "--max-length",
                "20",
                "--output",
                str(output),
            ]
        )
        == 0
    )
    result = json.loads(output.read_text())
    assert list(result["per_language"]) == ["deu_Latn"]
    expected = sum(
        len(ids) - 2 for ids in tokenizer(texts[:2], truncation=True, max_length=20)["input_ids"]
    )  # minus <s>, </s>
    assert result["per_language"]["deu_Latn"]["scored_tokens"] == expected
    capsys.readouterr()
    assert main(["mlm", "--model", str(checkpoint), "--corpus", str(corpus), "--languages", "xho"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "'xho' is not in the corpus" in error  # one line, before any weights load
