"""LangSAMPForMaskedLM and the task heads against transformers' XLM-R and the published formula.

All models are tiny random ones (tests/fixtures/models.py `tiny_config`: hidden 32, 2 layers, XLM-R's vocabulary).
"""

import inspect

import pytest
import torch
import torch.nn.functional as F
from fixtures.models import tiny_config
from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

from modeling_langsamp import (
    LangSAMPForMaskedLM,
    LangSAMPForMultipleChoice,
    LangSAMPForQuestionAnswering,
    LangSAMPForSequenceClassification,
    LangSAMPForTokenClassification,
    LangSAMPModel,
)

VOCAB = 250002
HEADS = (
    LangSAMPForSequenceClassification,
    LangSAMPForTokenClassification,
    LangSAMPForQuestionAnswering,
    LangSAMPForMultipleChoice,
)


def padded_batch(seed=0, lengths=(9, 6, 4)):
    """A right-padded batch of random token ids (no special-token ids inside) with its attention mask."""
    generator = torch.Generator().manual_seed(seed)
    seq = max(lengths)
    input_ids = torch.full((len(lengths), seq), 1)  # pad id
    mask = torch.zeros((len(lengths), seq), dtype=torch.long)
    for row, n in enumerate(lengths):
        input_ids[row, :n] = torch.randint(5, VOCAB, (n,), generator=generator)
        input_ids[row, 0], input_ids[row, n - 1] = 0, 2
        mask[row, :n] = 1
    return input_ids, mask


def randomize_tables(model, seed=1):
    generator = torch.Generator().manual_seed(seed)
    tables = model.language_script_embeddings
    with torch.no_grad():
        for table in (tables.language_embeddings, tables.script_embeddings):
            table.weight.copy_(torch.randn(table.weight.shape, generator=generator))  # large: effects are visible


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    model = LangSAMPForMaskedLM(tiny_config()).eval()
    randomize_tables(model)
    return model


def stock_copy(model):
    """transformers' own XLMRobertaForMaskedLM holding the same encoder and LM-head weights."""
    config = XLMRobertaConfig(**{k: v for k, v in model.config.to_dict().items() if k in XLMRobertaConfig().to_dict()})
    config.model_type = "xlm-roberta"
    stock = XLMRobertaForMaskedLM(config).eval()
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("language_script_embeddings.")}
    missing, unexpected = stock.load_state_dict(state, strict=False)
    assert not unexpected and all("token_type" in k for k in missing), (missing, unexpected)
    with torch.no_grad():  # the release has no token-type row; XLM-R's is all zeros
        stock.roberta.embeddings.token_type_embeddings.weight.zero_()
    return stock


def release_formula(model, hidden, lang_rows, script_rows):
    """decoder(LN(gelu(dense(h + E_l[l] + E_s[s])))) + bias, by hand from the module weights."""
    tables, head = model.language_script_embeddings, model.lm_head
    o = hidden + tables.language_embeddings.weight[lang_rows] + tables.script_embeddings.weight[script_rows]
    x = F.gelu(o @ head.dense.weight.T + head.dense.bias)
    x = F.layer_norm(x, (x.shape[-1],), head.layer_norm.weight, head.layer_norm.bias, model.config.layer_norm_eps)
    return x @ model.roberta.embeddings.word_embeddings.weight.T + head.bias


# ---------------------------------------------------------------------------------------------- equivalence


def test_zeroed_tables_equal_stock_xlmr(model):
    input_ids, mask = padded_batch()
    stock = stock_copy(model)
    zeroed = LangSAMPForMaskedLM(model.config).eval()
    zeroed.load_state_dict(model.state_dict())
    with torch.no_grad():
        zeroed.language_script_embeddings.language_embeddings.weight.zero_()
        zeroed.language_script_embeddings.script_embeddings.weight.zero_()
        ours = zeroed(
            input_ids, attention_mask=mask, lang_ids=torch.tensor([3, 4, 5]), script_ids=torch.tensor([0, 19, 6])
        ).logits
        theirs = stock(input_ids, attention_mask=mask).logits
        with_tables = model(
            input_ids, attention_mask=mask, lang_ids=torch.tensor([3, 4, 5]), script_ids=torch.tensor([0, 19, 6])
        ).logits
    assert ours.shape == theirs.shape == (3, input_ids.shape[1], VOCAB)
    assert (ours - theirs).abs().max().item() < 1e-5
    assert (with_tables - theirs).abs().max().item() > 1e-2  # the random tables do change the predictions


