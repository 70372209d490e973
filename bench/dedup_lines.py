"""What `--dedup lines` and `--exclude_eval` cost per line, and what the streaming Bloom filter gets wrong.

    python bench/dedup_lines.py [--lines 1000000] [--duplicate_share 0.5] [--bloom_mb 8]

The lines are UDHR paragraphs (all translations) made distinct by a number, then a `--duplicate_share` of them
repeated at random: the exact count is known by construction. Timed, one after the other on the same lines:
  exact       LinePass with the digest set (the cached path); then, in a second pass, its peak memory (tracemalloc)
  bloom       LinePass with a Bloom filter of --bloom_mb (the streaming path): its duplicates against the truth
  exclude     LinePass holding 1,012 evaluation sentences (a FLORES-sized test split), no dedup
Prints lines/s, memory and the Bloom filter's extra drops against its stated false-positive rate.
"""

import argparse
import platform
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langsamp.data.dedup import BloomFilter, LinePass, SentenceIndex  # noqa: E402
from langsamp.evaluation.corpora import udhr_translations  # noqa: E402


def make_lines(total: int, duplicate_share: float, seed: int = 0) -> tuple[list[str], int]:
    rng = random.Random(seed)
    paragraphs = [p for t in udhr_translations().values() for p in t.paragraphs()]
    distinct = int(total * (1 - duplicate_share))
    lines = [f"{paragraphs[i % len(paragraphs)]} {i}" for i in range(distinct)]
    lines += [rng.choice(lines) for _ in range(total - distinct)]
    rng.shuffle(lines)
    return lines, total - distinct


def timed(pass_, lines, batch=4096):
    started = time.perf_counter()
    for start in range(0, len(lines), batch):
        pass_.keep(lines[start : start + batch])
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--duplicate_share", type=float, default=0.5)
    parser.add_argument("--bloom_mb", type=float, default=8.0)
    args = parser.parse_args()
    lines, duplicates = make_lines(args.lines, args.duplicate_share)
    print(
        f"{len(lines):,} lines, {duplicates:,} duplicates by construction; {platform.processor() or platform.machine()}"
    )

    exact = LinePass(True, None)
    seconds = timed(exact, lines)
    assert exact.counts.duplicates == duplicates, exact.counts
    tracemalloc.start()  # a second pass for the memory: tracemalloc slows the pass several times
    timed(LinePass(True, None), lines)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"exact    {len(lines) / seconds:>10,.0f} lines/s  digest set peak {peak / 2**20:,.0f} MB "
          f"({peak / (len(lines) - duplicates):.0f} B a distinct line)")  # fmt: skip

    bloom = BloomFilter.of_megabytes(args.bloom_mb)
    counted = LinePass(True, None, bloom)
    seconds = timed(counted, lines)
    extra = counted.counts.duplicates - duplicates
    rate = bloom.false_positive_rate()
    print(f"bloom    {len(lines) / seconds:>10,.0f} lines/s  {args.bloom_mb:g} MB, {bloom.hashes} hashes, "
          f"{bloom.fill():.2%} full: {extra} new lines dropped as duplicates ({extra / len(lines):.2e} of the lines; "
          f"stated rate when full {rate:.2e})")  # fmt: skip

    sentences = [p for p in udhr_translations(["eng_Latn"])["eng_Latn"].paragraphs()]
    index = SentenceIndex((sentences * 20)[:1012])
    excluding = LinePass(False, index)
    seconds = timed(excluding, lines)
    print(f"exclude  {len(lines) / seconds:>10,.0f} lines/s  ({len(index)} sentences; {excluding.counts.excluded:,} "
          "lines hold one)")  # fmt: skip


if __name__ == "__main__":
    main()
