"""Mixing the pairs' chunks into the rows training reads, by sampling.py's rule (p_l ~ n_l^alpha by default, n_l the
pair's chunks, or Glot500-c's), and the PairMixture that records what was mixed (for the log and the model card).

What an epoch is (cached): `num_samples` rows (default: as many as the corpus has chunks, or as many as Glot500's
rule writes), of which pair l gets round(num_samples * p_l) (largest-remainder rounding), in a seeded random order.
Inside a pair, chunks are taken in a seeded random permutation; a pair drawn more often than it has chunks starts a
fresh permutation only after all its chunks were used. So with alpha = 1 an epoch is exactly a shuffle of the
corpus, and an under-sampled large pair contributes distinct chunks. `datasets.interleave_datasets` is not used
here: its stopping strategies tie the epoch to the extreme pairs ("first_exhausted" ends when the smallest pair runs
out and never reaches most of the large ones; "all_exhausted" lasts max_l n_l / p_l rows, about 600M index rows for
Glot500-c at alpha 0.3). For a run longer than one epoch, pass `num_samples = max_steps x global batch`: the whole
run is then one draw from the mixture and large pairs keep contributing new chunks.

Streaming: the pairs' chunk streams are mixed as `datasets.interleave_datasets(probabilities=p, seed=seed,
stopping_strategy="all_exhausted")` mixes them, with the same p_l (from estimated sizes, estimates.py). A streaming
epoch ends once every pair has been read through at least once (smaller-than-expected pairs restart meanwhile);
train with `max_steps`. A `shuffle_buffer_size` buffer (default 1000 chunks, seeded, reseeded each epoch by the
Trainer's `set_epoch`) breaks up consecutive chunks of one document.

Everything is deterministic given `seed` (numpy PCG64 and datasets' seeded generators), so a resumed run that
rebuilds the dataset sees the same rows in the same order.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from datasets import Dataset, IterableDataset, interleave_datasets

from langsamp.data.chunking import PairChunks, RowSource, StreamSource, chunk_stream
from langsamp.data.dedup import LineCounts, LineRules, counts_table
from langsamp.data.estimates import PairSizes
from langsamp.data.sampling import default_epoch_size, epoch_indices, mixture_probabilities, sample_counts

logger = logging.getLogger(__name__)

LINES_NOTE = "Lines per pair (normalised: NFC, white space collapsed), before and after dropping, n_l counted after:"
READ_THROUGH_NOTE = (
    "Lines per pair as the stream read them, each pair's first full pass (the pairs read through by this "
    "checkpoint; duplicates found by the Bloom filter, whose false positives count as duplicates):"
)
STREAM_LINES_NOTE = (
    "Lines per pair in the size probe (the first text of each pair), before and after dropping; n_l is estimated "
    "from what the probe kept, so duplicates beyond the probe are not in the estimate. The stream drops lines as "
    "it reads them and logs each pair's counts when it has read the pair through:"
)


@dataclass
class PairMixture:
    """What the build mixed: per pair (label `hin_Deva`), its table rows, its chunk count n_l (estimated when
    streaming without `pair_sizes`), its sampling probability, and the epoch's rows."""

    labels: list
    lang_ids: dict
    script_ids: dict
    sizes: dict
    probabilities: dict
    alpha: float
    max_seq_length: int
    estimated: bool = False
    samples: dict = field(default_factory=dict)  # rows per pair in one (non-streaming) epoch
    tokens: dict = field(default_factory=dict)  # tokens per pair (exact when not estimated)
    sampling: str = "alpha"
    # {label: {"lines", "excluded", "duplicates", "kept"}} when lines were dropped (dedup.py); streaming: the probe's
    lines: dict = field(default_factory=dict)
    lines_note: str = ""
    # streaming: {label: LineCounts} of each pair once the stream has read it through (LineRules.read_through)
    read_through: dict = field(default_factory=dict)
    phases: list = field(default_factory=list)  # a scheduled run's phases (phased.py): steps, alpha, p, rows

    @property
    def num_samples(self) -> int | None:
        return sum(self.samples.values()) if self.samples else None

    def _largest_first(self) -> list[str]:
        return sorted(self.labels, key=lambda label: -self.probabilities[label])

    def summary(self, limit: int = 20) -> str:
        """The mixture for the log: the pairs with the largest shares first (`limit` of them)."""
        kind = "estimated " if self.estimated else ""
        rule = f"alpha={self.alpha}" if self.sampling == "alpha" else f"Glot500-c's sampling (alpha={self.alpha})"
        lines = [f"{len(self.labels)} language-script pairs, chunks of {self.max_seq_length} tokens, {rule}:"]
        order = self._largest_first()
        for label in order[:limit]:
            rows = f", {self.samples[label]} rows/epoch" if self.samples else ""
            lines.append(f"  {label:>10}: {kind}{self.sizes[label]} chunks, p={self.probabilities[label]:.4f}{rows}")
        if len(order) > limit:
            lines.append(f"  ... and {len(order) - limit} more")
        if self.lines:
            lines += [self.lines_note or "Lines per pair:", self.lines_table(limit)]
        return "\n".join(lines)

    def lines_table(self, limit: int = 60) -> str:
        return counts_table({label: LineCounts(**{k: v for k, v in c.items() if k != "kept"})
                             for label, c in self.lines.items()}, limit)  # fmt: skip

    def table(self, limit: int = 60) -> str:
        """The chunks each pair has, its sampling probability and the rows drawn from it, as a Markdown table for
        the model card (the largest shares first; `limit` rows)."""
        drawn = bool(self.samples)
        lines = [
            f"Training mixture: {len(self.labels)} pairs, {self.max_seq_length}-token chunks, {self.sampling} "
            f"sampling (alpha={self.alpha}).",
            "",
            f"| pair | {'estimated chunks' if self.estimated else 'chunks'} | p |" + (" rows drawn |" if drawn else ""),
            "|---|---|---|" + ("---|" if drawn else ""),
        ]
        order = self._largest_first()
        for label in order[:limit]:
            lines.append(
                f"| {label} | {self.sizes[label]} | {self.probabilities[label]:.4f} |"
                + (f" {self.samples[label]} |" if drawn else "")
            )
        if len(order) > limit:
            lines += ["", f"... and {len(order) - limit} more pairs."]
        if self.lines:
            lines += ["", self.lines_note or "Lines per pair:", "", self.lines_table(limit)]
        if self.read_through:
            lines += ["", READ_THROUGH_NOTE, "", counts_table(dict(self.read_through), limit)]
        return "\n".join(lines + self.phases_table(limit))

    def phases_table(self, limit: int = 60) -> list[str]:
        """A scheduled run's phases as Markdown lines: one row per phase and pair (the largest shares first)."""
        if not self.phases:
            return []
        lines = [
            "",
            "Phases:",
            "",
            "| steps | alpha | mlm_probability | pair | p | rows drawn |",
            "|---|---|---|---|---|---|",
        ]
        for phase in self.phases:
            order = sorted(phase["rows"], key=lambda label: -phase["probabilities"][label])
            first, end = phase["steps"]
            for label in order[:limit]:
                lines.append(
                    f"| {first}-{end - 1} | {phase['alpha']:g} | {phase['mlm_probability']:g} | {label} | "
                    f"{phase['probabilities'][label]:.4f} | {phase['rows'][label]} |"
                )
        return lines

    def to_dict(self) -> dict:
        return dict(dataclasses.asdict(self), num_samples=self.num_samples)