def test_disabled_tables_equal_stock_xlmr(model):
    input_ids, mask = padded_batch(seed=3)
    disabled = LangSAMPForMaskedLM(tiny_config(use_lang_embedding=False, use_script_embedding=False)).eval()
    assert disabled.language_script_embeddings.language_embeddings is None
    assert disabled.language_script_embeddings.script_embeddings is None
    missing, unexpected = disabled.load_state_dict(model.state_dict(), strict=False)
    assert not missing and all(k.startswith("language_script_embeddings.") for k in unexpected)
    stock = stock_copy(disabled)
    with torch.no_grad():
        ours = disabled(input_ids, attention_mask=mask).logits  # no ids needed without tables
        theirs = stock(input_ids, attention_mask=mask).logits
    assert (ours - theirs).abs().max().item() < 1e-5
    # The baseline trains on the same batches as LangSAMP: per-sequence ids and labels are accepted and ignored.
    labels = torch.full_like(input_ids, -100)
    labels[:, 1] = input_ids[:, 1]
    with torch.no_grad():
        loss = disabled(
            input_ids,
            attention_mask=mask,
            labels=labels,
            lang_ids=torch.tensor([3, 4, 5]),
            script_ids=torch.tensor([0, 19, 6]),
        ).loss
        expected = torch.nn.functional.cross_entropy(theirs.view(-1, VOCAB), labels.view(-1))
    assert abs(loss.item() - expected.item()) < 1e-5


def test_one_table_disabled_needs_only_the_other_ids(model):
    input_ids, mask = padded_batch(seed=4)
    only_script = LangSAMPForMaskedLM(tiny_config(use_lang_embedding=False)).eval()
    only_script.load_state_dict(model.state_dict(), strict=False)
    with torch.no_grad():
        logits = only_script(input_ids, attention_mask=mask, script_ids=torch.tensor([1, 2, 3])).logits
        hidden = only_script.roberta(input_ids, attention_mask=mask).last_hidden_state
        expected = only_script.lm_head(
            hidden + only_script.language_script_embeddings.script_embeddings.weight[[1, 2, 3]][:, None]
        )
    assert torch.allclose(logits, expected, atol=1e-5)
    with pytest.raises(ValueError, match="script_ids"):
        only_script(input_ids, attention_mask=mask, lang_ids=torch.tensor([1, 2, 3]))


def test_eager_and_sdpa_agree(model, tmp_path):
    model.save_pretrained(tmp_path)
    input_ids, mask = padded_batch(seed=5)
    ids = dict(lang_ids=torch.tensor([0, 100, 609]), script_ids=torch.tensor([29, 19, 0]))
    logits = {}
    for implementation in ("eager", "sdpa"):
        loaded = LangSAMPForMaskedLM.from_pretrained(tmp_path, attn_implementation=implementation).eval()
        built = LangSAMPForMaskedLM._from_config(model.config, attn_implementation=implementation).eval()
        assert loaded.config._attn_implementation == built.config._attn_implementation == implementation
        built.load_state_dict(model.state_dict())
        with torch.no_grad():
            logits[implementation] = loaded(input_ids, attention_mask=mask, **ids).logits
            assert torch.equal(built(input_ids, attention_mask=mask, **ids).logits, logits[implementation])
    real = mask.bool()
    assert (logits["eager"][real] - logits["sdpa"][real]).abs().max().item() < 1e-5
    # padding must not leak into real positions: the first example is unaffected by the others' padding
    with torch.no_grad():
        alone = model(input_ids[:1, :9], lang_ids=ids["lang_ids"][:1], script_ids=ids["script_ids"][:1]).logits
    assert (alone[0] - logits["sdpa"][0, :9]).abs().max().item() < 1e-5


# ----------------------------------------------------------------------------------- the release's formula


def test_release_formula_with_per_sequence_ids(model):
    input_ids, mask = padded_batch(seed=6)
    lang, script = torch.tensor([7, 145, 609]), torch.tensor([19, 5, 29])
    with torch.no_grad():
        logits = model(input_ids, attention_mask=mask, lang_ids=lang, script_ids=script).logits
        hidden = model.roberta(input_ids, attention_mask=mask).last_hidden_state
        expected = release_formula(model, hidden, lang[:, None], script[:, None])
    assert logits.shape == expected.shape
    assert (logits - expected).abs().max().item() < 1e-4


def test_release_formula_with_per_token_ids(model):
    input_ids, mask = padded_batch(seed=7)
    generator = torch.Generator().manual_seed(8)
    lang = torch.randint(0, 610, input_ids.shape, generator=generator)  # vary along the sequence too
    script = torch.randint(0, 30, input_ids.shape, generator=generator)
    with torch.no_grad():
        logits = model(input_ids, attention_mask=mask, lang_ids=lang, script_ids=script).logits
        hidden = model.roberta(input_ids, attention_mask=mask).last_hidden_state
        expected = release_formula(model, hidden, lang, script)
        by_sequence = model(input_ids, attention_mask=mask, lang_ids=lang[:, 0], script_ids=script[:, 0]).logits
    assert (logits - expected).abs().max().item() < 1e-4
    assert (by_sequence[:, 1:] - logits[:, 1:]).abs().max().item() > 1e-2  # per-token ids are not just the first


