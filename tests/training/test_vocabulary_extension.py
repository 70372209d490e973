"""Vocabulary extension through train.py's load_model, with an extended tokenizer built the way Glot500's is: the
real XLM-R tokenizer.json, new pieces appended, `<mask>` moved to the end. Expected rows come from the old
checkpoint's weights and the two tokenizer.json files' own id lists, not from the code under test."""

import json

import pytest
import torch
from fixtures.models import tiny_config

from langsamp.resources.xlmr_tokenizer import xlmr_tokenizer_json

NEW_PIECES = [f"▁qzx{k}ǂ" for k in range(300)]  # strings no UDHR sentence contains
SENTENCE = "All human beings are born free and equal in <mask> and rights."


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, tokenizer):
    """A small random LangSAMP model (XLM-R's 250,002 rows, hidden 32) saved with XLM-R's tokenizer."""
    from modeling_langsamp import LangSAMPForMaskedLM

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("checkpoint")
    model = LangSAMPForMaskedLM(tiny_config()).eval()
    with torch.no_grad():  # a trained-looking output bias (the init is all zeros, which would hide a lost row)
        model.lm_head.bias.normal_(0.0, 1.0)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    """(folder, old piece list, new piece list): XLM-R's pieces, then NEW_PIECES, then `<mask>`."""
    from tokenization_langsamp import LangSAMPTokenizer

    spec = json.loads(xlmr_tokenizer_json().read_text(encoding="utf-8"))
    old = [piece for piece, _ in spec["model"]["vocab"]]
    assert old[-1] == "<mask>" and len(old) == 250002
    mask_entry = spec["model"]["vocab"].pop()
    spec["model"]["vocab"] += [[piece, -30.0] for piece in NEW_PIECES] + [mask_entry]
    for token in spec["added_tokens"]:
        if token["content"] == "<mask>":
            token["id"] = len(spec["model"]["vocab"]) - 1
    folder = tmp_path_factory.mktemp("extended-tokenizer")
    (folder / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    new = [piece for piece, _ in spec["model"]["vocab"]]
    tokenizer = LangSAMPTokenizer.from_pretrained(folder, model_max_length=512)
    assert len(tokenizer) == 250002 + len(NEW_PIECES) and tokenizer.mask_token_id == len(new) - 1
    return folder, tokenizer, old, new


def grow(checkpoint, extended, method):
    from langsamp.training import arguments, builders

    folder, tokenizer, _, _ = extended
    model_args = arguments.ModelArguments(
        model_name_or_path=str(checkpoint), tokenizer_name=str(folder), vocab_init=method
    )
    config = builders.load_config(model_args, tokenizer)
    loaded = builders.load_model(model_args, config, tokenizer)
    return loaded.model.eval(), loaded.vocabulary_extension


def mask_logits(model, tokenizer):
    batch = tokenizer([SENTENCE], lang="eng", return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits[0]
    position = batch["input_ids"][0].tolist().index(tokenizer.mask_token_id)
    return batch["input_ids"][0], logits[position]


def test_every_trained_row_follows_its_piece(checkpoint, extended, tokenizer):
    from modeling_langsamp import LangSAMPForMaskedLM

    _, new_tokenizer, old, new = extended
    before = LangSAMPForMaskedLM.from_pretrained(checkpoint).eval()
    after, extension = grow(checkpoint, extended, "by_piece")
    new_id = {piece: i for i, piece in enumerate(new)}
    old_ids = torch.arange(len(old))
    moved_to = torch.tensor([new_id[piece] for piece in old])
    old_rows, new_rows = before.get_input_embeddings().weight, after.get_input_embeddings().weight
    assert new_rows.shape == (len(new), 32)
    torch.testing.assert_close(new_rows[moved_to], old_rows[old_ids], rtol=0, atol=0)  # every old piece, specials incl.
    torch.testing.assert_close(after.lm_head.bias[moved_to], before.lm_head.bias[old_ids], rtol=0, atol=0)
    assert after.get_output_embeddings().weight.data_ptr() == new_rows.data_ptr()  # decoder still tied
    # <mask>: XLM-R's trained row at the new <mask> id; the old id 250001 is a new piece now, with a fresh row.
    torch.testing.assert_close(new_rows[len(new) - 1], old_rows[250001], rtol=0, atol=0)
    fresh = new_rows[250001 : 250001 + len(NEW_PIECES)]
    assert not torch.equal(fresh[0], old_rows[250001])
    assert abs(fresh.std().item() - 0.02) < 0.002 and abs(fresh.mean().item()) < 0.002  # N(0, initializer_range)
    assert torch.count_nonzero(after.lm_head.bias[250001 : 250001 + len(NEW_PIECES)]) == 0
    assert (extension.kept, extension.moved, extension.new, extension.dropped) == (250002, 1, len(NEW_PIECES), 0)

    # Fill-mask over the old pieces is unchanged: same sentence, same encoder input, same scores.
    old_input, old_scores = mask_logits(before, tokenizer)
    new_input, new_scores = mask_logits(after, new_tokenizer)
    assert new_input.tolist() == [new_id[old[i]] for i in old_input.tolist()]
    torch.testing.assert_close(new_scores[moved_to], old_scores, rtol=1e-5, atol=1e-5)
    assert torch.topk(new_scores, 5).indices.tolist() == moved_to[torch.topk(old_scores, 5).indices].tolist()


def test_plain_resize_replicates_the_release(checkpoint, extended, tokenizer):
    from modeling_langsamp import LangSAMPForMaskedLM

    _, new_tokenizer, old, new = extended
    before = LangSAMPForMaskedLM.from_pretrained(checkpoint).eval()
    after, extension = grow(checkpoint, extended, "resize")
    old_rows, new_rows = before.get_input_embeddings().weight, after.get_input_embeddings().weight
    # Rows kept by id: XLM-R's <mask> row now belongs to the first new piece; the new <mask> id starts random.
    torch.testing.assert_close(new_rows[:250002], old_rows, rtol=0, atol=0)
    assert new[250001] == NEW_PIECES[0] and not torch.equal(new_rows[len(new) - 1], old_rows[250001])
    assert extension.method == "resize" and extension.new == len(NEW_PIECES)
    # ... so fill-mask changes, which is what by_piece avoids.
    _, old_scores = mask_logits(before, tokenizer)
    _, new_scores = mask_logits(after, new_tokenizer)
    assert not torch.allclose(new_scores[: len(old) - 1], old_scores[: len(old) - 1], atol=1e-3)
