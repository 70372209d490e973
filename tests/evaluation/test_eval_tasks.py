"""Named evaluation tasks on local copies of the Hub repos (tests/fixtures/hub_fixtures.py), loaded through the code
path a Hub id takes; language-code mapping and the head / tail split; the benchmark and sources commands; model-index.

Per-language expectations come from how the test sets are built: a task model whose head always predicts one class
(and a learning rate of 0) scores, on each language, exactly the share of that class in its test set, so languages
get different known answers, and head / tail / overall averages follow by hand."""

import csv
import json
import math
import random
from pathlib import Path

import pytest
import torch
from fixtures import hub_fixtures
from fixtures.models import tiny_config

from langsamp import evaluation as ev
from langsamp.evaluation import languages as eval_languages
from langsamp.evaluation.cli import main
from langsamp.evaluation.tasks import SIB200_CATEGORIES, TASKS, WIKIANN_TAGS
from modeling_langsamp import LangSAMPForMaskedLM, LangSAMPForSequenceClassification, LangSAMPForTokenClassification

# Glot500-c's pairs with sizes and whether XLM-R saw them (the shared reference file, copied into bench/)
STATS = Path(__file__).resolve().parents[2] / "bench" / "glot500_languages_stats.csv"


# ---------------------------------------------------------------- defaults, codes, head / tail


def test_defaults_are_the_releases():
    # The release's settings: SIB-200 lr 1e-5, 8 x 2, 40 epochs, 160, 5 seeds; Taxi1500 the same with 100 and 4
    # seeds; NER / POS lr 2e-5, 8 x 4, 10 epochs, 256, seed 1; retrieval layer 8, 512, Acc@1/5/10.
    sib, taxi = TASKS["sib200"].defaults, TASKS["taxi1500"].defaults
    assert (
        sib["learning_rate"],
        sib["batch_size"],
        sib["gradient_accumulation_steps"],
        sib["epochs"],
        sib["max_length"],
        len(sib["seeds"]),
    ) == (1e-5, 8, 2, 40, 160, 5)
    assert (taxi["learning_rate"], taxi["epochs"], taxi["max_length"], len(taxi["seeds"])) == (1e-5, 40, 100, 4)
    for name in ("wikiann", "udpos"):
        d = TASKS[name].defaults
        assert (
            d["learning_rate"],
            d["batch_size"],
            d["gradient_accumulation_steps"],
            d["epochs"],
            d["max_length"],
            d["seeds"],
        ) == (2e-5, 8, 4, 10, 256, (1,))
    for name in ("tatoeba", "flores", "udhr-retrieval"):
        assert TASKS[name].defaults == {"layer": 8, "max_length": 512, "top_k": (1, 5, 10), "batch_size": 32}
    assert {t.name: t.dataset for t in TASKS.values() if "/" in t.dataset} == {
        "sib200": "Davlan/sib200",
        "wikiann": "unimelb-nlp/wikiann",
        "udpos": "google/xtreme",
        "tatoeba": "mteb/tatoeba-bitext-mining",
        "flores": "openlanguagedata/flores_plus",
    }
    assert ev.task_settings(TASKS["sib200"], {"epochs": 1, "seeds": [7]})["epochs"] == 1
    with pytest.raises(ValueError, match="'layer' does not apply to sib200"):
        ev.task_settings(TASKS["sib200"], {"layer": 4})


def test_head_languages_are_the_stats_files_xlmr_column():
    with STATS.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert eval_languages.XLMR_LANGUAGES == {row["language"] for row in rows if row["XLM-R"] == "True"}


@pytest.mark.parametrize(
    "code, convention, expected",
    [
        ("eng_Latn", "label", ("eng", "Latn")),
        ("zho_Hans", "label", ("zho", "Hani")),
        ("eng", "label", ("eng", None)),
        ("deu", "iso639-3", ("deu", None)),
        ("hi", "wikipedia", ("hin", None)),
        ("be-x-old", "wikipedia", ("bel", None)),
        ("als", "wikipedia", ("gsw", None)),
        ("zh-yue", "wikipedia", ("yue", None)),
        ("Persian", "language-name", ("fas", None)),
        ("English", "language-name", ("eng", None)),
    ],
)
def test_dataset_codes_map_to_iso639_3(code, convention, expected):
    assert eval_languages.dataset_language(code, convention) == expected