def test_decoder_is_tied_to_word_embeddings(model):
    assert model.lm_head.decoder.weight is model.roberta.embeddings.word_embeddings.weight
    assert model.config.tie_word_embeddings is True


# ---------------------------------------------------------------------------------------------------- loss


def masked_labels(input_ids, mask, seed=9, rate=0.3):
    generator = torch.Generator().manual_seed(seed)
    chosen = (torch.rand(input_ids.shape, generator=generator) < rate) & mask.bool()
    chosen[0, 1] = True  # at least one
    return torch.where(chosen, input_ids, torch.full_like(input_ids, -100))


@pytest.fixture
def sparse(model):
    """The module's model with ModernBERT's `sparse_prediction` on (as train.py trains), reset afterwards."""
    model.config.sparse_prediction = True
    yield model
    model.config.sparse_prediction = False


def test_masked_loss_equals_full_cross_entropy(model):
    """Default (stock contract): with labels, logits stay [batch, seq, vocab] and the loss is the mean
    cross-entropy over the labelled positions, computed here by hand from the logits of a call without labels."""
    input_ids, mask = padded_batch(seed=10)
    labels = masked_labels(input_ids, mask)
    ids = dict(lang_ids=torch.tensor([1, 2, 3]), script_ids=torch.tensor([4, 5, 6]))
    with torch.no_grad():
        out = model(input_ids, attention_mask=mask, labels=labels, **ids)
        full = model(input_ids, attention_mask=mask, **ids).logits
    assert out.logits.shape == (3, 9, VOCAB) and torch.equal(out.logits, full)
    selected = labels != -100
    by_hand = -(full[selected].log_softmax(-1).gather(-1, labels[selected][:, None])).mean()
    assert abs(out.loss.item() - by_hand.item()) < 1e-6
    total = F.cross_entropy(full.reshape(-1, VOCAB), labels.reshape(-1), ignore_index=-100, reduction="sum")
    with torch.no_grad():
        summed = model(input_ids, attention_mask=mask, labels=labels, num_items_in_batch=torch.tensor(7), **ids).loss
    assert abs(summed.item() - total.item() / 7) < 1e-4
    with torch.no_grad():  # a plain int is what custom loops pass
        summed_int = model(input_ids, attention_mask=mask, labels=labels, num_items_in_batch=7, **ids).loss
    assert abs(summed_int.item() - summed.item()) < 1e-6


def test_sparse_prediction_is_modernbert_masked_only_head(sparse):
    """`sparse_prediction=True` (ModernBERT's meaning): logits only at labelled positions, [n_masked, vocab] in
    row-major order, equal to the dense logits there, and the loss equal to the dense loss."""
    model = sparse
    input_ids, mask = padded_batch(seed=10)
    labels = masked_labels(input_ids, mask)
    ids = dict(lang_ids=torch.tensor([1, 2, 3]), script_ids=torch.tensor([4, 5, 6]))
    with torch.no_grad():
        out = model(input_ids, attention_mask=mask, labels=labels, **ids)
        unlabelled = model(input_ids, attention_mask=mask, **ids).logits  # no labels: dense even when sparse
        model.config.sparse_prediction = False
        dense = model(input_ids, attention_mask=mask, labels=labels, **ids)
        model.config.sparse_prediction = True
    selected = labels != -100
    assert unlabelled.shape == (3, 9, VOCAB)
    assert out.logits.shape == (int(selected.sum()), VOCAB) == (4, VOCAB)
    assert (out.logits - dense.logits[selected]).abs().max().item() < 1e-5
    assert abs(out.loss.item() - dense.loss.item()) < 1e-6
    with torch.no_grad():  # the ignore index is the config's: -1 marks the unlabelled positions instead of -100
        model.config.sparse_pred_ignore_index = -1
        other = model(input_ids, attention_mask=mask, labels=torch.where(selected, labels, -1), **ids)
        model.config.sparse_pred_ignore_index = -100
    assert torch.equal(other.logits, out.logits) and abs(other.loss.item() - out.loss.item()) < 1e-6


