"""LangSAMP tokenizer: transformers' XLM-R tokenizer that also emits `lang_ids` and `script_ids`.

Token ids are exactly the stock XLM-R tokenizer's (same `tokenizer.json`). Give `lang=` (one code for
the call, one per example, or a `{text: code}` mapping: what a pipeline, which tokenizes one text at a
time, can pass in `tokenizer_kwargs`) and every encoding gets `lang_ids` and `script_ids` with the shape of
`input_ids`: one id per sequence, repeated on every token (special tokens and padding included).

Where the script comes from, first match wins:
  1. `script=` (one code, or one per example);
  2. a Glot500 label or BCP-47 tag that names it (`hin_Deva`, `sr-Latn`);
  3. the majority Unicode script of the text's letters (digits and punctuation do not count; a tie goes to
     the alphabetically first code), a pair's two parts counted together (Japanese kana (+ Han) -> `Jpan`,
     Han alone -> `Hani`, as in Glot500);
  4. for a text with no letters at all (digits, punctuation), the language's most frequent script in
     Glot500-c.
A detected script outside the model's inventory, or a language with no known script for a text without
letters, raises ValueError: pass `script=` to choose the row. Without `lang=` and `script=` the tokenizer
is the stock one (task fine-tuning needs no ids).

`trained_pairs` (saved in tokenizer_config.json, like the model config's field of that name) lists the
`<lang>_<Script>` pairs the checkpoint was trained on, so that a two-letter code of a macrolanguage (`ar`)
resolves to the trained individual language (`arb`).
"""

from __future__ import annotations

import warnings

import transformers
from packaging.version import Version

# The check that opens configuration_langsamp.py (which says why); here too, since AutoTokenizer loads this module
# alone. Every entry module imports this one, so transformers 6 is warned about here, once.
if Version(transformers.__version__) < Version("5.14"):  # as TRANSFORMERS_REQUIREMENT (configuration_langsamp.py)
    raise ImportError(
        f"LangSAMP's remote code needs transformers>=5.14,<6 (found {transformers.__version__}): pip install -U "
        "'transformers>=5.14,<6'"
    )
if Version(transformers.__version__).major >= 6:  # untested, not known to fail: a checkpoint's code stays as pushed
    warnings.warn(
        f"LangSAMP's remote code is tested on transformers>=5.14,<6 (found {transformers.__version__}); if loading "
        "fails, pip install 'transformers>=5.14,<6'"
    )

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from transformers import BatchEncoding, XLMRobertaTokenizer
from transformers.utils import PaddingStrategy

try:
    from .langsamp_codes import (
        SCRIPT_ALIASES,
        closest,
        default_script,
        detect_scripts,
        parse_language,
        script_name,
        unknown_script,
    )
    from .langsamp_inventory import MACROLANGUAGE_MEMBERS, RELEASE_LANGUAGES, RELEASE_SCRIPTS
except ImportError:  # imported from a checkout as a top-level module rather than as remote code
    from langsamp_codes import (
        SCRIPT_ALIASES,
        closest,
        default_script,
        detect_scripts,
        parse_language,
        script_name,
        unknown_script,
    )
    from langsamp_inventory import MACROLANGUAGE_MEMBERS, RELEASE_LANGUAGES, RELEASE_SCRIPTS

ID_KEYS = ("lang_ids", "script_ids")


PIPELINE_HINT = (
    "A pipeline (fill-mask) tokenizes one text at a time: pass "
    "`tokenizer_kwargs={{'{name}': dict(zip(texts, codes))}}` (each text mapped to its code) to give every text "
    "its own."
)


def _per_example(value: str | Sequence[str | None] | None, n: int, name: str, single: bool = False) -> list[str | None]:
    if value is None or isinstance(value, str):
        return [value] * n
    if not isinstance(value, (list, tuple)):
        raise TypeError(
            f"`{name}` must be a code (str), a list of codes (one per text) or a mapping of texts to codes; got "
            f"{type(value).__name__} {value!r}."
        )
    value = list(value)
    if len(value) != n:
        if single:
            raise ValueError(
                f"`{name}` has {len(value)} entries for a single text: give one code. {PIPELINE_HINT.format(name=name)}"
            )
        raise ValueError(f"`{name}` has {len(value)} entries for a batch of {n} texts: give one code, or one per text.")
    return value