def test_missing_languages_are_listed_and_scripts_detected():
    mapping, missing = eval_languages.map_languages(
        ["srp", "hbs", "xxx", "zzzz"],
        "iso639-3",
        inventory=["srp", "hbs"],
        texts={"srp": ["Сва људска бића рађају се слободна."], "hbs": ["Sva ljudska bića rađaju se slobodna."]},
    )
    assert mapping == {"srp": "srp_Cyrl", "hbs": "hbs_Latn"} and missing == ["xxx", "zzzz"]
    averages, counts = eval_languages.group_averages(
        {"deu_Latn": {"f1": 1.0}, "yor_Latn": {"f1": 0.5}, "quy_Latn": {"f1": 0.0}}
    )
    assert counts == {"all": 3, "head": 1, "tail": 2}
    assert averages == {"all": {"f1": 0.5}, "head": {"f1": 1.0}, "tail": {"f1": 0.25}}


# ---------------------------------------------------------------- fine-tuning tasks with known answers


def constant_classifier(cls, num_labels, predicted):
    """A task model whose logits are the same one-hot for every input: it always predicts `predicted`."""
    torch.manual_seed(0)
    model = cls(tiny_config(num_labels=num_labels))
    head = model.classifier.out_proj if hasattr(model.classifier, "out_proj") else model.classifier
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[predicted] = 10.0
    return model


FROZEN = dict(learning_rate=0.0, epochs=1, batch_size=8, gradient_accumulation_steps=1)


def test_sib200_scores_each_language_on_its_own_rows(tmp_path, tokenizer, udhr_translations):
    def rows(label, categories):
        return [(c, p) for c, p in zip(categories, udhr_translations[label].paragraphs())]

    travel = SIB200_CATEGORIES.index("travel")
    repo = hub_fixtures.sib200(
        tmp_path / "sib200",
        {
            "eng_Latn": {s: rows("eng_Latn", ["travel", "politics"] * 2) for s in ("train", "validation", "test")},
            "deu_Latn": {"test": rows("deu_Latn", ["travel"] * 4)},  # head: all travel
            "yor_Latn": {"test": rows("yor_Latn", ["travel", "travel", "politics", "politics"])},  # tail: half
            "quy_Latn": {"test": rows("quy_Latn", ["sports"] * 4)},  # tail: none
            "qqq_Latn": {"test": rows("deu_Latn", ["travel"] * 2)},  # not in the model's inventory
        },
    )
    model = constant_classifier(LangSAMPForSequenceClassification, len(SIB200_CATEGORIES), travel)
    result = ev.run_task("sib200", model, tokenizer, dataset=repo, seeds=[1, 2], **FROZEN)
    per = result["per_language"]
    assert set(per) == {"deu_Latn", "yor_Latn", "quy_Latn"} and result["missing_languages"] == ["qqq_Latn"]
    assert [per[c]["accuracy"] for c in ("deu_Latn", "yor_Latn", "quy_Latn")] == [1.0, 0.5, 0.0]
    # yor: travel P = 1/2, R = 1 -> F1 2/3; politics F1 0 -> macro 1/3.
    assert per["yor_Latn"]["macro_f1"] == pytest.approx(1 / 3) and per["deu_Latn"]["macro_f1"] == 1.0
    assert per["yor_Latn"]["accuracy_sd"] == 0.0  # two seeds, a frozen model
    assert result["counts"] == {"all": 3, "head": 1, "tail": 2}
    assert result["averages"]["all"]["accuracy"] == pytest.approx(0.5)
    assert result["averages"]["head"]["accuracy"] == 1.0 and result["averages"]["tail"]["accuracy"] == 0.25
    assert result["averages"]["all"]["macro_f1"] == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert result["source_metrics"]["accuracy"] == 0.5  # English test: half travel