@pytest.mark.parametrize("rows", [1, 2, 3])
def test_chunked_loss_equals_the_dense_loss_and_its_gradients(rows):
    """`chunked_loss_rows` (as train.py trains): torch's chunked linear_cross_entropy in place of the decoder and the
    loss gives the dense masked-LM loss, as a mean and as a sum over `num_items_in_batch`, and the same gradient in
    every parameter, tables included, to float rounding; `logits` is None. 1, 2 and 3 rows: chunks that divide the 4
    masked positions, and one that leaves a short last chunk."""
    input_ids, mask = padded_batch(seed=10)
    labels = masked_labels(input_ids, mask)
    ids = dict(lang_ids=torch.tensor([1, 2, 3]), script_ids=torch.tensor([4, 5, 6]))
    model = LangSAMPForMaskedLM(tiny_config(sparse_prediction=True)).train()  # dropout 0 in the tiny config

    def loss_and_gradients(chunked, **extra):
        model.config.chunked_loss_rows = rows if chunked else None
        model.zero_grad(set_to_none=True)
        out = model(input_ids, attention_mask=mask, labels=labels, **ids, **extra)
        out.loss.backward()
        return out, {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}

    for extra in ({}, {"num_items_in_batch": torch.tensor(7)}):
        dense, dense_grads = loss_and_gradients(False, **extra)
        chunked, chunked_grads = loss_and_gradients(True, **extra)
        assert dense.logits.shape == (4, VOCAB) and chunked.logits is None
        assert abs(chunked.loss.item() - dense.loss.item()) < 1e-5 * abs(dense.loss.item())
        assert set(chunked_grads) == set(dense_grads) and "language_script_embeddings.language_embeddings.weight" in (
            chunked_grads
        )
        # Rounding against each gradient's scale (sums in another order), and the noise of gradients that are zero in
        # exact arithmetic (attention's key bias: softmax ignores a shift).
        for name, grad in dense_grads.items():
            assert (chunked_grads[name] - grad).abs().max() <= 1e-4 * grad.abs().max() + 1e-9, name


def test_chunked_loss_applies_only_past_one_chunk(sparse):
    """As many masked positions as `chunked_loss_rows` or fewer: the plain head runs and `logits` is returned; so
    it is without labels, and without `sparse_prediction`."""
    model = sparse
    input_ids, mask = padded_batch(seed=10)
    labels = masked_labels(input_ids, mask)  # 4 masked positions
    ids = dict(lang_ids=torch.tensor([1, 2, 3]), script_ids=torch.tensor([4, 5, 6]))
    try:
        with torch.no_grad():
            model.config.chunked_loss_rows = 4
            assert model(input_ids, attention_mask=mask, labels=labels, **ids).logits.shape == (4, VOCAB)
            model.config.chunked_loss_rows = 3
            assert model(input_ids, attention_mask=mask, labels=labels, **ids).logits is None
            assert model(input_ids, attention_mask=mask, **ids).logits.shape == (3, 9, VOCAB)
            model.config.sparse_prediction = False
            assert model(input_ids, attention_mask=mask, labels=labels, **ids).logits.shape == (3, 9, VOCAB)
    finally:
        model.config.chunked_loss_rows = None


@pytest.mark.parametrize("rows", [0, -3])
def test_a_chunk_of_no_rows_is_refused_in_one_line(rows):
    with pytest.raises(ValueError, match=rf"`chunked_loss_rows` is {rows}: give the masked positions per chunk"):
        tiny_config(chunked_loss_rows=rows)


def test_chunked_loss_falls_back_to_the_plain_head_on_a_torch_without_it(sparse, monkeypatch):
    """The remote code runs on older torch too: without `nn.LinearCrossEntropyOptions` the plain head runs."""
    from torch import nn

    model = sparse
    input_ids, mask = padded_batch(seed=10)
    labels = masked_labels(input_ids, mask)
    ids = dict(lang_ids=torch.tensor([1, 2, 3]), script_ids=torch.tensor([4, 5, 6]))
    with torch.no_grad():
        plain = model(input_ids, attention_mask=mask, labels=labels, **ids)  # chunked_loss_rows None: the plain head
    monkeypatch.delattr(nn, "LinearCrossEntropyOptions")
    monkeypatch.setattr(model.config, "chunked_loss_rows", 1)
    with torch.no_grad():
        out = model(input_ids, attention_mask=mask, labels=labels, **ids)
    assert out.logits.shape == (4, VOCAB) and torch.equal(out.logits, plain.logits)
    torch.testing.assert_close(out.loss, plain.loss, rtol=0, atol=0)  # the same head and loss, not an approximation


def test_stock_xlmr_loss_is_ours_with_zero_tables(model):
    """With the tables zeroed our labelled forward (dense and sparse) is transformers' XLMRobertaForMaskedLM's."""
    input_ids, mask = padded_batch(seed=18)
    labels = masked_labels(input_ids, mask, seed=19)
    stock = stock_copy(model)
    zeroed = LangSAMPForMaskedLM(model.config).eval()
    zeroed.load_state_dict(model.state_dict())
    with torch.no_grad():
        for table in (
            zeroed.language_script_embeddings.language_embeddings,
            zeroed.language_script_embeddings.script_embeddings,
        ):
            table.weight.zero_()
        theirs = stock(input_ids, attention_mask=mask, labels=labels)
        ours = zeroed(
            input_ids,
            attention_mask=mask,
            labels=labels,
            lang_ids=torch.tensor([1, 2, 3]),
            script_ids=torch.tensor([4, 5, 6]),
        )
        zeroed.config = type(model.config)(**{**model.config.to_dict(), "sparse_prediction": True})
        ours_sparse = zeroed(
            input_ids,
            attention_mask=mask,
            labels=labels,
            lang_ids=torch.tensor([1, 2, 3]),
            script_ids=torch.tensor([4, 5, 6]),
        )
    assert ours.logits.shape == theirs.logits.shape and (ours.logits - theirs.logits).abs().max().item() < 1e-5
    assert (
        abs(ours.loss.item() - theirs.loss.item()) < 1e-6 and abs(ours_sparse.loss.item() - theirs.loss.item()) < 1e-6
    )


