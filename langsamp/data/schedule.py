"""Schedules over a run, as mmBERT's (annealed sampling exponent, languages added in stages, a falling masking rate):
a value that changes at fractions of the run's steps, and the pairs that join at a fraction. Each step's phase, and so
its mixture and masking rate, follows from the step alone (`phase_of(step)`), so a resumed run sees what the
uninterrupted one saw.

`0.7,0.5@0.4,0.3@0.8`: 0.7 from the start, 0.5 from 40% of the steps on, 0.3 from 80% on. Step s (0-based, of T) is
in the last phase whose start fraction f has ceil(f x T) <= s.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from langsamp.data.sampling import mixture_probabilities, sample_counts

_NUMBER = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
_ENTRY = re.compile(rf"^(?P<value>{_NUMBER})(?:@(?P<start>{_NUMBER}))?$")


@dataclass(frozen=True)
class Schedule:
    """(start fraction, value) pairs, the first starting at 0, starts strictly increasing and below 1."""

    phases: tuple[tuple[float, float], ...]

    def value_at(self, step: int, total_steps: int) -> float:
        return self.phases[phase_index([start for start, _ in self.phases], step, total_steps)][1]

    def is_constant(self) -> bool:
        return len(self.phases) == 1


def phase_index(starts: Sequence[float], step: int, total_steps: int) -> int:
    """The index of the phase step `step` (0-based, of `total_steps`) is in."""
    return max(i for i, start in enumerate(starts) if first_step(start, total_steps) <= step)


def first_step(start: float, total_steps: int) -> int:
    return math.ceil(round(start * total_steps, 9))  # 0.4 x 10 is 4.000000000000001 in floats


def parse_schedule(flag: str, text: str | float, low: float, high: float, open_low: bool = False) -> Schedule:
    """The schedule `text` of `flag` (a plain number is a constant one). ValueError, in one line naming the flag and
    the entry, for bad syntax, a value outside [low, high] ((low, high) with `open_low`), a start outside [0, 1), a
    first entry that does not start at 0, or starts not increasing."""
    phases = []
    for entry in str(text).replace(" ", "").split(","):
        match = _ENTRY.match(entry)
        if match is None:
            raise ValueError(f"{flag} {text!r}: {entry!r} is not `value` or `value@fraction` (e.g. `0.7,0.5@0.4`).")
        value, start = float(match["value"]), float(match["start"] or (0 if not phases else -1))
        if start < 0:
            raise ValueError(f"{flag} {text!r}: {entry!r} needs `@fraction`, the fraction of the steps it starts at.")
        if not (low < value <= high if open_low else low <= value <= high):
            bounds = f"({low:g}, {high:g}]" if open_low else f"[{low:g}, {high:g}]"
            raise ValueError(f"{flag} {text!r}: the value {value:g} of {entry!r} is outside {bounds}.")
        if not 0 <= start < 1:
            raise ValueError(f"{flag} {text!r}: {entry!r} starts at {start:g}, outside [0, 1) of the run's steps.")
        if not phases and start != 0:
            raise ValueError(f"{flag} {text!r}: the first value must hold from the start (no `@`, or `@0`).")
        if phases and start <= phases[-1][0]:
            raise ValueError(f"{flag} {text!r}: {entry!r} starts at or before the previous entry: list them in order.")
        phases.append((start, value))
    return Schedule(tuple(phases))


def parse_stages(entries: Iterable[str], labels: Sequence[str]) -> dict[str, float]:
    """{label: the fraction of the steps it joins at} of `--language_stages` entries `pair,pair@fraction` (pairs not
    named join at 0). ValueError in one line for a pair not in the corpus (`labels`), one named twice, a fraction
    outside [0, 1), or no pair left at the start."""
    stages: dict[str, float] = {}
    for entry in entries:
        pairs, sep, start = entry.replace(" ", "").rpartition("@")
        if not sep or not pairs or not re.fullmatch(_NUMBER, start):
            raise ValueError(f"--language_stages {entry!r} is not `pair,pair@fraction` (e.g. `zgh_Tfng,kab_Latn@0.5`).")
        if not 0 <= float(start) < 1:
            raise ValueError(f"--language_stages {entry!r}: {start} is outside [0, 1) of the run's steps.")
        for label in pairs.split(","):
            if label not in labels:
                raise ValueError(f"--language_stages {entry!r}: {label!r} is not a pair of the corpus ({len(labels)}).")
            if label in stages:
                raise ValueError(f"--language_stages: {label!r} is named twice; give each pair one stage.")
            stages[label] = float(start)
    if labels and all(stages.get(label, 0) > 0 for label in labels):
        raise ValueError("--language_stages: every pair joins later; leave some pairs to train from the start.")
    return stages


@dataclass(frozen=True)
class Phase:
    """Steps [first, end) of a run: the pairs drawn, their probabilities and the rows drawn from each."""

    first: int
    end: int
    alpha: float
    probabilities: dict[str, float]
    rows: dict[str, int]


@dataclass(frozen=True)
class RunSchedule:
    """What a scheduled build needs to know of the run: its schedules (sampling exponent, masking rate, the pairs'
    start fractions), its length in steps and rows, the chunks held out, the sampling rule and the seed."""

    alpha: Schedule
    stages: Mapping[str, float]
    masking: Schedule
    total_steps: int
    rows_per_step: int
    held_out_rows: int
    sampling: str = "alpha"
    seed: int = 42

    def phases(self, sizes: Mapping[str, int]) -> list[Phase]:
        """The run's phases over pairs of these sizes (`plan_phases`)."""
        return plan_phases(sizes, self.alpha, self.stages, self.total_steps, self.rows_per_step, self.sampling)

    def masking_at(self, phase: Phase) -> float:
        """The masking rate of the phase's steps (the rate at its first step)."""
        return self.masking.value_at(phase.first, self.total_steps)


