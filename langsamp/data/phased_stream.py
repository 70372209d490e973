"""The streaming build of a run with schedules (schedule.py): one generator that keeps a chunk stream per pair
(chunking.py's `generate_chunks`, the unscheduled streaming path's code) and gives row i of step s = i //
rows_per_step from the pair a Generator seeded with (seed, s) draws at the phase's probabilities over the pairs that
have joined, with the phase's masking rate. A step's pairs follow from the step alone, and the stream is the same on
every pass, so a resumed run (the Trainer re-reads the stream and skips what it trained on) reads the same rows.

The held-out chunks are the first rows of the stream; the training stream skips every copy of them inside each
pair's chunk stream (not as rows), so row i stays in step i // rows_per_step."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
from datasets import Features, IterableDataset, Value

from langsamp.data.cache import SharedTokenizer
from langsamp.data.chunking import CHUNK_FEATURES, RowSource, SharedSources, StreamSource, generate_chunks
from langsamp.data.dedup import LineRules
from langsamp.data.estimates import PairSizes
from langsamp.data.held_out import split_held_out
from langsamp.data.mixture import STREAM_LINES_NOTE, PairMixture
from langsamp.data.phased import MASK_RATE, PhasedRun, phase_record
from langsamp.data.schedule import Phase, RunSchedule


@dataclass(frozen=True)
class StreamPlan:
    """What the generator needs besides the sources: the pairs in source order, the phases and their masking rates,
    the rows of a step, the seed, and the chunks (token tuples) the training stream skips."""

    labels: tuple[str, ...]
    phases: tuple[Phase, ...]
    rates: tuple[float, ...]
    rows_per_step: int
    seed: int
    skip: frozenset = frozenset()

    def __deepcopy__(self, memo):  # read-only: datasets' copies of the generator's arguments can share it
        return self

    @property
    def total_steps(self) -> int:
        return self.phases[-1].end

    def phase_of(self, step: int) -> int:
        return max(i for i, phase in enumerate(self.phases) if phase.first <= step)


def step_pairs(plan: StreamPlan, step: int) -> np.ndarray:
    """The pair (an index into `plan.labels`) of each row of `step`: drawn by a Generator seeded with (seed, step)
    from the pairs of the step's phase at its probabilities."""
    phase = plan.phases[plan.phase_of(step)]
    joined = [i for i, label in enumerate(plan.labels) if label in phase.probabilities]
    probabilities = np.asarray([phase.probabilities[plan.labels[i]] for i in joined], dtype=np.float64)
    rng = np.random.default_rng([plan.seed, step])
    return np.asarray(joined)[rng.choice(len(joined), size=plan.rows_per_step, p=probabilities / probabilities.sum())]


def drawn_rows(plan: StreamPlan) -> list[dict[str, int]]:
    """The rows each phase draws from each of its pairs (what the model card and the log report)."""
    counts = []
    for phase in plan.phases:
        drawn = np.zeros(len(plan.labels), dtype=np.int64)
        for step in range(phase.first, phase.end):
            drawn += np.bincount(step_pairs(plan, step), minlength=len(plan.labels))
        counts.append({label: int(drawn[i]) for i, label in enumerate(plan.labels) if label in phase.probabilities})
    return counts


def endless_chunks(pair: int, sources: SharedSources, tokenizer: SharedTokenizer, plan: StreamPlan, length: int):
    """One pair's chunks, from its start again at its end, less the held-out ones."""
    while True:
        found = False
        for row in generate_chunks([pair], sources, tokenizer, length):
            if tuple(row["input_ids"]) not in plan.skip:
                found = True
                yield row
        if not found:
            raise ValueError(
                f"Holding out chunks for the held-out loss leaves no chunk of {plan.labels[pair]}: lower "
                "--max_eval_samples (0 disables it), or give that pair more text."
            )


def generate_phased(
    shards: Sequence[int], sources: SharedSources, tokenizer: SharedTokenizer, plan: StreamPlan, max_seq_length: int
) -> Iterator[dict]:
    """IterableDataset generator: the run's rows in step order (module doc); `shards` is the one shard [0]."""
    streams: dict[int, Iterator[dict]] = {}
    for step in range(plan.total_steps):
        rate = plan.rates[plan.phase_of(step)]
        for pair in step_pairs(plan, step).tolist():
            if pair not in streams:
                streams[pair] = endless_chunks(pair, sources, tokenizer, plan, max_seq_length)
            yield dict(next(streams[pair]), **{MASK_RATE: rate})


def phased_stream(sources: SharedSources, tokenizer, plan: StreamPlan, max_seq_length: int) -> IterableDataset:
    """The scheduled run's rows as one streamed dataset (one shard: the rows' order is the schedule)."""
    features = Features({**CHUNK_FEATURES, MASK_RATE: Value("float64")})
    return IterableDataset.from_generator(
        generate_phased,
        features=features,
        gen_kwargs={
            "shards": [0],
            "sources": sources,
            "tokenizer": SharedTokenizer(tokenizer),
            "plan": plan,
            "max_seq_length": max_seq_length,
        },
    )


def draw_phased_stream(
    sources: Sequence[StreamSource | RowSource],
    sizes: PairSizes,
    tokenizer,
    schedule: RunSchedule,
    *,
    max_seq_length: int,
    rules: LineRules | None = None,
) -> PhasedRun:
    """The scheduled run's streamed rows, held-out chunks and mixture (module doc)."""
    labels = tuple(source.label for source in sources)
    phases = schedule.phases(sizes.sizes)
    rates = tuple(schedule.masking_at(phase) for phase in phases)
    plan = StreamPlan(labels, tuple(phases), rates, schedule.rows_per_step, schedule.seed)
    shared = SharedSources(sources, rules)
    distinct = None if sizes.estimated else sum(sizes.sizes.values())
    streamed = phased_stream(shared, tokenizer, plan, max_seq_length)
    _, held_out = split_held_out(streamed, schedule.held_out_rows, None, distinct)
    if held_out is not None:
        held_out = held_out.remove_columns(MASK_RATE)
        plan = replace(plan, skip=frozenset(tuple(ids) for ids in held_out["input_ids"]))
    drawn = [replace(phase, rows=rows) for phase, rows in zip(phases, drawn_rows(plan))]
    rows = {label: sum(phase.rows.get(label, 0) for phase in drawn) for label in labels}
    mixture = PairMixture(
        list(labels),
        {s.label: s.lang_id for s in sources},
        {s.label: s.script_id for s in sources},
        sizes.sizes,
        {label: rows[label] / (schedule.total_steps * schedule.rows_per_step) for label in labels},
        phases[0].alpha,
        max_seq_length,
        estimated=sizes.estimated,
        samples=rows,
        tokens=sizes.tokens,
        sampling=schedule.sampling,
        phases=[phase_record(phase, rate) for phase, rate in zip(drawn, rates)],
        lines={label: counts.to_dict() for label, counts in sizes.lines.items()},
        lines_note=STREAM_LINES_NOTE if sizes.lines else "",
        read_through=rules.read_through if rules is not None else {},
    )
    return PhasedRun(phased_stream(shared, tokenizer, plan, max_seq_length), held_out, mixture)
