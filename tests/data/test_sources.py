"""Corpora as users have them: folders laid out file for file like HuggingFaceFW/fineweb-2 and cis-lmu/Glot500 on
the Hub (tests/fixtures/hub_layouts.py), read through `load_dataset(folder, "<pair>")` as a Hub id is, streaming and
not; the same folders as plain snapshots; configs named by a language alone; text in another script than its name says;
corrupt compressed files. Expected chunks are recomputed here from the UDHR lines (tokenize each line, concatenate
per pair, cut), never read back from the pipeline."""

import gzip
import shutil
from pathlib import Path

import pytest
from fixtures.hub_layouts import write_fineweb2_layout, write_glot500_layout

from langsamp.data import opening
from langsamp.data.pipeline import build_pretraining_dataset
from langsamp.data.sources import find_pairs

LENGTH = 32
# Five scripts; lines kept per pair (4 + 3 x this) so the pairs differ in size.
ARTICLES = {"eng_Latn": 12, "rus_Cyrl": 8, "hin_Deva": 6, "cmn_Hani": 6, "arb_Arab": 4}


@pytest.fixture(scope="module")
def lines(udhr_translations):
    out = {}
    for label, keep in ARTICLES.items():
        t = udhr_translations[label]
        out[label] = list(t.paragraphs())[: 4 + 3 * keep]
    return out