@pytest.mark.parametrize("sparse_prediction", [False, True])
def test_gradients_reach_tables_only_through_masked_positions(model, sparse_prediction):
    model.config.sparse_prediction = sparse_prediction
    input_ids, mask = padded_batch(seed=11)
    labels = torch.full_like(input_ids, -100)
    labels[0, 2], labels[0, 5] = input_ids[0, 2], input_ids[0, 5]  # only the first example is masked
    lang = torch.tensor([10, 20, 30])[:, None].repeat(1, input_ids.shape[1])
    script = torch.tensor([1, 2, 3])[:, None].repeat(1, input_ids.shape[1])
    lang[0, 3] = 40  # an unmasked position of the masked example, with ids of its own
    script[0, 3] = 4
    model.zero_grad()
    model(input_ids, attention_mask=mask, labels=labels, lang_ids=lang, script_ids=script).loss.backward()
    tables = model.language_script_embeddings
    lang_grad, script_grad = tables.language_embeddings.weight.grad, tables.script_embeddings.weight.grad
    assert lang_grad.abs().sum(dim=1).nonzero().flatten().tolist() == [10]
    assert script_grad.abs().sum(dim=1).nonzero().flatten().tolist() == [1]
    assert model.roberta.embeddings.word_embeddings.weight.grad is not None
    model.zero_grad()
    model.config.sparse_prediction = False


def test_no_masked_token_gives_a_finite_zero_loss(sparse):
    """Sparse only: the stock (dense) contract gives NaN there, as transformers' XLM-R does."""
    model = sparse
    input_ids, mask = padded_batch(seed=12)
    labels = torch.full_like(input_ids, -100)
    model.zero_grad()
    out = model(
        input_ids,
        attention_mask=mask,
        labels=labels,
        lang_ids=torch.tensor([1, 2, 3]),
        script_ids=torch.tensor([1, 2, 3]),
    )
    assert torch.isfinite(out.loss) and out.loss.item() == 0.0
    assert out.logits.shape == (0, VOCAB)
    out.loss.backward()  # the graph stays intact (DDP needs every parameter to take part)
    grad = model.language_script_embeddings.language_embeddings.weight.grad
    assert grad is not None and grad.abs().sum().item() == 0.0
    model.zero_grad()


def test_tuple_output(model):
    input_ids, mask = padded_batch(seed=13)
    labels = masked_labels(input_ids, mask, seed=14)
    ids = dict(lang_ids=torch.tensor([1, 2, 3]), script_ids=torch.tensor([4, 5, 6]))
    with torch.no_grad():
        loss, logits = model(input_ids, attention_mask=mask, labels=labels, return_dict=False, **ids)[:2]
        out = model(input_ids, attention_mask=mask, labels=labels, **ids)
    assert torch.equal(loss, out.loss) and torch.equal(logits, out.logits)


# ---------------------------------------------------------------------------- the encoder never sees the ids


def test_encoder_states_do_not_depend_on_ids(model):
    input_ids, mask = padded_batch(seed=15)
    with torch.no_grad():
        a = model(
            input_ids,
            attention_mask=mask,
            lang_ids=torch.tensor([1, 2, 3]),
            script_ids=torch.tensor([1, 2, 3]),
            output_hidden_states=True,
        )
        b = model(
            input_ids,
            attention_mask=mask,
            lang_ids=torch.tensor([500, 9, 0]),
            script_ids=torch.tensor([29, 0, 7]),
            output_hidden_states=True,
        )
    assert len(a.hidden_states) == model.config.num_hidden_layers + 1
    for x, y in zip(a.hidden_states, b.hidden_states):
        assert torch.equal(x, y)
    assert not torch.allclose(a.logits, b.logits)


def test_bare_encoder_is_the_xlmr_encoder(model):
    input_ids, mask = padded_batch(seed=16)
    encoder = LangSAMPModel(model.config, add_pooling_layer=False).eval()
    missing, unexpected = encoder.load_state_dict(
        {k.removeprefix("roberta."): v for k, v in model.state_dict().items() if k.startswith("roberta.")}
    )
    assert not missing and not unexpected
    assert not any("language" in name or "script" in name for name, _ in encoder.named_parameters())
    with torch.no_grad():
        states = encoder(input_ids, attention_mask=mask).last_hidden_state
        stock = stock_copy(model).roberta(input_ids, attention_mask=mask).last_hidden_state
    assert (states - stock).abs().max().item() < 1e-6


