"""Language codes and script detection for LangSAMP: the one place that turns what users type
(`hin`, `hin_Deva`, `hi`, `sr-Latn`) and what texts contain (Unicode scripts) into table rows.

Used by the tokenizer (to emit `lang_ids` / `script_ids`), the model (to read a learned embedding by
code) and train.py (to validate corpus file names). Pure Python + numpy; no file I/O, except that an error
message about an unknown code reads the language tables of `langcodes` / `language_data` when they are installed.
"""

from __future__ import annotations

import csv
import difflib
import functools
import re
import warnings
from collections.abc import Collection, Iterable, Sequence
from typing import NamedTuple

import numpy as np

try:
    from .langsamp_inventory import (
        DEFAULT_SCRIPT,
        GLOT500_PAIRS,
        ISO639_1_TO_3,
        MACROLANGUAGE_MEMBERS,
        UNICODE_SCRIPT_STARTS,
        UNICODE_SCRIPT_VALUES,
    )
except ImportError:  # imported from a checkout as a top-level module rather than as remote code
    from langsamp_inventory import (
        DEFAULT_SCRIPT,
        GLOT500_PAIRS,
        ISO639_1_TO_3,
        MACROLANGUAGE_MEMBERS,
        UNICODE_SCRIPT_STARTS,
        UNICODE_SCRIPT_VALUES,
    )

# Glot500 conventions for scripts that Unicode splits or BCP-47 refines.
KANA = ("Hira", "Kana")
SCRIPT_ALIASES = {"Hans": "Hani", "Hant": "Hani", "Kore": "Hang"}

_CODE = re.compile(r"^(?P<lang>[A-Za-z]{2,3})(?:(?P<sep>[-_])(?P<script>[A-Za-z]{4}))?(?P<rest>(?:[-_][A-Za-z0-9]+)*)$")
# Subtags that may follow the language where a script could: a region (`en-US`, `es-419`, and POSIX locales'
# `pt_BR`) or, after a hyphen, a BCP-47 extended language (`zh-yue`); anything else there is read as a script.
_REGION = re.compile(r"^(?:[A-Za-z]{2}|[0-9]{3})$")
_EXTLANG = re.compile(r"^[a-z]{3}$")


