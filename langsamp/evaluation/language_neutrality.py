"""Language neutrality per layer (the analysis of the paper's v2): how much of a sentence representation is shared
across languages, and how much still says which language the sentence is in.

For parallel sentences (the same sentence i in every language), each layer's mean-pooled hidden states
(retrieval.sentence_embeddings: the retrieval protocol's pooling) give:

  * cross-language cosine: for a pair of languages (a, b), the mean over i of cos(h_a[i], h_b[i]); per layer the
    mean over all unordered pairs, and the full matrix. Higher = more language-neutral. Because pooled states share a
    common direction (anisotropy), the same mean over NON-parallel pairs (sentence i in a against sentence j != i in b)
    is reported beside it: the gap between the two is what the content shares beyond that direction.
  * language identification probe: a logistic regression (scikit-learn, standardised features) predicting the
    language from a pooled state, cross-validated with folds that keep every parallel unit's translations together
    (so a fold never sees the test sentences' content). Accuracy per layer; lower = more language-neutral; chance
    is 1 / number of languages.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from langsamp.evaluation.corpora import resolve_language, udhr_parallel_corpus
from langsamp.evaluation.models import checkpoint_config, resolve_model, resolve_tokenizer
from langsamp.evaluation.retrieval import check_layer, sentence_embeddings

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

PROBE_FOLDS = 5


def check_neutrality_inputs(
    corpus: dict[str, list[str]],
    languages: list[str] | None = None,
    model: str | Path | PreTrainedModel | None = None,
    layers: list[int] | None = None,
    probe_folds: int | None = PROBE_FOLDS,
    batch_size: int = 32,
    max_length: int = 512,
    seed: int = 0,
) -> tuple[list[str], int, list[int] | None]:
    """Every problem with the inputs, before anything loads: returns (languages, n sentences, layers or None) or raises
    one ValueError naming every bad value. `model`: a checkpoint path or a loaded model (for the layer range)."""
    problems = []
    if not isinstance(corpus, dict) or not corpus:
        raise ValueError("The corpus must be a non-empty dict {language: [aligned sentences]}.")
    chosen = []
    for code in list(corpus) if languages is None else languages:
        try:
            chosen.append(resolve_language(code, corpus))
        except ValueError as error:
            problems.append(str(error).rstrip("."))
    chosen = list(dict.fromkeys(chosen))
    if len(chosen) < 2 and not problems:
        problems.append(f"neutrality compares languages: give at least 2, got {', '.join(chosen) or 'none'}")
    lengths = {code: len(corpus[code]) for code in chosen}
    if len(set(lengths.values())) > 1:
        problems.append(
            "the corpus is not aligned: " + ", ".join(f"{c} has {n}" for c, n in lengths.items()) + " sentences"
        )
    n = min(lengths.values()) if lengths else 0
    if chosen and n < 2:
        problems.append(f"{n} sentence(s) a language: the non-parallel baseline and the probe need at least 2")
    if probe_folds is not None and (
        not isinstance(probe_folds, int) or probe_folds < 2 or (n >= 2 and probe_folds > n)
    ):
        problems.append(f"probe folds {probe_folds!r}: give 2 to the number of parallel sentences ({n}), or no probe")
    if not isinstance(batch_size, int) or batch_size < 1:
        problems.append(f"batch size {batch_size!r}: give a positive integer")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        problems.append(f"seed {seed!r}: give an integer from 0 to 2**32 - 1 (numpy's range)")
    if not isinstance(max_length, int) or max_length < 3:
        problems.append(f"max length {max_length!r}: give at least 3 tokens (<s>, a token and </s>)")
    if model is not None:
        depth = (
            checkpoint_config(model)["num_hidden_layers"]
            if not hasattr(model, "config")
            else model.config.num_hidden_layers
        )
        layers = list(range(depth + 1)) if layers is None else layers
        checked = []
        for layer in layers:
            try:
                checked.append(check_layer(model, layer))
            except ValueError:
                problems.append(
                    f"layer {layer!r} is out of range: this model's hidden_states go from 0 (the embeddings) to {depth}"
                )
        layers = sorted(set(checked))
    if problems:
        raise ValueError("; ".join(problems) + ".")
    return chosen, n, layers


def cross_language_cosine(states: dict) -> dict:
    """states: {language: [n, hidden] pooled states of the same n parallel sentences} -> dict with
    `mean` (over unordered language pairs of the mean parallel cosine), `mean_non_parallel` (the same over
    sentence pairs i != j), `languages` and `matrix` (parallel cosine per pair; 1 on the diagonal)."""
    languages = list(states)
    unit = {
        code: F.normalize(torch.as_tensor(np.asarray(states[code]), dtype=torch.float64), dim=-1) for code in languages
    }
    n = next(iter(unit.values())).shape[0]
    off_diagonal = ~torch.eye(n, dtype=torch.bool)
    matrix = np.eye(len(languages))
    parallel, non_parallel = [], []
    for a in range(len(languages)):
        for b in range(a + 1, len(languages)):
            cosines = unit[languages[a]] @ unit[languages[b]].T  # [i, j] = cos(sentence i in a, sentence j in b)
            matrix[a, b] = matrix[b, a] = cosines.diagonal().mean().item()
            parallel.append(matrix[a, b])
            non_parallel.append(cosines[off_diagonal].mean().item())
    return {
        "mean": float(np.mean(parallel)),
        "mean_non_parallel": float(np.mean(non_parallel)),
        "languages": languages,
        "matrix": matrix.round(6).tolist(),
    }


def language_identification_accuracy(states: dict, folds: int = PROBE_FOLDS, seed: int = 0) -> float:
    """Cross-validated accuracy of a logistic-regression probe that predicts the language of a pooled state.

    Folds split the parallel units (sentence i goes to the same fold in every language): a test sentence's
    translations are never in training. Returns the mean accuracy over all held-out states."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    languages = list(states)
    features = np.concatenate([np.asarray(states[code], dtype=np.float64) for code in languages])
    n = len(states[languages[0]])
    labels = np.repeat(np.arange(len(languages)), n)
    units = np.tile(np.arange(n), len(languages))
    rng = np.random.default_rng(seed)
    groups = rng.permutation(n)[units]  # GroupKFold is deterministic by group size: shuffle which unit is which
    correct = 0
    for train, test in GroupKFold(n_splits=folds).split(features, labels, groups):
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        probe.fit(features[train], labels[train])
        correct += int((probe.predict(features[test]) == labels[test]).sum())
    return correct / len(labels)