def test_wikiann_tags_first_subwords_and_scores_with_seqeval(tmp_path, tokenizer):
    words = {"de": ["Würde", "Rechte"], "yo": ["Gbogbo", "ènìyàn"], "hi": ["मनुष्य", "अधिकार"]}
    gold = {"de": ["B-PER", "B-PER"], "yo": ["B-PER", "O"], "hi": ["B-LOC", "I-LOC"]}
    repo = hub_fixtures.wikiann(
        tmp_path / "wikiann",
        {
            "en": {s: [(["All", "human"], ["B-PER", "O"])] * 2 for s in ("train", "validation", "test")},
            **{code: {"test": [(words[code], gold[code])] * 3} for code in words},
        },
    )
    model = constant_classifier(LangSAMPForTokenClassification, len(WIKIANN_TAGS), WIKIANN_TAGS.index("B-PER"))
    result = ev.run_task("wikiann", model, tokenizer, dataset=repo, **FROZEN)
    per = result["per_language"]
    assert set(per) == {"deu_Latn", "yor_Latn", "hin_Deva"}  # Wikipedia codes -> ISO 639-3, scripts detected
    # Always B-PER: de's two one-token PER spans are right (F1 1); yo: 2 predicted, 1 gold, 1 right -> F1 2/3;
    # hi: one LOC span, none right -> 0. Token accuracy 1, 1/2, 0 (labels on the first sub-word only).
    assert [per[c]["f1"] for c in ("deu_Latn", "yor_Latn", "hin_Deva")] == pytest.approx([1.0, 2 / 3, 0.0])
    assert [per[c]["accuracy"] for c in ("deu_Latn", "yor_Latn", "hin_Deva")] == [1.0, 0.5, 0.0]
    assert result["averages"]["head"]["f1"] == pytest.approx(0.5) and result["averages"]["tail"]["f1"] == pytest.approx(
        2 / 3
    )


def test_udpos_and_taxi1500_train_on_their_fixtures(tmp_path, tokenizer, udhr_translations):
    torch.manual_seed(0)
    masked_lm = LangSAMPForMaskedLM(tiny_config())

    def tagged(label):
        return [(p.split()[:6], ["NOUN"] * len(p.split()[:6])) for p in udhr_translations[label].paragraphs()[:3]]

    repo = hub_fixtures.xtreme_udpos(
        tmp_path / "xtreme",
        {
            "English": {s: tagged("eng_Latn") for s in ("train", "validation", "test")},
            "Hindi": {"test": tagged("hin_Deva")},
        },
    )
    result = ev.run_task("udpos", masked_lm, tokenizer, dataset=repo, max_steps=1, batch_size=4)
    assert list(result["per_language"]) == ["hin_Deva"] and result["steps"] == [1] and result["metric"] == "f1"

    def verses(label, n):
        return [(["Faith", "Grace", "Sin"][i % 3], p) for i, p in enumerate(udhr_translations[label].paragraphs()[:n])]

    folder = hub_fixtures.taxi1500(
        tmp_path / "taxi",
        {
            "eng_Latn": {"train": verses("eng_Latn", 6), "dev": verses("eng_Latn", 3), "test": verses("eng_Latn", 3)},
            "deu_Latn": {"test": verses("deu_Latn", 4)},
        },
    )
    result = ev.run_task("taxi1500", masked_lm, tokenizer, dataset=folder, max_steps=1, batch_size=4, seeds=[1])
    assert list(result["per_language"]) == ["deu_Latn"] and result["settings"]["max_length"] == 100


# ---------------------------------------------------------------- retrieval tasks with known answers


@pytest.fixture(scope="module")
def deep_model():
    torch.manual_seed(0)
    return LangSAMPForMaskedLM(tiny_config(num_hidden_layers=8)).eval()  # the release's layer 8 exists


def test_tatoeba_copies_retrieve_perfectly_and_constant_sides_score_chance(
    tmp_path, deep_model, tokenizer, udhr_translations
):
    english = udhr_translations["eng_Latn"].paragraphs()[:12]
    repo = hub_fixtures.tatoeba(
        tmp_path / "tatoeba",
        {
            "deu": [(e, e) for e in english],  # the "translation" is the English sentence itself
            "yor": [("Ẹ káàbọ̀", e) for e in english],  # every candidate the same: ties, so chance
            "qqq": [(e, e) for e in english],  # not in the inventory
        },
    )
    result = ev.run_task("tatoeba", deep_model, tokenizer, dataset=repo)
    per = result["per_language"]
    assert result["settings"]["layer"] == 8 and result["missing_languages"] == ["qqq"]
    assert per["deu_Latn"] == {"top1": 1.0, "top5": 1.0, "top10": 1.0}
    assert per["yor_Latn"] == pytest.approx({"top1": 1 / 12, "top5": 5 / 12, "top10": 10 / 12})
    assert result["averages"]["head"]["top10"] == 1.0 and result["averages"]["tail"]["top10"] == pytest.approx(10 / 12)


