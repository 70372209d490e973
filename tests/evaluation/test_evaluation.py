"""Evaluation and analysis (langsamp_eval.py): retrieval, zero-shot transfer, masked-LM quality, embedding analysis."""

import json

import numpy as np
import pytest
import torch
from fixtures.models import tiny_config

from langsamp import evaluation as ev
from langsamp.evaluation.cli import main
from modeling_langsamp import LangSAMPForMaskedLM, LangSAMPForSequenceClassification

LAYERS = 2  # tiny_config's depth


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return LangSAMPForMaskedLM(tiny_config()).eval()


@pytest.fixture(scope="module")
def udhr_subset(udhr_translations):
    return {label: udhr_translations[label] for label in ("eng_Latn", "deu_Latn", "rus_Cyrl", "cmn_Hani", "hin_Deva")}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, model, tokenizer):
    folder = tmp_path_factory.mktemp("tiny-langsamp")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


# ---------------------------------------------------------------- retrieval


def test_identical_sentences_retrieve_themselves(model, tokenizer, udhr_translations):
    sentences = list(udhr_translations["eng_Latn"].article_texts().values())[:12]
    result = ev.sentence_retrieval(model, tokenizer, {"eng": sentences, "copy": list(sentences)}, layer=LAYERS)
    assert result["per_language"]["copy"] == {"top1": 1.0, "top10": 1.0}
    assert result["candidates"] == 12 and result["layer"] == LAYERS


def test_random_vectors_score_chance():
    generator = torch.Generator().manual_seed(0)
    n = 400
    queries, candidates = torch.randn(n, 32, generator=generator), torch.randn(n, 32, generator=generator)
    scores = ev.retrieval_accuracy(queries, candidates, top_k=(1, 10))
    assert scores["top1"] < 0.02  # chance 1/400
    assert 0.005 < scores["top10"] < 0.06  # chance 10/400
    # No signal at all (every vector equal): ties are broken at random in expectation, so exactly chance.
    flat = torch.ones(n, 8)
    assert ev.retrieval_accuracy(flat, flat, top_k=(1, 10)) == pytest.approx({"top1": 1 / n, "top10": 10 / n})
    # A perfect representation: 100%.
    assert ev.retrieval_accuracy(queries, queries, top_k=(1,))["top1"] == 1.0


def test_shuffled_targets_score_near_chance(model, tokenizer, udhr_subset):
    corpus = ev.udhr_parallel_corpus(udhr_subset)
    n = len(corpus["eng_Latn"])
    rng = np.random.default_rng(0)
    shuffled = {"eng_Latn": corpus["eng_Latn"]}
    for label in ("deu_Latn", "rus_Cyrl", "cmn_Hani", "hin_Deva"):
        order = rng.permutation(n)
        shuffled[label] = [corpus[label][i] for i in order]
    result = ev.sentence_retrieval(model, tokenizer, shuffled, layer=LAYERS)
    aligned = ev.sentence_retrieval(model, tokenizer, corpus, layer=LAYERS)
    assert result["average"]["top10"] == pytest.approx(10 / n, abs=0.15)  # chance: 10/31
    assert result["average"]["top1"] < 0.12  # chance: 1/31
    # Even a random encoder matches names and numbers across aligned translations: above what shuffling leaves.
    assert aligned["average"]["top10"] > result["average"]["top10"]


def test_udhr_subset_gives_per_language_figures(model, tokenizer, udhr_subset):
    corpus = ev.udhr_parallel_corpus(udhr_subset)
    assert set(corpus) == set(udhr_subset) and all(len(units) == 31 for units in corpus.values())
    result = ev.sentence_retrieval(model, tokenizer, corpus, languages=["deu", "rus_Cyrl", "cmn"], layer=1)
    assert list(result["per_language"]) == ["deu_Latn", "rus_Cyrl", "cmn_Hani"]
    for scores in result["per_language"].values():
        assert set(scores) == {"top1", "top10"} and 0 <= scores["top1"] <= scores["top10"] <= 1
    assert result["average"]["top1"] == pytest.approx(np.mean([s["top1"] for s in result["per_language"].values()]))
    assert "31 candidates" in result["note"] and "top-1 is the informative figure" in result["note"]
    by_layer = ev.sentence_retrieval(model, tokenizer, corpus, languages=["deu", "rus_Cyrl", "cmn"], layer=[1, 2])
    assert by_layer[1]["per_language"] == result["per_language"] and by_layer[2]["layer"] == 2


