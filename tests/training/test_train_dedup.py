"""train.py --dedup / --exclude_eval: a short run on a small real corpus with duplicated lines and an evaluation
sentence drops exactly the hand-counted lines, counts n_l after the drop, and puts the counts in the log and on the
model card; a bad evaluation set or Bloom size is one line before any work."""

import logging

import pytest

from langsamp.training import cli

TINY = "hidden_size=32,num_hidden_layers=1,num_attention_heads=2,intermediate_size=64"
QUIET = ["--report_to", "none", "--disable_tqdm", "true", "--dataloader_num_workers", "0"]


@pytest.fixture
def folders(tmp_path, udhr_translations):
    """A corpus of eng_Latn (its UDHR paragraphs twice, the second time with doubled spaces) and deu_Latn (once);
    an evaluation folder holding English article 3 (one paragraph); folders that cannot be used."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    english = udhr_translations["eng_Latn"].paragraphs()
    doubled = english + [p.replace(" ", "  ") for p in english]
    (corpus / "eng_Latn.txt").write_text("\n".join(doubled) + "\n", encoding="utf-8")
    (corpus / "deu_Latn.txt").write_text("\n".join(udhr_translations["deu_Latn"].paragraphs()) + "\n")
    evaluation = tmp_path / "eval"
    evaluation.mkdir()
    article = udhr_translations["eng_Latn"].articles[3]
    assert len(article) == 1
    (evaluation / "eng_Latn.txt").write_text(article[0] + "\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "fra_Latn.txt").write_text("Une phrase.\n", encoding="utf-8")
    return tmp_path, english, article[0]


def dropping_argv(tmp_path, out, *extra):
    return ["--corpus", str(tmp_path / "corpus"), "--output_dir", str(out), "--config_overrides", TINY,
            "--max_seq_length", "32", "--per_device_train_batch_size", "2", "--cache_dir", str(tmp_path / "cache"),
            "--dedup", "lines", "--exclude_eval", str(tmp_path / "eval"), *QUIET, *extra]  # fmt: skip


@pytest.mark.parametrize(
    "schedule",
    [
        ["--max_steps", "1", "--max_eval_samples", "4"],
        # a scheduled run (the phased build) drops the same lines; no held-out chunks, so n_l is every kept chunk
        ["--max_steps", "2", "--max_eval_samples", "0", "--sampling_alpha", "1,0.3@0.5", "--mlm_probability",
         "0.3,0.15@0.5"],
    ],
    ids=["unscheduled", "scheduled"],
)  # fmt: skip
def test_dedup_and_exclude_eval_drop_the_hand_counted_lines(folders, tokenizer, monkeypatch, caplog, schedule):
    tmp_path, english, held = folders
    monkeypatch.setattr(cli, "load_tokenizer", lambda model_args: tokenizer)
    out = tmp_path / "run"
    with caplog.at_level(logging.INFO):
        cli.main(dropping_argv(tmp_path, out, *schedule))
    # eng: 2n lines; article 3 twice (both spellings hold it) dropped as evaluation text; the other n - 1 are
    # repeated once each (white space aside).
    n = len(english)
    row = f"| eng_Latn | {2 * n} | 2 | {n - 1} | {n - 1} |"
    card = (out / "README.md").read_text()
    assert row in card and row in caplog.text
    # n_l counts the kept lines: each English paragraph once, article 3 left out
    kept = [p for p in english if p != held]
    tokens = sum(len(ids) for ids in tokenizer(kept)["input_ids"])
    assert f"| eng_Latn | {tokens // 32} |" in card
    assert ("Phases:" in card) == ("--sampling_alpha" in schedule)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--exclude_eval", "no-such-task"], "Evaluation set 'no-such-task' is neither a task"),
        (["--exclude_eval", "{tmp}/empty"], "holds no plain parallel files"),
        (["--exclude_eval", "{tmp}/other"], "has no language-script pair in common with --exclude_eval"),
        (["--dedup", "lines", "--dedup_bloom_mb", "0"], "--dedup_bloom_mb must be a positive size in MB, got 0.0."),
        (["--dedup", "words"], "argument --dedup: invalid choice: 'words'"),
    ],
)
def test_bad_dedup_and_exclusion_flags_are_one_line_before_any_work(folders, checked_train, flags, message):
    tmp_path, _, _ = folders
    argv = ["--corpus", str(tmp_path / "corpus"), "--output_dir", str(tmp_path / "out"), *QUIET]
    argv += [flag.format(tmp=tmp_path) for flag in flags]
    with pytest.raises(cli.BadInput) as error:
        checked_train.main(argv)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "out").exists()


def test_exclude_eval_is_repeatable():
    from langsamp.training.arguments import parse_arguments

    argv = [
        "--output_dir",
        "out",
        "--corpus",
        "corpus",
        "--exclude_eval",
        "flores",
        "--exclude_eval",
        "sib200=DIR",
        "x",
    ]
    assert parse_arguments(argv)[1].exclude_eval == ["flores", "sib200=DIR", "x"]  # argparse's default kept the last