def neutrality_from_states(
    states_by_layer: dict[int, dict],
    probe_folds: int | None = PROBE_FOLDS,
    seed: int = 0,
    probe_layers: Collection[int] | None = None,
) -> dict[int, dict]:
    """{layer: {language: [n, hidden]}} -> {layer: {mean, mean_non_parallel, languages, matrix[, lid_accuracy]}}.
    The probe runs at `probe_layers` (default: every layer; ~10 s a layer for 41 languages x 31 units on 2 cores)."""
    result = {}
    for layer, states in states_by_layer.items():
        result[layer] = cross_language_cosine(states)
        if probe_folds and (probe_layers is None or layer in probe_layers):
            result[layer]["lid_accuracy"] = language_identification_accuracy(states, probe_folds, seed)
    return result


def language_neutrality(
    model: str | Path | PreTrainedModel,
    tokenizer: str | Path | PreTrainedTokenizerBase | None = None,
    corpus: dict[str, list[str]] | None = None,
    languages: list[str] | None = None,
    layers: list[int] | None = None,
    probe_folds: int | None = PROBE_FOLDS,
    batch_size: int = 32,
    max_length: int = 512,
    seed: int = 0,
    probe_layers: Collection[int] | None = None,
) -> dict:
    """The neutrality analysis of one checkpoint (a path or a loaded model; its encoder is used) on a parallel corpus
    ({language: [aligned sentences]}; default the UDHR, 31 units a language). layers: hidden_states indices
    (default all, 0 = embeddings). probe_folds: folds of the language-identification probe (None: no probe);
    probe_layers: the layers it runs at (default all of `layers`).

    Returns {"task": "neutrality", "languages", "sentences", "per_layer": {layer: {...}}, "note"}."""
    default_corpus = corpus is None
    corpus = udhr_parallel_corpus() if default_corpus else corpus
    chosen, n, layers = check_neutrality_inputs(
        corpus, languages, model, layers, probe_folds, batch_size, max_length, seed
    )
    tokenizer = resolve_tokenizer(tokenizer, model)  # first, while a path still names the checkpoint
    model = resolve_model(model, "encoder")
    model.eval()
    pooled = {
        code: sentence_embeddings(model, tokenizer, corpus[code], layers, batch_size, max_length) for code in chosen
    }
    per_layer = neutrality_from_states(
        {layer: {code: pooled[code][layer] for code in chosen} for layer in layers}, probe_folds, seed, probe_layers
    )
    note = (
        "Cross-language cosine: mean over language pairs of the cosine of parallel sentences' mean-pooled states "
        "(higher = more language-neutral); non-parallel: the same for different sentences (the shared direction "
        "every state has)."
    )
    if probe_folds:
        note += (
            f" Language-ID probe: {probe_folds}-fold cross-validated logistic regression (lower = more neutral; "
            f"chance {100 / len(chosen):.1f}%)."
        )
    return {
        "task": "neutrality",
        "corpus": "udhr" if default_corpus else "custom",
        "languages": chosen,
        "sentences": n,
        "probe_folds": probe_folds,
        "per_layer": per_layer,
        "note": note,
    }


def neutrality_table(result: dict) -> str:
    """Per layer: cross-language cosine (parallel, non-parallel, gap) and probe accuracy, as a markdown table."""
    from langsamp.evaluation.report import markdown_table

    probe = bool(result.get("probe_folds"))
    header = ["layer", "cosine, parallel", "cosine, non-parallel", "gap"] + (
        ["language-ID probe accuracy, %"] if probe else []
    )
    rows = []
    for layer, one in result["per_layer"].items():
        row = [
            layer,
            f"{one['mean']:.3f}",
            f"{one['mean_non_parallel']:.3f}",
            f"{one['mean'] - one['mean_non_parallel']:.3f}",
        ]
        rows.append(row + ([f"{100 * one['lid_accuracy']:.1f}" if "lid_accuracy" in one else "–"] if probe else []))
    return markdown_table(header, rows)