def test_flores_aligns_languages_by_id(tmp_path, deep_model, tokenizer, udhr_translations):
    english = udhr_translations["eng_Latn"].paragraphs()[:10]
    german = udhr_translations["deu_Latn"].paragraphs()[:10]
    order = list(range(10))
    random.Random(0).shuffle(order)
    repo = hub_fixtures.flores_plus(
        tmp_path / "flores",
        {
            "eng_Latn": [(i, english[i]) for i in range(10)],
            "deu_Latn": [(i, english[i]) for i in order],  # stored shuffled: only the ids align it
            "hin_Deva": [(i, german[i]) for i in order],
        },
    )
    result = ev.run_task("flores", deep_model, tokenizer, dataset=repo, top_k=[1])
    assert result["per_language"]["deu_Latn"] == {"top1": 1.0}
    assert set(result["per_language"]) == {"deu_Latn", "hin_Deva"}


# ---------------------------------------------------------------- benchmark, model-index, sources, CLI errors


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, tokenizer):
    folders = {}
    for name, seed in (("start", 0), ("langsamp", 1)):
        torch.manual_seed(seed)
        folder = tmp_path_factory.mktemp(name)
        LangSAMPForMaskedLM(tiny_config()).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        folders[name] = folder
    return folders


def test_benchmark_puts_checkpoints_side_by_side_and_writes_model_index(checkpoints, tmp_path, capsys):
    from huggingface_hub import ModelCard

    output, markdown = tmp_path / "bench.json", tmp_path / "bench.md"
    argv = ["benchmark", "--task", "udhr-retrieval", "--models"] + [f"{n}={p}" for n, p in checkpoints.items()]
    argv += [
        "--languages",
        "deu_Latn",
        "yor_Latn",
        "hin_Deva",
        "--layer",
        "2",
        "--output",
        str(output),
        "--markdown",
        str(markdown),
        "--model-index",
        "langsamp",
    ]
    assert main(argv) == 0
    results = json.loads(output.read_text())["results"]
    assert set(results) == {"start", "langsamp"} and results["langsamp"]["counts"] == {"all": 3, "head": 2, "tail": 1}
    table = markdown.read_text()
    # Top-1 (the informative figure on 31 candidates) beside the release's top-10, for each checkpoint.
    assert "| udhr-retrieval (%) | start top1 | start top10 | langsamp top1 | langsamp top10 |" in table
    assert "**average, tail** (1 languages)" in table
    start, mine = results["start"]["per_language"]["yor_Latn"], results["langsamp"]["per_language"]["yor_Latn"]
    assert (
        f"| yor_Latn | {start['top1'] * 100:.2f} | {start['top10'] * 100:.2f} | {mine['top1'] * 100:.2f} | "
        f"{mine['top10'] * 100:.2f} |" in table
    )
    value = results["langsamp"]["averages"]["tail"]["top10"] * 100
    card = ModelCard.load(checkpoints["langsamp"] / "README.md")
    entries = {e.metric_config: e for e in card.data.eval_results}
    assert (
        entries["top10-tail-languages"].metric_value == round(value, 2)
        and entries["top1-all-languages"].dataset_type == "udhr"
    )
    assert entries["top1-tail-languages"].metric_value == round(
        mine["top1"] * 100, 2
    )  # one tail language: its own figure
    assert not (checkpoints["start"] / "README.md").exists()
    # Writing again replaces the entries instead of piling them up.
    ev.write_model_index(checkpoints["langsamp"], [results["langsamp"]])
    assert len(ModelCard.load(checkpoints["langsamp"] / "README.md").data.eval_results) == 6


