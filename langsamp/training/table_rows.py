"""Rows appended to a trained checkpoint's language and script tables, and where each starts.

A new language (`--new_language_init typology`, the default) starts at the weighted mean of the rows of the k languages
most similar to it among those the checkpoint was trained on (`config.trained_pairs`): URIEL similarity, the mean of
the cosine similarities of the syntactic (`syntax_knn`), genetic (family) and geographic vectors (lang2vec's data),
weights = those similarities over their sum. The table encodes language relationships (the paper's analysis), so a
relative's row is a better start than noise. `random` is the paper's N(0, initializer_range); a language URIEL does not
know falls back to it with a warning. A new script starts at the mean of the trained script rows (`mean`), or random.
Old rows are copied bit for bit at their ids: the old languages' outputs do not change.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

logger = logging.getLogger(__name__)

URIEL_KINDS = ("syntax", "genetic", "geographic")
RECORD_FIELD = "added_rows"  # config.json: {"languages": {code: {"init", "neighbours"}}, "scripts": {code: {"init"}}}


def typology_neighbours(lang: str, candidates: Sequence[str], k: int) -> dict[str, float] | None:
    """{neighbour: weight} of the `k` candidates most URIEL-similar to `lang` (ties by code), weights proportional to
    the similarity and summing to 1. The similarity is the mean over the kinds in which URIEL has a vector for `lang`
    (a zero vector is no data: URIEL has no family for `zgh`); None when it has none, or knows no candidate."""
    from langsamp.evaluation.uriel_similarity import uriel_features

    candidates = [code for code in dict.fromkeys(candidates) if code != lang]
    total, kinds = np.zeros(len(candidates)), 0
    for kind in URIEL_KINDS:
        found, vectors = uriel_features([lang, *candidates], kind)
        if not found or found[0] != lang or len(found) == 1 or not vectors[0].any():
            continue
        norms = np.linalg.norm(vectors, axis=1)
        cosine = vectors[1:] @ vectors[0] / np.where(norms[1:] > 0, norms[1:] * norms[0], 1.0)
        similarity = dict(zip(found[1:], cosine))
        total += [similarity.get(code, np.nan) for code in candidates]
        kinds += 1
    known = [(code, value / kinds) for code, value in zip(candidates, total) if kinds and not np.isnan(value)]
    if not known:
        return None
    best = sorted(known, key=lambda item: (-item[1], item[0]))[:k]
    weights = np.array([max(value, 0.0) for _, value in best])
    weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(best), 1 / len(best))
    return {code: float(weight) for (code, _), weight in zip(best, weights)}


def grown_table(table: nn.Embedding, new_rows: torch.Tensor) -> nn.Embedding:
    """`table` with `new_rows` appended; the old rows copied bit for bit."""
    grown = nn.Embedding(table.num_embeddings + len(new_rows), table.embedding_dim)
    grown = grown.to(device=table.weight.device, dtype=table.weight.dtype)
    with torch.no_grad():
        grown.weight[: table.num_embeddings] = table.weight
        grown.weight[table.num_embeddings :] = new_rows.to(grown.weight)
    return grown


def random_row(table: nn.Embedding, initializer_range: float) -> torch.Tensor:
    return torch.randn(table.embedding_dim, dtype=torch.float32) * initializer_range


def language_rows(
    table: nn.Embedding, old: Sequence[str], new: Sequence[str], trained: Sequence[str], init: str, k: int, std: float
) -> tuple[torch.Tensor, dict]:
    """The new languages' rows (`[len(new), hidden]`) and, per language, how it started."""
    rows, record = [], {}
    trained = [code for code in dict.fromkeys(trained) if code in old]
    for code in new:
        neighbours = typology_neighbours(code, trained, k) if init == "typology" and trained else None
        if init == "typology" and neighbours is None:
            why = "URIEL does not know it" if trained else "the checkpoint records no trained languages"
            logger.warning("New language %r starts random, not by typology: %s.", code, why)
        if neighbours is None:
            rows.append(random_row(table, std))
            record[code] = {"init": "random"}
            continue
        ids = torch.tensor([old.index(c) for c in neighbours])
        weights = torch.tensor(list(neighbours.values()), dtype=torch.float64)
        rows.append((table.weight.detach()[ids].double() * weights[:, None]).sum(0).float())
        record[code] = {"init": "typology", "neighbours": neighbours}
        shown = ", ".join(f"{c} {w:.3f}" for c, w in neighbours.items())
        logger.info("New language %r starts at the weighted mean of its URIEL neighbours: %s.", code, shown)
    return torch.stack(rows) if rows else torch.empty(0, table.embedding_dim), record


