"""Evaluation corpora: any parallel corpus from disk, and the offline UDHR defaults (retrieval corpus, held-out
masked-LM text, a Taxi1500-like topic task)."""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langsamp.resources.udhr import Translation

DEFAULT_SOURCE = "eng"

# A Taxi1500-like task (Taxi1500 has six Bible-verse topics): a UDHR paragraph is labelled with the theme of its
# article. Articles 28-30 (duties, international order, interpretation) are left out as too generic.
UDHR_TOPIC_CLASSES = {
    "equality_dignity": (1, 2, 7),
    "life_liberty_security": (3, 4, 5, 9),
    "law_justice": (6, 8, 10, 11),
    "private_civil_life": (12, 13, 14, 15, 16, 17),
    "thought_participation": (18, 19, 20, 21),
    "social_economic_cultural": (22, 23, 24, 25, 26, 27),
}
# Held-out text for the masked-LM evaluation: compare_baseline.py pretrains on the UDHR without these articles.
UDHR_HELDOUT_ARTICLES = (26, 27, 28, 29, 30)


def resolve_language(code: str, available: Iterable[str], what: str = "the corpus") -> str:
    """Find `code` among `available` keys: exact (`deu_Latn`), or the only key of that language (`deu`)."""
    available = list(available)
    if code in available:
        return code
    prefixed = [key for key in available if key.split("_")[0] == code]
    if len(prefixed) == 1:
        return prefixed[0]
    if len(prefixed) > 1:
        raise ValueError(f"Language {code!r} is ambiguous in {what}: it has {', '.join(prefixed)}. Name one of them.")
    close = difflib.get_close_matches(code, available, n=5, cutoff=0.5)
    hint = f" Closest: {', '.join(close)}." if close else ""
    raise ValueError(f"Language {code!r} is not in {what} ({len(available)} languages).{hint}")


def udhr_translations(languages: list[str] | None = None) -> dict:
    """The UDHR translations ({label: Translation}); the whole set is parsed once per process (~1 CPU-s) and shared:
    treat it as read-only."""
    if languages is None:
        return _all_udhr_translations()
    from langsamp.resources.udhr import load_udhr

    return load_udhr(languages=languages)


@functools.lru_cache(maxsize=1)
def _all_udhr_translations():
    from langsamp.resources.udhr import load_udhr

    return load_udhr()


def udhr_parallel_corpus(translations: dict | None = None, include_preamble: bool = True) -> dict[str, list[str]]:
    """UDHR as a parallel corpus: label (`eng_Latn`) -> [preamble, article 1, ..., article 30], aligned by position.

    Each unit is a whole article (its paragraphs joined), since paragraph splits differ between translations.
    The candidate pool is small (31 units per language): top-10 is easy there, top-1 is the informative figure.
    """
    translations = udhr_translations() if translations is None else translations
    corpus = {}
    for label, t in translations.items():
        articles = t.article_texts()
        if any(n not in articles for n in range(1, 31)):
            continue
        units = ([" ".join(t.preamble)] if include_preamble and t.preamble else []) + [
            articles[n] for n in range(1, 31)
        ]
        corpus[label] = units
    if include_preamble:  # keep the corpus aligned: drop translations without a preamble
        length = max(len(units) for units in corpus.values())
        corpus = {label: units for label, units in corpus.items() if len(units) == length}
    return corpus


def udhr_heldout_texts(
    translations: dict | None = None, articles: Iterable[int] = UDHR_HELDOUT_ARTICLES
) -> dict[str, list[str]]:
    """label -> the paragraphs of `articles`: the masked-LM evaluation text (compare_baseline pretrains without
    it)."""
    translations = udhr_translations() if translations is None else translations
    return {
        label: [p for n in articles for p in t.articles.get(n, [])]
        for label, t in translations.items()
        if any(t.articles.get(n) for n in articles)
    }


