"""Language codes and script detection for LangSAMP: the one place that turns what users type
(`hin`, `hin_Deva`, `hi`, `sr-Latn`) and what texts contain (Unicode scripts) into table rows.

Used by the tokenizer (to emit `lang_ids` / `script_ids`), the model (to read a learned embedding by
code) and train.py (to validate corpus file names). Pure Python + numpy; no file I/O.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Collection, Iterable, Sequence

import numpy as np

try:
    from .langsamp_inventory import (
        DEFAULT_SCRIPT,
        ISO639_1_TO_3,
        MACROLANGUAGE_MEMBERS,
        UNICODE_SCRIPT_STARTS,
        UNICODE_SCRIPT_VALUES,
    )
except ImportError:  # imported from a checkout as a top-level module rather than as remote code
    from langsamp_inventory import (
        DEFAULT_SCRIPT,
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
    Raises ValueError naming the code and the closest known codes.
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
        raise ValueError(
            f"Unknown language {code!r}: it is not among the model's {len(languages)} languages. "
            f"{closest_hint(lang, languages, '`tokenizer.languages` (or `config.languages`)')}"
        )
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
    counts = script_counts(texts)
    kana = counts[:, _KANA_IDS].sum(axis=1)
    japanese = kana > 0
    counts[japanese, _JPAN] = kana[japanese] + counts[japanese, _HANI]
    counts[np.ix_(japanese, _KANA_IDS + [_HANI])] = 0
    best = counts.argmax(axis=1)
    return [_OUTPUT_NAMES[b] if counts[i, b] > 0 else None for i, b in enumerate(best)]