def script_rows(
    table: nn.Embedding, old: Sequence[str], new: Sequence[str], trained: Sequence[str], init: str, std: float
) -> tuple[torch.Tensor, dict]:
    """The new scripts' rows: the mean of the trained script rows (all old rows when none is recorded), or random."""
    ids = [old.index(code) for code in dict.fromkeys(trained) if code in old] or list(range(len(old)))
    mean = table.weight.detach()[ids].double().mean(0).float()
    rows = [mean.clone() if init == "mean" else random_row(table, std) for _ in new]
    record = {code: {"init": init} for code in new}
    return torch.stack(rows) if rows else torch.empty(0, table.embedding_dim), record


def grow_tables(model, old: tuple[list[str], list[str]], trained_pairs: Sequence[str] | None, options) -> dict:
    """Appends rows to `model`'s tables for the codes of `model.config`'s inventory beyond `old` (languages,
    scripts), started as `options` says (`new_language_init`, `new_script_init`, `new_language_neighbours`); returns
    the record, also added to `model.config.added_rows`."""
    config, tables = model.config, model.language_script_embeddings
    trained_pairs = list(trained_pairs or [])
    new_languages, new_scripts = config.languages[len(old[0]) :], config.scripts[len(old[1]) :]
    record = {"languages": {}, "scripts": {}}
    std = config.initializer_range
    if tables.language_embeddings is not None and new_languages:
        trained = [pair.split("_")[0] for pair in trained_pairs]
        rows, record["languages"] = language_rows(
            tables.language_embeddings,
            old[0],
            new_languages,
            trained,
            options.new_language_init,
            options.new_language_neighbours,
            std,
        )
        tables.language_embeddings = grown_table(tables.language_embeddings, rows)
    if tables.script_embeddings is not None and new_scripts:
        trained = [pair.split("_")[1] for pair in trained_pairs]
        rows, record["scripts"] = script_rows(
            tables.script_embeddings, old[1], new_scripts, trained, options.new_script_init, std
        )
        tables.script_embeddings = grown_table(tables.script_embeddings, rows)
    previous = getattr(config, RECORD_FIELD, None) or {"languages": {}, "scripts": {}}
    setattr(
        config,
        RECORD_FIELD,
        {kind: {**previous.get(kind, {}), **record[kind]} for kind in ("languages", "scripts")},
    )
    return record


def describe(record: dict | None) -> str | None:
    """The rows a run appended, in one sentence for the model card and the summary; None when none."""
    if not record or not (record.get("languages") or record.get("scripts")):
        return None
    parts = []
    for code, start in record.get("languages", {}).items():
        neighbours = ", ".join(f"{c} {w:.3f}" for c, w in start.get("neighbours", {}).items())
        parts.append(f"{code} ({start['init']}{': ' + neighbours if neighbours else ''})")
    parts += [f"{code} (script, {start['init']})" for code, start in record.get("scripts", {}).items()]
    languages, scripts = len(record.get("languages", {})), len(record.get("scripts", {}))
    return (
        f"Table rows added for {languages} new language(s) and {scripts} new script(s), old rows unchanged: "
        f"{'; '.join(parts)}."
    )
