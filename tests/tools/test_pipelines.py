"""transformers' pipelines on a LangSAMP folder, as docs/tools.md shows them: `pipeline("fill-mask", model=folder,
trust_remote_code=True)` ranks the tokens as the model's own logits at the mask do, with the language passed through
`tokenizer_kwargs` or set once with `set_default_language`; `pipeline("token-classification", ...)` labels each
token with the argmax of the model's logits."""

import pytest
import torch
from transformers import AutoModelForMaskedLM, pipeline

MASKED = "All human beings are born free and equal in <mask> and rights."
SENTENCE = "Everyone has the right to a nationality in Paris."
TOP_K = 5


def hand_ranking(folder, tokenizer, lang_kwargs):
    """The TOP_K most probable tokens at the mask, and their probabilities, from AutoModelForMaskedLM's logits."""
    model = AutoModelForMaskedLM.from_pretrained(folder, trust_remote_code=True).eval()
    batch = tokenizer([MASKED], return_tensors="pt", **lang_kwargs)
    with torch.no_grad():
        logits = model(**batch).logits[0]
    (position,) = (batch["input_ids"][0] == tokenizer.mask_token_id).nonzero()[0]
    probabilities = logits[position].softmax(-1)
    order = probabilities.argsort(descending=True)[:TOP_K]
    return order.tolist(), probabilities[order]


def test_fill_mask_ranks_tokens_as_the_models_logits_do(folder, folder_tokenizer, lang_kwargs):
    fill = pipeline("fill-mask", model=str(folder), trust_remote_code=True, top_k=TOP_K)
    predictions = fill(MASKED, tokenizer_kwargs=lang_kwargs)

    tokens, probabilities = hand_ranking(folder, folder_tokenizer, lang_kwargs)
    assert [p["token"] for p in predictions] == tokens
    torch.testing.assert_close(torch.tensor([p["score"] for p in predictions]), probabilities, rtol=1e-4, atol=0)
    assert [p["token_str"] for p in predictions] == [folder_tokenizer.decode([t]) for t in tokens]


def test_fill_mask_with_a_default_language_needs_no_tokenizer_kwargs(folder, folder_tokenizer, is_langsamp):
    if not is_langsamp:
        pytest.skip("a plain XLM-R folder has no language tables")
    fill = pipeline("fill-mask", model=str(folder), trust_remote_code=True, top_k=TOP_K)
    with pytest.raises(ValueError, match=r"^`lang_ids` is required: .*set_default_language"):
        fill(MASKED)

    fill.model.set_default_language("eng")
    predictions = fill(MASKED)

    tokens, probabilities = hand_ranking(folder, folder_tokenizer, {"lang": "eng"})
    assert [p["token"] for p in predictions] == tokens
    torch.testing.assert_close(torch.tensor([p["score"] for p in predictions]), probabilities, rtol=1e-4, atol=0)


def test_token_classification_labels_each_token_with_the_argmax_of_the_logits(folder, folder_tokenizer):
    tag = pipeline("token-classification", model=str(folder), trust_remote_code=True, ignore_labels=[])
    entities = tag(SENTENCE)

    batch = folder_tokenizer([SENTENCE], return_tensors="pt", return_special_tokens_mask=True)
    special = batch.pop("special_tokens_mask")[0]
    with torch.no_grad():
        probabilities = tag.model(**batch).logits[0].softmax(-1)  # the pipeline's own (randomly initialised) head
    pieces = folder_tokenizer.convert_ids_to_tokens(batch["input_ids"][0])
    expected = [
        (index, pieces[index], tag.model.config.id2label[int(probabilities[index].argmax())])
        for index in range(len(pieces))
        if not special[index]
    ]
    assert [(e["index"], e["word"], e["entity"]) for e in entities] == expected
    torch.testing.assert_close(
        torch.tensor([float(e["score"]) for e in entities]),
        torch.stack([probabilities[index].max() for index, _, _ in expected]),
        rtol=1e-5,
        atol=0,
    )
