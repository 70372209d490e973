"""Evaluation datasets' language codes onto the model's inventory, and the paper's head / tail split.

Each dataset names languages its own way: FLORES-200 / Glot500 labels (`eng_Latn`, SIB-200 and FLORES+), bare
ISO 639-3 (Tatoeba's `deu-eng`), Wikipedia codes (WikiANN's `en`, `be-x-old`) or English language names (XTREME's
`udpos.English`). `map_languages` turns each into a Glot500 label `<iso639-3>_<Script>` and lists the languages the
model lacks instead of dropping them silently. Head languages are the ones XLM-R was pretrained on; the paper's
gains are larger in the tail (the others).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langsamp_codes import detect_scripts, parse_language
from langsamp_inventory import DEFAULT_SCRIPT, ISO639_1_TO_3, RELEASE_LANGUAGES

if TYPE_CHECKING:
    from transformers import PretrainedConfig, PreTrainedModel

# The languages XLM-R saw (ISO 639-3): the `XLM-R` column of the release's glot500_languages_stats.csv, copied here;
# tests/evaluation/test_eval_tasks.py checks it against bench/glot500_languages_stats.csv.
XLMR_LANGUAGES = frozenset(
    """afr amh ara arb azb bel ben bre bul cat ces cmn cym dan deu ell eng epo est eus fas fin fra fry gla gle glg
    hau heb hin hrv hun hye ind isl ita jav jpn kan kat kaz khm kir kor kur lao lat lav lit mal mar mkd mlg mon
    msa mya nep nld nor ori pan pes pol por prs pus ron rus san sin slk slv snd som spa sqi srp swa swe swh tam
    tel tgl tha tur uig ukr urd uzb vie xho yid zho""".split()
)

# Wikipedia language codes that are not ISO 639 codes of the same language (WikiANN's configs).
WIKIPEDIA_CODES = {
    "als": "gsw",  # Alemannic Wikipedia (ISO 639-3 `als` is Tosk Albanian)
    "bat-smg": "sgs",
    "be-x-old": "bel",
    "cbk-zam": "cbk",
    "fiu-vro": "vro",
    "map-bms": "jav",
    "nds-nl": "nds",
    "roa-rup": "rup",
    "roa-tara": "nap",
    "simple": "eng",
    "zh-classical": "lzh",
    "zh-min-nan": "nan",
    "zh-yue": "yue",
    "sh": "hbs",
    "bh": "bih",
    "no": "nor",
    "mo": "ron",
}

CONVENTIONS = ("label", "iso639-3", "wikipedia", "language-name")


def dataset_language(code: str, convention: str) -> tuple[str, str | None]:
    """A dataset's language code -> (iso639_3, script or None). Raises ValueError for a code it cannot read.

    convention: "label" (`eng_Latn`, `zho_Hans`), "iso639-3" (`deu`), "wikipedia" (`en`, `be-x-old`) or
    "language-name" (`English`, via langcodes).
    """
    if convention == "label":
        lang, _, script = code.partition("_")
        if len(lang) == 3 and not script and lang.isalpha():  # a bare ISO 639-3 code (Taxi1500 file names may be)
            return lang.lower(), None
        if len(lang) != 3 or len(script) != 4:
            raise ValueError(f"Dataset language {code!r} is not a `<iso639-3>_<Script>` label such as 'eng_Latn'.")
        return parse_language(code, [lang])  # normalises the script (`Hans` -> `Hani`)
    if convention == "iso639-3":
        if len(code) != 3 or not code.isalpha():
            raise ValueError(f"Dataset language {code!r} is not an ISO 639-3 code such as 'deu'.")
        return code.lower(), None
    if convention == "wikipedia":
        lang = WIKIPEDIA_CODES.get(code) or (ISO639_1_TO_3.get(code) if len(code) == 2 else code)
        if lang is None or len(lang) != 3 or not lang.isalpha():
            raise ValueError(
                f"Wikipedia code {code!r} has no ISO 639-3 equivalent here "
                "(langsamp.evaluation.languages.WIKIPEDIA_CODES)."
            )
        return lang, None
    if convention == "language-name":
        import langcodes

        try:
            return langcodes.find(code).to_alpha3(), None
        except LookupError as error:
            raise ValueError(f"Language name {code!r} is not known to langcodes: {error}") from error
    raise ValueError(f"Unknown language-code convention {convention!r}: use one of {', '.join(CONVENTIONS)}.")


def model_languages(model_or_config: PreTrainedModel | PretrainedConfig | dict) -> list[str] | None:
    """The ISO 639-3 languages a model covers: its config's `languages` (LangSAMP), else the release's 610 (the
    inventory every LangSAMP tokenizer uses); None for a model outside the family (no inventory to check)."""
    config = getattr(model_or_config, "config", model_or_config)
    get = config.get if isinstance(config, dict) else lambda key, default=None: getattr(config, key, default)
    languages = get("languages")
    if languages:
        return list(languages)
    if get("model_type") == "langsamp" or get("lang_size") is not None:
        return list(RELEASE_LANGUAGES)
    return None


def trained_languages(model_or_config: PreTrainedModel | PretrainedConfig | dict) -> list[str] | None:
    """ISO 639-3 languages of the `<lang>_<Script>` pairs a checkpoint was trained on (`config.trained_pairs`);
    None when the checkpoint does not say."""
    config = getattr(model_or_config, "config", model_or_config)
    pairs = config.get("trained_pairs") if isinstance(config, dict) else getattr(config, "trained_pairs", None)
    return list(dict.fromkeys(pair.split("_")[0] for pair in pairs)) if pairs else None


def map_languages(
    codes: list[str], convention: str, inventory: list[str] | None = None, texts: dict[str, list[str]] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Map dataset codes to Glot500 labels: ({code: `<iso639-3>_<Script>`}, [missing codes]).

    A code is missing when it cannot be read or its language is not in `inventory` (ISO 639-3 codes; None: any
    language is kept). The script is the code's own (`_Latn`), else the majority script detected in
    `texts[code]` (a few sentences) when given, else the language's most frequent script in Glot500-c.
    """
    mapping, missing = {}, []
    for code in codes:
        try:
            lang, script = dataset_language(code, convention)
        except ValueError:
            missing.append(code)
            continue
        if inventory is not None and lang not in inventory:
            missing.append(code)
            continue
        if script is None and texts and texts.get(code):
            detected = [s for s in detect_scripts(list(texts[code])) if s]
            script = max(set(detected), key=detected.count) if detected else None
        mapping[code] = f"{lang}_{script or DEFAULT_SCRIPT.get(lang, 'Zyyy')}"
    return mapping, missing


def is_head(label: str) -> bool:
    """True for a language XLM-R was pretrained on (the paper's head languages)."""
    return label.split("_")[0] in XLMR_LANGUAGES


def group_averages(per_language: dict[str, dict], names: list[str] | None = None) -> tuple[dict, dict[str, int]]:
    """Averages of each metric over all languages, the head (XLM-R's) and the tail (the rest):
    ({"all": {...}, "head": {...}, "tail": {...}}, {"all": n, "head": n, "tail": n}). A group without languages
    has no figures (empty dict)."""
    import numpy as np

    if names is None:
        names = [
            n for n in next(iter(per_language.values()), {}) if not n.endswith("_sd") and not n.endswith("_tokens")
        ]
    groups = {
        "all": list(per_language),
        "head": [c for c in per_language if is_head(c)],
        "tail": [c for c in per_language if not is_head(c)],
    }
    averages = {
        group: ({n: float(np.mean([per_language[c][n] for c in members])) for n in names} if members else {})
        for group, members in groups.items()
    }
    return averages, {group: len(members) for group, members in groups.items()}
