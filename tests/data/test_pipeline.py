"""The continual-pretraining data pipeline (sources, chunking, sampling, mixture, collator) on real text: UDHR
translations in eight scripts, tokenized with the real XLM-R vocabulary. Every expectation is recomputed here
independently (tokenize each line, concatenate per pair, cut) rather than read back from the pipeline."""

import bz2
import dataclasses
import gzip
import json
import math
import weakref

import pytest
import torch
from datasets import Dataset

from langsamp.data import chunking
from langsamp.data.collator import make_collator
from langsamp.data.mixture import interleave_shards
from langsamp.data.pipeline import build_pretraining_dataset
from langsamp.data.rows import load_text_dataset
from langsamp.data.sampling import glot500_counts, sample_counts, sampling_probabilities
from langsamp.data.sources import discover_corpus
from langsamp.resources.udhr import write_glot500_corpus

LENGTH = 32
# Articles kept per translation: pair sizes about 6x apart, so alpha 0.3 and alpha 1.0 mix clearly differently.
ARTICLES = {
    "eng_Latn": 30,
    "rus_Cyrl": 30,
    "cmn_Hani": 30,
    "arb_Arab": 20,
    "hin_Deva": 12,
    "ell_Grek": 8,
    "jpn_Jpan": 6,
    "kor_Hang": 3,
}