def draw_epoch(
    pairs: PairChunks, *, sampling: str = "alpha", alpha: float = 0.3, seed: int = 42, num_samples: int | None = None
) -> tuple[Dataset, PairMixture]:
    """The cached path's rows: `num_samples` rows (default: sampling.py's epoch size) drawn from the pairs' chunks
    (module doc), and the mixture they follow."""
    probabilities = mixture_probabilities(pairs.sizes, sampling, alpha)
    epoch = num_samples or default_epoch_size(pairs.sizes, sampling, alpha)
    counts = sample_counts(probabilities, epoch)
    indices = epoch_indices(
        [pairs.sizes[label] for label in pairs.labels], [counts[label] for label in pairs.labels], seed
    )
    dataset = pairs.chunks.select(indices)
    mixture = PairMixture(
        pairs.labels,
        pairs.lang_ids,
        pairs.script_ids,
        pairs.sizes,
        probabilities,
        alpha,
        pairs.max_seq_length,
        samples=counts,
        tokens=pairs.tokens,
        sampling=sampling,
        **line_fields(pairs),
    )
    logger.info(mixture.summary())
    return dataset, mixture


def line_fields(pairs: PairChunks) -> dict:
    """The PairMixture fields saying which lines the cached build kept and dropped per pair (none without rules)."""
    return {
        "lines": {label: counts.to_dict() for label, counts in pairs.lines.items()},
        "lines_note": LINES_NOTE if pairs.lines else "",
    }


