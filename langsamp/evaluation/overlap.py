"""Evaluation text in a pretraining corpus: each task's evaluation sentences per `<iso639-3>_<Script>` pair, and how
much of them a corpus holds (`langsamp-eval overlap`), for the pairs the two have in common.

Two shares a language: the evaluation sentences that ARE a corpus line (after normalisation: NFC, white space
collapsed), and the evaluation n-grams found in some corpus line: word 13-grams (GPT-3's contamination test), or
character 20-grams for scripts written without spaces (Han, Japanese, Thai, ...), where a word 13-gram would be a
whole paragraph. A sentence shorter than one n-gram adds none (the exact share still sees it).

The sentences are the test split of every language of a named task (by name or Hub id; both sides of Tatoeba), the
UDHR paragraphs of the offline tasks, or a folder of plain parallel files (`<lang>_<Script>.txt`, a sentence a line).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from tqdm.auto import tqdm

from langsamp.data.dedup import normalise_line
from langsamp.data.line_stats import corpus_pairs, pair_lines
from langsamp.evaluation.corpora import read_parallel_corpus, udhr_parallel_corpus, udhr_topic_classification
from langsamp.evaluation.languages import map_languages
from langsamp.evaluation.task_data import TaskData
from langsamp.evaluation.tasks import TASKS, get_task

WORD_NGRAM = 13
CHAR_NGRAM = 20
UNSPACED_SCRIPTS = frozenset({"Hani", "Hans", "Hant", "Jpan", "Hira", "Kana", "Thai", "Khmr", "Laoo", "Mymr", "Tibt"})


def evaluation_sentences(task: str, dataset: str | None = None, token: str | None = None) -> dict[str, list[str]]:
    """{label: evaluation sentences} of a named task (its Hub dataset, or `dataset`: a local copy laid out like it)
    or of a folder of plain parallel files (`task` itself a folder). ValueError naming a task that does not exist
    or a folder without sentences. A task may be named by its Hub id (`Davlan/sib200`)."""
    task = task_of_hub_id(task)
    if task not in TASKS:
        if Path(task).expanduser().is_dir():
            return _plain_sentences(Path(task).expanduser())
        raise ValueError(
            f"Evaluation set {task!r} is neither a task ({', '.join(TASKS)}) nor a folder of plain parallel files "
            "(<language>.txt, a sentence a line)."
        )
    found = _task_sentences(get_task(task), dataset, token)
    if not any(found.values()):
        raise ValueError(f"Task {task} ({dataset or get_task(task).dataset}) holds no evaluation sentences.")
    return found


def task_of_hub_id(name: str) -> str:
    """The task whose Hub dataset `name` is (`Davlan/sib200` -> sib200), else `name` itself."""
    return next((task.name for task in TASKS.values() if task.dataset == name), name)


def _plain_sentences(folder: Path) -> dict[str, list[str]]:
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix in ("", ".txt") and not p.name.startswith(".")]
    if not files:
        raise ValueError(
            f"Folder {str(folder)!r} holds no plain parallel files: give one <language>.txt (e.g. eng_Latn.txt) "
            "a language, a sentence a line."
        )
    corpus = {code: [s for s in texts if s.strip()] for code, texts in read_parallel_corpus(folder).items()}
    mapping, missing = map_languages(list(corpus), "label", None, corpus)
    if missing or not any(corpus.values()):
        what = f"files not named by a language: {', '.join(missing)}" if missing else "no sentences"
        raise ValueError(f"Folder {str(folder)!r}: {what}; name each file <lang>_<Script>.txt, a sentence a line.")
    return _merge({mapping[code]: corpus[code] for code in mapping})


def _task_sentences(task, dataset, token) -> dict[str, list[str]]:
    if task.dataset == "udhr" and dataset is None:
        if task.name == "udhr-topics":
            _, tests, _ = udhr_topic_classification()
            return {label: list(split["text"]) for label, split in tests.items()}
        return udhr_parallel_corpus()
    data = TaskData(task, dataset, token)
    codes = data.languages()
    texts: dict[str, list[str]] = {}
    extra: dict[str, list[str]] = {}
    for code in tqdm(codes, desc=f"Reading {task.name}'s test sentences", unit=" languages"):
        split = data.split(code, "test")
        if task.name == "tatoeba":
            texts[code] = list(split["sentence1"])
            extra.setdefault("eng_Latn", []).extend(split["sentence2"])
        else:
            column = task.text_column or "text"
            texts[code] = [" ".join(t) if isinstance(t, list) else t for t in split[column]]
    mapping, _ = map_languages(codes, task.convention, None, {c: t[:20] for c, t in texts.items()})
    labelled = [(mapping[code], texts[code]) for code in mapping]
    return _merge([*labelled, *extra.items()])


def _merge(pairs: Iterable[tuple[str, list[str]]] | Mapping[str, list[str]]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for label, sentences in pairs.items() if isinstance(pairs, Mapping) else pairs:
        merged.setdefault(label, []).extend(s for s in sentences if s and s.strip())
    return merged


def ngrams(line: str, script: str) -> set:
    """The n-grams of a normalised line: word 13-grams, or character 20-grams for UNSPACED_SCRIPTS."""
    if script in UNSPACED_SCRIPTS:
        text = line.replace(" ", "")
        return {text[i : i + CHAR_NGRAM] for i in range(len(text) - CHAR_NGRAM + 1)}
    words = line.split(" ")
    return {tuple(words[i : i + WORD_NGRAM]) for i in range(len(words) - WORD_NGRAM + 1)}


def pair_overlap(sentences: Sequence[str], corpus_batches: Iterable[Sequence[str]], script: str) -> dict:
    """How much of one pair's evaluation `sentences` its corpus lines (in batches) hold (module doc)."""
    wanted = {normalise_line(s) for s in sentences} - {""}
    grams = set().union(*(ngrams(s, script) for s in wanted)) if wanted else set()
    found, found_grams = set(), set()
    for batch in corpus_batches:
        for text in batch:
            line = normalise_line(text)
            if line in wanted:
                found.add(line)
            if grams:
                found_grams |= ngrams(line, script) & grams
    return {
        "sentences": len(wanted),
        "sentences_found": len(found),
        "sentence_share": len(found) / len(wanted) if wanted else 0.0,
        "ngrams": len(grams),
        "ngrams_found": len(found_grams),
        "ngram_share": len(found_grams) / len(grams) if grams else None,
        "ngram": f"{CHAR_NGRAM} characters" if script in UNSPACED_SCRIPTS else f"{WORD_NGRAM} words",
    }