@pytest.mark.parametrize(
    "argv, message",
    [
        (["benchmark", "--task", "sib300", "--models", "x"], "Unknown task 'sib300'"),
        (["benchmark", "--task", "sib200", "--models", "/nonexistent/ckpt"], "'/nonexistent/ckpt' does not exist"),
        (["benchmark", "--task", "sib200", "--models", "CKPT", "--layer", "3"], "'layer' does not apply to sib200"),
        (["benchmark", "--task", "udhr-retrieval", "--models", "CKPT"], "Layer 8 is out of range"),
        (
            ["benchmark", "--task", "udhr-retrieval", "--models", "CKPT", "--layer", "1", "--languages", "xx_Latn"],
            "not in the dataset",
        ),
        (["benchmark", "--task", "taxi1500", "--models", "CKPT"], "Taxi1500 has no Hub dataset"),
        (["embeddings", "--model", "CKPT", "--nearest", "xqz"], "Unknown language 'xqz'"),
        (["benchmark", "--task"], "expected one argument"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(argv, message, checkpoints, capsys):
    argv = [str(checkpoints["start"]) if a == "CKPT" else a for a in argv]
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse's own errors
        status = exit.code
    error = capsys.readouterr().err
    assert status == 2 and message in error and error.count("\n") == 1 and "Traceback" not in error, error


def test_recommended_english_and_random_sources_side_by_side(checkpoints, tmp_path):
    model = LangSAMPForMaskedLM.from_pretrained(checkpoints["langsamp"])
    table = model.language_script_embeddings.language_embeddings.weight
    languages = list(model.config.languages)
    with torch.no_grad():  # urd's nearest among the candidates is hin, then deu; eng far away
        base = torch.randn(table.shape[1], generator=torch.Generator().manual_seed(0))
        table[languages.index("urd")] = base
        table[languages.index("hin")] = base * 0.9
        table[languages.index("deu")] = base * 0.3 + torch.randn(table.shape[1])
        table[languages.index("eng")] = -base
    model.config.trained_pairs = ["urd_Arab", "hin_Deva", "deu_Latn", "eng_Latn"]
    folder = tmp_path / "planted"
    model.save_pretrained(folder)
    output = tmp_path / "sources.json"
    assert (
        main(
            [
                "sources",
                "--model",
                str(folder),
                "--targets",
                "urd_Arab",
                "--candidates",
                "eng_Latn",
                "hin_Deva",
                "deu_Latn",
                "--max-steps",
                "1",
                "--batch-size",
                "8",
                "--seeds",  # one fine-tuning per source: the mean and sd over seeds have their own test below
                "1",
                "--output",
                str(output),
            ]
        )
        == 0
    )
    result = json.loads(output.read_text())
    row = result["rows"][0]
    assert row["recommended"] == "hin_Deva" and row["random"] == random.Random(0).choice(
        ["eng_Latn", "hin_Deva", "deu_Latn"]
    )
    assert result["average"]["english_score"] == row["english_score"] and 0 <= row["recommended_score"] <= 1
    # With the trained pairs known, untrained languages are not ranked unless asked.
    assert [c for c, _ in ev.nearest_languages(model, "urd", k=5)] == ["hin", "deu", "eng"]
    assert len(ev.nearest_languages(model, "urd", k=5, all_languages=True)) == 5
    assert not math.isnan(row["similarity"])


def test_source_scores_are_mean_and_sd_over_seeds_by_hand():
    import statistics

    from langsamp.evaluation.source_selection import source_table, summarise_sources

    plan = {
        "urd": {"recommended": "hin", "similarity": 0.5, "random": "deu"},
        "yor": {"recommended": "deu", "similarity": 0.2, "random": "hin"},
    }
    scores = {  # one score per seed (3 seeds)
        "eng": {"urd": [0.2, 0.4, 0.6], "yor": [0.1, 0.1, 0.4]},
        "hin": {"urd": [0.5, 0.5, 0.8], "yor": [0.3, 0.3, 0.3]},
        "deu": {"urd": [0.1, 0.2, 0.3], "yor": [0.2, 0.6, 0.4]},
    }
    rows, average = summarise_sources(plan, scores, "eng")
    assert rows[0]["recommended_score"] == pytest.approx(0.6) and rows[0]["recommended_score_sd"] == pytest.approx(
        math.sqrt(0.03)
    )
    assert rows[1]["english_score"] == pytest.approx(0.2) and rows[1]["english_score_sd"] == pytest.approx(
        math.sqrt(0.03)
    )
    assert rows[1]["random_score"] == pytest.approx(0.3) and rows[1]["random_score_sd"] == 0.0
    # recommended per seed: (urd from hin, yor from deu) = 0.35, 0.55, 0.6 -> mean 0.5,
    # sd sqrt((0.15^2 + 0.05^2 + 0.1^2) / 2)
    assert average["recommended_score"] == pytest.approx(0.5)
    assert average["recommended_score_sd"] == pytest.approx(math.sqrt(0.0175))
    # English per seed: 0.15, 0.25, 0.5 (not the sd of the per-target means)
    assert average["english_score"] == pytest.approx(0.3) and average["english_score_sd"] == pytest.approx(
        statistics.stdev([0.15, 0.25, 0.5])
    )
    table = source_table({"rows": rows, "average": average, "metric": "macro_f1", "english": "eng"})
    assert "| urd | hin (0.50) | 60.00 ± 17.32 |" in table