def test_layer_index_is_checked(model, tokenizer):
    corpus = {"eng": ["a b", "c d"], "deu": ["e f", "g h"]}
    with pytest.raises(ValueError, match=r"Layer 8 is out of range: this model has 2 layers"):
        ev.sentence_retrieval(model, tokenizer, corpus)  # the paper's default layer 8
    with pytest.raises(ValueError, match="Layer -4 is out of range"):
        ev.sentence_retrieval(model, tokenizer, corpus, layer=-4)
    assert ev.check_layer(model, -1) == LAYERS and ev.check_layer(model, 0) == 0


def test_bad_corpus_is_refused(model, tokenizer):
    corpus = {"eng_Latn": ["a", "b", "c"], "deu_Latn": ["x", "y", "z"], "fra_Latn": ["u", "v"]}
    with pytest.raises(ValueError, match="'xho' is not in the corpus"):
        ev.sentence_retrieval(model, tokenizer, corpus, languages=["xho"], layer=1)
    with pytest.raises(ValueError, match="'fra_Latn' has 2 sentences, the source 'eng_Latn' has 3"):
        ev.sentence_retrieval(model, tokenizer, corpus, layer=1)
    with pytest.raises(ValueError, match="'spa' is not in the corpus"):
        ev.sentence_retrieval(model, tokenizer, corpus, source="spa", layer=1)


# ---------------------------------------------------------------- zero-shot fine-tuning


def test_zero_shot_classification_trains_and_scores_each_language(model, tokenizer, udhr_subset, tmp_path):
    train, tests, labels = ev.udhr_topic_classification(udhr_subset, languages=["deu", "rus", "cmn"])
    assert labels == list(ev.UDHR_TOPIC_CLASSES) and train.features["label"].names == labels
    assert set(tests) == {"eng_Latn", "deu_Latn", "rus_Cyrl", "cmn_Hani"}
    result = ev.zero_shot_transfer(
        model, tokenizer, train, tests, max_steps=2, batch_size=8, output_dir=str(tmp_path), disable_tqdm=True
    )
    assert result["steps"] == 2 and result["source"] == "eng_Latn" and result["metric"] == "macro_f1"
    assert set(result["per_language"]) == {"deu_Latn", "rus_Cyrl", "cmn_Hani"}  # the source is reported apart
    for code, scores in result["per_language"].items():
        assert set(scores) == {"accuracy", "macro_f1"} and 0 <= scores["macro_f1"] <= 1
        assert result["test_examples"][code] == len(tests[code])
    assert set(result["source_metrics"]) == {"accuracy", "macro_f1"}
    assert result["average"]["accuracy"] == pytest.approx(
        np.mean([s["accuracy"] for s in result["per_language"].values()])
    )


def test_heldout_articles_give_content_disjoint_split(udhr_subset):
    train, tests, labels = ev.udhr_topic_classification(udhr_subset, languages=["deu"], heldout_articles=[2, 26])
    english = udhr_subset["eng_Latn"].articles
    assert english[26][0] not in train["text"] and english[3][0] in train["text"]
    assert sorted(set(tests["deu_Latn"]["label"])) == [
        labels.index("equality_dignity"),
        labels.index("social_economic_cultural"),
    ]
    with pytest.raises(ValueError, match="no training article for law_justice"):
        ev.udhr_topic_classification(udhr_subset, heldout_articles=[6, 8, 10, 11])


