"""Read-only line counts of a corpus of pairs, before any training: how much of each pair repeats
(`langsamp-eval corpus-stats`), and each pair's lines for other read-only passes (`langsamp-eval overlap`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from tqdm.auto import tqdm

from langsamp.data.chunking import StreamSource
from langsamp.data.dedup import BloomFilter, LineCounts, LinePass
from langsamp.data.sources import PairSource, find_pairs

BATCH_LINES = 4096


def corpus_pairs(corpus: str, languages=None, split: str = "train") -> dict[str, PairSource]:
    """{label: PairSource} of a corpus of pairs (a Glot500-c folder, a per-pair snapshot or dataset); ValueError
    for a dataset of text/lang rows, which these read-only passes do not read."""
    sources = find_pairs(corpus, languages, None, None, split)
    if sources is None:
        raise ValueError(
            f"Corpus {corpus!r} is a dataset of text/lang rows: these counts read a corpus of pairs (a Glot500-c "
            "folder, a folder per pair, or a dataset with one config per pair)."
        )
    if not sources:
        raise ValueError(f"Corpus {corpus!r} holds no <lang>_<Script> pairs (languages={languages!r}).")
    return sources


def pair_lines(source: PairSource, cache_dir=None, batch_size: int = BATCH_LINES) -> Iterator[list[str]]:
    """One pair's lines in batches, read lazily (a text file in small batches, a dataset streamed)."""
    return StreamSource(source.label, source, 0, 0, cache_dir).text_batches(batch_size)


def count_duplicates(
    sources: Mapping[str, PairSource], bloom_megabytes: float | None = None, cache_dir=None
) -> tuple[dict[str, LineCounts], dict[str, float]]:
    """({label: LineCounts}, {label: Bloom filter false-positive rate}): each pair's non-blank lines and its
    duplicates (normalised exact; with `bloom_megabytes`, a Bloom filter of that size a pair, as streaming uses,
    whose rates are returned)."""
    counts, rates = {}, {}
    for label, source in tqdm(sources.items(), desc="Counting duplicate lines", unit=" pairs"):
        bloom = BloomFilter.of_megabytes(bloom_megabytes) if bloom_megabytes else None
        lines = LinePass(True, None, bloom)
        for batch in pair_lines(source, cache_dir):
            lines.keep(batch)
        counts[label] = lines.counts
        if bloom is not None:
            rates[label] = bloom.false_positive_rate()
    return counts, rates


def stats_table(counts: Mapping[str, LineCounts], rates: Mapping[str, float] | None = None) -> str:
    """One row a pair (the most repeated first): lines, distinct, duplicates and their share."""
    rates = rates or {}
    header = "| pair | lines | distinct | duplicates | share |" + (" Bloom false-positive rate |" if rates else "")
    lines = [header, "|---|---|---|---|---|" + ("---|" if rates else "")]
    order = sorted(counts, key=lambda label: (-counts[label].duplicates / max(counts[label].lines, 1), label))
    for label in order:
        c = counts[label]
        rate = f" {rates[label]:.2e} |" if label in rates else ""
        lines.append(
            f"| {label} | {c.lines} | {c.kept} | {c.duplicates} | {c.duplicates / max(c.lines, 1):.1%} |{rate}"
        )
    total = LineCounts()
    for c in counts.values():
        total.add(c)
    lines.append(
        f"| all | {total.lines} | {total.kept} | {total.duplicates} | {total.duplicates / max(total.lines, 1):.1%} |"
    )
    return "\n".join(lines)