def plan_phases(
    sizes: Mapping[str, int],
    alpha: Schedule,
    stages: Mapping[str, float],
    total_steps: int,
    rows_per_step: int,
    sampling: str = "alpha",
) -> list[Phase]:
    """The run's phases (a new one wherever alpha changes or pairs join): per phase the pairs that have joined,
    p_l over them by `sampling` at the phase's alpha, and the rows of its steps shared by largest remainder."""
    starts = sorted(
        {first_step(s, total_steps) for s, _ in alpha.phases} | {first_step(s, total_steps) for s in stages.values()}
    )
    starts = [s for s in starts if s < total_steps]
    phases = []
    for first, end in zip(starts, [*starts[1:], total_steps]):
        joined = {label: n for label, n in sizes.items() if first_step(stages.get(label, 0), total_steps) <= first}
        value = alpha.value_at(first, total_steps)
        probabilities = mixture_probabilities(joined, sampling, value)
        phases.append(
            Phase(first, end, value, probabilities, sample_counts(probabilities, (end - first) * rows_per_step))
        )
    return phases


def scheduled_indices(labels: Sequence[str], sizes: Sequence[int], phases: Sequence[Phase], seed: int) -> np.ndarray:
    """Row indices into the pairs' concatenated chunks, phase after phase: inside a phase the rows in a seeded random
    order; each pair's chunks in seeded permutations that carry on across phases (a fresh one only after the previous
    was used up), so a pair that joins late, or is drawn again, sees distinct chunks first."""
    rng = np.random.default_rng(seed)
    offsets = dict(zip(labels, np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist()))
    size = dict(zip(labels, sizes))
    total = {label: sum(phase.rows.get(label, 0) for phase in phases) for label in labels}
    order = {
        label: np.concatenate([rng.permutation(size[label]) for _ in range(-(-total[label] // size[label]))])
        if total[label]
        else np.empty(0, dtype=np.int64)
        for label in labels
    }
    used = dict.fromkeys(labels, 0)
    indices = []
    for phase in phases:
        sequence = np.repeat(np.arange(len(labels)), [phase.rows.get(label, 0) for label in labels])
        rng.shuffle(sequence)
        for pair in sequence:
            label = labels[pair]
            indices.append(offsets[label] + int(order[label][used[label]]))
            used[label] += 1
    return np.asarray(indices, dtype=np.int64)
