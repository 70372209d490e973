"""The training script's entry to the data package: `open_corpus` (a checked Corpus: its pairs, or its rows) and
`build` (rows and mixture), which `build_pretraining_dataset` chains; and the mixture's Markdown table for the model
card, checked line by line against a hand-made mixture."""

import json

import pytest
from datasets import Dataset, IterableDataset

from langsamp.data import Corpus, PairMixture, build, build_pretraining_dataset, find_pairs, open_corpus
from langsamp.resources.udhr import write_glot500_corpus

LABELS = ("eng_Latn", "hin_Deva", "kor_Hang", "rus_Cyrl")


@pytest.fixture(scope="module")
def folder(tmp_path_factory, udhr_translations):
    return write_glot500_corpus(
        {label: udhr_translations[label] for label in LABELS}, tmp_path_factory.mktemp("open") / "corpus"
    )


@pytest.fixture(scope="module")
def jsonl(folder):
    path = folder.parent / "rows.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for label in LABELS:
            for line in (folder / label).read_text(encoding="utf-8").splitlines():
                handle.write(json.dumps({"text": line, "lang": label.split("_")[0]}, ensure_ascii=False) + "\n")
    return path


def test_a_folder_opens_as_its_pairs(folder, tokenizer):
    corpus = open_corpus(folder, tokenizer)
    assert corpus.rows is None and list(corpus.sources) == list(LABELS) and corpus.labels == list(LABELS)
    assert corpus.sources == find_pairs(folder)
    kept = open_corpus(str(folder), tokenizer, languages=["ru", "hin_Deva"])
    assert kept.labels == ["hin_Deva", "rus_Cyrl"] and list(kept.sources) == ["hin_Deva", "rus_Cyrl"]
    found = find_pairs(folder, languages="kor,eng")  # already found: taken as it is
    assert open_corpus(found, tokenizer).labels == ["eng_Latn", "kor_Hang"]


def test_a_rows_file_opens_as_its_rows(jsonl, tokenizer):
    corpus = open_corpus(jsonl, tokenizer, languages=["kor", "hin"])
    assert corpus.sources is None and isinstance(corpus.rows, Dataset)
    assert corpus.labels == ["kor", "hin"]  # the filter as given: the pairs are known once the rows are read
    assert corpus.rows.column_names == ["text", "lang"]
    assert len(corpus.rows) == jsonl.read_text(encoding="utf-8").count("\n")
    streamed = open_corpus(str(jsonl), tokenizer, streaming=True)
    assert isinstance(streamed.rows, IterableDataset) and streamed.labels == []


def test_what_open_corpus_refuses(tmp_path, tokenizer):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_corpus(tmp_path / "nowhere", tokenizer)
    with pytest.raises(ValueError, match=r"no 'lang' column; its columns are \['text'\]"):
        open_corpus(Dataset.from_dict({"text": ["Hello."]}), tokenizer)
    with pytest.raises(ValueError, match=r"has no `language_id`: use a LangSAMPTokenizer"):
        open_corpus(tmp_path, object())


def test_build_takes_a_corpus_and_gives_what_build_pretraining_dataset_gives(folder, jsonl, tokenizer, tmp_path):
    with pytest.raises(TypeError, match=r"takes the Corpus that open_corpus\(\) returns, not str"):
        build(str(folder), tokenizer)
    kwargs = dict(max_seq_length=64, sampling_alpha=0.5, seed=3, num_samples=300)
    dataset, mixture = build(open_corpus(folder, tokenizer), tokenizer, cache_dir=tmp_path / "a", **kwargs)
    same, same_mixture = build_pretraining_dataset(
        folder, tokenizer, cache_dir=tmp_path / "b", return_mixture=True, **kwargs
    )
    assert len(dataset) == 300 and dataset.to_dict() == same.to_dict() and mixture == same_mixture
    rows = open_corpus(jsonl, tokenizer, languages=["hin", "kor"], streaming=True)
    with pytest.raises(ValueError, match="The corpus is an IterableDataset: pass streaming=True"):
        build(rows, tokenizer, max_seq_length=64)
    stream, mixture = build(rows, tokenizer, max_seq_length=64, streaming=True, shuffle_buffer_size=0)
    assert mixture.labels == ["hin_Deva", "kor_Hang"] and not mixture.estimated
    assert {row["lang_ids"] for row in stream.take(40)} == {tokenizer.language_id("hin"), tokenizer.language_id("kor")}


def hand_made(**values):
    fields = dict(
        labels=["aaa_Latn", "bbb_Cyrl", "ccc_Grek"],
        lang_ids={"aaa_Latn": 1, "bbb_Cyrl": 2, "ccc_Grek": 3},
        script_ids={"aaa_Latn": 4, "bbb_Cyrl": 5, "ccc_Grek": 6},
        sizes={"aaa_Latn": 10, "bbb_Cyrl": 250, "ccc_Grek": 40},
        probabilities={"aaa_Latn": 0.125, "bbb_Cyrl": 0.5, "ccc_Grek": 0.375},
        alpha=0.3,
        max_seq_length=128,
    )
    return PairMixture(**{**fields, **values})


def test_the_mixture_table_for_the_model_card():
    drawn = hand_made(samples={"aaa_Latn": 25, "bbb_Cyrl": 100, "ccc_Grek": 75})
    assert drawn.table().splitlines() == [
        "Training mixture: 3 pairs, 128-token chunks, alpha sampling (alpha=0.3).",
        "",
        "| pair | chunks | p | rows drawn |",
        "|---|---|---|---|",
        "| bbb_Cyrl | 250 | 0.5000 | 100 |",  # the largest shares first
        "| ccc_Grek | 40 | 0.3750 | 75 |",
        "| aaa_Latn | 10 | 0.1250 | 25 |",
    ]
    streamed = hand_made(estimated=True, sampling="glot500")
    assert streamed.table(limit=2).splitlines() == [
        "Training mixture: 3 pairs, 128-token chunks, glot500 sampling (alpha=0.3).",
        "",
        "| pair | estimated chunks | p |",
        "|---|---|---|",
        "| bbb_Cyrl | 250 | 0.5000 |",
        "| ccc_Grek | 40 | 0.3750 |",
        "",
        "... and 1 more pairs.",
    ]
    assert streamed.summary(limit=1).splitlines() == [
        "3 language-script pairs, chunks of 128 tokens, Glot500-c's sampling (alpha=0.3):",
        "    bbb_Cyrl: estimated 250 chunks, p=0.5000",
        "  ... and 2 more",
    ]


def test_corpus_is_one_kind_of_input(folder, tokenizer):
    corpus = open_corpus(folder, tokenizer)
    assert isinstance(corpus, Corpus) and (corpus.sources is None) != (corpus.rows is None)