def udhr_pretraining_paragraphs(
    translation: Translation, heldout_articles: Iterable[int] = UDHR_HELDOUT_ARTICLES
) -> list[str]:
    """A translation's paragraphs minus the held-out articles (the pretraining side of the masked-LM split)."""
    return translation.preamble + [
        p for n in sorted(translation.articles) if n not in heldout_articles for p in translation.articles[n]
    ]


def udhr_topic_classification(
    translations: dict | None = None,
    source: str = DEFAULT_SOURCE,
    languages: list[str] | None = None,
    classes: dict[str, tuple[int, ...]] | None = None,
    heldout_articles: list[int] | None = None,
) -> tuple:
    """A Taxi1500-like task from the UDHR: classify a paragraph by the theme of its article.

    Returns (train, tests, label_names): `train` holds the source language's paragraphs, `tests` maps every
    other language (and the source, under its own label) to its paragraphs, as `datasets.Dataset`s with columns
    `text` and `label` (a ClassLabel).

    heldout_articles: None (default) trains on all of the source's paragraphs and tests on the same articles in
    the other languages (test texts are translations of the training texts: this measures cross-lingual
    transfer); a list of article numbers trains on the others and tests only on those (content-disjoint, as
    Taxi1500's verse split; every class must keep a training article).
    """
    import datasets

    classes = dict(classes or UDHR_TOPIC_CLASSES)
    translations = udhr_translations() if translations is None else translations
    source = resolve_language(source, translations, "the UDHR")
    chosen = (
        list(translations) if languages is None else [resolve_language(c, translations, "the UDHR") for c in languages]
    )
    if source not in chosen:
        chosen.insert(0, source)
    names = list(classes)
    article_class = {}
    for index, name in enumerate(names):
        for n in classes[name]:
            if n in article_class:
                raise ValueError(f"Article {n} is in two classes ({names[article_class[n]]}, {name}).")
            article_class[n] = index
    heldout = set(heldout_articles or ())
    if heldout:
        unknown = heldout - set(article_class)
        if unknown:
            raise ValueError(
                f"Held-out articles {sorted(unknown)} belong to no class; classes cover {sorted(article_class)}."
            )
        empty = [name for name in names if set(classes[name]) <= heldout]
        if empty:
            raise ValueError(f"Holding out {sorted(heldout)} leaves no training article for {', '.join(empty)}.")
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=names)})

    def rows(translation, keep):
        texts, labels = [], []
        for n, paragraphs in sorted(translation.articles.items()):
            if n in article_class and keep(n):
                texts += paragraphs
                labels += [article_class[n]] * len(paragraphs)
        return datasets.Dataset.from_dict({"text": texts, "label": labels}, features=features)

    train = rows(translations[source], lambda n: n not in heldout)
    test_articles = (lambda n: n in heldout) if heldout else (lambda n: True)
    tests = {label: rows(translations[label], test_articles) for label in chosen}
    tests = {label: ds for label, ds in tests.items() if len(ds)}
    return train, tests, names


def read_parallel_corpus(path: str | Path) -> dict[str, list[str]]:
    """A parallel corpus from disk: a JSON file {language: [sentences]} or a folder with one UTF-8 file per
    language (file name = language, one sentence a line, aligned by line: the SR-B / Tatoeba layout)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        corpus = {p.name.split(".")[0]: p.read_text(encoding="utf-8").rstrip("\n").split("\n") for p in files}
    elif path.is_file():
        corpus = json.loads(path.read_text(encoding="utf-8"))
    else:
        raise ValueError(
            f"Corpus {str(path)!r} does not exist: give a JSON file {{language: [sentences]}} or a folder of "
            "per-language files."
        )
    if not corpus:
        raise ValueError(f"Corpus {str(path)!r} holds no languages.")
    return corpus


def read_corpus(value: str | Path | None, heldout: bool = False) -> dict[str, list[str]]:
    """A --corpus value: "udhr" (or None) for the UDHR (its held-out articles when `heldout`, for the masked LM;
    else the parallel corpus), anything else a path for read_parallel_corpus."""
    if value in (None, "udhr"):
        return udhr_heldout_texts() if heldout else udhr_parallel_corpus()
    return read_parallel_corpus(value)
