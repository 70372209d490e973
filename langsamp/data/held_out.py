"""The held-out split: the chunks the masked-LM loss is measured on before and after training, kept out of the
training rows, and masked once so that every evaluation scores the same masked positions."""

from __future__ import annotations

import logging

import datasets

from langsamp.data.collator import make_collator

logger = logging.getLogger(__name__)


def split_held_out(
    dataset: datasets.Dataset | datasets.IterableDataset,
    max_eval_samples: int,
    num_proc: int | None = None,
    distinct_chunks: int | None = None,
) -> tuple[datasets.Dataset | datasets.IterableDataset, datasets.Dataset | None]:
    """(train, held-out chunks or None). The held-out chunks are the first rows of the (seeded, shuffled) mixture,
    at most 10% of them; because sampling repeats the chunks of small pairs, every copy of a held-out chunk is
    removed from the training rows, so the held-out loss is measured on text the model never trained on. Given the
    corpus' number of `distinct_chunks`, at most a tenth of THEM is held out too: on a small corpus, where every
    chunk comes back many times, the first 10% of the rows can hold every chunk, and no training row would be left."""
    if max_eval_samples <= 0:
        return dataset, None
    if isinstance(dataset, datasets.IterableDataset):
        rows = list(dataset.take(max_eval_samples))
    else:
        rows = dataset.select(range(min(max_eval_samples, len(dataset) // 10))).to_list()
    unique = {tuple(row["input_ids"]): row for row in rows}
    if distinct_chunks is not None:
        unique = dict(list(unique.items())[: distinct_chunks // 10])
    if not unique:
        logger.warning("Too few chunks to hold some out: no held-out loss before/after.")
        return dataset, None
    held_out = set(unique)

    def not_held_out(batch):
        return [tuple(ids) not in held_out for ids in batch["input_ids"]]

    if isinstance(dataset, datasets.IterableDataset):
        train = dataset.filter(not_held_out, batched=True)
    else:
        train = dataset.filter(
            not_held_out, batched=True, batch_size=1000, num_proc=num_proc, desc="Removing held-out chunks"
        )
        if len(train) == 0:
            raise ValueError(
                f"Holding out {len(unique)} chunk(s) for the held-out loss leaves no training row (the run draws only "
                f"{len(dataset)} rows): lower --max_eval_samples (0 disables it), or give more --max_steps or text."
            )
    return train, datasets.Dataset.from_list(list(unique.values()))


def mask_once(
    chunks: datasets.Dataset, tokenizer, mlm_probability: float, seed: int, batch_size: int = 64
) -> datasets.Dataset:
    """The held-out chunks masked ONCE with a seeded collator, stored with their labels: every evaluation (before and
    after training, and any --eval_strategy evaluation) then scores the same masked positions."""
    collator = make_collator(tokenizer, mlm_probability=mlm_probability, seed=seed)
    rows = []
    for start in range(0, len(chunks), batch_size):
        batch = collator([chunks[i] for i in range(start, min(start + batch_size, len(chunks)))])
        for j in range(len(batch["input_ids"])):
            rows.append({key: value[j].tolist() for key, value in batch.items()})
    return datasets.Dataset.from_list(rows)
