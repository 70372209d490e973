"""The evaluation protocol where a wrong implementation would still give plausible numbers: which epoch's checkpoint
zero-shot transfer tests (the release: the best English-dev epoch, not the last), and how per-language figures are
averaged (over languages, not examples; head / tail; mean ± sd over seeds of the averaged figure).

A planting callback fixes what the classifier predicts at the end of each epoch (learning rate 0, so training
changes nothing else): every expected value below follows by hand from the label counts of the test sets."""

import pytest
import torch
import transformers
from fixtures import hub_fixtures
from fixtures.models import tiny_config

from langsamp import evaluation as ev
from langsamp.evaluation.tasks import SIB200_CATEGORIES
from modeling_langsamp import LangSAMPForSequenceClassification


class PlantPrediction(transformers.TrainerCallback):
    """At the end of each epoch (before the Trainer evaluates and saves it), make the head predict the class
    `plan(seed, epoch)` for every input."""

    def __init__(self, plan):
        self.plan = plan

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        head = model.classifier.out_proj
        with torch.no_grad():
            head.weight.zero_()
            head.bias.zero_()
            head.bias[self.plan(args.seed, round(state.epoch))] = 10.0


@pytest.fixture
def plant(monkeypatch):
    """plant(plan): every Trainer zero_shot_transfer builds gets the PlantPrediction callback."""

    from transformers.trainer import Trainer

    original = Trainer.__init__
    planted = []

    def install(plan):
        def __init__(self, *args, **kwargs):
            original(self, *args, **kwargs)
            self.add_callback(PlantPrediction(plan))
            planted.append(self)

        # On the class itself: `from transformers import Trainer` (transfer.py) bypasses a module attribute.
        monkeypatch.setattr(Trainer, "__init__", __init__)
        return planted

    return install


def classifier(num_labels):
    torch.manual_seed(0)
    return LangSAMPForSequenceClassification(tiny_config(num_labels=num_labels))


def test_the_best_dev_epoch_is_tested_not_the_last(plant, udhr_translations, tokenizer):
    import datasets

    A, B = 0, 1
    planted = plant(lambda seed, epoch: {1: B, 2: A, 3: B}[epoch])  # best on dev at epoch 2; epochs 1 and 3 predict B
    texts = udhr_translations["eng_Latn"].paragraphs()[:4]
    rows = lambda labels: datasets.Dataset.from_dict({"text": texts[: len(labels)], "label": labels})  # noqa: E731
    result = ev.zero_shot_transfer(
        classifier(2),
        tokenizer,
        rows([A, B, A, B]),
        {"deu": rows([A, B, B, B])},
        label_names=["A", "B"],
        dev_dataset=rows([A, A, A, B]),
        num_train_epochs=3,
        learning_rate=0.0,
        batch_size=4,
        disable_tqdm=True,
    )
    history = [round(entry["eval_macro_f1"], 4) for entry in planted[0].state.log_history if "eval_macro_f1" in entry]
    assert history == [0.2, 0.4286, 0.2]  # the plan took effect: dev figures per epoch (all-B, all-A, all-B)
    # Dev [A, A, A, B]: all-A scores macro-F1 (2*.75/1.75 + 0) / 2 = 3/7; all-B (2*.25/1.25 + 0) / 2 = 1/5.
    assert result["best_dev"] == pytest.approx(3 / 7)
    # Test [A, B, B, B] with epoch 2's all-A: accuracy 1/4, macro-F1 (2*.25/1.25 + 0) / 2 = 1/5.
    # (The last epoch's all-B would give accuracy 3/4 and macro-F1 3/7; the first epoch's the same.)
    assert result["per_language"]["deu"]["accuracy"] == pytest.approx(0.25)
    assert result["per_language"]["deu"]["macro_f1"] == pytest.approx(0.2)


def test_averages_are_over_languages_head_tail_and_sd_over_seeds_of_the_average(
    tmp_path, plant, udhr_translations, tokenizer
):
    travel, politics, sports = (SIB200_CATEGORIES.index(c) for c in ("travel", "politics", "sports"))
    planted = plant(lambda seed, epoch: {1: travel, 2: politics}[seed])  # seed 1 always says travel, seed 2 politics

    def rows(label, categories):
        return [(c, p) for c, p in zip(categories, udhr_translations[label].paragraphs())]

    repo = hub_fixtures.sib200(
        tmp_path / "sib200",
        {
            "eng_Latn": {s: rows("eng_Latn", ["travel", "politics"]) for s in ("train", "validation", "test")},
            "deu_Latn": {"test": rows("deu_Latn", ["travel"] * 2)},  # head, 2 examples
            "yor_Latn": {"test": rows("yor_Latn", ["travel"] * 3 + ["politics"] + ["sports"] * 2)},  # tail, 6 examples
            "quy_Latn": {"test": rows("quy_Latn", ["travel"] + ["politics"] * 2)},  # tail, 3 examples
        },
    )
    result = ev.run_task(
        "sib200",
        classifier(len(SIB200_CATEGORIES)),
        tokenizer,
        dataset=repo,
        seeds=[1, 2],
        epochs=1,
        learning_rate=0.0,
        batch_size=8,
        gradient_accumulation_steps=1,
    )
    # Accuracy per language, seed 1 (travel) / seed 2 (politics): deu 1 / 0, yor 1/2 / 1/6, quy 1/3 / 2/3.
    assert len(planted) == 2  # one fine-tuning run per seed, each planted
    per = result["per_language"]
    expected = {"deu_Latn": (1.0, 0.0), "yor_Latn": (1 / 2, 1 / 6), "quy_Latn": (1 / 3, 2 / 3)}
    for code, (one, two) in expected.items():
        assert per[code]["accuracy"] == pytest.approx((one + two) / 2)
        assert per[code]["accuracy_sd"] == pytest.approx(abs(one - two) / 2)  # population sd of two values
    assert result["counts"] == {"all": 3, "head": 1, "tail": 2}
    averages = result["averages"]
    # Over languages: seed 1 (1 + 1/2 + 1/3) / 3 = 11/18, seed 2 (0 + 1/6 + 2/3) / 3 = 5/18 -> 4/9 ± 1/6.
    # (Over examples it would be (6/11 + 3/11) / 2 = 9/22; the mean of the languages' sds (1/2 + 1/6 + 1/6) / 3 = 5/18.)
    assert averages["all"]["accuracy"] == pytest.approx(4 / 9)
    assert averages["all"]["accuracy_sd"] == pytest.approx(1 / 6)
    # Head: deu alone, 1/2 ± 1/2. Tail: seed 1 (1/2 + 1/3) / 2 = 5/12, seed 2 (1/6 + 2/3) / 2 = 5/12 -> 5/12 ± 0.
    assert averages["head"]["accuracy"] == pytest.approx(1 / 2) and averages["head"]["accuracy_sd"] == pytest.approx(
        1 / 2
    )
    assert averages["tail"]["accuracy"] == pytest.approx(5 / 12) and averages["tail"]["accuracy_sd"] == pytest.approx(
        0, abs=1e-12
    )
    table = ev.side_by_side_table({"planted": result}, metric="accuracy")
    assert "| yor_Latn | 33.33 ± 16.67 |" in table
    assert "| **average, all** (3 languages) | 44.44 ± 16.67 |" in table
    assert "| **average, head** (1 languages) | 50.00 ± 50.00 |" in table
    assert "| **average, tail** (2 languages) | 41.67 |" in table  # sd 0 over seeds: no ± shown
