"""The naming rules of a corpus' language-script pairs (`hin_Deva`) and the checks made on them before any text is
read in bulk: which pairs a `languages` filter keeps, whether the model has table rows for a pair's language and
script, and whether a pair's first lines are written in the script its label names."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence

from langsamp_codes import SCRIPT_ALIASES, detect_scripts, parse_language, unknown_script
from langsamp_inventory import RELEASE_LANGUAGES, RELEASE_SCRIPTS

logger = logging.getLogger(__name__)

# `<iso639-3>_<Script>` with an optional suffix (`.txt`, `.gz`, `.txt.gz`, ...).
LABEL_PATTERN = re.compile(r"^(?P<lang>[a-z]{3})_(?P<script>[A-Z][a-z]{3})(?:\.[^/]+)?$")
CONFIG_LABEL = re.compile(r"^(?P<lang>[a-z]{3})_(?P<script>[A-Z][a-z]{3})$")  # fineweb-2's `*_removed` do not match
LABEL_EXAMPLE = "'hin_Deva', 'hin_Deva.txt' or 'hin_Deva.txt.gz' (or a folder 'hin_Deva/' of such text files)"
# Script check: how many first lines of each pair are looked at, and the share of them (among lines with letters)
# that must be in the pair's script; below WARN_SHARE a warning, below ERROR_SHARE an error.
SCRIPT_SAMPLE_LINES = 200
ERROR_SHARE, WARN_SHARE = 0.5, 0.9
# Scripts that also count as the label's: Japanese lines without kana read as Han, Korean mixes in Han.
COMPATIBLE_SCRIPTS = {"Jpan": {"Hani"}, "Hang": {"Hani"}}


def as_lookup(codes: Iterable[str]) -> Mapping | set | frozenset:
    """`codes` as something `in` is fast on (a dict or set as it is, anything else as a dict of its items)."""
    return codes if isinstance(codes, (dict, set, frozenset)) else dict.fromkeys(codes)


def model_inventory(model_languages=None, model_scripts=None) -> tuple[Mapping | set | frozenset, list[str]]:
    """The model's languages (as a lookup) and scripts; None stands for the release's 610 / 30."""
    languages = as_lookup(model_languages if model_languages is not None else RELEASE_LANGUAGES)
    return languages, list(model_scripts if model_scripts is not None else RELEASE_SCRIPTS)


def filter_entries(languages: str | Iterable[str]) -> list[str]:
    """The entries of a `languages` filter: a list as it is, a string split at commas and white space."""
    return [code for code in re.split(r"[,\s]+", languages) if code] if isinstance(languages, str) else list(languages)


def select_pairs(labels: Sequence[str], languages: str | Iterable[str] | None, model_languages=None) -> list[str]:
    """The labels matching a `languages` filter (codes or labels, any form parse_language accepts), in order.
    Every entry of the filter must match at least one label."""
    if languages is None:
        return list(labels)
    languages = filter_entries(languages)
    model_languages = as_lookup(model_languages if model_languages is not None else RELEASE_LANGUAGES)
    wanted, unmatched = set(), []
    for code in languages:
        lang, script = parse_language(code, model_languages)
        found = [
            label
            for label in labels
            if label.split("_")[0] == lang and (script is None or label.split("_")[1] == script)
        ]
        if not found:
            unmatched.append(code)
        wanted.update(found)
    if unmatched:
        shown = ", ".join(list(labels)[:40]) + (" ..." if len(labels) > 40 else "")
        raise ValueError(
            f"The languages filter entries {unmatched} match no pair of the corpus. Its {len(labels)} pairs: {shown}."
        )
    return [label for label in labels if label in wanted]


def check_inventory(names: Mapping[str, str], model_languages, model_scripts: Sequence[str]) -> None:
    """Every pair's language and script must have a table row, and no two pairs the same rows. `names`: {label:
    the name of its entry in messages}."""
    rows = {}
    for label, name in names.items():
        lang, script = label.split("_")
        try:
            parse_language(lang, model_languages)
        except ValueError as error:  # it names the language and what the model has instead
            also = (
                f" Its script {script!r} is not among the model's scripts either (train.py appends both rows)."
                if SCRIPT_ALIASES.get(script, script) not in model_scripts
                else ""
            )
            raise ValueError(f"Corpus entry {name!r}: {error}{also}") from error
        if SCRIPT_ALIASES.get(script, script) not in model_scripts:
            raise ValueError(
                f"Corpus entry {name!r}: script {script!r} is not among the model's scripts: "
                f"{unknown_script(script, model_scripts, lang)}; or filter the pair out with `languages`."
            )
        row = (lang, SCRIPT_ALIASES.get(script, script))
        if row in rows:
            raise ValueError(f"Corpus pairs {rows[row]} and {label} map to the same language and script rows {row}.")
        rows[row] = label


def check_pair_script(label: str, texts: Sequence[str], origin: str, fix: str | None = None) -> None:
    """Whether a pair's first lines are written in the script its label names (`rus_Arab` holding Cyrillic is
    caught here, before the pair's rows are trained under the wrong script id). ValueError when fewer than half
    of the lines with letters are in that script, a warning below 90%."""
    script = SCRIPT_ALIASES.get(label.split("_")[1], label.split("_")[1])
    found = [s for s in detect_scripts([t for t in texts if t]) if s is not None]
    if not found:
        return
    accepted = {script} | COMPATIBLE_SCRIPTS.get(script, set())
    share = sum(s in accepted for s in found) / len(found)
    if share >= WARN_SHARE:
        return
    counts = {s: found.count(s) for s in set(found)}
    shown = ", ".join(f"{s} {n / len(found):.0%}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1])[:4])
    message = f"{origin} ({label}): only {share:.0%} of its first {len(found)} lines are in {script}; found {shown}."
    if share < ERROR_SHARE:
        top = max(counts, key=counts.get)
        fix = fix or (
            f"rename it after the script it is written in (e.g. {label.split('_')[0]}_{top}), or fix its content"
        )
        raise ValueError(f"{message} Its text would train under the wrong script id: {fix.format(top=top)}.")
    logger.warning("%s Mixed-script text is trained under the label's script id.", message)
