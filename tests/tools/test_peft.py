"""peft's LoRA on a LangSAMP folder, as docs/tools.md shows it: `target_modules=["query", "value"]` (what peft
picks for stock XLM-R); the sequence and the token classifier trained by the stock Trainer on batches of the LangSAMP
tokenizer (their `lang_ids` / `script_ids` pass through and are ignored), the loss falling, the encoder untouched,
and the saved adapter, reloaded onto a freshly loaded base, giving the same logits. peft finds no default target
modules for model_type `langsamp`: its table of defaults is keyed by model_type."""

import pytest
import torch
from datasets import Dataset

TARGETS = ["query", "value"]
TEXTS = ["good film", "bad film", "very good", "very bad", "good good good", "bad bad", "so good", "so bad"]
TASKS = {"SEQ_CLS": "AutoModelForSequenceClassification", "TOKEN_CLS": "AutoModelForTokenClassification"}


def load(folder, task):
    import transformers

    return getattr(transformers, TASKS[task]).from_pretrained(folder, trust_remote_code=True, num_labels=2)


def labelled_batch(tokenizer, task, lang_kwargs):
    """The texts tokenized as users do, with labels: a text is 1 when it says "good"; a token is 1 when it is a
    piece of "good", -100 (not scored) on <s>, </s> and padding."""
    batch = tokenizer(TEXTS, padding=True, return_special_tokens_mask=True, return_tensors="pt", **lang_kwargs)
    special = batch.pop("special_tokens_mask")
    if task == "SEQ_CLS":
        labels = torch.tensor([int("good" in text) for text in TEXTS])
    else:
        is_good = torch.tensor([[int("good" in piece) for piece in batch.tokens(row)] for row in range(len(TEXTS))])
        labels = is_good.masked_fill(special.bool(), -100)
    return batch, labels


def loss_of(model, batch, labels) -> float:
    model.eval()
    with torch.no_grad():
        return model(**batch, labels=labels).loss.item()


def fine_tune(model, batch, labels, output_dir) -> None:
    """The stock Trainer, eight full-batch steps; the tokenizer's columns go in as they are."""
    from transformers import Trainer, TrainingArguments

    rows = Dataset.from_dict({**{key: value.tolist() for key, value in batch.items()}, "labels": labels.tolist()})
    args = TrainingArguments(
        str(output_dir),
        max_steps=8,
        per_device_train_batch_size=len(TEXTS),
        learning_rate=1e-2,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
    )
    Trainer(model=model, args=args, train_dataset=rows).train()


def frozen_weights(model) -> dict:
    """Every weight outside the adapter and the classifier, under its name in the unwrapped model."""
    return {
        name.replace(".base_layer", ""): weight.detach().clone()
        for name, weight in model.named_parameters()
        if "lora_" not in name and not name.startswith("classifier")
    }


@pytest.mark.parametrize("task", list(TASKS))
def test_lora_trains_with_the_stock_trainer_and_reloads_with_the_same_logits(
    folder, folder_tokenizer, lang_kwargs, tmp_path, task
):
    from peft import LoraConfig, PeftModel, get_peft_model

    batch, labels = labelled_batch(folder_tokenizer, task, lang_kwargs)
    base = load(folder, task)
    before = frozen_weights(base)
    model = get_peft_model(base, LoraConfig(task_type=task, target_modules=TARGETS, r=4, lora_alpha=8))
    layers = base.config.num_hidden_layers
    assert sorted(model.targeted_module_names) == sorted(
        f"roberta.encoder.layer.{i}.attention.self.{name}" for i in range(layers) for name in TARGETS
    )

    loss_before = loss_of(model, batch, labels)
    fine_tune(model, batch, labels, tmp_path / "trainer")
    loss_after = loss_of(model, batch, labels)
    assert loss_after < loss_before, (loss_before, loss_after)
    after = frozen_weights(model.get_base_model())
    assert after.keys() == before.keys() and all(torch.equal(after[name], before[name]) for name in before)

    model.save_pretrained(tmp_path / "adapter")
    reloaded = PeftModel.from_pretrained(load(folder, task), tmp_path / "adapter").eval()
    with torch.no_grad():
        expected, got = model(**batch).logits, reloaded(**batch).logits
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)
    with torch.no_grad(), model.disable_adapter():  # the adapter is what changed the outputs
        assert not torch.allclose(model(**batch).logits, expected, atol=1e-4)


def test_the_default_lora_config_finds_the_target_modules(folder, is_langsamp, request):
    from peft import LoraConfig, get_peft_model

    if is_langsamp:
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                raises=ValueError,  # "Please specify `target_modules` or `target_parameters`in `peft_config`"
                reason="peft's default target modules are a table keyed by model_type, without `langsamp`",
            )
        )
    base = load(folder, "SEQ_CLS")
    model = get_peft_model(base, LoraConfig(task_type="SEQ_CLS"))
    assert sorted(model.targeted_module_names) == sorted(
        f"roberta.encoder.layer.{i}.attention.self.{name}"
        for i in range(base.config.num_hidden_layers)
        for name in TARGETS
    )
