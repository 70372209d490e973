"""The cached build of a run with schedules (schedule.py): the held-out chunks set aside first, then the rows of every
step drawn phase after phase from the pairs that have joined, at the phase's alpha, each row carrying its phase's
masking rate. Row i belongs to step i // rows_per_step, so a step's mixture follows from the step alone and a resumed
run (sequential sampler) reads the rows the uninterrupted run read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from datasets import Dataset, IterableDataset

from langsamp.data.chunking import PairChunks
from langsamp.data.mixture import PairMixture, line_fields
from langsamp.data.schedule import Phase, RunSchedule, scheduled_indices

MASK_RATE = "mlm_probability"  # the per-row column ResumableMasking reads and drops


@dataclass
class PhasedRun:
    """What the scheduled build gives train.py: the training rows in step order, the held-out chunks (None: too
    few), and the mixture (its `phases` filled in)."""

    train: Dataset | IterableDataset  # streamed: phased_stream.py
    held_out: Dataset | None
    mixture: PairMixture


def set_aside(pairs: PairChunks, count: int, seed: int) -> tuple[PairChunks, Dataset | None]:
    """(the pairs without them, the held-out chunks): `count` chunks of a seeded permutation, at most a tenth of the
    chunks; every chunk with the same tokens is left out of the pool too (held-out text is never trained on)."""
    total = sum(pairs.sizes.values())
    count = min(count, total // 10)
    if count <= 0:
        return pairs, None
    chosen = np.random.default_rng(seed).permutation(total)[:count]
    held_out = pairs.chunks.select(sorted(chosen.tolist()))
    unique = {tuple(ids) for ids in held_out["input_ids"]}
    keep = [tuple(ids) not in unique for ids in pairs.chunks["input_ids"]]
    pool = pairs.chunks.select(np.flatnonzero(keep).tolist())
    owner = np.repeat(np.arange(len(pairs.labels)), [pairs.sizes[label] for label in pairs.labels])[keep]
    sizes = {label: int((owner == i).sum()) for i, label in enumerate(pairs.labels)}
    emptied = [label for label, n in sizes.items() if n == 0]
    if emptied:
        raise ValueError(
            f"Holding out chunks for the held-out loss leaves no chunk of {', '.join(emptied)}: lower "
            "--max_eval_samples (0 disables it), or give those pairs more text."
        )
    kept = PairChunks(
        pool, pairs.labels, sizes, pairs.tokens, pairs.lang_ids, pairs.script_ids, pairs.max_seq_length, pairs.lines
    )
    return kept, held_out


def draw_phased(pairs: PairChunks, schedule: RunSchedule) -> PhasedRun:
    """The scheduled run's rows (module doc)."""
    pool, held_out = set_aside(pairs, schedule.held_out_rows, schedule.seed)
    phases = schedule.phases(pool.sizes)
    indices = scheduled_indices(pool.labels, [pool.sizes[label] for label in pool.labels], phases, schedule.seed)
    rates = np.repeat([schedule.masking_at(p) for p in phases], [p.end - p.first for p in phases])
    train = pool.chunks.select(indices.tolist())
    train = train.add_column(MASK_RATE, np.repeat(rates, schedule.rows_per_step).tolist())
    rows = {label: sum(p.rows.get(label, 0) for p in phases) for label in pool.labels}
    mixture = PairMixture(
        pool.labels,
        pool.lang_ids,
        pool.script_ids,
        pool.sizes,
        {label: rows[label] / len(indices) for label in pool.labels},
        phases[0].alpha,
        pool.max_seq_length,
        samples=rows,
        tokens=pool.tokens,
        sampling=schedule.sampling,
        phases=[phase_record(phase, schedule.masking_at(phase)) for phase in phases],
        **line_fields(pool),
    )
    return PhasedRun(train, held_out, mixture)


def phase_record(phase: Phase, mlm_probability: float) -> dict:
    return {
        "steps": [phase.first, phase.end],
        "alpha": phase.alpha,
        "mlm_probability": mlm_probability,
        "probabilities": dict(phase.probabilities),
        "rows": dict(phase.rows),
    }


def describe_phase(record: dict, limit: int = 8) -> str:
    """One phase for the log: its steps, alpha, masking rate, and the pairs with p and rows (largest first)."""
    first, end = record["steps"]
    order = sorted(record["rows"], key=lambda label: -record["probabilities"][label])
    pairs = ", ".join(
        f"{label} p={record['probabilities'][label]:.3f} ({record['rows'][label]} rows)" for label in order[:limit]
    )
    more = f" and {len(order) - limit} more" if len(order) > limit else ""
    return (
        f"Phase of steps {first}-{end - 1}: alpha={record['alpha']:g}, mlm_probability={record['mlm_probability']:g}, "
        f"{len(order)} pairs: {pairs}{more}."
    )