def _typo_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) between two short codes."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def closest(code: str, known: Iterable[str], n: int = 5) -> list[str]:
    """The known codes that look most like `code`, for error messages.

    Ranked by typo distance first (difflib alone ranks the transposition `hni` below `shn`, `nzi`, ... and
    leaves `hin` out of the five), then by difflib's similarity, then alphabetically (deterministic)."""
    code = code.lower()
    ranked = sorted(known, key=lambda k: (_typo_distance(code, k), -difflib.SequenceMatcher(None, code, k).ratio(), k))
    return [k for k in ranked[:n] if _typo_distance(code, k) <= max(1, len(code) // 2)]


def closest_hint(code: str, known: Collection[str], listing: str) -> str:
    """'Closest known codes: ...' for a message, or, when none is close, where the full list is (`listing`)."""
    near = closest(code, known)
    if near:
        return f"Closest known codes: {', '.join(near)}."
    return f"No known code is close to it; {listing} lists all {len(known)}."


# ------------------------------------------------------------------------------------ what an unknown code stands for
# Read only on the error path, from `langcodes` and `language_data` when they are installed (the langsamp package
# requires them; remote code runs without them and then says less): IANA / CLDR names, the IANA registry's
# macrolanguages and collections, and Wiktionary's language table (a family and scripts per language).

LANGUAGE_LISTING = "`tokenizer.languages` (or `config.languages`)"
# Wiktionary's groupings that are no family: languages in them are not related by descent.
NOT_FAMILIES = frozenset({"", "constructed", "creole or pidgin", "isolate", "mixed", "not a family", "sign"})
SHOWN = 6  # related languages named in a message; more are counted


def how_to_add(code: str, field: str) -> str:
    """The route that adds a table row (docs/training.md): train.py appends rows to the tables of the checkpoint it
    continues for the corpus pairs whose codes it lacks."""
    pair = f"{code}_<Script>" if field == "languages" else f"<lang>_{code}"
    return (
        f"continue training the model with train.py on a corpus with a {pair!r} pair, which appends the table row "
        '(docs/training.md, "Adding a language or a script")'
    )


def language_name(code: str) -> str | None:
    """The English name of a real ISO 639 code (`zgh` -> 'Standard Moroccan Tamazight'); None for a code no standard
    assigns (`xyz`, the private-use `qaa`-`qtz`) or without `langcodes`."""
    try:
        import langcodes

        if not langcodes.tag_is_valid(code) or "qaa" <= code.lower() <= "qtz":
            return None
        name = langcodes.Language.get(code).display_name()
    except (ImportError, LookupError, ValueError):
        return None
    return None if name.startswith("Unknown language") else name


def script_name(code: str) -> str | None:
    """The ISO 15924 name of a script code (`Tfng` -> 'Tifinagh'); None for no script's code or without `langcodes`."""
    try:
        import langcodes

        if not langcodes.tag_is_valid(f"und-{code}") or "Qaaa" <= code.title() <= "Qabx":
            return None
        name = langcodes.Language.get(f"und-{code}").script_name()
    except (ImportError, LookupError, ValueError):
        return None
    return None if not name or name.startswith("Unknown") else name


class Reference(NamedTuple):
    """Per ISO 639-3 code: Wiktionary's family and scripts, the IANA registry's macrolanguage; and the registry's
    collection codes with their names (`ber`: 'Berber languages')."""

    family: dict[str, str]
    written: dict[str, tuple[str, ...]]
    macrolanguage: dict[str, str]
    collections: dict[str, str]


@functools.lru_cache(maxsize=1)
def reference() -> Reference | None:
    """The reference tables, read once (about 50 ms) when a message first needs them; None without `langcodes` and
    `language_data`."""
    try:
        from langcodes import LANGUAGE_ALPHA3
        from language_data.registry_parser import parse_registry
        from language_data.util import data_filename

        data = Reference({}, {}, {}, {})
        for entry in parse_registry():
            code = LANGUAGE_ALPHA3.get(entry.get("Subtag"), entry.get("Subtag"))
            if entry.get("Type") == "language" and "Macrolanguage" in entry:
                data.macrolanguage[code] = LANGUAGE_ALPHA3.get(entry["Macrolanguage"], entry["Macrolanguage"])
            if entry.get("Type") == "language" and entry.get("Scope") == "collection":
                data.collections[code] = entry["Description"][0]
        with open(data_filename("wiktionary/codes-en.csv"), encoding="utf-8") as table:
            for row in csv.reader(table, delimiter="\t"):
                if len(row) >= 4 and 2 <= len(row[0]) <= 3:
                    code = LANGUAGE_ALPHA3.get(row[0], row[0])
                    if row[2] not in NOT_FAMILIES:
                        data.family[code] = row[2]
                    data.written[code] = tuple(s.strip() for s in row[3].split(",") if s.strip())
    except (ImportError, OSError, ValueError):  # not installed, or files of another layout: the messages say less
        return None
    return data


def named(codes: Sequence[str]) -> str:
    """`kab (Kabyle), taq (Tamasheq)`: the first SHOWN codes with their names, the rest counted."""
    shown = [f"{code} ({name})" if (name := language_name(code)) else code for code in codes[:SHOWN]]
    more = f" and {len(codes) - SHOWN} more" if len(codes) > SHOWN else ""
    return ", ".join(shown) + more


def swapped_codes(code: str, known: Collection[str]) -> list[str]:
    """Known codes that are `code` with two neighbouring letters swapped (`hni` -> `hin`): the one slip still worth
    suggesting when `code` is itself a real language's code (a one-letter change of one, `zgh` -> `mgh`, is merely
    another language: seven thousand real codes fill the three-letter space densely)."""
    swaps = {code[:i] + code[i + 1] + code[i] + code[i + 2 :] for i in range(len(code) - 1)}
    return sorted(k for k in swaps if k != code and k in known)


def alpha3(code: str) -> str:
    """The ISO 639-3 code of a two-letter one langcodes knows (`ii` -> `iii`), else `code` as it is."""
    try:
        from langcodes import LANGUAGE_ALPHA3
    except ImportError:
        return code
    return LANGUAGE_ALPHA3.get(code, code)


def current_code(code: str) -> str:
    """The code langcodes replaces a retired or merged one with (`iw` -> `heb`, `mol` -> `ron`), else `code`."""
    try:
        import langcodes

        return langcodes.Language.get(code).to_alpha3()
    except (ImportError, LookupError, ValueError):
        return code


@functools.lru_cache(maxsize=1)
def glot500_scripts() -> dict[str, frozenset[str]]:
    """{language: the scripts Glot500-c has it in}: its pairs and its most frequent script."""
    found: dict[str, set[str]] = {}
    for pair in GLOT500_PAIRS:
        lang, script = pair.split("_")
        found.setdefault(lang, set()).add(script)
    for lang, script in DEFAULT_SCRIPT.items():
        found.setdefault(lang, set()).add(script)
    return {lang: frozenset(scripts) for lang, scripts in found.items()}


def related_languages(lang: str, languages: Collection[str]) -> list[str]:
    """Sentences naming the model's languages related to `lang` in ways users recognise: the same macrolanguage, the
    same family (Wiktionary's), or the same script when few of them share it."""
    data = reference()
    if data is None:
        return []
    sentences, said = [], {lang}
    macro = data.macrolanguage.get(lang, lang)
    kin = sorted(
        (k for k in languages if k not in said and macro in (k, data.macrolanguage.get(k))),
        key=lambda k: (k != macro, k),
    )
    if kin:
        whose = "Of its members" if macro == lang else f"Of its macrolanguage {named([macro])}"
        sentences.append(f"{whose} the model has: {named(kin)}.")
        said.update(kin)
    family = data.family.get(lang) or data.family.get(macro)
    relatives = sorted(
        k
        for k in languages
        if k not in said
        and family
        and family in (data.family.get(k), data.collections.get(k, "").removesuffix(" languages"))
    )
    if relatives:
        sentences.append(f"{family} languages the model has: {named(relatives)}.")
        said.update(relatives)
    sentences += same_script(lang, languages, said, data)
    return sentences


def same_script(lang: str, languages: Collection[str], said: set[str], data: Reference) -> list[str]:
    """The model's languages (by Glot500-c's pairs) written in a script of `lang`, when few share it: a handful of
    Ethiopic languages helps, hundreds of Latin ones do not."""
    sentences, scripts = [], glot500_scripts()
    for script in data.written.get(lang, ()):
        peers = sorted(k for k in languages if k not in said and script in scripts.get(k, ()))
        if 0 < len(peers) <= SHOWN:
            sentences.append(f"Languages the model has in {script_name(script) or script} ({script}): {named(peers)}.")
            said.update(peers)
    return sentences


def unknown_script(script: str, scripts: Sequence[str], lang: str | None = None) -> str:
    """What to say of a script the model lacks (no final stop, for the caller to go on): its ISO 15924 name, the
    model's scripts, those Glot500-c has `lang` in, and how to add a script."""
    name = script_name(script)
    what = f"{script!r} is {name} (ISO 15924); " if name else ""
    theirs = sorted(glot500_scripts().get(lang, frozenset()) & set(scripts)) if lang else []
    glot500 = f"; Glot500-c has {named([lang])} in {', '.join(theirs)}" if theirs else ""
    return (
        f"{what}the model's {len(scripts)} scripts are {', '.join(scripts)}{glot500}. "
        f"To add the script, {how_to_add(script, 'scripts')}"
    )


def unknown_language(code: str, lang: str, languages: Collection[str]) -> str:
    """The message for a language the model lacks: a real code is named, with the model's languages related to it;
    anything else gets the known codes spelled like it. Both say how to add a language."""
    name = language_name(lang)
    if name is None:
        return (
            f"Unknown language {code!r}: it is not among the model's {len(languages)} languages. "
            f"{closest_hint(lang, languages, LANGUAGE_LISTING)} To add a language, {how_to_add(lang, 'languages')}."
        )
    current = current_code(lang)
    if current != lang and current in languages:
        return (
            f"Unknown language {code!r}: {lang!r} is {name} (ISO 639), which the model has under the code {current!r}."
        )
    parts = [
        f"Unknown language {code!r}: {lang!r} is {name} (ISO 639), a real language that is not among the model's "
        f"{len(languages)} languages."
    ]
    lang = alpha3(lang)
    swapped = swapped_codes(lang, languages)
    if swapped:
        parts.append(f"Closest known codes: {named(swapped)}, if two letters were swapped.")
    parts += related_languages(lang, languages) or [f"{LANGUAGE_LISTING} lists them."]
    parts.append(f"To add it, {how_to_add(lang, 'languages')}.")
    return " ".join(parts)


def _misspelled_script(code: str, lang: str, subtag: str, sep: str) -> ValueError | None:
    """The error for a subtag in the script's place that is not a 4-letter script code (`hin_Dev`, `hin_Latin`),
    which BCP-47 parsing would otherwise drop as a variant, so that the text's detected script is used instead."""
    if _REGION.match(subtag) or (sep == "-" and _EXTLANG.match(subtag)):
        return None
    known = _OUTPUT_NAMES + sorted(SCRIPT_ALIASES)
    title = subtag.title()
    near = [k for k in known if k == title[:4]] if len(title) > 4 else []
    near += [k for k in closest(title.lower(), [k.lower() for k in known], n=3) if k.title() not in near]
    near = [k.title() for k in near]
    if sep == "-" and not any(_typo_distance(title.lower(), k.lower()) <= 1 or k == title[:4] for k in near):
        return None  # a BCP-47 variant such as `ca-valencia`, not a script
    fix = (
        f"closest: {', '.join(near)}). Write the label as `<lang>_<Script>`, e.g. '{lang}_{near[0]}'."
        if near
        else ("e.g. Deva, Latn, Cyrl, Arab). Write the label as `<lang>_<Script>` with the script's 4-letter code.")
    )
    return ValueError(f"Language {code!r}: {subtag!r} is not a script code (ISO 15924 codes have 4 letters; {fix}")


def parse_language(
    code: str, languages: Collection[str], trained_pairs: Sequence[str] | None = None
) -> tuple[str, str | None]:
    """Resolve a user's language code to `(iso639_3, script_or_None)`.

    Accepts an ISO 639-3 code of the inventory (`hin`), a Glot500 label (`hin_Deva`, which also fixes the
    script), and ISO 639-1 / BCP-47 tags that map unambiguously (`hi`, `sr-Latn`, `zh-Hant`).
    A two-letter code of a macrolanguage (`ar` = `ara`, `zh` = `zho`) goes to the individual language the
    checkpoint was trained on when `trained_pairs` (its `<lang>_<Script>` labels) says which (`arb`, `cmn`);
    otherwise the macrolanguage's row is used, with a warning saying why.
    Raises ValueError naming the code and what the model has instead (`unknown_language`).
    """
    match = _CODE.match(code) if isinstance(code, str) else None
    if match is None:
        raise ValueError(
            f"Language {code!r} is not a language code: use an ISO 639-3 code such as 'hin', a Glot500 label "
            "such as 'hin_Deva', or an ISO 639-1 / BCP-47 tag such as 'hi' or 'sr-Latn'."
        )
    lang, script = match.group("lang").lower(), match.group("script")
    if script is None and match.group("rest"):
        error = _misspelled_script(
            code, match.group("lang"), match.group("rest")[1:].split("-")[0].split("_")[0], match.group("rest")[0]
        )
        if error is not None:
            raise error
    if len(lang) == 2:
        lang = ISO639_1_TO_3.get(lang, lang)
        if lang in MACROLANGUAGE_MEMBERS:
            lang = individual_language(code, lang, languages, trained_pairs)
    if lang not in languages:
        raise ValueError(unknown_language(code, lang, languages))
    if script is not None:
        script = script.title()
        script = SCRIPT_ALIASES.get(script, script)
    return lang, script


def individual_language(
    code: str, macro: str, languages: Collection[str], trained_pairs: Sequence[str] | None = None
) -> str:
    """The row a two-letter macrolanguage code (`ar` -> `ara`) stands for: the macrolanguage itself if the
    checkpoint was trained on it, else its one trained member (`arb`); warns when that cannot be decided."""
    members = [m for m in MACROLANGUAGE_MEMBERS[macro] if m in languages]
    if not trained_pairs:
        warnings.warn(
            f"Language {code!r} is the macrolanguage {macro!r}; this model does not record which languages it was "
            f"trained on (config `trained_pairs`), so the {macro!r} row was chosen. Glot500 labels most text with the "
            f"individual language: pass one of {', '.join(members)} if that is what the model learned.",
        )
        return macro
    trained = {pair.split("_")[0] for pair in trained_pairs}
    if macro in trained:
        return macro
    hits = [m for m in members if m in trained]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise ValueError(
            f"Language {code!r} (the macrolanguage {macro!r}) is ambiguous for this model: it was trained on "
            f"{', '.join(hits)}, which all belong to {macro!r}, and not on {macro!r} itself. Pass one of them."
        )
    warnings.warn(
        f"Language {code!r} is the macrolanguage {macro!r}; this model was trained neither on it nor on any of its "
        f"members ({', '.join(members)}), so the untrained {macro!r} row was chosen.",
    )
    return macro


def default_script(lang: str) -> str | None:
    """The script a language is most often written in (Glot500-c), or None if unknown."""
    return DEFAULT_SCRIPT.get(lang)


# Unicode script lookup table as arrays: a text's code points are classified with one searchsorted.
_STARTS = np.asarray(UNICODE_SCRIPT_STARTS, dtype=np.uint32)
_NAMES = sorted({value for value in UNICODE_SCRIPT_VALUES if value is not None})
_NAME_IDS = np.asarray([-1 if v is None else _NAMES.index(v) for v in UNICODE_SCRIPT_VALUES], dtype=np.int64)
_HANI, _JPAN = _NAMES.index("Hani"), len(_NAMES)  # Jpan is composite: an extra column
_KANA_IDS = [_NAMES.index(name) for name in KANA]
_OUTPUT_NAMES = _NAMES + ["Jpan"]
_N_COLUMNS = len(_OUTPUT_NAMES)
# searchsorted(side="right") index -> script column + 1 (0: Common / Inherited, and below the first start)
_COLUMNS_AFTER = np.concatenate([[0], _NAME_IDS + 1])


def script_counts(texts: Sequence[str]) -> np.ndarray:
    """Letters per Unicode script, `[len(texts), n_scripts]`, ignoring Common/Inherited characters."""
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    code_points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    script = _NAME_IDS[np.searchsorted(_STARTS, code_points, side="right") - 1]
    owner = np.repeat(np.arange(len(texts)), lengths)
    letters = script >= 0
    flat = np.bincount(owner[letters] * len(_OUTPUT_NAMES) + script[letters], minlength=len(texts) * len(_OUTPUT_NAMES))
    return flat.reshape(len(texts), len(_OUTPUT_NAMES))


def detect_scripts(texts: Sequence[str]) -> list[str | None]:
    """The majority script of each text's letters as an ISO 15924 code, or None for a text without letters.

    Only letters count (digits, punctuation, spaces and combining marks are Unicode's Common / Inherited and are
    ignored); a tie goes to the alphabetically first code (`ab вг` -> Cyrl), whatever comes first in the text.

    Glot500 conventions: Japanese (any kana, with the Han characters around it) is `Jpan`; Han alone
    (Chinese) is `Hani`; Korean is `Hang`. Codes outside the model's inventory come back as they are
    (e.g. `Cher`), so the caller can name them.
    """
    if len(texts) == 1:  # one text a call (a pipeline's): a third of the batch path's numpy calls
        return [_detect_one(texts[0])]
    counts = script_counts(texts)
    kana = counts[:, _KANA_IDS].sum(axis=1)
    japanese = kana > 0
    if japanese.any():
        counts[japanese, _JPAN] = kana[japanese] + counts[japanese, _HANI]
        counts[np.ix_(japanese, _KANA_IDS + [_HANI])] = 0
    best = counts.argmax(axis=1)
    return [_OUTPUT_NAMES[b] if counts[i, b] > 0 else None for i, b in enumerate(best)]


def _detect_one(text: str) -> str | None:
    """detect_scripts for a single text: the same columns and rules, in as few numpy calls as a call can take."""
    code_points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    # column + 1 per lookup-table entry, 0 for Common / Inherited: one bincount counts letters only
    counts = np.bincount(_COLUMNS_AFTER[_STARTS.searchsorted(code_points, side="right")], minlength=_N_COLUMNS + 1)
    counts = counts[1:]
    kana = int(counts[_KANA_IDS[0]]) + int(counts[_KANA_IDS[1]])
    if kana:
        counts[_JPAN] = kana + counts[_HANI]
        counts[_KANA_IDS + [_HANI]] = 0
    best = counts.argmax()
    return _OUTPUT_NAMES[best] if counts[best] > 0 else None