@pytest.mark.parametrize("head_class", (LangSAMPModel, *HEADS), ids=lambda c: c.__name__)
def test_heads_accept_and_ignore_ids(head_class, model):
    config = tiny_config(num_labels=2)  # QA needs exactly 2 (start, end)
    torch.manual_seed(0)
    head = head_class(config).eval()
    input_ids, mask = padded_batch(seed=17)
    if head_class is LangSAMPForMultipleChoice:
        input_ids, mask = input_ids[None], mask[None]  # [batch=1, choices=3, seq]
    ids = dict(lang_ids=torch.full(input_ids.shape, 4), script_ids=torch.full(input_ids.shape, 19))
    with torch.no_grad():
        plain = head(input_ids=input_ids, attention_mask=mask)
        with_ids = head(input_ids=input_ids, attention_mask=mask, **ids)
        other_ids = head(
            input_ids=input_ids,
            attention_mask=mask,
            lang_ids=torch.zeros_like(input_ids),
            script_ids=torch.zeros_like(input_ids),
        )
    for key in plain.keys():
        assert torch.equal(plain[key], with_ids[key]) and torch.equal(plain[key], other_ids[key])
    assert not any("language" in name or "script_emb" in name for name, _ in head.named_parameters())
    names = inspect.signature(head.forward).parameters
    targets = ("start_positions", "end_positions") if head_class is LangSAMPForQuestionAnswering else ("labels",)
    targets = () if head_class is LangSAMPModel else targets
    for name in ("input_ids", "attention_mask", "lang_ids", "script_ids") + targets:
        assert name in names, f"{head_class.__name__}.forward does not name {name}: the Trainer would drop it"


def test_masked_lm_signature_names_the_trainer_columns():
    names = inspect.signature(LangSAMPForMaskedLM.forward).parameters
    for name in ("input_ids", "attention_mask", "labels", "lang_ids", "script_ids"):
        assert name in names


def test_trainer_keeps_id_columns(tmp_path):
    """The Trainer's own column filter (remove_unused_columns) keeps our keyword-only id columns for every class:
    it drops the columns of a dataset that `forward`'s signature does not name."""
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    args = TrainingArguments(tmp_path, report_to=[], use_cpu=True)
    columns = {
        "input_ids": [[0, 5, 2]],
        "attention_mask": [[1, 1, 1]],
        "lang_ids": [3],
        "script_ids": [4],
        "labels": [1],
        "text": ["x"],
    }
    for head_class in (LangSAMPForMaskedLM, *HEADS):
        trainer = Trainer(model=head_class(tiny_config(num_hidden_layers=1, num_labels=2)), args=args)
        kept = trainer._remove_unused_columns(Dataset.from_dict(columns)).column_names
        assert {"input_ids", "attention_mask", "lang_ids", "script_ids"} <= set(kept) and "text" not in kept, head_class


@pytest.mark.parametrize(
    "ours, theirs",
    [(LangSAMPForMaskedLM, XLMRobertaForMaskedLM)]
    + [(head, getattr(__import__("transformers"), head.__name__.replace("LangSAMP", "XLMRoberta"))) for head in HEADS],
    ids=lambda c: c.__name__,
)
def test_forward_keeps_xlmr_positional_order_and_kwargs_typing(ours, theirs):
    """XLM-R's positional parameters, in XLM-R's order, then the ids keyword-only: a positional call written for
    XLM-R passes the same tensors here. `**kwargs` is XLM-R's `Unpack[TransformersKwargs]` (transformers reads
    `output_attentions` support from it)."""
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    mine, stock = inspect.signature(ours.forward).parameters, inspect.signature(theirs.forward).parameters
    assert [n for n, p in mine.items() if p.kind in positional] == [n for n, p in stock.items() if p.kind in positional]
    assert mine["lang_ids"].kind is mine["script_ids"].kind is inspect.Parameter.KEYWORD_ONLY
    assert mine["kwargs"].annotation == stock["kwargs"].annotation and "output_attentions" in str(
        mine["kwargs"].annotation.__args__[0].__annotations__
    )


def test_positional_call_means_what_it_means_for_xlmr(model):
    """`model(input_ids, attention_mask, token_type_ids, position_ids)` as for XLM-R: shifted position ids change
    the logits exactly as they change the stock model's (were the 3rd/4th slots the ids, they would not)."""
    input_ids, mask = padded_batch(seed=20)
    positions = torch.arange(2, 2 + input_ids.shape[1]).expand(3, -1) + 1
    stock = stock_copy(model)
    disabled = LangSAMPForMaskedLM(tiny_config(use_lang_embedding=False, use_script_embedding=False)).eval()
    disabled.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("language_script")})
    with torch.no_grad():
        ours = disabled(input_ids, mask, torch.zeros_like(input_ids), positions).logits
        theirs = stock(input_ids, mask, torch.zeros_like(input_ids), positions).logits
        default = stock(input_ids, mask).logits
    assert (ours - theirs).abs().max().item() < 1e-5 and (theirs - default).abs().max().item() > 1e-3


