"""Masked-LM quality per language on held-out text: masked-token accuracy and perplexity (15% masked at once) and
pseudo-perplexity (every token masked in turn), with the language / script ids from the LangSAMP tokenizer."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm.auto import tqdm

from langsamp.evaluation.arguments import MIN_LENGTH, check_int
from langsamp.evaluation.corpora import resolve_language, udhr_heldout_texts
from langsamp.evaluation.models import is_langsamp_model, max_tokens, resolve_model, resolve_tokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)


def _needs_ids(model):
    tables = getattr(model, "language_script_embeddings", None)
    return tables is not None and (tables.language_embeddings is not None or tables.script_embeddings is not None)


def _masked_log_probs(model, input_ids, attention_mask, selected, lang_ids=None, script_ids=None):
    """Log-probabilities `[n_selected, vocab]` at the `selected` positions (row-major), running the LM head only
    there."""
    if is_langsamp_model(model):  # with labels and sparse_prediction (ModernBERT's switch), the head runs only there
        labels = torch.where(selected, input_ids, torch.full_like(input_ids, -100))
        previous = getattr(model.config, "sparse_prediction", False), getattr(model.config, "chunked_loss_rows", None)
        model.config.sparse_prediction, model.config.chunked_loss_rows = True, None  # the logits are what is read
        try:
            logits = model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                lang_ids=lang_ids,
                script_ids=script_ids,
                labels=labels,
            ).logits
        finally:
            model.config.sparse_prediction, model.config.chunked_loss_rows = previous
    elif hasattr(model, "lm_head"):  # stock XLM-R / RoBERTa: same saving by hand
        hidden = model.base_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        logits = model.lm_head(hidden[selected])
    else:
        logits = model(input_ids=input_ids, attention_mask=attention_mask).logits[selected]
    # float64: over a 250k vocabulary a float32 log-sum-exp loses digits the figures keep
    # (tests/evaluation/test_eval_figures.py checks them against a float64 computation by hand).
    return torch.log_softmax(logits.double(), dim=-1)


def _language_rows(tokenizer, code):
    """Check that the tokenizer can give ids for `code` (a UDHR label like `hin_Deva` or an ISO code)."""
    tokenizer.language_id(code)
    parts = code.split("_")
    if len(parts) == 2 and len(parts[1]) == 4:
        tokenizer.script_id(parts[1])


@torch.no_grad()
def masked_lm_quality(
    model: str | Path | PreTrainedModel,
    tokenizer: str | Path | PreTrainedTokenizerBase | None = None,
    corpus: dict[str, list[str]] | None = None,
    languages: list[str] | None = None,
    mask_probability: float = 0.15,
    mask_rounds: int = 1,
    pseudo_perplexity: bool = True,
    max_sentences: int = 16,
    max_length: int = 128,
    batch_size: int = 32,
    seed: int = 0,
) -> dict:
    """Masked-token accuracy, masked-token perplexity and pseudo-perplexity per language on held-out text.

    masked accuracy / perplexity: `mask_probability` of the non-special tokens (at least one a sentence, fixed
    seed) become `<mask>` at once, as in pretraining; accuracy is the share predicted exactly, perplexity
    exp(mean cross-entropy) over them. `mask_rounds` independent draws are pooled (less noise, one forward per
    sentence and round). pseudo-perplexity (Salazar et al., 2020): every token is
    masked in turn (one copy of the sentence per token, batched) and PPPL = exp(-mean log p(token)); it costs one
    forward per token, hence `max_sentences`. LangSAMP models get each sentence's language / script ids from the
    tokenizer (`lang=<label>`); stock masked LMs need none. Default corpus: the UDHR's held-out articles.
    model: a checkpoint path or a loaded masked LM; tokenizer: default the checkpoint's own (resolve_tokenizer).
    """
    _check_settings(languages, mask_probability, mask_rounds, max_sentences, max_length, batch_size)
    corpus, languages = _texts_to_score(corpus, languages)  # checked before the model loads
    tokenizer = resolve_tokenizer(tokenizer, model)  # first, while a path still names the checkpoint
    model = resolve_model(model, "masked-lm")
    max_length = max_tokens(model, max_length)
    needs_ids = _needs_ids(model)
    if needs_ids:
        _check_id_tokenizer(tokenizer, model)
    chosen, skipped = _scorable_languages(corpus, languages, tokenizer, needs_ids)
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    per_language = {}
    for code in tqdm(chosen, desc="masked LM", unit="lang"):
        sentences = _sentences(tokenizer, corpus[code], code, max_sentences, max_length, needs_ids)
        masking = (mask_probability, mask_rounds, generator)
        result = _masked_figures(model, tokenizer, sentences, masking, batch_size, device, needs_ids)
        if pseudo_perplexity:
            result.update(_pseudo_perplexity(model, tokenizer, sentences, batch_size, device, needs_ids))
        per_language[code] = result
    note = f"Up to {max_sentences} sentences a language, {max_length} tokens each."
    if skipped:
        note += f" {len(skipped)} languages of the corpus are outside the model's inventory and were skipped."
    return {"task": "mlm", "per_language": per_language, "average": _average(per_language), "skipped": skipped,
            "note": note}  # fmt: skip


def _check_settings(languages, mask_probability, mask_rounds, max_sentences, max_length, batch_size):
    if not (0 < mask_probability < 1):
        raise ValueError(f"mask_probability={mask_probability} must be in (0, 1).")
    for name, value in (("mask_rounds", mask_rounds), ("max_sentences", max_sentences), ("batch_size", batch_size)):
        check_int(name, value)
    check_int("max_length", max_length, minimum=MIN_LENGTH, why=" (room for <s>, a token and </s>)")
    if languages is not None and not list(languages):
        raise ValueError("languages=[]: name at least one language, or pass None for all of the corpus.")


def _texts_to_score(corpus, languages):
    """(corpus without languages that have no text, the asked languages as the corpus names them, or None)."""
    corpus = udhr_heldout_texts() if corpus is None else corpus
    if languages is not None:
        languages = [resolve_language(code, corpus) for code in languages]
    asked = corpus if languages is None else languages
    empty = [code for code in asked if not any(str(t).strip() for t in corpus[code])]
    if empty and languages is not None:
        raise ValueError(
            f"Language(s) {', '.join(empty)} have no text in the corpus: nothing to score (give each some sentences)."
        )
    if empty:  # the figures would be NaN and spoil the average
        logger.warning("Skipping %d language(s) with no text in the corpus: %s", len(empty), ", ".join(empty))
        corpus = {code: texts for code, texts in corpus.items() if code not in empty}
    return corpus, languages


def _check_id_tokenizer(tokenizer, model):
    """A model with language / script tables needs a tokenizer that gives their ids, over the same inventories."""
    if not hasattr(tokenizer, "language_id"):
        raise ValueError("This LangSAMP model needs language / script ids: use the LangSAMP tokenizer.")
    languages, scripts = list(getattr(tokenizer, "languages", [])), list(tokenizer.scripts)
    if languages != list(model.config.languages) or scripts != list(model.config.scripts):
        raise ValueError(
            "The tokenizer's language / script inventories differ from the model config's: their ids would not match."
        )


def _scorable_languages(corpus, languages, tokenizer, needs_ids):
    """(languages to score, languages of the corpus skipped): without `languages`, those of the corpus the tokenizer
    has ids for; the asked ones must all have them."""
    skipped = []
    if languages is None:
        chosen = list(corpus)
        if needs_ids:
            kept = []
            for code in chosen:
                try:
                    _language_rows(tokenizer, code)
                    kept.append(code)
                except ValueError:
                    skipped.append(code)
            chosen = kept
    else:
        chosen = list(languages)
        if needs_ids:
            for code in chosen:
                try:
                    _language_rows(tokenizer, code)
                except ValueError as error:
                    raise ValueError(f"Cannot evaluate {code!r} with this model: {error}") from error
    if not chosen:
        raise ValueError("No language of the corpus is in the model's inventory.")
    return chosen, skipped


def _sentences(tokenizer, texts, code, max_sentences, max_length, needs_ids):
    """[(ids, special-token mask, language id, script id)] of up to `max_sentences` texts with a non-special token."""
    texts = [t for t in texts if t.strip()][:max_sentences]
    if needs_ids:
        encoded = tokenizer(texts, lang=code, truncation=True, max_length=max_length)
    else:
        encoded = tokenizer(texts, truncation=True, max_length=max_length)
    special = [tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=True) for ids in encoded["input_ids"]]

    def first_id(key, i):  # one language / script id a sentence
        return encoded[key][i][0] if key in encoded else None

    sentences = [
        (torch.tensor(ids), torch.tensor(spec, dtype=torch.bool), first_id("lang_ids", i), first_id("script_ids", i))
        for i, (ids, spec) in enumerate(zip(encoded["input_ids"], special))
    ]
    return [s for s in sentences if (~s[1]).any()]


def _masked_figures(model, tokenizer, sentences, masking, batch_size, device, needs_ids):
    """Masked-token accuracy and perplexity: several positions masked at once, as in pretraining (all -> <mask>),
    drawn from `masking` = (probability, rounds, generator)."""
    mask_probability, mask_rounds, generator = masking
    correct = total = 0
    log_likelihood = 0.0
    for _ in range(mask_rounds):
        for start in range(0, len(sentences), batch_size):
            chunk = sentences[start : start + batch_size]
            draws = [_draw(ids, spec, mask_probability, generator) for ids, spec, _, _ in chunk]
            batch_ids, batch_mask, batch_sel = _pad_batch([s[0] for s in chunk], draws, tokenizer.pad_token_id)
            gold = batch_ids[batch_sel]
            masked = batch_ids.masked_fill(batch_sel, tokenizer.mask_token_id)
            ids = _id_tensors([s[2] for s in chunk], [s[3] for s in chunk], device, needs_ids)
            log_probs = _masked_log_probs(model, masked.to(device), batch_mask.to(device), batch_sel.to(device), *ids)
            correct += (log_probs.argmax(-1).cpu() == gold).sum().item()
            log_likelihood += log_probs.gather(1, gold.to(device)[:, None]).sum().item()
            total += gold.numel()
    return {
        "masked_accuracy": correct / total if total else float("nan"),
        "masked_perplexity": math.exp(-log_likelihood / total) if total else float("nan"),
        "masked_tokens": total,
    }


def _draw(ids, special, mask_probability, generator):
    """Which tokens of one sentence are masked: each non-special one with `mask_probability`, at least one."""
    draw = (torch.rand(len(ids), generator=generator) < mask_probability) & ~special
    if not draw.any():
        candidates = (~special).nonzero().flatten()
        draw[candidates[torch.randint(len(candidates), (1,), generator=generator)]] = True
    return draw


def _average(per_language):
    """Means over languages; for perplexities also the geometric mean, their natural average."""
    first = next(iter(per_language.values()))
    names = [name for name in ("masked_accuracy", "masked_perplexity", "pseudo_perplexity") if name in first]
    average = {name: float(np.mean([r[name] for r in per_language.values()])) for name in names}
    for name in ("masked_perplexity", "pseudo_perplexity"):
        if name in average:
            average[f"{name}_geomean"] = float(np.exp(np.mean([math.log(r[name]) for r in per_language.values()])))
    return average


def _pad_batch(rows, selections, pad_id):
    length = max(len(r) for r in rows)
    ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    selected = torch.zeros((len(rows), length), dtype=torch.bool)
    for i, (row, sel) in enumerate(zip(rows, selections)):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
        selected[i, : len(row)] = sel
    return ids, mask, selected


def _id_tensors(langs, scripts, device, needs_ids):
    if not needs_ids:
        return None, None
    as_tensor = lambda values: None if values[0] is None else torch.tensor(values, device=device)  # noqa: E731
    return as_tensor(langs), as_tensor(scripts)


def _pseudo_perplexity(model, tokenizer, sentences, batch_size, device, needs_ids):
    """exp(-mean log p(token | sentence with that token masked)) over every non-special token of `sentences`."""
    copies = [
        (index, position)
        for index, (ids, spec, _, _) in enumerate(sentences)
        for position in (~spec).nonzero().flatten().tolist()
    ]
    total_log_prob = 0.0
    for start in range(0, len(copies), batch_size):
        chunk = copies[start : start + batch_size]
        rows, selections, langs, scripts = [], [], [], []
        for index, position in chunk:
            ids, _, lang, script = sentences[index]
            selection = torch.zeros(len(ids), dtype=torch.bool)
            selection[position] = True
            rows.append(ids)
            selections.append(selection)
            langs.append(lang)
            scripts.append(script)
        batch_ids, batch_mask, batch_sel = _pad_batch(rows, selections, tokenizer.pad_token_id)
        gold = batch_ids[batch_sel]
        masked = batch_ids.masked_fill(batch_sel, tokenizer.mask_token_id)
        log_probs = _masked_log_probs(
            model,
            masked.to(device),
            batch_mask.to(device),
            batch_sel.to(device),
            *_id_tensors(langs, scripts, device, needs_ids),
        )
        total_log_prob += log_probs.gather(1, gold.to(device)[:, None]).sum().item()
    return {
        "pseudo_perplexity": math.exp(-total_log_prob / len(copies)) if copies else float("nan"),
        "scored_tokens": len(copies),
    }
