"""langsamp-eval overlap and corpus-stats, and train.py --exclude_eval: figures equal to hand-computed shares on a
small fixture (one evaluation sentence a corpus line, one sharing only a 13-gram, one absent), exactly the lines
holding an evaluation sentence dropped, and bad input (a task that does not exist, a folder without sentences, a
corpus with no pair in common with the task) as one line before any work."""

import json

import pytest

from langsamp.evaluation.cli import main
from langsamp.evaluation.overlap import corpus_overlap

# 12 words (no 13-gram), a corpus line as it is.
EXACT = "The exact sentence that appears in the corpus as a whole line."
# 15 words: 3 word 13-grams, of which the corpus holds the first ("alpha ... nu").
SHARED = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron"
# 15 words: 3 word 13-grams, none in the corpus.
ABSENT = "A sentence that nowhere appears in the training text at all, not even in part."
CORPUS = [
    "Some line.",
    "  The exact  sentence that appears in the corpus as a whole line.",  # EXACT, white space aside
    "prefix words alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu then other words",
    "Another line with the exact sentence inside: " + EXACT,
    "Some line.",
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("overlap")
    (root / "eval").mkdir()
    (root / "eval" / "eng_Latn.txt").write_text("\n".join([EXACT, SHARED, ABSENT]) + "\n", encoding="utf-8")
    (root / "corpus").mkdir()
    (root / "corpus" / "eng_Latn.txt").write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    (root / "corpus" / "fra_Latn.txt").write_text("Une ligne.\nUne ligne.\nUne  ligne.\nDeux.\n", encoding="utf-8")
    (root / "other").mkdir()
    (root / "other" / "deu_Latn.txt").write_text("Ein Satz.\n", encoding="utf-8")
    (root / "empty").mkdir()
    return root


def test_overlap_shares_equal_the_hand_counted_ones(folders, tmp_path, capsys):
    result = corpus_overlap(str(folders / "corpus"), str(folders / "eval"))
    assert list(result) == ["eng_Latn"]  # fra_Latn has no evaluation sentences
    eng = result["eng_Latn"]
    assert (eng["sentences"], eng["sentences_found"]) == (3, 1)
    assert (eng["ngrams"], eng["ngrams_found"]) == (3 + 3, 1)
    out = tmp_path / "overlap.json"
    assert (
        main(["overlap", "--corpus", str(folders / "corpus"), "--task", str(folders / "eval"), "--output", str(out)])
        == 0
    )
    assert "| eng_Latn | 3 | 1 | 33.3% | 6 (13 words) | 1 | 16.7% |" in capsys.readouterr().out
    assert json.loads(out.read_text())["pairs"]["eng_Latn"]["sentence_share"] == pytest.approx(1 / 3)


def test_corpus_stats_counts_the_duplicates(folders, capsys):
    assert main(["corpus-stats", "--corpus", str(folders / "corpus")]) == 0
    out = capsys.readouterr().out
    # fra: 4 lines, "Une ligne." in three spellings: 2 distinct, 2 duplicates; eng: "Some line." twice.
    assert "| fra_Latn | 4 | 2 | 2 | 50.0% |" in out
    assert "| eng_Latn | 5 | 4 | 1 | 20.0% |" in out


@pytest.mark.parametrize(
    "task, expected",
    [
        ("no-such-task", "is neither a task (sib200"),
        ("{empty}", "holds no plain parallel files"),
        ("{other}", "has no language-script pair in common with task"),
    ],
)
def test_bad_input_is_one_line(folders, capsys, task, expected):
    task = task.format(empty=folders / "empty", other=folders / "other")
    assert main(["overlap", "--corpus", str(folders / "corpus"), "--task", task]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1


def test_train_exclude_eval_drops_exactly_the_lines_holding_the_sentences(folders, tokenizer, tmp_path):
    from langsamp.data import build, open_corpus
    from langsamp.training.arguments import DataArguments
    from langsamp.training.line_rules import line_rules

    args = DataArguments(corpus=str(folders / "corpus"), exclude_eval=[str(folders / "eval")])
    rules = line_rules(args, ["eng_Latn", "fra_Latn"])
    _, mixture = build(open_corpus(str(folders / "corpus"), tokenizer), tokenizer, max_seq_length=4, rules=rules,
                       cache_dir=tmp_path)  # fmt: skip
    # CORPUS lines 2 and 4 hold EXACT; line 3 shares only a 13-gram of SHARED and stays.
    assert mixture.lines["eng_Latn"] == {"lines": 5, "excluded": 2, "duplicates": 0, "kept": 3}
    assert mixture.lines["fra_Latn"]["excluded"] == 0
    with pytest.raises(ValueError, match="no language-script pair in common"):
        line_rules(DataArguments(corpus="x", exclude_eval=[str(folders / "other")]), ["eng_Latn", "fra_Latn"])


def test_a_hub_task_by_id_counts_both_sides_of_tatoeba(folders, tmp_path):
    from fixtures import hub_fixtures

    german = ["Ich habe heute keine Zeit für dich.", "Der Zug kommt um acht Uhr an."]
    english = ["I have no time for you today.", "The train arrives at eight o'clock."]
    repo = hub_fixtures.tatoeba(tmp_path / "tatoeba", {"deu": list(zip(german, english))})
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "deu_Latn.txt").write_text(f"{german[0]}\nEtwas anderes.\n", encoding="utf-8")
    (corpus / "eng_Latn.txt").write_text(f"Something else.\n{english[1]}\n", encoding="utf-8")
    result = corpus_overlap(str(corpus), "mteb/tatoeba-bitext-mining", str(repo))
    assert {label: (r["sentences"], r["sentences_found"]) for label, r in result.items()} == {
        "deu_Latn": (2, 1),
        "eng_Latn": (2, 1),
    }