# ------------------------------------------------------------------------------------ default language (X-MOD)


def test_default_language_fills_missing_ids(model, tmp_path):
    """With `set_default_language`, a call without ids is the call with that language's row and its default
    script's row (from the tokenizer's own lookup); ids given explicitly still win; the default is saved."""
    from langsamp_codes import default_script

    input_ids, mask = padded_batch(seed=21)
    languages, scripts = model.config.languages, model.config.scripts
    hin, deva = languages.index("hin"), scripts.index(default_script("hin"))
    assert default_script("hin") == "Deva"
    try:
        model.set_default_language("hi")
        assert (model.config.default_language, model.config.default_script) == ("hin", "Deva")
        with torch.no_grad():
            implicit = model(input_ids, attention_mask=mask).logits
            explicit = model(
                input_ids, attention_mask=mask, lang_ids=torch.tensor([hin] * 3), script_ids=torch.tensor([deva] * 3)
            ).logits
            other = model(
                input_ids, attention_mask=mask, lang_ids=torch.tensor([1, 2, 3]), script_ids=torch.tensor([4, 5, 6])
            ).logits
            reference = model(
                input_ids, attention_mask=mask, lang_ids=torch.tensor([1, 2, 3]), script_ids=torch.tensor([4, 5, 6])
            )
        assert torch.equal(implicit, explicit) and not torch.allclose(other, implicit)
        model.set_default_language("srp_Latn")  # a Glot500 label fixes the script
        assert (model.config.default_language, model.config.default_script) == ("srp", "Latn")
        model.set_default_language("hin", script="latn")  # an explicit script wins
        assert (model.config.default_language, model.config.default_script) == ("hin", "Latn")
        with pytest.raises(ValueError, match="`script_ids` is required"):  # one id given: the other is not guessed
            model(input_ids, attention_mask=mask, lang_ids=torch.tensor([1, 2, 3]))
        model.save_pretrained(tmp_path)
    finally:
        model.config.default_language = model.config.default_script = None
    assert torch.equal(other, reference.logits)
    reloaded = LangSAMPForMaskedLM.from_pretrained(tmp_path)
    assert (reloaded.config.default_language, reloaded.config.default_script) == ("hin", "Latn")


@pytest.mark.parametrize(
    "code, script, message",
    [
        ("xyz", None, r"Unknown language 'xyz'"),
        ("klingon", None, r"'klingon' is not a language code"),
        ("hin", "Qaaa", r"Default script 'Qaaa'.*not among the model's scripts"),
    ],
)
def test_set_default_language_rejects_unknown_codes(model, code, script, message):
    with pytest.raises(ValueError, match=message):
        model.set_default_language(code, script=script)
    assert model.config.default_language is None and model.config.default_script is None  # nothing half-set


def test_config_rejects_a_default_outside_the_inventory():
    with pytest.raises(ValueError, match=r"`default_language` is 'xyz'"):
        tiny_config(default_language="xyz")
    with pytest.raises(ValueError, match=r"`default_script` is 'Qaaa'"):
        tiny_config(default_language="hin", default_script="Qaaa")


# --------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "ids, message",
    [
        (dict(script_ids=torch.tensor([1, 2, 3])), r"`lang_ids` is required.*tokenizer"),
        (dict(lang_ids=torch.tensor([1, 2, 3])), r"`script_ids` is required.*tokenizer"),
        (dict(lang_ids=torch.tensor([1, 2]), script_ids=torch.tensor([1, 2, 3])), r"`lang_ids` has shape \(2,\)"),
        (
            dict(lang_ids=torch.tensor([1, 2, 3]), script_ids=torch.ones(3, 4, dtype=torch.long)),
            r"`script_ids` has shape \(3, 4\)",
        ),
        (
            dict(lang_ids=torch.ones(3, 9, 1, dtype=torch.long), script_ids=torch.tensor([1, 2, 3])),
            r"`lang_ids` has shape \(3, 9, 1\)",
        ),
        (dict(lang_ids=torch.tensor([1, -1, 3]), script_ids=torch.tensor([1, 2, 3])), r"`lang_ids` holds -1.*0\.\.609"),
        (
            dict(lang_ids=torch.tensor([1, 610, 3]), script_ids=torch.tensor([1, 2, 3])),
            r"`lang_ids` holds 610.*0\.\.609",
        ),
        (
            dict(lang_ids=torch.tensor([1, 2, 3]), script_ids=torch.tensor([30, 2, 3])),
            r"`script_ids` holds 30.*0\.\.29",
        ),
        (
            dict(lang_ids=torch.tensor([1.0, 2.0, 3.0]), script_ids=torch.tensor([1, 2, 3])),
            r"`lang_ids` must hold integer ids.*float",
        ),
        (
            dict(lang_ids=torch.tensor([1, 2, 3]), script_ids=torch.tensor([True, False, True])),
            r"`script_ids` must hold integer ids.*bool",
        ),
    ],
)
def test_bad_ids_raise_value_error(model, ids, message):
    input_ids, mask = padded_batch(seed=18)
    with pytest.raises(ValueError, match=message):
        model(input_ids, attention_mask=mask, **ids)


