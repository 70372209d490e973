"""What makes a second build load the first one's Arrow files instead of working again: explicit fingerprints for
every `Dataset.map` of the pipeline (datasets' own hash of a 250k-vocabulary tokenizer takes seconds and changes
with the folder it was loaded from), and where those maps write."""

from __future__ import annotations

import hashlib
import json
import weakref
from pathlib import Path

from datasets.fingerprint import Hasher

PIPELINE_VERSION = "langsamp-data-1"  # part of every fingerprint: bump when the chunking changes
TOKENIZER_FINGERPRINTS = weakref.WeakKeyDictionary()  # tokenizer -> (its length, its fingerprint)


def fingerprint(*parts) -> str:
    """datasets' hash of `parts`, with the pipeline's version."""
    return Hasher.hash((PIPELINE_VERSION,) + parts)


def tokenizer_fingerprint(tokenizer) -> str:
    """A hash of what decides the token ids: the tokenizer's class and its backend (vocabulary, normalizer,
    pre-tokenizer, special-token post-processor), without the call-time truncation/padding state. Not
    datasets' hash of the whole object, which includes `name_or_path` (a tokenizer loaded from another folder
    would miss the cache). About a second for a 250k vocabulary: once per tokenizer object (again if tokens
    were added)."""
    known = TOKENIZER_FINGERPRINTS.get(tokenizer)
    if known is None or known[0] != len(tokenizer):
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is not None:
            state = json.loads(backend.to_str())
            state.pop("truncation", None)
            state.pop("padding", None)
            digest = hashlib.sha256(json.dumps(state, sort_keys=True).encode("utf-8")).hexdigest()
            hashed = Hasher.hash((type(tokenizer).__name__, len(tokenizer), digest))
        else:  # a tokenizer without a Rust backend: datasets' hash of the object
            hashed = Hasher.hash(tokenizer)
        known = (len(tokenizer), hashed)
        TOKENIZER_FINGERPRINTS[tokenizer] = known
    return known[1]


class SharedTokenizer:
    """The tokenizer as an argument of the streaming generator. datasets deep-copies an IterableDataset's
    generator arguments (per pair in interleave_datasets, per iteration) and hashes them (from_generator); for
    a 250k vocabulary each costs seconds. The tokenizer is read-only here, so copies share it and the hash
    uses its fingerprint. (Plain pickling, e.g. to DataLoader workers, still carries the whole tokenizer.)"""

    def __init__(self, tokenizer):
        self.tokenizer, self.fingerprint = tokenizer, tokenizer_fingerprint(tokenizer)

    def __deepcopy__(self, memo):
        return self


try:  # datasets' own extension point for hashing a type (used there for tokenizers, regex, torch...)
    from datasets.utils._dill import pklregister

    @pklregister(SharedTokenizer)
    def _hash_shared_tokenizer(pickler, obj):
        pickler.save_reduce(str, (f"LangSAMPTokenizer:{obj.fingerprint}",), obj=obj)

except ImportError:  # a datasets without it hashes the whole tokenizer: slower, same result
    pass


def map_cache_file(cache_dir, name: str, hashed: str) -> str | None:
    """Where a map writes its Arrow file: `<cache_dir>/langsamp/<name>-<fingerprint>.arrow`; None (datasets'
    default: next to the source's cache files, none for an in-memory source) without a `cache_dir`."""
    if cache_dir is None:
        return None
    folder = Path(cache_dir).expanduser() / "langsamp"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / f"{name}-{hashed}.arrow")