def test_zero_shot_tagging_aligns_first_subtokens(model, tokenizer, udhr_subset, tmp_path):
    import datasets

    def tagged(label):  # a toy tagging task: capitalised words are entities
        rows = {"tokens": [], "ner_tags": []}
        for paragraph in udhr_subset[label].paragraphs()[:12]:
            words = paragraph.split()[:20]
            rows["tokens"].append(words)
            rows["ner_tags"].append(["B-CAP" if w[:1].isupper() else "O" for w in words])
        return datasets.Dataset.from_dict(rows)

    tests = {"eng_Latn": tagged("eng_Latn"), "deu_Latn": tagged("deu_Latn")}
    result = ev.zero_shot_transfer(
        model,
        tokenizer,
        tagged("eng_Latn"),
        tests,
        task="token",
        max_steps=2,
        batch_size=8,
        output_dir=str(tmp_path),
        disable_tqdm=True,
    )
    assert result["task"] == "tagging" and result["labels"] == ["B-CAP", "O"] and result["steps"] == 2
    assert set(result["per_language"]) == {"deu_Latn"}
    assert set(result["per_language"]["deu_Latn"]) == {"precision", "recall", "f1", "accuracy"}


def test_local_metrics_compute_known_values():
    accuracy_f1 = ev.load_metric("accuracy_f1")
    scores = accuracy_f1.compute(predictions=[0, 1, 1, 2], references=[0, 1, 0, 2])
    assert scores["accuracy"] == 0.75 and scores["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    seqeval_f1 = ev.load_metric("seqeval_f1")
    # Gold spans PER[0,0], LOC[3,3]; predicted PER[0,1], LOC[3,3]: one of two right each way.
    scores = seqeval_f1.compute(
        predictions=[["B-PER", "I-PER", "O", "B-LOC"]], references=[["B-PER", "O", "O", "B-LOC"]]
    )
    assert scores["precision"] == 0.5 and scores["recall"] == 0.5 and scores["accuracy"] == 0.75
    # POS tags have no B-/I- prefix; seqeval (as the release calls it) reads the first character as the prefix, so
    # "NOUN" is an entity of type "OUN" and each run of equal tags is ONE span: NOUN NOUN VERB = 2 gold spans here;
    # predicting NOUN VERB VERB gets neither right (spans [0,0] NOUN and [1,2] VERB vs [0,1] NOUN and [2,2] VERB).
    pos = seqeval_f1.compute(predictions=[["NOUN", "VERB", "VERB"]], references=[["NOUN", "NOUN", "VERB"]])
    assert pos["f1"] == 0.0 and pos["accuracy"] == pytest.approx(2 / 3)


# ---------------------------------------------------------------- masked LM


def test_masked_lm_quality_uses_each_languages_ids(model, tokenizer, udhr_subset):
    corpus = ev.udhr_heldout_texts(udhr_subset)
    before = ev.masked_lm_quality(model, tokenizer, corpus, languages=["deu", "rus"], max_sentences=2, max_length=32)
    assert set(before["per_language"]) == {"deu_Latn", "rus_Cyrl"}
    for scores in before["per_language"].values():
        assert 0 <= scores["masked_accuracy"] <= 1 and scores["masked_tokens"] >= 2
        assert scores["pseudo_perplexity"] > 1000  # a random model over a 250k vocabulary
    # Changing German's language-embedding row changes German's figures only: ids reach the LM head per language.
    row = tokenizer.language_id("deu")
    table = model.language_script_embeddings.language_embeddings.weight
    saved = table[row].clone()
    with torch.no_grad():
        table[row] = torch.randn(table.shape[1], generator=torch.Generator().manual_seed(1)) * 5
    try:
        after = ev.masked_lm_quality(model, tokenizer, corpus, languages=["deu", "rus"], max_sentences=2, max_length=32)
    finally:
        with torch.no_grad():
            table[row] = saved
    assert after["per_language"]["rus_Cyrl"] == before["per_language"]["rus_Cyrl"]
    assert (
        after["per_language"]["deu_Latn"]["pseudo_perplexity"]
        != before["per_language"]["deu_Latn"]["pseudo_perplexity"]
    )


def test_stock_masked_lm_matches_langsamp_with_zero_tables(model, tokenizer, udhr_subset):
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    config = tiny_config()
    stock = XLMRobertaForMaskedLM(
        XLMRobertaConfig(
            **{
                k: getattr(config, k)
                for k in (
                    "vocab_size",
                    "hidden_size",
                    "num_hidden_layers",
                    "num_attention_heads",
                    "intermediate_size",
                    "max_position_embeddings",
                    "hidden_dropout_prob",
                    "attention_probs_dropout_prob",
                    "type_vocab_size",
                )
            }
        )
    ).eval()
    missing, unexpected = stock.load_state_dict(model.state_dict(), strict=False)
    assert not missing and set(unexpected) == {
        "language_script_embeddings.language_embeddings.weight",
        "language_script_embeddings.script_embeddings.weight",
    }
    zeroed = LangSAMPForMaskedLM(tiny_config()).eval()
    zeroed.load_state_dict(model.state_dict())
    with torch.no_grad():
        zeroed.language_script_embeddings.language_embeddings.weight.zero_()
        zeroed.language_script_embeddings.script_embeddings.weight.zero_()
    corpus = {"deu_Latn": ev.udhr_heldout_texts(udhr_subset)["deu_Latn"]}
    ours = ev.masked_lm_quality(zeroed, tokenizer, corpus, max_sentences=2, max_length=24)
    theirs = ev.masked_lm_quality(stock, tokenizer, corpus, max_sentences=2, max_length=24)
    assert theirs["per_language"]["deu_Latn"]["pseudo_perplexity"] == pytest.approx(
        ours["per_language"]["deu_Latn"]["pseudo_perplexity"], rel=1e-4
    )
    assert theirs["per_language"]["deu_Latn"]["masked_accuracy"] == ours["per_language"]["deu_Latn"]["masked_accuracy"]


def test_masked_lm_refuses_languages_outside_the_inventory(model, tokenizer):
    corpus = {"eng_Latn": ["All human beings are born free."], "chr_Cher": ["ᏂᎦᏗᏳ ᏴᏫ"]}
    with pytest.raises(ValueError, match="Cannot evaluate 'chr_Cher'"):
        ev.masked_lm_quality(model, tokenizer, corpus, languages=["chr_Cher"])
    result = ev.masked_lm_quality(model, tokenizer, corpus, pseudo_perplexity=False)  # default: skips it, says so
    assert list(result["per_language"]) == ["eng_Latn"] and result["skipped"] == ["chr_Cher"]


# ---------------------------------------------------------------- language embeddings


@pytest.fixture
def planted(model):
    """The tiny model with language rows set by hand: urd's nearest are hin, then pes; eng is opposite."""
    table = model.language_script_embeddings.language_embeddings.weight
    saved = table.detach().clone()
    generator = torch.Generator().manual_seed(0)
    base = torch.randn(table.shape[1], generator=generator)
    noise = lambda scale: scale * torch.randn(table.shape[1], generator=generator)  # noqa: E731
    rows = {"urd": base, "hin": base + noise(0.2), "pes": base + noise(0.6), "arb": base + noise(1.0), "eng": -base}
    with torch.no_grad():
        for code, vector in rows.items():
            table[model.config.languages.index(code)] = vector
    yield model
    with torch.no_grad():
        table.copy_(saved)


def test_recommend_source_languages_finds_the_planted_neighbours(planted):
    ranked = ev.recommend_source_languages(planted, "urd", k=3, candidates=["eng", "arb", "hin", "deu", "pes"])
    assert [code for code, _ in ranked] == ["hin", "pes", "arb"]
    assert ranked[0][1] > ranked[1][1] > ranked[2][1] > 0.5
    # Any accepted code works, the target is never its own neighbour, and the whole table is searched by default.
    assert [code for code, _ in ev.nearest_languages(planted, "ur", k=2)] == ["hin", "pes"]
    assert ev.recommend_source_languages(planted, "urd_Arab", k=1, candidates=["eng", "urd"])[0][0] == "eng"
    codes, similarity = ev.language_similarity(planted, ["urd", "hin", "eng"])
    assert codes == ["urd", "hin", "eng"] and similarity[0, 2] == pytest.approx(-1, abs=1e-6)


def test_plots_are_valid_png_images(planted, tmp_path):
    import matplotlib.image as mpimg

    languages = [
        "urd_Arab",
        "hin_Deva",
        "pes_Arab",
        "arb_Arab",
        "eng_Latn",
        "deu_Latn",
        "rus_Cyrl",
        "cmn_Hani",
        "jpn_Jpan",
    ]
    written = ev.plot_language_embeddings(planted, tmp_path / "plots", languages=languages)
    assert set(written) == {"heatmap", "map", "dendrogram", "scripts"}
    for path in written.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width = mpimg.imread(path).shape[:2]
        assert height > 300 and width > 300


def test_analysis_without_language_embeddings_is_refused(tmp_path, tokenizer):
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    baseline = LangSAMPForMaskedLM(tiny_config(use_lang_embedding=False, use_script_embedding=False))
    with pytest.raises(ValueError, match=r"no learned language embeddings \(use_lang_embedding=False"):
        ev.recommend_source_languages(baseline, "urd")
    with pytest.raises(ValueError, match="no learned language embeddings"):
        ev.plot_language_embeddings(LangSAMPForSequenceClassification(tiny_config()), tmp_path)
    stock = tmp_path / "stock"
    XLMRobertaForMaskedLM(
        XLMRobertaConfig(vocab_size=100, hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8)
    ).save_pretrained(stock)
    with pytest.raises(ValueError, match="model_type 'xlm-roberta' is not LangSAMP"):
        ev.nearest_languages(stock, "urd")


# ---------------------------------------------------------------- CLI


def test_cli_writes_json_and_reports_bad_layer(checkpoint, tmp_path, capsys):
    output = tmp_path / "retrieval.json"
    assert (
        main(
            [
                "retrieval",
                "--model",
                str(checkpoint),
                "--layer",
                "2",
                "--languages",
                "deu",
                "rus",
                "--output",
                str(output),
            ]
        )
        == 0
    )
    result = json.loads(output.read_text())
    assert set(result["per_language"]) == {"deu_Latn", "rus_Cyrl"} and result["candidates"] == 31
    assert "| deu_Latn |" in capsys.readouterr().out
    assert main(["retrieval", "--model", str(checkpoint), "--languages", "deu"]) == 2  # the paper's layer 8 > 2 layers
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Layer 8 is out of range" in error and "Traceback" not in error
    main(["embeddings", "--model", str(checkpoint), "--recommend", "urd", "--candidates", "hin", "eng", "-k", "1"])
    assert "source languages for urd:" in capsys.readouterr().out


def test_stock_xlmr_checkpoint_is_evaluated_too(tmp_path, tokenizer, udhr_subset):
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    torch.manual_seed(0)
    config = XLMRobertaConfig(
        vocab_size=250002,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=130,
    )
    XLMRobertaForMaskedLM(config).save_pretrained(tmp_path / "xlmr")
    tokenizer.save_pretrained(tmp_path / "xlmr")
    corpus = ev.udhr_parallel_corpus(udhr_subset)
    result = ev.sentence_retrieval(tmp_path / "xlmr", corpus=corpus, languages=["deu"], layer=-1)
    assert result["layer"] == 2 and set(result["per_language"]) == {"deu_Latn"}
    mlm = ev.masked_lm_quality(
        tmp_path / "xlmr", corpus=ev.udhr_heldout_texts(udhr_subset), languages=["deu"], max_sentences=1, max_length=16
    )
    assert mlm["per_language"]["deu_Latn"]["pseudo_perplexity"] > 1000
    with pytest.raises(ValueError, match="Layer 3 is out of range"):
        ev.sentence_retrieval(tmp_path / "xlmr", corpus=corpus, layer=3)