def test_labels_of_another_shape_raise(model):
    input_ids, mask = padded_batch(seed=19)
    ids = dict(lang_ids=torch.tensor([1, 2, 3]), script_ids=torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match=r"`labels` has shape \(3, 8\)"):
        model(input_ids, attention_mask=mask, labels=input_ids[:, :8], **ids)


def test_missing_input_raises(model):
    with pytest.raises(ValueError, match="input_ids"):
        model(lang_ids=torch.tensor([1]), script_ids=torch.tensor([1]))
    with pytest.raises(ValueError, match=r"\[batch, seq\]"):
        model(torch.tensor([0, 5, 2]), lang_ids=torch.tensor([1]), script_ids=torch.tensor([1]))


# ------------------------------------------------------------------------------------ reading the tables


def test_language_and_script_embeddings_by_code(model):
    languages, scripts = model.config.languages, model.config.scripts
    table = model.language_script_embeddings.language_embeddings.weight
    hin = table[languages.index("hin")]
    for code in ("hin", "hi", "hin_Deva", "HIN", "hi-IN"):
        assert torch.equal(model.language_embedding(code), hin), code
    many = model.language_embedding(["eng", "hin", "zho"])
    assert many.shape == (3, model.config.hidden_size)
    assert torch.equal(many, table[[languages.index(c) for c in ("eng", "hin", "zho")]])
    assert not model.language_embedding("hin").requires_grad  # a read, not a handle into training
    deva = model.language_script_embeddings.script_embeddings.weight[scripts.index("Deva")]
    assert torch.equal(model.script_embedding("Deva"), deva)
    assert torch.equal(model.script_embedding(["Latn", "Deva"])[1], deva)
    with pytest.raises(
        ValueError, match=r"Unknown language 'xyz'.*No known code is close to it; `tokenizer.languages`"
    ):
        model.language_embedding("xyz")
    with pytest.raises(ValueError, match=r"'hindi' is not a language code"):
        model.language_embedding("hindi")
    with pytest.raises(ValueError, match=r"Unknown language 'hni'.*hin"):
        model.language_embedding("hni")
    with pytest.raises(ValueError, match="'Cher'"):
        model.script_embedding("Cher")
    disabled = LangSAMPForMaskedLM(tiny_config(use_lang_embedding=False, num_hidden_layers=1))
    with pytest.raises(ValueError, match="use_lang_embedding"):
        disabled.language_embedding("hin")


# ------------------------------------------------------------------------------------------------ resizing


def test_resize_token_embeddings(tmp_path):
    torch.manual_seed(2)
    model = LangSAMPForMaskedLM(tiny_config(num_hidden_layers=1)).eval()
    randomize_tables(model)
    old_words = model.roberta.embeddings.word_embeddings.weight.detach().clone()
    with torch.no_grad():
        model.lm_head.bias.copy_(torch.randn(VOCAB))
    old_bias = model.lm_head.bias.detach().clone()
    added = 400
    model.resize_token_embeddings(VOCAB + added, mean_resizing=False)

    words = model.roberta.embeddings.word_embeddings.weight
    assert words.shape == (VOCAB + added, 32) and model.config.vocab_size == VOCAB + added
    assert model.lm_head.decoder.weight is words  # still tied
    assert model.lm_head.bias.shape == (VOCAB + added,)
    assert model.lm_head.decoder.bias is model.lm_head.bias
    assert torch.equal(words[:VOCAB], old_words) and torch.equal(model.lm_head.bias[:VOCAB], old_bias)
    new_std = words[VOCAB:].std().item()
    assert abs(new_std - model.config.initializer_range) < 0.003, new_std  # N(0, 0.02) as in the paper

    input_ids = torch.tensor([[0, VOCAB + 5, 17, VOCAB + added - 1, 2]])
    labels = torch.full_like(input_ids, -100)
    labels[0, 2] = VOCAB + 7  # a new piece as a target
    ids = dict(lang_ids=torch.tensor([3]), script_ids=torch.tensor([19]))
    with torch.no_grad():
        logits = model(input_ids, **ids).logits
        loss = model(input_ids, labels=labels, **ids).loss
    assert logits.shape == (1, 5, VOCAB + added) and torch.isfinite(loss)

    model.save_pretrained(tmp_path)
    loaded, info = LangSAMPForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    loaded.eval()
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys"))
    assert loaded.config.vocab_size == VOCAB + added
    assert loaded.lm_head.decoder.weight is loaded.roberta.embeddings.word_embeddings.weight
    with torch.no_grad():
        assert torch.equal(loaded(input_ids, **ids).logits, logits)