@pytest.fixture(scope="module")
def expected(tokenizer, lines):
    """label -> (chunks in file order, tokens, lang id, script id), computed from the lines alone."""
    out = {}
    for label, rows in lines.items():
        stream = [i for ids in tokenizer(rows)["input_ids"] for i in ids]
        chunks = [stream[k * LENGTH : (k + 1) * LENGTH] for k in range(len(stream) // LENGTH)]
        lang, script = label.split("_")
        out[label] = (chunks, len(stream), tokenizer.language_id(lang), tokenizer.script_id(script))
    return out


@pytest.fixture(scope="module")
def fineweb2(tmp_path_factory, lines):
    return write_fineweb2_layout(lines, tmp_path_factory.mktemp("hub") / "fineweb-2", rows_per_shard=10)


@pytest.fixture(scope="module")
def glot500(tmp_path_factory, lines):
    return write_glot500_layout(lines, tmp_path_factory.mktemp("hub") / "Glot500")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def by_pair(rows, expected):
    label_of = {(lang, script): label for label, (_, _, lang, script) in expected.items()}
    grouped = {label: [] for label in expected}
    for row in rows:
        grouped[label_of[(row["lang_ids"], row["script_ids"])]].append(row["input_ids"])  # KeyError: wrong ids
    return grouped


def count_load_dataset_calls(monkeypatch):
    calls = []
    real = opening.load_dataset

    def counting(*args, **kwargs):
        calls.append(args[:2])
        return real(*args, **kwargs)

    monkeypatch.setattr(opening, "load_dataset", counting)
    return calls


def test_fineweb2_layout_reads_each_pairs_train_config(fineweb2, tokenizer, expected, cache_dir):
    sources = find_pairs(fineweb2)
    # One config per pair; fineweb-2's `<pair>_removed` configs are not pairs.
    assert list(sources) == sorted(ARTICLES) and {s.kind for s in sources.values()} == {"config"}
    dataset, mixture = build_pretraining_dataset(
        fineweb2, tokenizer, max_seq_length=LENGTH, sampling_alpha=1.0, cache_dir=cache_dir, return_mixture=True
    )
    grouped = by_pair(dataset, expected)
    for label, (chunks, tokens, _, _) in expected.items():
        # Exactly the train split's chunks (the test split holds the lines reversed: other chunks).
        assert sorted(grouped[label]) == sorted(chunks), label
        assert mixture.sizes[label] == len(chunks) and mixture.tokens[label] == tokens


def test_snapshot_without_readme_is_read_in_one_call_per_format(
    fineweb2, glot500, tokenizer, expected, tmp_path, monkeypatch
):
    parquet = shutil.copytree(fineweb2, tmp_path / "fineweb-2", ignore=shutil.ignore_patterns("README.md", "*_removed"))
    arrow = shutil.copytree(glot500, tmp_path / "Glot500", ignore=shutil.ignore_patterns("README.md"))
    found = find_pairs(parquet, languages=["hin", "rus_Cyrl"])
    assert list(found) == ["hin_Deva", "rus_Cyrl"]
    assert {(s.kind, s.builder) for s in found.values()} == {("shards", "parquet")}
    assert [f.name for f in found["hin_Deva"].files] == ["000_00000.parquet", "001_00000.parquet", "002_00000.parquet"]
    assert {s.kind for s in find_pairs(arrow).values()} == {"saved"}  # save_to_disk folders: load_from_disk

    calls = count_load_dataset_calls(monkeypatch)
    for folder in (parquet, arrow):
        grouped = by_pair(
            build_pretraining_dataset(
                folder, tokenizer, max_seq_length=LENGTH, sampling_alpha=1.0, cache_dir=tmp_path / "cache"
            ),
            expected,
        )
        for label, (chunks, *_) in expected.items():
            assert sorted(grouped[label]) == sorted(chunks), (folder.name, label)
    assert calls == [("parquet",)]  # all five pairs of the parquet snapshot in one load_dataset call


def test_glot500_layout_streams_each_pair_in_file_order_sized_by_its_metadata(glot500, tokenizer, expected, lines):
    stream, mixture = build_pretraining_dataset(
        glot500,
        tokenizer,
        max_seq_length=LENGTH,
        sampling_alpha=1.0,
        streaming=True,
        shuffle_buffer_size=0,
        probe_rows=5,
        return_mixture=True,
    )
    assert mixture.estimated
    for label, rows in lines.items():
        # README dataset_info rows x tokens per row of the first 5 rows.
        probe = sum(len(ids) for ids in tokenizer(rows[:5])["input_ids"])
        assert mixture.tokens[label] == round(probe / 5 * len(rows)), label
    grouped = by_pair(stream, expected)
    for label, (chunks, *_) in expected.items():
        got = grouped[label]
        assert len(got) >= len(chunks) and got == (chunks * (len(got) // len(chunks) + 1))[: len(got)], label


def test_text_folder_pairs_load_in_one_call(tmp_path, tokenizer, lines, expected, monkeypatch):
    root = tmp_path / "glot500-c"
    root.mkdir()
    for label, rows in lines.items():
        (root / f"{label}.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    calls = count_load_dataset_calls(monkeypatch)
    rows = build_pretraining_dataset(root, tokenizer, max_seq_length=LENGTH, cache_dir=tmp_path / "c")
    grouped = by_pair(rows, expected)
    assert calls == [("text",)]
    assert all(grouped[label] for label in expected)


def test_configs_named_by_language_alone_get_the_script_of_their_text(tmp_path, lines, tokenizer, expected):
    # MADLAD-400 / CulturaX style: configs `hi`, `ru` (ISO 639-1), no script in the name.
    root = write_fineweb2_layout(
        {"hi": lines["hin_Deva"], "ru": lines["rus_Cyrl"]}, tmp_path / "madlad", removed_config=False
    )
    found = find_pairs(root)
    assert list(found) == ["hin_Deva", "rus_Cyrl"] and found["hin_Deva"].config == "hi"
    assert list(find_pairs(root, languages=["ru"])) == ["rus_Cyrl"]
    grouped = by_pair(
        build_pretraining_dataset(
            found, tokenizer, max_seq_length=LENGTH, sampling_alpha=1.0, cache_dir=tmp_path / "c"
        ),
        {label: expected[label] for label in found},
    )
    assert sorted(grouped["hin_Deva"]) == sorted(expected["hin_Deva"][0])


def test_text_in_another_script_than_its_name_is_refused(tmp_path, lines, tokenizer):
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "eng_Latn.txt").write_text("\n".join(lines["eng_Latn"]), encoding="utf-8")
    (root / "rus_Arab.txt").write_text("\n".join(lines["rus_Cyrl"]), encoding="utf-8")
    with pytest.raises(ValueError, match=r"rus_Arab\.txt.*only 0% .* in Arab; found Cyrl 100%.*rus_Cyrl"):
        find_pairs(root)
    snapshot = write_fineweb2_layout({"hin_Latn": lines["hin_Deva"]}, tmp_path / "snap", removed_config=False)
    (snapshot / "README.md").unlink()
    with pytest.raises(ValueError, match=r"hin_Latn.*found Deva 100%"):
        build_pretraining_dataset(snapshot, tokenizer, max_seq_length=LENGTH, cache_dir=tmp_path / "c")


def test_corrupt_compressed_file_is_named(tmp_path, lines, tokenizer):
    root = tmp_path / "corpus"
    root.mkdir()
    text = "\n".join(lines["eng_Latn"] * 20) + "\n"  # longer than the first lines the early check reads
    (root / "eng_Latn.txt.gz").write_bytes(gzip.compress(text.encode("utf-8"))[:-200])  # truncated
    with pytest.raises(ValueError, match=r"eng_Latn\.txt\.gz.* corrupt"):
        build_pretraining_dataset(root, tokenizer, max_seq_length=LENGTH, cache_dir=tmp_path / "c")
    (root / "eng_Latn.txt.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")  # not even its header reads
    with pytest.raises(ValueError, match=r"eng_Latn\.txt\.gz.*cannot be read"):
        find_pairs(root)


HUB_CLIENT = r"""
import json, sys
sys.path[:0] = ["tests", "."]
from huggingface_hub import HfApi
from langsamp.resources.xlmr_tokenizer import default_tokenizer
from langsamp.data import build_pretraining_dataset
from langsamp.training import cli

folder, repo, out, config, work = sys.argv[1:6]
HfApi().create_repo(repo, repo_type="dataset")
HfApi().upload_folder(repo_id=repo, repo_type="dataset", folder_path=folder)
tokenizer, result = default_tokenizer(), {}
cli.load_tokenizer = lambda model_args: tokenizer  # the XLM-R tokenizer training would load: once is enough
for streaming in (False, True):
    rows = build_pretraining_dataset(repo, tokenizer, max_seq_length=32, sampling_alpha=1.0, streaming=streaming,
                                     shuffle_buffer_size=0, cache_dir=work + "/cache")
    if streaming:
        rows = rows.take(400)
    result[str(streaming)] = [[row["lang_ids"], row["script_ids"], row["input_ids"]] for row in rows]
summary = cli.main(["--corpus", repo, "--languages", "hin_Deva,rus_Cyrl", "--streaming", "true", "--max_steps", "2",
                      "--config_name", config, "--output_dir", work + "/run", "--cache_dir", work + "/cache",
                      "--max_seq_length", "32", "--per_device_train_batch_size", "4", "--max_eval_samples", "8",
                      "--report_to", "none", "--disable_tqdm", "true", "--dataloader_num_workers", "0"])
result["steps"] = summary["steps"]
json.dump(result, open(out, "w"))
"""


def test_a_hub_id_is_read_and_trained_on_like_its_local_copy(tmp_path, fineweb2, expected):
    """The fineweb-2 copy pushed to a local Hub server (tests/fixtures/hub_server.py) and read back by its id: the same
    chunks per pair as the files hold, cached and streaming, and the training script trains on it (streaming)."""
    import json
    import subprocess
    import sys

    from fixtures.hub_server import LocalHub
    from fixtures.models import tiny_config

    tiny_config().save_pretrained(tmp_path / "config")
    out = tmp_path / "result.json"
    with LocalHub(root=tmp_path / "hub") as hub:
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                HUB_CLIENT,
                str(fineweb2),
                "local-user/fineweb-2",
                str(out),
                str(tmp_path / "config"),
                str(tmp_path),
            ],
            cwd=Path(__file__).resolve().parents[2],
            env=hub.subprocess_env(tmp_path / "hf_home"),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-6000:]
        asked = [path for method, path, status in hub.request_log if "/resolve/" in path and path.endswith(".parquet")]
    result = json.loads(out.read_text())
    assert result["steps"] == 2
    for streaming in ("False", "True"):
        grouped = by_pair([{"lang_ids": a, "script_ids": b, "input_ids": c} for a, b, c in result[streaming]], expected)
        for label, (chunks, *_) in expected.items():
            got = grouped[label]
            if streaming == "False":
                assert sorted(got) == sorted(chunks), label
            else:  # each pair in file order, restarting once read through
                assert got and got == (chunks * (len(got) // len(chunks) + 1))[: len(got)], label
    # fineweb-2's `<pair>_removed` configs are never fetched (the cached load also prepares each config's test split,
    # as datasets prepares every split of a config it downloads).
    assert asked and not any("_removed" in path for path in asked)


def test_training_runs_on_a_glot500_layout_folder(tmp_path, glot500, tokenizer, monkeypatch):
    from fixtures.models import tiny_config

    from langsamp.training import cli

    monkeypatch.setattr(cli, "load_tokenizer", lambda model_args: tokenizer)
    tiny_config().save_pretrained(tmp_path / "config")
    summary = cli.main(
        [
            "--corpus",
            str(glot500),
            "--config_name",
            str(tmp_path / "config"),
            "--output_dir",
            str(tmp_path / "run"),
            "--cache_dir",
            str(tmp_path / "cache"),
            "--max_seq_length",
            "32",
            "--per_device_train_batch_size",
            "4",
            "--max_steps",
            "2",
            "--max_eval_samples",
            "8",
            "--report_to",
            "none",
            "--disable_tqdm",
            "true",
            "--dataloader_num_workers",
            "0",
        ]
    )
    assert summary["steps"] == 2 and summary["loss_after"] is not None
    card = (tmp_path / "run" / "README.md").read_text(encoding="utf-8")
    assert all(label in card for label in ARTICLES)  # the run's pairs, named after the configs


def test_streamed_text_lines_are_datasets_lines_and_no_file_stays_open(tmp_path):
    """`read_text_lines` reads a pair's files as datasets' "text" builder does (universal newlines, blank lines kept,
    "\\n" stripped), and a plain file is closed between batches (reopened at the saved position)."""
    import gzip
    import os

    from datasets import load_dataset

    from langsamp.data.reading import read_text_lines

    plain = tmp_path / "eng_Latn.txt"
    plain.write_bytes("one\r\ntwo\rthree\n\nfünf ünd\nsix\nseven".encode())
    packed = tmp_path / "eng_Latn.2.txt.gz"
    packed.write_bytes(gzip.compress(b"eight\r\nnine\n"))
    files = [plain, packed]
    expected = load_dataset("text", data_files={"train": [str(f) for f in files]}, split="train")["text"]
    assert expected[:4] == ["one", "two", "three", ""]  # what "the same lines" means here

    before = len(os.listdir("/proc/self/fd"))
    batches = read_text_lines(files, 2)
    first = next(batches)
    assert len(os.listdir("/proc/self/fd")) == before  # the plain file is closed while its pair waits
    got = first + [line for batch in batches for line in batch]
    assert got == expected
    assert [len(b) for b in read_text_lines(files, 2)] == [2, 2, 2, 1, 2]  # whole batches, per file