def common_pairs(corpus_labels: Sequence[str], sentences: Mapping[str, list[str]], what: str) -> list[str]:
    """The pairs both have; ValueError naming both sides when there are none."""
    common = [label for label in corpus_labels if sentences.get(label)]
    if not common:
        raise ValueError(
            f"The corpus ({', '.join(list(corpus_labels)[:10])}) has no language-script pair in common with {what} "
            f"({', '.join(sorted(sentences)[:10])}{', ...' if len(sentences) > 10 else ''}): nothing to compare."
        )
    return common


def check_task_name(task: str) -> None:
    """ValueError for a --task that is neither a task nor a folder, before any reading."""
    if task_of_hub_id(task) not in TASKS and not Path(task).expanduser().is_dir():
        evaluation_sentences(task)  # raises, naming the tasks


def corpus_overlap(
    corpus: str,
    task: str,
    dataset: str | None = None,
    *,
    languages=None,
    split: str = "train",
    token: str | None = None,
    cache_dir=None,
) -> dict[str, dict]:
    """{label: overlap figures (pair_overlap)} of a corpus of pairs (line_stats.corpus_pairs) and a task's
    evaluation sentences (evaluation_sentences), for the pairs both have."""
    check_task_name(task)
    sources = corpus_pairs(corpus, languages, split)
    sentences = evaluation_sentences(task, dataset, token)
    common = common_pairs(list(sources), sentences, f"task {task}")
    return {
        label: pair_overlap(sentences[label], pair_lines(sources[label], cache_dir), label.split("_")[1])
        for label in tqdm(common, desc="Reading the corpus", unit=" pairs")
    }


def overlap_table(result: Mapping[str, dict]) -> str:
    """One row a pair: the evaluation sentences found in the corpus, and their n-grams found."""
    lines = ["| pair | sentences | found | share | n-grams | found | share |", "|---|---|---|---|---|---|---|"]
    for label, r in result.items():
        gram_share = "-" if r["ngram_share"] is None else f"{r['ngram_share']:.1%}"
        lines.append(
            f"| {label} | {r['sentences']} | {r['sentences_found']} | {r['sentence_share']:.1%} | {r['ngrams']} "
            f"({r['ngram']}) | {r['ngrams_found']} | {gram_share} |"
        )
    return "\n".join(lines)