def mix_streams(
    sources: Sequence[StreamSource | RowSource],
    sizes: PairSizes,
    tokenizer,
    max_seq_length: int,
    *,
    sampling: str = "alpha",
    alpha: float = 0.3,
    seed: int = 42,
    shuffle_buffer_size: int = 1000,
    rules: LineRules | None = None,
) -> tuple[IterableDataset, PairMixture]:
    """The streaming path's rows: the pairs' chunk streams (chunking.py) mixed with p_l from their `sizes`, then
    through a seeded shuffle buffer of `shuffle_buffer_size` chunks (0: none), and the mixture they follow."""
    labels = [source.label for source in sources]
    probabilities = mixture_probabilities(sizes.sizes, sampling, alpha)
    chunks = chunk_stream(sources, tokenizer, max_seq_length, rules)
    mixed = interleave_shards(chunks, [probabilities[label] for label in labels], seed)
    if shuffle_buffer_size:
        mixed = mixed.shuffle(seed=seed, buffer_size=shuffle_buffer_size)
    mixture = PairMixture(
        labels,
        {s.label: s.lang_id for s in sources},
        {s.label: s.script_id for s in sources},
        sizes.sizes,
        probabilities,
        alpha,
        max_seq_length,
        estimated=sizes.estimated,
        tokens=sizes.tokens,
        sampling=sampling,
        lines={label: counts.to_dict() for label, counts in sizes.lines.items()},
        lines_note=STREAM_LINES_NOTE if sizes.lines else "",
        read_through=rules.read_through if rules is not None else {},
    )
    logger.info(mixture.summary())
    return mixed, mixture


def interleave_shards(chunks: IterableDataset, probabilities: Sequence[float], seed: int) -> IterableDataset:
    """`interleave_datasets([chunks.shard(n, k) for k in range(n)], probabilities, seed, "all_exhausted")`: the
    same mixture, drawn in the same order, built the way interleave_datasets builds it but from the shards'
    example iterables. Why: every IterableDataset keeps a torch shared-memory file open (its epoch counter), and
    interleave_datasets needs two per pair at once: 1,350 open files while 673 pairs are put together, over the
    usual limit of 1,024. Falls back to interleave_datasets if datasets' internals have moved."""
    shards = range(chunks.num_shards)
    try:
        from datasets.iterable_dataset import RandomlyCyclingMultiSourcesExamplesIterable

        sources = [chunks._ex_iterable.shard_data_sources(num_shards=len(shards), index=k) for k in shards]
        mixed = RandomlyCyclingMultiSourcesExamplesIterable(
            sources,
            generator=np.random.default_rng(seed),
            probabilities=probabilities,
            stopping_strategy="all_exhausted",
        )
        return IterableDataset(mixed, info=chunks.info.copy())
    except (ImportError, AttributeError, TypeError) as error:
        logger.info(
            "Interleaving the pairs with interleave_datasets (%s): one open file per pair while building.", error
        )
        return interleave_datasets(
            [chunks.shard(num_shards=len(shards), index=k) for k in shards],
            probabilities=probabilities,
            seed=seed,
            stopping_strategy="all_exhausted",
        )