def _from_mapping(
    value: str | Sequence[str | None] | Mapping[str, str] | None, text: str | Sequence[str], name: str
) -> str | Sequence[str | None] | None:
    """A `{text: code}` mapping (what a pipeline can pass for texts it tokenizes one by one) as the code(s) of
    `text`."""
    if not isinstance(value, Mapping):
        return value
    texts = text if isinstance(text, (list, tuple)) else [text]
    for i, t in enumerate(texts):
        if not isinstance(t, str) or t not in value:
            raise ValueError(
                f"`{name}` is a mapping of texts to codes, but text {i} ({str(t)[:40]!r}) is not one of its "
                f"{len(value)} keys: map every text given to the tokenizer (or the pipeline) to its code."
            )
    codes = [value[t] for t in texts]
    return codes if isinstance(text, (list, tuple)) else codes[0]


class LangSAMPTokenizer(XLMRobertaTokenizer):
    model_input_names = ["input_ids", "attention_mask", "lang_ids", "script_ids"]

    def __init__(
        self,
        *args: Any,
        languages: Iterable[str] | None = None,
        scripts: Iterable[str] | None = None,
        trained_pairs: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if (args[0] if args else kwargs.get("vocab")) is None and kwargs.get("vocab_file") is None:
            # The parent would build a 5-token vocabulary (the special tokens): every text would become <unk>.
            where = kwargs.get("name_or_path") or "the arguments"
            raise ValueError(  # not OSError: from_pretrained would replace the message by a vague one
                f"No tokenizer files in {where} (tokenizer.json, or sentencepiece.bpe.model): without them the "
                "vocabulary would be only the 5 special tokens and every text <unk>. Load the tokenizer from a folder "
                "or Hub repo that has them (e.g. the one the model was trained with)."
            )
        # Passed on so that tokenizer_config.json records the inventories the ids refer to.
        languages = list(languages) if languages is not None else list(RELEASE_LANGUAGES)
        scripts = list(scripts) if scripts is not None else list(RELEASE_SCRIPTS)
        trained_pairs = list(trained_pairs) if trained_pairs else None
        self._parsed_codes: dict[str, tuple] = {}
        super().__init__(*args, languages=languages, scripts=scripts, trained_pairs=trained_pairs, **kwargs)
        self.languages, self.scripts = languages, scripts
        self._language_row = {code: i for i, code in enumerate(languages)}
        self._script_row = {code: i for i, code in enumerate(scripts)}

    @property
    def trained_pairs(self) -> list[str] | None:
        """The `<lang>_<Script>` pairs the checkpoint was trained on, or None (not recorded)."""
        return self.init_kwargs.get("trained_pairs")

    @trained_pairs.setter
    def trained_pairs(self, pairs: Iterable[str] | None) -> None:
        self.init_kwargs["trained_pairs"] = list(pairs) if pairs else None  # what save_pretrained writes

    def add_codes(self, languages: Iterable[str] = (), scripts: Iterable[str] = ()) -> None:
        """Appends language and script codes to the inventory (the model's tables grow by as many rows): every code
        already there keeps its row id. Saved with the tokenizer (`tokenizer_config.json`)."""
        for codes, rows, key in ((languages, self._language_row, "languages"), (scripts, self._script_row, "scripts")):
            inventory = getattr(self, key)
            for code in codes:
                if code not in rows:
                    rows[code] = len(inventory)
                    inventory.append(code)
            self.init_kwargs[key] = list(inventory)

    def language_id(self, code: str) -> int:
        """Row of a language (any accepted code) in the model's language table."""
        return self._language_row[parse_language(code, self._language_row, self.trained_pairs)[0]]

    def script_id(self, code: str) -> int:
        """Row of an ISO 15924 script code in the model's script table."""
        code = code.title() if isinstance(code, str) else code  # ISO 15924 spelling: 'deva' -> 'Deva'
        code = SCRIPT_ALIASES.get(code, code)
        if code not in self._script_row:
            if isinstance(code, str) and script_name(code):  # a real script the model lacks: no look-alikes
                raise ValueError(f"Unknown script {code!r}: {unknown_script(code, self.scripts)}.")
            # 'Latin' -> 'Latn': a script's name begins with its code as often as not; else typo-distance neighbours.
            near = [k for k in self.scripts if isinstance(code, str) and len(code) > 4 and k == code[:4]]
            near += [
                k.title() for k in closest(str(code), [k.lower() for k in self.scripts], n=3) if k.title() not in near
            ]
            hint = (
                f"did you mean {', '.join(repr(k) for k in near)}?"
                if near
                else f"the model's scripts are {', '.join(self.scripts)}."
            )
            raise ValueError(f"Unknown script {code!r} (give an ISO 15924 4-letter code); {hint}")
        return self._script_row[code]

    def __call__(
        self,
        text: str | list[str] | list[list[str]] | None = None,
        text_pair: str | list[str] | list[list[str]] | None = None,
        *args: Any,
        lang: str | Sequence[str] | Mapping[str, str] | None = None,
        script: str | Sequence[str | None] | Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> BatchEncoding:
        if (lang is None and script is None) or text is None:
            return super().__call__(text, text_pair, *args, **kwargs)
        if isinstance(text, str) and isinstance(lang, str) and script is None and text_pair is None:
            if not kwargs.get("is_split_into_words"):
                lang_row, script_row = self._one_text_rows(text, lang)
                return self._with_ids(super().__call__(text, text_pair, *args, **kwargs), [lang_row], [script_row])
        if not kwargs.get("is_split_into_words"):
            lang, script = _from_mapping(lang, text, "lang"), _from_mapping(script, text, "script")
        # Codes are checked and scripts detected BEFORE encoding, so bad input fails before any expensive work.
        if kwargs.get("is_split_into_words"):
            batched = isinstance(text, (list, tuple)) and bool(text) and isinstance(text[0], (list, tuple))
            texts = [" ".join(words) for words in (text if batched else [text])]
        else:
            batched = isinstance(text, (list, tuple))
            texts = list(text) if batched else [text]
            # A batch of pairs given as (text, pair) tuples: one sequence each, its script read from both parts.
            texts = [" ".join(t) if isinstance(t, (list, tuple)) else t for t in texts]
            if text_pair is not None:  # the pair is part of the same encoded sequence
                pairs = list(text_pair) if batched else [text_pair]
                if len(pairs) == len(texts):  # otherwise the stock tokenizer reports the mismatch
                    texts = [f"{t} {p}" if isinstance(p, str) else t for t, p in zip(texts, pairs)]
        lang_rows, script_rows = self._rows(texts, lang, script, single=not batched)
        return self._with_ids(super().__call__(text, text_pair, *args, **kwargs), lang_rows, script_rows)

    def _with_ids(
        self, encoding: BatchEncoding, lang_rows: Sequence[int] | None, script_rows: Sequence[int]
    ) -> BatchEncoding:
        """`encoding` with one language and script id per token, from each example's row."""
        # Overflowing windows (return_overflowing_tokens) repeat their example's ids.
        examples = encoding.get("overflow_to_sample_mapping")
        if examples is not None:
            examples = np.asarray(examples)
            lang_rows = None if lang_rows is None else np.asarray(lang_rows)[examples]
            script_rows = np.asarray(script_rows)[examples]
        for key, rows in zip(ID_KEYS, (lang_rows, script_rows)):
            if rows is not None:
                encoding[key] = self._aligned(encoding["input_ids"], rows)
        return encoding

    def _rows(
        self,
        texts: list[str],
        lang: str | Sequence[str] | None,
        script: str | Sequence[str | None] | None,
        single: bool = False,
    ) -> tuple[list[int | None] | None, list[int]]:
        langs = _per_example(lang, len(texts), "lang", single)
        if isinstance(lang, (list, tuple)) and None in langs:
            raise TypeError(
                f"`lang` entry {langs.index(None)} is None: give a code for every text (a single `lang=None` means no "
                "language ids for the whole call)."
            )
        scripts = _per_example(script, len(texts), "script", single)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(
                    f"Text {i} is {type(t).__name__} {t!r}: pass a str, or a list of str (one per example)."
                )
            if not t.strip():
                raise ValueError(f"Text {i} is empty: there is nothing to encode or to detect a script from.")
        parsed = {code: self._parsed(code) for code in set(langs) if code is not None}
        lang_rows, chosen = [], []
        for code, given in zip(langs, scripts):
            language, named = parsed[code] if code is not None else (None, None)
            lang_rows.append(None if language is None else self._language_row[language])
            chosen.append(given if given is not None else named)
        todo = [i for i, s in enumerate(chosen) if s is None]
        for i, found in zip(todo, detect_scripts([texts[i] for i in todo])):
            chosen[i] = self._checked_script(found, i, texts[i], parsed[langs[i]][0] if langs[i] is not None else None)
        script_rows = [self.script_id(s) for s in chosen]
        return (None if lang is None else lang_rows), script_rows

    def _one_text_rows(self, text: str, lang: str) -> tuple[int, int]:
        """`_rows` for one text and one language code (a pipeline's call), without the batch's bookkeeping."""
        if not text.strip():
            raise ValueError("Text 0 is empty: there is nothing to encode or to detect a script from.")
        language, script = self._parsed(lang)
        if script is None:
            script = self._checked_script(detect_scripts([text])[0], 0, text, language)
        return self._language_row[language], self.script_id(script)

    def _parsed(self, code: str) -> tuple[str, str | None]:
        """parse_language of a code, kept until the inventory or the trained pairs change: the same few codes come
        back on every call."""
        pairs, kept = self.init_kwargs.get("trained_pairs"), self._parsed_codes.get(code)
        # Kept with the pairs list it was parsed under (held, so its identity stays its own) and the inventory's size.
        if kept is not None and kept[0] is pairs and kept[1] == len(self.languages):
            return kept[2]
        parsed = parse_language(code, self._language_row, pairs)
        if parsed[0] not in MACROLANGUAGE_MEMBERS:  # a macrolanguage's row may come with a warning: said every call
            self._parsed_codes[code] = (pairs, len(self.languages), parsed)
        return parsed

    def _checked_script(self, found: str | None, i: int, text: str, language: str | None) -> str:
        """The detected script of text `i`, or the language's usual one when it has no letters; one line naming
        the text when neither gives a script of the model's."""
        if found is None:  # no letters: the language's usual script
            found = default_script(language) if language is not None else None
            if found is None:
                raise ValueError(
                    f"Text {i} ({text[:40]!r}) has no letters to detect a script from and no language "
                    "with a known script was given: pass `script=`."
                )
        elif SCRIPT_ALIASES.get(found, found) not in self._script_row:
            raise ValueError(
                f"Text {i} ({text[:40]!r}) is written in {found}, which is not among the model's scripts: "
                f"{unknown_script(found, self.scripts, language)}; or pass `script=` to choose a row explicitly."
            )
        return found

    @staticmethod
    def _aligned(input_ids: Any, rows: Sequence[int]) -> Any:
        """`rows` (one id per encoded sequence) repeated to the shape and type of `input_ids`."""
        if hasattr(input_ids, "shape") and len(input_ids.shape) == 2:  # torch tensor or numpy array
            if isinstance(input_ids, np.ndarray):
                return np.repeat(np.asarray(rows, dtype=input_ids.dtype)[:, None], input_ids.shape[1], axis=1)
            return input_ids.new_tensor(rows)[:, None].expand(input_ids.shape).contiguous()
        if input_ids and isinstance(input_ids[0], (list, tuple)):
            return [[int(r)] * len(seq) for r, seq in zip(rows, input_ids)]
        return [int(rows[0])] * len(input_ids)

    def pad(
        self, encoded_inputs: Mapping[str, Any] | Sequence[Mapping[str, Any]], *args: Any, **kwargs: Any
    ) -> BatchEncoding:
        # The parent takes its keys from the FIRST feature: ids that only some features carry would be dropped
        # silently (missing in the first) or end in a KeyError (missing in a later one).
        if isinstance(encoded_inputs, (list, tuple)) and encoded_inputs and isinstance(encoded_inputs[0], Mapping):
            for key in ID_KEYS:
                without = [i for i, feature in enumerate(encoded_inputs) if key not in feature]
                if without and len(without) < len(encoded_inputs):
                    raise ValueError(
                        f"`{key}` is in some features but not in features {without[:10]}: tokenize every example with "
                        "a language (`tokenizer(text, lang=...)`) or none of them (task fine-tuning needs no ids)."
                    )
        return super().pad(encoded_inputs, *args, **kwargs)

    def _pad(
        self,
        encoded_inputs: Mapping[str, Any],
        max_length: int | None = None,
        padding_strategy: PaddingStrategy | None = None,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_attention_mask: bool | None = None,
    ) -> dict[str, Any]:
        # The stock _pad knows only the stock keys; the id keys are padded with their sequence's own id.
        # A per-sequence scalar id (one per example, as train.py's chunks carry) needs no padding.
        encoded_inputs = dict(encoded_inputs)
        extra = {
            key: list(encoded_inputs.pop(key))
            for key in ID_KEYS
            if key in encoded_inputs and isinstance(encoded_inputs[key], (list, tuple))
        }
        padded = super()._pad(
            encoded_inputs, max_length, padding_strategy, pad_to_multiple_of, padding_side, return_attention_mask
        )
        length = len(padded[self.model_input_names[0]])
        left = (padding_side or self.padding_side) == "left"
        for key, ids in extra.items():
            fill = [ids[0] if ids else 0] * (length - len(ids))
            padded[key] = fill + ids if left else ids + fill
        return padded


LangSAMPTokenizer.register_for_auto_class("AutoTokenizer")

__all__ = ["LangSAMPTokenizer"]
