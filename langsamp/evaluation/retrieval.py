"""Sentence retrieval with the SR-B / SR-T protocol: English queries, mean pooling of `hidden_states[layer]` over all
non-padding tokens (`<s>` and `</s>` included), cosine similarity, top-k accuracy per language."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from langsamp.evaluation.arguments import MIN_LENGTH, check_int, check_top_k
from langsamp.evaluation.corpora import DEFAULT_SOURCE, resolve_language, udhr_parallel_corpus
from langsamp.evaluation.models import checkpoint_config, max_tokens, resolve_model, resolve_tokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

DEFAULT_LAYER = 8  # the paper pools the 8th layer's output for retrieval (hidden_states[8]; [0] is the embeddings)
RETRIEVAL_TOP_K = (1, 10)
MANY_LANGUAGES = 50  # more target languages than this are announced up front, with a rough duration
logger = logging.getLogger(__name__)


def check_layer(model: str | Path | PreTrainedModel, layer: int) -> int:
    """Validate a hidden-state index against the model depth; return it as a non-negative index.

    `model`: a loaded model or a checkpoint path (its config.json is read, the weights are not loaded).
    hidden_states[0] is the embedding output and hidden_states[L] the last of the L layers' outputs.
    """
    if isinstance(model, (str, Path)):
        depth = checkpoint_config(model)["num_hidden_layers"]
    else:
        depth = model.config.num_hidden_layers
    if not isinstance(layer, int) or isinstance(layer, bool) or not -(depth + 1) <= layer <= depth:
        raise ValueError(
            f"Layer {layer!r} is out of range: this model has {depth} layers, so hidden_states has indices 0 "
            f"(the embeddings) to {depth} (the last layer). Pass --layer between 0 and {depth} (or -1 for the last); "
            f"the paper's default {DEFAULT_LAYER} needs a model with at least {DEFAULT_LAYER} layers."
        )
    return layer % (depth + 1)


@torch.no_grad()
def sentence_embeddings(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    layer: int | list[int] = DEFAULT_LAYER,
    batch_size: int = 32,
    max_length: int = 512,
) -> torch.Tensor | dict[int, torch.Tensor]:
    """Mean of `hidden_states[layer]` over all non-padding tokens (`<s>` and `</s>` included), `[len(texts), hidden]`.

    `layer` may also be a list of layers: then {layer: `[len(texts), hidden]`}, from one pass over the texts.
    Texts are batched by length (less padding); the order of the output follows `texts`.
    """
    layers = [check_layer(model, one) for one in (layer if isinstance(layer, (list, tuple)) else [layer])]
    _check_lengths(batch_size, max_length)
    max_length = max_tokens(model, max_length)
    encoder = model.base_model
    device = next(encoder.parameters()).device
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    output = {one: torch.empty(len(texts), model.config.hidden_size) for one in layers}
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        encoded = tokenizer(
            [texts[i] for i in batch], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
        mask = encoded["attention_mask"].to(device)
        states = encoder(
            input_ids=encoded["input_ids"].to(device), attention_mask=mask, output_hidden_states=True
        ).hidden_states
        for one in layers:
            pooled = (states[one] * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            output[one][batch] = pooled.float().cpu()
    return output if isinstance(layer, (list, tuple)) else output[layers[0]]


def _check_lengths(batch_size, max_length):
    check_int("batch_size", batch_size)
    check_int("max_length", max_length, minimum=MIN_LENGTH, why=" (room for <s>, a token and </s>)")


def announce_duration(targets: list[str], n: int, model: str | Path | PreTrainedModel) -> None:
    """Say how long a run over many languages will take before it starts (the bar then counts them down)."""
    if len(targets) <= MANY_LANGUAGES:
        return
    config = checkpoint_config(model) if isinstance(model, (str, Path)) else model.config.to_dict()
    # ~14 s a language for a 12-layer, 768-wide encoder on a 2-core CPU (31 UDHR articles, 512 tokens); cost
    # scales with depth x width^2. A GPU is far faster: no estimate then.
    scale = config.get("num_hidden_layers", 12) * config.get("hidden_size", 768) ** 2 / (12 * 768**2)
    minutes = max(1, round(len(targets) * n / 31 * 14 * scale / 60))
    duration = f"{minutes // 60} h {minutes % 60} min" if minutes >= 90 else f"{minutes} min"
    estimate = "" if torch.cuda.is_available() else f", roughly {duration} on this CPU"
    logger.warning(
        "Retrieval over %d target languages x %d sentences%s; pass --languages (languages=[...]) to test fewer.",
        len(targets),
        n,
        estimate,
    )


def retrieval_accuracy(
    queries: torch.Tensor | np.ndarray,
    candidates: torch.Tensor | np.ndarray,
    top_k: int | tuple[int, ...] = RETRIEVAL_TOP_K,
) -> dict[str, float]:
    """Top-k accuracy of retrieving `candidates[i]` for `queries[i]` by cosine similarity.

    Ties are broken at random, in expectation: with `g` candidates scoring higher than the gold one and `e` others
    scoring equal, the gold is in the top k with probability clip((k - g) / (e + 1), 0, 1). A representation that
    carries no signal (all vectors equal) therefore scores exactly chance, k / n.
    """
    top_k = check_top_k("top_k", top_k)
    queries = F.normalize(torch.as_tensor(queries, dtype=torch.float64), dim=-1)
    candidates = F.normalize(torch.as_tensor(candidates, dtype=torch.float64), dim=-1)
    if queries.shape != candidates.shape:
        raise ValueError(
            f"Queries {tuple(queries.shape)} and candidates {tuple(candidates.shape)} must be aligned one to one."
        )
    similarity = queries @ candidates.T
    gold = similarity.diagonal()[:, None]
    higher = (similarity > gold).sum(1).double()
    equal = (similarity == gold).sum(1).double() - 1
    return {f"top{k}": ((k - higher) / (equal + 1)).clamp(0, 1).mean().item() for k in top_k}


def _check_parallel(corpus, source, languages):
    if not isinstance(corpus, dict) or not corpus:
        raise ValueError("The corpus must be a non-empty dict {language: [aligned sentences]}.")
    source = resolve_language(source, corpus)
    targets = (
        [code for code in corpus if code != source]
        if languages is None
        else [resolve_language(c, corpus) for c in languages]
    )
    targets = [code for code in dict.fromkeys(targets) if code != source]
    if not targets:
        raise ValueError(f"No target language besides the source {source!r}: the corpus has {', '.join(corpus)}.")
    n = len(corpus[source])
    for code in targets:
        if len(corpus[code]) != n:
            raise ValueError(
                f"The corpus is not aligned: {code!r} has {len(corpus[code])} sentences, the source {source!r} has {n}."
            )
    if n < 2:
        raise ValueError(f"The source {source!r} has {n} sentence(s): retrieval needs at least 2 candidates.")
    return source, targets, n


def sentence_retrieval(
    model: str | Path | PreTrainedModel,
    tokenizer: str | Path | PreTrainedTokenizerBase | None = None,
    corpus: dict[str, list[str]] | None = None,
    source: str = DEFAULT_SOURCE,
    languages: list[str] | None = None,
    layer: int | list[int] = DEFAULT_LAYER,
    top_k: int | tuple[int, ...] = RETRIEVAL_TOP_K,
    batch_size: int = 32,
    max_length: int = 512,
) -> dict:
    """SR-B / SR-T: for every target language, each source (English) sentence retrieves its translation among all
    the target's sentences by cosine similarity of mean-pooled `hidden_states[layer]`.

    model: a checkpoint path or a loaded model (any `PreTrainedModel`; its encoder is used). corpus: dict
    language -> aligned sentences; default the UDHR (31 units a language). `layer` may be a list: then the
    result is {layer: result} from one pass over the texts. A result holds `per_language` ({lang: {top1, top10}}),
    `average` (over target languages) and the settings.
    """
    layers = [
        check_layer(model, one) for one in (layer if isinstance(layer, (list, tuple)) else [layer])
    ]  # before loading
    top_k = check_top_k("top_k", top_k)
    _check_lengths(batch_size, max_length)
    default_corpus = corpus is None
    corpus = udhr_parallel_corpus() if default_corpus else corpus
    source, targets, n = _check_parallel(corpus, source, languages)
    if max(top_k) >= n:
        logger.warning(
            "top-%d over %d candidates is 100%% whatever the model: only k < %d tells anything.", max(top_k), n, n
        )
    announce_duration(targets, n, model)
    tokenizer = resolve_tokenizer(tokenizer, model)  # first, while a path still names the checkpoint
    model = resolve_model(model, "encoder")
    model.eval()
    embed = lambda texts: sentence_embeddings(model, tokenizer, texts, layers, batch_size, max_length)  # noqa: E731
    queries = embed(corpus[source])
    per_layer = {one: {} for one in layers}
    for code in tqdm(
        targets, desc=f"retrieval (layer{'s' if len(layers) > 1 else ''} {', '.join(map(str, layers))})", unit="lang"
    ):
        candidates = embed(corpus[code])
        for one in layers:
            per_layer[one][code] = retrieval_accuracy(queries[one], candidates[one], top_k)
    note = f"{n} candidates per language: chance top-k is k/{n}."
    if any(5 * k >= n for k in top_k):  # chance of 20% or more
        note += f" Top-{max(top_k)} over {n} candidates is easy; top-1 is the informative figure."
    results = {
        one: {
            "task": "retrieval",
            "corpus": "udhr" if default_corpus else "custom",
            "source": source,
            "layer": one,
            "candidates": n,
            "per_language": per_language,
            "average": {f"top{k}": float(np.mean([r[f"top{k}"] for r in per_language.values()])) for k in top_k},
            "note": note,
        }
        for one, per_language in per_layer.items()
    }
    return results if isinstance(layer, (list, tuple)) else results[layers[0]]