@pytest.fixture(scope="module")
def paragraphs(udhr_translations):
    """label -> the lines written for that pair (the UDHR preamble and the first ARTICLES[label] articles)."""
    out = {}
    for label, keep in ARTICLES.items():
        t = udhr_translations[label]
        out[label] = dataclasses.replace(t, articles={n: a for n, a in t.articles.items() if n <= keep})
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, paragraphs):
    """Glot500-c layout in its three forms: plain files, a gzip file, a folder of a plain and a bz2 file."""
    root = write_glot500_corpus(paragraphs, tmp_path_factory.mktemp("data") / "corpus")
    korean = root / "kor_Hang"
    (root / "kor_Hang.txt.gz").write_bytes(gzip.compress(korean.read_bytes()))
    korean.unlink()
    japanese = root / "jpn_Jpan"
    lines = japanese.read_text(encoding="utf-8").splitlines(keepends=True)
    japanese.unlink()
    japanese.mkdir()
    (japanese / "part-a.txt").write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    (japanese / "part-b.txt.bz2").write_bytes(bz2.compress("".join(lines[len(lines) // 2 :]).encode("utf-8")))
    return root


def reference_chunks(tokenizer, lines, length=LENGTH):
    """Each line tokenized with <s> ... </s>, concatenated, cut into full chunks; the rest dropped."""
    stream = [i for ids in tokenizer([line for line in lines if line.strip()])["input_ids"] for i in ids]
    return [stream[k * length : (k + 1) * length] for k in range(len(stream) // length)], len(stream)


@pytest.fixture(scope="module")
def expected(tokenizer, paragraphs):
    """label -> (chunks in file order, token count, lang id, script id)."""
    out = {}
    for label, t in paragraphs.items():
        chunks, tokens = reference_chunks(tokenizer, t.paragraphs())
        out[label] = (chunks, tokens, tokenizer.language_id(t.language), tokenizer.script_id(t.script))
    return out


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def epoch(corpus, tokenizer, cache_dir):
    """alpha = 1 and the default epoch size: every chunk of the corpus exactly once. Chunked 7 lines at a time,
    so pairs span many batches and batches span pairs (the chunks must not depend on it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chunking, "CHUNK_BATCH_ROWS", 7)
        return build_pretraining_dataset(
            corpus, tokenizer, max_seq_length=LENGTH, sampling_alpha=1.0, cache_dir=cache_dir, return_mixture=True
        )


def rows_by_pair(rows, expected):
    label_of = {(lang, script): label for label, (_, _, lang, script) in expected.items()}
    grouped = {label: [] for label in expected}
    for row in rows:
        grouped[label_of[(row["lang_ids"], row["script_ids"])]].append(row["input_ids"])
    return grouped


def test_discover_corpus_lists_pairs_and_files(corpus):
    found = discover_corpus(corpus)
    assert list(found) == sorted(ARTICLES)
    assert [f.name for f in found["jpn_Jpan"].files] == ["part-a.txt", "part-b.txt.bz2"]
    assert [f.name for f in found["kor_Hang"].files] == ["kor_Hang.txt.gz"]
    assert list(discover_corpus(corpus, languages=["hin", "kor_Hang", "ru"])) == ["hin_Deva", "kor_Hang", "rus_Cyrl"]


def test_chunks_are_full_single_pair_and_exact(epoch, expected):
    dataset, mixture = epoch
    rows = dataset.to_list()
    assert all(len(row["input_ids"]) == LENGTH for row in rows)
    grouped = rows_by_pair(rows, expected)  # KeyError if a row carried ids of no pair
    for label, (chunks, tokens, _, _) in expected.items():
        assert len(chunks) == tokens // LENGTH
        assert mixture.sizes[label] == len(chunks) and mixture.tokens[label] == tokens
        # Same chunks as concatenating this pair's lines alone: a chunk never mixes pairs and carries its ids.
        assert sorted(grouped[label]) == sorted(chunks), label
    assert len(dataset) == sum(len(c) for c, *_ in expected.values())
    # Lines are concatenated: chunks run across line ends (`</s>` followed by the next line's `<s>`).
    assert any(row["input_ids"][k : k + 2] == [2, 0] for row in rows for k in range(1, LENGTH - 1))
    # The epoch's order mixes the pairs (its first tenth already holds nearly all of them).
    assert len({row["lang_ids"] for row in rows[: len(rows) // 10]}) >= 6


def test_streaming_gives_the_same_chunks(corpus, tokenizer, expected, epoch, monkeypatch):
    monkeypatch.setattr(chunking, "STREAM_BATCH_LINES", 7)  # a pair's lines come in many batches
    stream, mixture = build_pretraining_dataset(
        corpus,
        tokenizer,
        max_seq_length=LENGTH,
        sampling_alpha=1.0,
        streaming=True,
        shuffle_buffer_size=0,
        return_mixture=True,
    )
    # The probe read every (small) file: the streaming sizes are exact, equal to the cached path's.
    assert not mixture.estimated and mixture.sizes == epoch[1].sizes
    grouped = rows_by_pair(stream, expected)
    for label, (chunks, *_) in expected.items():
        got = grouped[label]
        # Each pair in file order, read through at least once ("all_exhausted"); a pair that ran out earlier
        # restarted from its beginning.
        assert len(got) >= len(chunks)
        assert got == (chunks * (len(got) // len(chunks) + 1))[: len(got)], label


@pytest.mark.parametrize("alpha", [0.3, 1.0])
def test_cached_sampling_follows_size_power_alpha(corpus, tokenizer, cache_dir, expected, alpha):
    sizes = {label: len(chunks) for label, (chunks, *_) in expected.items()}
    weights = {label: n**alpha for label, n in sizes.items()}
    p = {label: w / sum(weights.values()) for label, w in weights.items()}
    other = {label: n ** (1.3 - alpha) for label, n in sizes.items()}  # the other alpha (0.3 <-> 1.0)
    assert max(abs(p[k] - other[k] / sum(other.values())) for k in p) > 0.05  # the check below can tell them apart

    draws = 20_000
    dataset, mixture = build_pretraining_dataset(
        corpus,
        tokenizer,
        max_seq_length=LENGTH,
        sampling_alpha=alpha,
        cache_dir=cache_dir,
        num_samples=draws,
        return_mixture=True,
    )
    assert len(dataset) == draws
    assert mixture.probabilities == pytest.approx(p, abs=1e-12)
    label_of = {(lang, script): label for label, (_, _, lang, script) in expected.items()}
    rows = dataset.to_dict()
    counts = {label: 0 for label in expected}
    for pair in zip(rows["lang_ids"], rows["script_ids"]):
        counts[label_of[pair]] += 1
    for label in expected:
        assert abs(counts[label] / draws - p[label]) < 2e-3, (label, counts[label] / draws, p[label])
    # An over-sampled pair repeats a chunk only after using all of its chunks: uses differ by at most one.
    uses = {}
    for ids in rows["input_ids"]:
        uses[tuple(ids)] = uses.get(tuple(ids), 0) + 1
    for label, (chunks, *_) in expected.items():
        per_chunk = [uses.get(tuple(chunk), 0) for chunk in chunks]
        assert max(per_chunk) - min(per_chunk) <= 1 and min(per_chunk) >= 1, label


@pytest.mark.parametrize("alpha", [0.3, 1.0])
def test_streaming_sampling_follows_size_power_alpha(corpus, tokenizer, expected, alpha):
    stream, mixture = build_pretraining_dataset(
        corpus, tokenizer, max_seq_length=LENGTH, sampling_alpha=alpha, streaming=True, return_mixture=True
    )
    sizes = {label: len(chunks) for label, (chunks, *_) in expected.items()}
    p = {label: n**alpha / sum(m**alpha for m in sizes.values()) for label, n in sizes.items()}
    assert mixture.probabilities == pytest.approx(p, abs=1e-12)
    label_of = {(lang, script): label for label, (_, _, lang, script) in expected.items()}
    counts = {label: 0 for label in expected}
    for epoch_number in range(6):  # the Trainer's set_epoch reseeds the mixing: more independent draws
        stream.set_epoch(epoch_number)
        for row in stream:
            counts[label_of[(row["lang_ids"], row["script_ids"])]] += 1
    total = sum(counts.values())
    assert total > 2000
    for label in expected:
        tolerance = 4 * math.sqrt(p[label] * (1 - p[label]) / total) + 0.005
        assert abs(counts[label] / total - p[label]) < tolerance, (label, counts[label] / total, p[label])


def test_glot500_counts_follow_the_release_rule():
    # eng_Latn, hin_Deva: XLM-R languages (head); yor_Latn, quz_Latn: tail. min_c = 50 (quz).
    counts = glot500_counts({"eng_Latn": 4000, "hin_Deva": 900, "yor_Latn": 300, "quz_Latn": 50})
    # Head flat at 30 x min_c; tail 30 x min_c x p_l / min_p, and p_l / min_p = (n_l / n_min)^0.3.
    assert counts == {"eng_Latn": 1500, "hin_Deva": 1500, "yor_Latn": round(1500 * 6**0.3), "quz_Latn": 1500}


def test_glot500_sampling_draws_the_release_counts(corpus, tokenizer, cache_dir, expected):
    sizes = {label: len(chunks) for label, (chunks, *_) in expected.items()}
    flat = 30 * min(sizes.values())
    # Glot500's stats mark every pair here as an XLM-R (head) pair but jpn_Jpan (only jpn_Latn is head there).
    want = {label: flat for label in sizes}
    want["jpn_Jpan"] = round(flat * (sizes["jpn_Jpan"] / min(sizes.values())) ** 0.3)
    dataset, mixture = build_pretraining_dataset(
        corpus, tokenizer, max_seq_length=LENGTH, sampling="glot500", cache_dir=cache_dir, return_mixture=True
    )
    assert mixture.samples == want and len(dataset) == sum(want.values())  # one epoch = the corpus Glot500 writes
    label_of = {(lang, script): label for label, (_, _, lang, script) in expected.items()}
    rows = dataset.to_dict()
    counts, uses = dict.fromkeys(sizes, 0), {}
    for pair, ids in zip(zip(rows["lang_ids"], rows["script_ids"]), rows["input_ids"]):
        counts[label_of[pair]] += 1
        uses[tuple(ids)] = uses.get(tuple(ids), 0) + 1
    assert counts == want
    for label, (chunks, *_) in expected.items():  # drawn with replacement, evenly: uses differ by at most one
        per_chunk = [uses.get(tuple(chunk), 0) for chunk in chunks]
        assert max(per_chunk) - min(per_chunk) <= 1, label


def test_same_seed_same_order_and_other_seed_other_order(corpus, tokenizer, cache_dir):
    def cached(seed):
        rows = build_pretraining_dataset(corpus, tokenizer, max_seq_length=LENGTH, seed=seed, cache_dir=cache_dir)
        return rows[:]["input_ids"]

    def streamed(seed):
        stream = build_pretraining_dataset(corpus, tokenizer, max_seq_length=LENGTH, seed=seed, streaming=True)
        return [row["input_ids"] for row in stream.take(300)]

    first = cached(42)
    assert cached(42) == first and cached(7) != first
    first = streamed(42)
    assert streamed(42) == first and streamed(7) != first


def test_second_build_loads_the_cache(corpus, tokenizer, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = build_pretraining_dataset(corpus, tokenizer, max_seq_length=LENGTH, cache_dir=cache)

    def snapshot():
        return {str(f): f.stat().st_mtime_ns for f in cache.rglob("*") if f.is_file()}

    before = snapshot()

    def no_tokenizing(*args, **kwargs):
        raise AssertionError("the second build tokenized again instead of loading the cache")

    monkeypatch.setattr(chunking, "tokenize_texts", no_tokenizing)
    # As in a new process with the same tokenizer loaded from elsewhere: no memory of it, another name_or_path.
    monkeypatch.setattr("langsamp.data.cache.TOKENIZER_FINGERPRINTS", weakref.WeakKeyDictionary())
    monkeypatch.setattr(tokenizer, "name_or_path", str(tmp_path / "elsewhere"))
    second = build_pretraining_dataset(corpus, tokenizer, max_seq_length=LENGTH, cache_dir=cache)
    assert snapshot() == before  # nothing written, nothing rewritten
    assert second.to_dict() == first.to_dict()
    # Another chunk length re-chunks from the cached tokens (still no tokenizing).
    other = build_pretraining_dataset(corpus, tokenizer, max_seq_length=2 * LENGTH, cache_dir=cache)
    assert len(other[0]["input_ids"]) == 2 * LENGTH


def test_several_processes_give_the_same_rows(corpus, tokenizer, tmp_path):
    def build(num_proc):
        return build_pretraining_dataset(
            corpus,
            tokenizer,
            max_seq_length=LENGTH,
            languages=["hin", "kor"],
            num_proc=num_proc,
            cache_dir=tmp_path / f"cache-{num_proc}",
        )

    parallel = build(2)
    assert list((tmp_path / "cache-2" / "langsamp").glob("tokens-*_00001_of_00002.arrow"))  # two processes ran
    assert parallel.to_dict() == build(None).to_dict()


def test_collator_masks_15_percent_80_10_10_and_keeps_ids(epoch, tokenizer):
    dataset, _ = epoch
    rows = dataset.to_list()
    collator = make_collator(tokenizer)
    special = torch.tensor(tokenizer.all_special_ids)
    mask_id = tokenizer.mask_token_id
    eligible = masked_total = as_mask = kept = 0
    torch.manual_seed(0)
    for _ in range(2):
        for start in range(0, len(rows), 16):
            batch_rows = rows[start : start + 16]
            original = torch.tensor([row["input_ids"] for row in batch_rows])
            batch = collator(batch_rows)
            inputs, labels = batch["input_ids"], batch["labels"]
            masked = labels != -100
            assert torch.equal(labels[masked], original[masked])  # labels are the original tokens ...
            assert torch.equal(inputs[~masked], original[~masked])  # ... exactly where a token was masked
            is_special = torch.isin(original, special)
            assert not (masked & is_special).any()
            # One id per row, aligned with the rows (the model broadcasts them over the sequence).
            assert batch["lang_ids"].shape == (len(batch_rows),) and batch["lang_ids"].dtype == torch.long
            assert batch["lang_ids"].tolist() == [row["lang_ids"] for row in batch_rows]
            assert batch["script_ids"].tolist() == [row["script_ids"] for row in batch_rows]
            eligible += int((~is_special).sum())
            masked_total += int(masked.sum())
            as_mask += int((inputs[masked] == mask_id).sum())
            kept += int((inputs[masked] == original[masked]).sum())
    assert eligible >= 20_000
    assert abs(masked_total / eligible - 0.15) < 0.01
    random = masked_total - as_mask - kept
    assert abs(as_mask / masked_total - 0.8) < 0.03
    assert abs(random / masked_total - 0.1) < 0.03
    assert abs(kept / masked_total - 0.1) < 0.03


def test_collator_never_masks_padding_and_honours_seed(epoch, tokenizer):
    dataset, _ = epoch
    first = dataset.select(range(4)).to_list()
    rows = [dict(row, input_ids=row["input_ids"][:n]) for row, n in zip(first, [32, 20, 9, 31])]
    pad = tokenizer.pad_token_id
    collator = make_collator(tokenizer, seed=3)
    for _ in range(100):
        batch = collator(rows)
        padding = batch["attention_mask"] == 0
        assert int(padding.sum()) == (32 - 20) + (32 - 9) + (32 - 31)
        assert (batch["labels"][padding] == -100).all() and (batch["input_ids"][padding] == pad).all()
    # A seeded collator draws from its own generator: two fresh ones mask alike.
    first, second = make_collator(tokenizer, seed=3)(rows), make_collator(tokenizer, seed=3)(rows)
    assert torch.equal(first["labels"], second["labels"]) and torch.equal(first["input_ids"], second["input_ids"])


def test_text_lang_dataset_is_grouped_by_detected_pair(tmp_path, tokenizer, paragraphs, expected, epoch, monkeypatch):
    monkeypatch.setattr(chunking, "CHUNK_BATCH_ROWS", 5)
    # lang as ISO 639-3, as a Glot500 label and as ISO 639-1; no script column (detected from the text).
    codes = {"hin_Deva": "hin_Deva", "rus_Cyrl": "ru"}
    rows = [
        {"text": line, "lang": codes.get(label, label.split("_")[0])}
        for label, t in paragraphs.items()
        for line in t.paragraphs()
    ]
    source = Dataset.from_list(rows).shuffle(seed=0)
    source.save_to_disk(str(tmp_path / "saved"))
    with open(tmp_path / "rows.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in source)

    loaded = load_text_dataset(tmp_path / "saved")
    assert loaded.column_names == ["text", "lang"] and len(loaded) == len(rows)
    assert load_text_dataset(tmp_path / "rows.jsonl").column_names == ["text", "lang"]
    dataset, mixture = build_pretraining_dataset(
        loaded, tokenizer, max_seq_length=LENGTH, sampling_alpha=1.0, cache_dir=tmp_path / "cache", return_mixture=True
    )
    assert mixture.sizes == epoch[1].sizes  # the same tokens per pair as the directory corpus
    grouped = rows_by_pair(dataset, expected)
    label_of_code = {codes.get(label, label.split("_")[0]): label for label in paragraphs}
    for label in expected:
        lines = [row["text"] for row in source if label_of_code[row["lang"]] == label]  # in dataset order
        assert sorted(grouped[label]) == sorted(reference_chunks(tokenizer, lines)[0]), label

    stream = build_pretraining_dataset(
        str(tmp_path / "rows.jsonl"), tokenizer, max_seq_length=LENGTH, streaming=True, languages=["hin", "kor"]
    )
    got = rows_by_pair(stream, {label: expected[label] for label in ("hin_Deva", "kor_Hang")})
    for label, chunks in got.items():
        lines = [row["text"] for row in source if label_of_code[row["lang"]] == label]
        assert set(map(tuple, chunks)) == set(map(tuple, reference_chunks(tokenizer, lines)[0]))


def test_sampling_probabilities_and_counts():
    p = sampling_probabilities({"a_Latn": 1000, "b_Latn": 10}, 0.3)
    assert p["a_Latn"] / p["b_Latn"] == pytest.approx(100**0.3) and sum(p.values()) == pytest.approx(1)
    assert sampling_probabilities({"a": 5, "b": 1}, 0.0) == {"a": 0.5, "b": 0.5}
    counts = sample_counts({"a": 0.5, "b": 0.3, "c": 0.2}, 7)
    assert sum(counts.values()) == 7 and counts == {"a": 4, "b": 2, "c": 1}
    with pytest.raises(ValueError, match="sampling_alpha"):
        sampling_probabilities({"a": 1}, -1)


# Bad input: each a clear error before any training (and before any bulk reading or tokenizing).


def one_pair(tmp_path, name="eng_Latn", text="All human beings are born free and equal in dignity and rights.\n"):
    root = tmp_path / "corpus"
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text, encoding="utf-8")
    return root


def test_missing_corpus_path(tmp_path, tokenizer):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        discover_corpus(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_pretraining_dataset(str(tmp_path / "nowhere"), tokenizer)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_text_dataset(tmp_path / "rows.jsonl")


def test_bad_file_name(tmp_path):
    root = one_pair(tmp_path)
    one_pair(tmp_path, "english.txt")
    with pytest.raises(ValueError, match=r"english\.txt.*<iso639-3>_<Script>.*hin_Deva"):
        discover_corpus(root)


def test_unknown_language_and_script(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown language 'xyz'.*No known code is close to it"):
        discover_corpus(one_pair(tmp_path / "a", "xyz_Latn"))
    with pytest.raises(ValueError, match=r"script 'Cher' is not among the model's scripts"):
        discover_corpus(one_pair(tmp_path / "b", "eng_Cher"))


def test_empty_file(tmp_path):
    with pytest.raises(ValueError, match=r"eng_Latn.*is empty"):
        discover_corpus(one_pair(tmp_path / "a", text=""))
    with pytest.raises(ValueError, match=r"is empty \(whitespace only\)"):
        discover_corpus(one_pair(tmp_path / "b", text="\n  \n"))


def test_languages_filter_that_matches_nothing(tmp_path):
    with pytest.raises(ValueError, match=r"\['fra'\] match no pair.*eng_Latn"):
        discover_corpus(one_pair(tmp_path), languages=["fra"])


def test_dataset_without_lang_column(tmp_path, tokenizer):
    rows = Dataset.from_dict({"text": ["Hello world."], "language": ["eng"]})
    with pytest.raises(ValueError, match=r"no 'lang' column; its columns are \['text', 'language'\]"):
        build_pretraining_dataset(rows, tokenizer)
    rows.save_to_disk(str(tmp_path / "saved"))
    with pytest.raises(ValueError, match=r"no 'lang' column"):
        load_text_dataset(tmp_path / "saved")


def test_pair_shorter_than_one_chunk(tmp_path, tokenizer):
    with pytest.raises(ValueError, match=r"max_seq_length=512, so not a single chunk: eng_Latn has \d+ tokens"):
        build_pretraining_dataset(one_pair(tmp_path), tokenizer, cache_dir=tmp_path / "cache")


def test_pairs_are_mixed_in_the_order_interleave_datasets_draws():
    """`interleave_shards` builds the mixture without an IterableDataset per pair (each holds an open shared-memory
    file); it must draw exactly what `interleave_datasets` over the per-pair shards draws, row for row."""
    from datasets import IterableDataset, interleave_datasets

    def rows(shards):
        for shard in shards:
            for i in range(shard + 1):  # shard k holds k + 1 rows: pairs of different sizes, restarting
                yield {"shard": shard, "i": i}

    stream = IterableDataset.from_generator(rows, gen_kwargs={"shards": list(range(5))})
    probabilities = [0.1, 0.15, 0.2, 0.25, 0.3]
    reference = interleave_datasets(
        [stream.shard(num_shards=5, index=k) for k in range(5)],
        probabilities=probabilities,
        seed=3,
        stopping_strategy="all_exhausted",
    )
    ours = interleave_shards(stream, probabilities, seed=3)
    expected = list(reference)
    assert len(expected) > 15 and {row["shard"] for row in expected} == set(range(5))
    assert list(ours) == expected
    reference.set_epoch(1)
    ours.set_epoch(1)
    assert list(ours) == list(reference) != expected  # the Trainer's set_epoch reseeds both alike


def test_dataloader_workers_share_the_stream_without_duplicates(corpus, tokenizer, expected):
    """With dataloader workers each gets a disjoint share of the stream's shards. The mixture is one shard (every
    pair is drawn from one random stream), so one worker reads it and the others stop: the rows of 2 workers are
    exactly those of 1 worker, not the stream twice over."""
    from torch.utils.data import DataLoader

    stream = build_pretraining_dataset(corpus, tokenizer, max_seq_length=LENGTH, streaming=True, shuffle_buffer_size=0)
    assert stream.num_shards == 1

    def rows(workers):
        return [
            (row["lang_ids"], row["script_ids"], tuple(row["input_ids"]))
            for row in DataLoader(stream.take(300), batch_size=None, num_workers=workers)
        ]

    known = {(lang, script, tuple(chunk)) for chunks, _, lang, script in expected.values() for chunk in chunks}
    one, two = rows(1), rows(2)
    assert len(one) == 300 and set(one) <= known
    assert two == one
