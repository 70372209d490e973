"""Which corpus lines a build keeps: duplicates (`dedup="lines"`) and lines holding an evaluation sentence
(`exclude`) dropped per pair, before tokenizing, so n_l and the sampling probabilities count what is trained on.

A line is compared in its normalised form: Unicode NFC, runs of white space as one space, no leading or trailing
space; a blank line is not a line (it gives no tokens either way). Duplicates are counted WITHIN a pair, the first
occurrence kept. The cached path remembers every line it kept (a 128-bit BLAKE2b digest of it: exact up to a hash
collision, ~2^-64 for 10^9 lines); a stream cannot hold a set that grows with its corpus, so it uses a Bloom filter
of a fixed size a pair, which may drop a line it has not seen (a false positive, at a rate set by how full the
filter is: `BloomFilter.false_positive_rate`) and never keeps a duplicate.

A line holds an evaluation sentence when the sentence's normalised form occurs in it (`SentenceIndex`).
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

DEDUP_MODES = ("lines",)
# Evaluation sentences are found in a line by their first characters (then compared whole); shorter sentences
# ("Yes.") are matched only as a whole line, where a substring match would drop ordinary text.
ANCHOR_CHARS = 12


def normalise_line(text: str | None) -> str:
    """The form lines are compared in: NFC, white space collapsed to single spaces, stripped."""
    if not text:
        return ""
    return " ".join(unicodedata.normalize("NFC", text).split())


def line_digest(line: str) -> bytes:
    return hashlib.blake2b(line.encode("utf-8"), digest_size=16).digest()


class BloomFilter:
    """A Bloom filter of `bits` bits and `hashes` hash functions (double hashing of one BLAKE2b digest), in a
    bytearray (indexing it is several times faster than a numpy array's)."""

    def __init__(self, bits: int, hashes: int = 7):
        if bits < 64 or hashes < 1:
            raise ValueError(f"A Bloom filter needs at least 64 bits and one hash, not {bits} bits, {hashes} hashes.")
        self.bits, self.hashes = int(bits), int(hashes)
        self.array = bytearray((self.bits + 7) // 8)

    def add(self, digest: bytes) -> bool:
        """Add a line's digest; True when it was (probably) there already."""
        h1 = int.from_bytes(digest[:8], "little")
        h2 = int.from_bytes(digest[8:], "little") | 1
        array, bits, seen = self.array, self.bits, True
        for i in range(self.hashes):
            bit = (h1 + i * h2) % bits
            byte, mask = bit >> 3, 1 << (bit & 7)
            if not array[byte] & mask:
                seen = False
                array[byte] |= mask
        return seen

    def fill(self) -> float:
        return int(np.unpackbits(np.frombuffer(self.array, dtype=np.uint8)).sum()) / self.bits

    def false_positive_rate(self) -> float:
        """The chance that a line not seen yet is taken for a duplicate, at the filter's present fill."""
        return self.fill() ** self.hashes

    def capacity(self, rate: float = 0.01) -> int:
        """Distinct lines the filter holds before its false-positive rate reaches `rate`."""
        return int(-self.bits / self.hashes * math.log(1 - rate ** (1 / self.hashes)))

    @classmethod
    def of_megabytes(cls, megabytes: float, hashes: int = 7) -> BloomFilter:
        return cls(int(megabytes * 8 * 2**20), hashes)


class SentenceIndex:
    """The normalised evaluation sentences of one pair, found inside a normalised line by a dictionary of their
    first ANCHOR_CHARS characters (each position of the line looked up once)."""

    def __init__(self, sentences: Iterable[str]):
        self.whole: set[str] = set()
        self.anchored: dict[str, list[str]] = {}
        for sentence in map(normalise_line, sentences):
            if len(sentence) < ANCHOR_CHARS:
                if sentence:
                    self.whole.add(sentence)
            else:
                self.anchored.setdefault(sentence[:ANCHOR_CHARS], []).append(sentence)

    def __len__(self) -> int:
        return len(self.whole) + sum(len(group) for group in self.anchored.values())

    def held_by(self, line: str) -> bool:
        """Whether the normalised `line` holds one of the sentences."""
        if line in self.whole:
            return True
        anchored = self.anchored
        for start in range(len(line) - ANCHOR_CHARS + 1):
            candidates = anchored.get(line[start : start + ANCHOR_CHARS])
            if candidates and any(line.startswith(sentence, start) for sentence in candidates):
                return True
        return False


@dataclass
class LineCounts:
    """One pair's lines: read (non-blank), dropped as holding an evaluation sentence, dropped as duplicates."""

    lines: int = 0
    excluded: int = 0
    duplicates: int = 0

    @property
    def kept(self) -> int:
        return self.lines - self.excluded - self.duplicates

    def add(self, other: LineCounts) -> None:
        self.lines, self.excluded = self.lines + other.lines, self.excluded + other.excluded
        self.duplicates += other.duplicates

    def to_dict(self) -> dict:
        return {"lines": self.lines, "excluded": self.excluded, "duplicates": self.duplicates, "kept": self.kept}


class LinePass:
    """One pass over one pair's lines: `keep(texts)` says which to keep and counts them."""

    def __init__(self, dedup: bool, index: SentenceIndex | None, bloom: BloomFilter | None = None):
        self.dedup, self.index, self.bloom = dedup, index, bloom
        self.seen: set[bytes] = set()
        self.counts = LineCounts()

    def keep(self, texts: Sequence[str | None]) -> list[bool]:
        return [self._keep(text) for text in texts]

    def _keep(self, text: str | None) -> bool:
        line = normalise_line(text)
        if not line:
            return False
        self.counts.lines += 1
        if self.index is not None and self.index.held_by(line):
            self.counts.excluded += 1
            return False
        if self.dedup and self._seen(line_digest(line)):
            self.counts.duplicates += 1
            return False
        return True

    def _seen(self, digest: bytes) -> bool:
        if self.bloom is not None:
            return self.bloom.add(digest)
        if digest in self.seen:
            return True
        self.seen.add(digest)
        return False


@dataclass(frozen=True)
class LineRules:
    """What a build drops from each pair's lines: duplicates (`dedup="lines"`) and lines holding one of the
    `exclude[label]` evaluation sentences; `bloom_megabytes`: the size of each pair's Bloom filter when streaming."""

    dedup: str | None = None
    exclude: Mapping[str, SentenceIndex] = field(default_factory=dict)
    exclude_names: tuple = ()  # what the sentences came from (tasks, folders), for the log and the card
    bloom_megabytes: float = 8.0
    # {label: LineCounts} of the pairs a stream has read through once, filled in by the process reading the stream
    # (with dataloader workers, theirs: then the log has them, not this process)
    read_through: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        if self.dedup not in (None, *DEDUP_MODES):
            raise ValueError(f"dedup={self.dedup!r} is not a deduplication mode: use one of {DEDUP_MODES} or None.")
        if not self.bloom_megabytes > 0:
            raise ValueError(f"The Bloom filter size must be positive (megabytes a pair), not {self.bloom_megabytes}.")

    @property
    def active(self) -> bool:
        return self.dedup is not None or bool(self.exclude)

    def fingerprint(self) -> list:
        """What the kept lines depend on (for the cache's fingerprints)."""
        excluded = {label: sorted(index.whole) + sorted(index.anchored) for label, index in self.exclude.items()}
        return [self.dedup, sorted(excluded.items())]

    def exact_pass(self, label: str) -> LinePass:
        return LinePass(self.dedup is not None, self.exclude.get(label))

    def stream_pass(self, label: str) -> LinePass:
        bloom = BloomFilter.of_megabytes(self.bloom_megabytes) if self.dedup else None
        return LinePass(self.dedup is not None, self.exclude.get(label), bloom)


def counts_table(counts: Mapping[str, LineCounts], limit: int = 60) -> str:
    """Each pair's lines before and after, as a Markdown table (the pairs with the most dropped lines first)."""
    order = sorted(counts, key=lambda label: (-(counts[label].lines - counts[label].kept), label))
    lines = [
        "| pair | lines | holding evaluation text | duplicates | kept |",
        "|---|---|---|---|---|",
    ]
    for label in order[:limit]:
        c = counts[label]
        lines.append(f"| {label} | {c.lines} | {c.excluded} | {c.duplicates} | {c.kept} |")
    if len(order) > limit:
        lines += ["", f"... and {len(order) - limit} more pairs."]
    return "\n".join(lines)


def filter_pairs(
    texts, row_counts: Sequence[int], labels: Sequence[str], rules: LineRules, *, batch_size: int = 10_000
) -> tuple[np.ndarray, dict[str, LineCounts]]:
    """(the rows of `texts` kept, {label: LineCounts}) for a Dataset of the pairs' lines one pair after the other
    (`row_counts[k]` rows of pair `labels[k]`): every line read once, exactly (module doc)."""
    from tqdm.auto import tqdm

    keep = np.zeros(len(texts), dtype=bool)
    counts, ends = {}, np.cumsum(row_counts)
    pair, start = 0, 0
    passes = [rules.exact_pass(label) for label in labels]
    with tqdm(total=len(texts), desc="Dropping duplicate / evaluation lines", unit=" lines") as bar:
        for batch in texts.iter(batch_size=batch_size):
            lines = batch["text"]
            position = 0
            while position < len(lines):
                while pair < len(labels) - 1 and start >= ends[pair]:
                    pair += 1
                stop = min(len(lines), position + int(ends[pair]) - start)
                keep[start : start + stop - position] = passes[pair].keep(lines[position:stop])
                start, position = start + stop - position, stop
            bar.update(len(lines))
    for label, one in zip(labels, passes):
        counts[label] = one.counts
    return np.flatnonzero(keep), counts
