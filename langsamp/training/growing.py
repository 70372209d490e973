"""Growing the language and script tables: the corpus pairs (or `--languages` entries) whose language or script the
checkpoint's inventory lacks are appended to the tokenizer's inventory, in the corpus' order, before the corpus is
checked against it; the model's config and tables then follow the tokenizer (builders.py, table_rows.py). Only real
codes grow a table: an ISO 639-3 language or an ISO 15924 script of the IANA registry (`language_data`); anything
else is refused with the closest real codes."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from langsamp.data.labels import CONFIG_LABEL, filter_entries
from langsamp_codes import SCRIPT_ALIASES, closest, current_code, language_name, script_name
from tokenization_langsamp import LangSAMPTokenizer

logger = logging.getLogger(__name__)

BARE_LANGUAGE = re.compile(r"^[a-z]{3}$")


@dataclass
class NewCodes:
    """The codes a run adds to the inventory, in the order their rows are appended."""

    languages: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.languages or self.scripts)

    def summary(self) -> str:
        named = [f"{code} ({language_name(code)})" for code in self.languages]
        named += [f"{code} ({script_name(code)})" for code in self.scripts]
        return ", ".join(named)


@functools.lru_cache(maxsize=1)
def real_codes() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(every ISO 639 language code as ISO 639-3, every ISO 15924 script code, the retired language codes) of the
    IANA registry, private-use ranges left out."""
    from langcodes import LANGUAGE_ALPHA3
    from language_data.registry_parser import parse_registry

    languages, scripts, retired = set(), set(), set()
    for entry in parse_registry():
        subtag = entry.get("Subtag", "")
        if ".." in subtag:  # a private-use range (qaa..qtz, Qaaa..Qabx)
            continue
        if entry.get("Type") == "language":
            languages.add(LANGUAGE_ALPHA3.get(subtag, subtag))
            if "Deprecated" in entry and len(subtag) == 3:  # (`iw` would map to the current `heb`)
                retired.add(subtag)
        elif entry.get("Type") == "script":
            scripts.add(subtag)
    return (
        frozenset(code for code in languages if len(code) == 3),
        frozenset(scripts),
        frozenset(retired),
    )


def wanted_labels(offered: Sequence[str], languages: str | Iterable[str] | None) -> list[str]:
    """The labels (and bare 3-letter codes) a run asks for: the corpus' `offered` labels kept by the `languages`
    filter, plus the filter's own labels and codes (a dataset of rows offers none before it is read). Other entries
    (`hi`, `sr-Latn`) can only name codes of the inventory and are left to the corpus checks."""
    if languages is None:
        return list(offered)
    wanted = []
    for entry in filter_entries(languages):
        if CONFIG_LABEL.match(entry):
            wanted.append(entry)
        elif BARE_LANGUAGE.match(entry):
            wanted += [label for label in offered if label.split("_")[0] == entry] or [entry]
    return list(dict.fromkeys(wanted))


def new_codes(wanted: Sequence[str], tokenizer: LangSAMPTokenizer) -> NewCodes:
    """The languages and scripts of `wanted` labels (or bare codes) that the tokenizer's inventory lacks, in first-seen
    order. A retired code of a language the inventory has under its current code (`mol` for `ron`) is not new: the
    corpus check names the current code."""
    known_languages, known_scripts = set(tokenizer.languages), set(tokenizer.scripts)
    retired = real_codes()[2]
    new = NewCodes()
    for item in wanted:
        lang, _, script = item.partition("_")
        renamed = lang in retired and current_code(lang) in known_languages
        if lang not in known_languages and not renamed and lang not in new.languages:
            new.languages.append(lang)
        script = SCRIPT_ALIASES.get(script, script)
        if script and script not in known_scripts and script not in new.scripts:
            new.scripts.append(script)
    return new


def check_real(new: NewCodes) -> None:
    """ValueError naming the first code that is no real ISO 639-3 language or ISO 15924 script, with the closest real
    codes; a table row for it would train on a label nobody can look up."""
    languages, scripts, _ = real_codes()
    for code in new.languages:
        if code not in languages:
            raise ValueError(
                f"Language {code!r} is not an ISO 639-3 code, so no table row is added for it; closest real codes: "
                f"{', '.join(closest(code, languages))}. Rename the pair, or filter it out with --languages."
            )
    for code in new.scripts:
        if code not in scripts:
            near = [k.title() for k in closest(code.lower(), [s.lower() for s in scripts])]
            raise ValueError(
                f"Script {code!r} is not an ISO 15924 code, so no table row is added for it; closest real codes: "
                f"{', '.join(near)}. Rename the pair, or filter it out with --languages."
            )


def grow_inventory(tokenizer: LangSAMPTokenizer, offered: Sequence[str], languages) -> NewCodes:
    """Appends the run's new real codes to the tokenizer's inventory (old codes keep their ids) and returns them."""
    new = new_codes(wanted_labels(offered, languages), tokenizer)
    if not new:
        return new
    check_real(new)
    tokenizer.add_codes(new.languages, new.scripts)
    logger.warning(
        "Growing the tables by %d language and %d script rows for the corpus: %s.",
        len(new.languages),
        len(new.scripts),
        new.summary(),
    )
    return new
