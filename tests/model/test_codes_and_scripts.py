"""The tokenizer, the model's table readers, language codes and the fill-mask pipeline as a new user calls them:
each bad input is one clear error naming the value and the fix, each doubtful one a warning saying why,
and which script a mixed-script text gets is checked against a hand count."""

import re
import sys
import warnings

import numpy as np
import pytest
import torch
from fixtures.models import tiny_config

from langsamp_codes import detect_scripts, parse_language
from langsamp_inventory import RELEASE_LANGUAGES, RELEASE_SCRIPTS
from modeling_langsamp import LangSAMPForMaskedLM

LANGUAGES = dict.fromkeys(RELEASE_LANGUAGES)
HINDI = "सभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात स्वतन्त्रता प्राप्त है"


# ------------------------------------------------------------------------------------- which script a text gets


@pytest.mark.parametrize(
    "text, expected",
    [
        # Letters counted by hand: the majority wins wherever it stands in the text.
        ("abc вг", "Latn"),  # 3 Latin, 2 Cyrillic
        ("вг abc", "Latn"),  # the same, Cyrillic first: order does not matter
        ("Привет мир hello", "Cyrl"),  # 9 Cyrillic, 5 Latin
        # Digits, punctuation and spaces are not letters: 2 Latin + 8 digits against 3 Cyrillic letters.
        ("ab12345678 вгд", "Cyrl"),
        ("ab!!!...??? вгд", "Cyrl"),
        # Combining marks (Unicode 'Inherited') count for no script: e + 3 acute accents is ONE Latin letter.
        ("e\u0301\u0301\u0301 вг", "Cyrl"),
        # A tie goes to the alphabetically first ISO 15924 code, whichever comes first in the text.
        ("ab вг", "Cyrl"),
        ("вг ab", "Cyrl"),
        ("αβ ab", "Grek"),  # Grek < Latn
        # Kana makes a text Japanese, its Han characters counted with it (Glot500's Jpan): 2 kana + 4 Han = 6 > 5.
        ("ひら漢字漢字 abcde", "Jpan"),
        ("漢字 abc", "Latn"),  # Han alone is Hani: 2 against 3 Latin
        ("12 ?!", None),  # no letter at all
    ],
)
def test_the_script_of_a_mixed_text_is_its_letters_majority(text, expected):
    assert detect_scripts([text]) == [expected]


def test_one_text_and_a_batch_detect_the_same_script_at_every_range_boundary():
    """A text alone (a pipeline's call) and the same text in a batch take two code paths: they must agree on
    both sides of every boundary of Unicode's script ranges, and on random code points."""
    from langsamp_inventory import UNICODE_SCRIPT_STARTS

    points = {p for start in UNICODE_SCRIPT_STARTS for p in (start - 1, start) if p >= 0}
    points |= set(np.random.default_rng(0).integers(0, 0x110000, 2000).tolist())
    texts = [chr(p) for p in sorted(points) if not 0xD800 <= p <= 0xDFFF and p < 0x110000]  # surrogates: no str
    batch = detect_scripts(texts)
    assert [detect_scripts([text])[0] for text in texts] == batch
    assert {"Latn", "Cyrl", "Deva", "Hani", "Jpan", None} <= set(batch)


def test_the_tokenizer_uses_the_majority_script_of_a_text_and_its_pair(tokenizer):
    latn, cyrl = RELEASE_SCRIPTS.index("Latn"), RELEASE_SCRIPTS.index("Cyrl")
    batch = tokenizer(["abc вг", "ab12345678 вгд"], lang="rus")
    assert [row[0] for row in batch["script_ids"]] == [latn, cyrl]
    # text and pair are one sequence: 2 Latin letters in the text, 3 Cyrillic in the pair
    assert tokenizer("ab", "вгд", lang="rus")["script_ids"][0] == cyrl


# ------------------------------------------------------------------------------------------------- language codes


@pytest.mark.parametrize(
    "code, message",
    [
        (
            "hin_Dev",
            r"Language 'hin_Dev': 'Dev' is not a script code \(ISO 15924 codes have 4 letters; closest: Deva\). "
            r"Write the label as `<lang>_<Script>`, e.g. 'hin_Deva'.",
        ),
        ("hin_Latin", r"'Latin' is not a script code .*closest: Latn\).*e.g. 'hin_Latn'"),
        ("hin-Devanagari", r"'Devanagari' is not a script code .*closest: Deva\b"),
        ("rus_Cyrillic", r"'Cyrillic' is not a script code .*closest: Cyrl\b"),
    ],
)
def test_a_misspelled_script_is_an_error_not_dropped(tokenizer, code, message):
    # before: the subtag was dropped as a BCP-47 variant and the text's own script (Deva) was used, without a word
    with pytest.raises(ValueError, match=message):
        tokenizer(HINDI, lang=code)


@pytest.mark.parametrize(
    "code, text, language, script",
    [
        ("sr-Latn", "Сви људи", "srp", "Latn"),  # a script subtag wins over the text's own script
        ("zh-Hant", "人人生而自由", "zho", "Hani"),  # Hant is Glot500's Hani
        ("en-US", "All human beings", "eng", "Latn"),  # a region
        ("es-419", "Todos los seres", "spa", "Latn"),  # a numeric region
        ("pt_BR", "Todos os seres", "por", "Latn"),  # a POSIX locale: region after an underscore
        ("ca-valencia", "Tots els éssers", "cat", "Latn"),  # a variant that looks like no script
    ],
)
def test_real_bcp47_tags_keep_working(tokenizer, code, text, language, script):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zh -> the macrolanguage warning, not the point here
        batch = tokenizer(text, lang=code)
    assert batch["lang_ids"][0] == RELEASE_LANGUAGES.index(language)
    assert batch["script_ids"][0] == RELEASE_SCRIPTS.index(script)


def test_no_alphabetical_closest_codes_when_none_is_close():
    with pytest.raises(ValueError) as error:
        parse_language("qqq", LANGUAGES)  # private use (qaa-qtz): no language's code
    assert str(error.value).startswith(
        "Unknown language 'qqq': it is not among the model's 610 languages. No known code is close to it; "
        "`tokenizer.languages` (or `config.languages`) lists all 610. To add a language, "
    )  # before: "Closest known codes: aak, aba, abk, abn, abv", the first five of the alphabet
    with pytest.raises(ValueError, match=r"Closest known codes: hin\b"):
        parse_language("hni", LANGUAGES)  # a close one is still offered


# ------------------------------------------------------------------------ a real code the model lacks: say what it is

ADD_LANGUAGE = (
    r"To add it, continue training the model with train.py on a corpus with a 'zgh_<Script>' pair, which appends"
)


def unknown_language_message(code):
    with pytest.raises(ValueError) as error:
        parse_language(code, LANGUAGES)
    return str(error.value)


def test_a_real_language_the_model_lacks_is_named_with_its_relatives_not_look_alikes():
    message = unknown_language_message("zgh_Tfng")
    # before: "Closest known codes: mgh" (Makhuwa-Meetto, a Bantu language of Mozambique: one letter apart, unrelated)
    assert "mgh" not in message
    assert message.startswith(
        "Unknown language 'zgh_Tfng': 'zgh' is Standard Moroccan Tamazight (ISO 639), a real language that is not "
        "among the model's 610 languages."
    )
    # Tamazight is a Berber language; the release has Kabyle and Tamasheq, and the collection code `ber`.
    assert re.search(
        r"Berber languages the model has: ber \(Berber languages\), kab \(Kabyle\), taq \(Tamasheq\)\.", message
    )
    assert re.search(ADD_LANGUAGE, message)


def test_a_swap_of_two_letters_is_still_offered_for_a_real_code():
    message = unknown_language_message("hni")
    # `hni` is Hani (a Loloish language of Yunnan), but far more often a mistyped `hin`: both are said.
    assert "'hni' is Hani (ISO 639)" in message
    assert "Closest known codes: hin (Hindi), if two letters were swapped." in message
    assert "Loloish languages the model has: ahk (Akha), lhu (Lahu)." in message


def test_a_code_means_what_the_current_trained_pairs_say_however_often_it_was_used(tokenizer):
    """The tokenizer keeps each code's parse; `ar` must still follow the trained pairs when they change, by the
    setter or straight in init_kwargs (as a reload or a test's restore does), for one text and for a batch."""
    text = "يولد جميع الناس أحرارًا متساوين في الكرامة والحقوق"
    ara, arb = RELEASE_LANGUAGES.index("ara"), RELEASE_LANGUAGES.index("arb")

    def rows():
        return tokenizer(text, lang="ar")["lang_ids"][0], tokenizer([text, text], lang="ar")["lang_ids"][1][0]

    for _ in range(2):  # the macrolanguage's warning comes with every call, not only the first
        with pytest.warns(UserWarning, match="macrolanguage 'ara'"):
            assert rows() == (ara, ara)
    tokenizer.trained_pairs = ["arb_Arab", "eng_Latn"]
    assert rows() == (arb, arb)
    tokenizer.init_kwargs["trained_pairs"] = ["ara_Arab"]
    assert rows() == (ara, ara)
    tokenizer.trained_pairs = ["arb_Arab"]
    assert rows() == (arb, arb)


def test_a_member_of_a_macrolanguage_names_the_macrolanguage_and_its_members():
    # Southern Aymara (ayc) belongs to the macrolanguage Aymara (aym), as Central Aymara (ayr) does: both are in the
    # release.
    message = unknown_language_message("ayc")
    assert "Of its macrolanguage aym (Aymara) the model has: aym (Aymara), ayr (Central Aymara)." in message
    # a retired code: Hebrew's ISO 639-1 code was `iw` until 1989, `he` (ISO 639-3 `heb`) since
    assert unknown_language_message("iw") == (
        "Unknown language 'iw': 'iw' is Hebrew (ISO 639), which the model has under the code 'heb'."
    )  # before: "Closest known codes: ..." (one letter apart: none of them Hebrew)


def test_without_langcodes_the_remote_code_still_says_how_to_add(monkeypatch):
    # Remote code runs where only transformers is installed: no name then, but the message stands and keeps the route.
    monkeypatch.setitem(sys.modules, "langcodes", None)  # `import langcodes` raises ImportError
    message = unknown_language_message("zgh")
    assert message.startswith("Unknown language 'zgh': it is not among the model's 610 languages. ")
    assert re.search(ADD_LANGUAGE.replace("To add it", "To add a language"), message)


# ------------------------------------------------------------------------------------------------------ tokenizer


@pytest.mark.parametrize(
    "code, hint",
    [
        ("Latin", "did you mean 'Latn'?"),  # a script's name: its code is the first four letters
        ("Cyrillic", "did you mean 'Cyrl'?"),
        ("Dev", "did you mean 'Deva'?"),  # one letter short
        ("Xyzw", "the model's scripts are Arab, Armn, Beng,"),  # nothing close: the whole inventory
    ],
)
def test_script_id_of_a_script_name_suggests_its_code(tokenizer, code, hint):
    # before: "Unknown script 'Latin'; the model's scripts are Arab, Armn, ..." (all 30, the fix not among them first)
    with pytest.raises(ValueError) as error:
        tokenizer.script_id(code)
    assert str(error.value).startswith(f"Unknown script {code!r} (give an ISO 15924 4-letter code); {hint}")
    assert tokenizer.script_id("latn") == RELEASE_SCRIPTS.index("Latn")  # lower case is still the code


ADD_SCRIPT = r"To add the script, continue training the model with train.py on a corpus with a '<lang>_{}' pair"


def test_a_real_script_the_model_lacks_is_named_with_the_way_to_add_it(tokenizer):
    tifinagh = "ⵜⵜⵍⴰⵍⴻⵏ ⵎⵉⴷⴷⵏ ⴰⴽⴽ"
    # a label naming it: before, "Unknown script 'Tfng' (give an ISO 15924 4-letter code); the model's scripts are ..."
    with pytest.raises(ValueError) as error:
        tokenizer(tifinagh, lang="kab_Tfng")
    assert str(error.value).startswith(
        "Unknown script 'Tfng': 'Tfng' is Tifinagh (ISO 15924); the model's 30 scripts are Arab, Armn, Beng, "
    )
    assert re.search(ADD_SCRIPT.format("Tfng"), str(error.value))
    # detected in the text: the language's own scripts among the model's are named (Glot500-c has kab_Latn)
    with pytest.raises(ValueError) as error:
        tokenizer(tifinagh, lang="kab")
    assert str(error.value).startswith(
        "Text 0 ('ⵜⵜⵍⴰⵍⴻⵏ ⵎⵉⴷⴷⵏ ⴰⴽⴽ') is written in Tfng, which is not among the model's scripts: 'Tfng' is "
        "Tifinagh (ISO 15924); "
    )
    assert "Tibt; Glot500-c has kab (Kabyle) in Latn. To add the script, " in str(error.value)
    assert str(error.value).endswith("; or pass `script=` to choose a row explicitly.")


def test_a_missing_language_in_a_list_names_lang_and_its_index(tokenizer):
    with pytest.raises(TypeError) as error:
        tokenizer(["Hello", "Hallo", "Salut"], lang=["eng", "deu", None])
    # before: "int() argument must be a string ... not 'NoneType'" from deep inside the id alignment
    assert str(error.value) == (
        "`lang` entry 2 is None: give a code for every text (a single `lang=None` means no language ids for the "
        "whole call)."
    )


def test_auto_tokenizer_on_a_folder_without_tokenizer_files_is_clear(tmp_path):
    from transformers import AutoTokenizer

    LangSAMPForMaskedLM(tiny_config(num_hidden_layers=1)).save_pretrained(tmp_path)  # weights and code, no tokenizer
    # before: transformers' "Couldn't instantiate the backend tokenizer ... sentencepiece or tiktoken installed"
    with pytest.raises(ValueError, match=r"^No tokenizer files in .*\(tokenizer.json, or sentencepiece.bpe.model\)"):
        AutoTokenizer.from_pretrained(tmp_path, trust_remote_code=True)


# --------------------------------------------------------------------------------------------- fill-mask pipeline


@pytest.fixture(scope="module")
def fill(tokenizer):
    from transformers import pipeline

    torch.manual_seed(0)
    model = LangSAMPForMaskedLM(tiny_config(num_hidden_layers=1)).eval()
    return pipeline("fill-mask", model=model, tokenizer=tokenizer, device="cpu")


TEXTS = ["Paris is the <mask> of France.", "Berlin ist die <mask> Deutschlands."]


def test_fill_mask_with_a_language_per_text(fill):
    # A pipeline tokenizes one text at a time, so a list of codes can never line up: the message says what works.
    with pytest.raises(
        ValueError,
        match=r"`lang` has 2 entries for a single text: give one code\. A pipeline "
        r"\(fill-mask\) tokenizes one text at a time: pass "
        r"`tokenizer_kwargs=\{'lang': dict\(zip\(texts, codes\)\)\}`",
    ):
        fill(TEXTS, tokenizer_kwargs={"lang": ["eng", "deu"]})
    # ... and it works: every text gets its own language, exactly as one call per text would give it.
    together = fill(TEXTS, tokenizer_kwargs={"lang": dict(zip(TEXTS, ["eng", "deu"]))}, top_k=3)
    one_by_one = [fill(text, tokenizer_kwargs={"lang": code}, top_k=3) for text, code in zip(TEXTS, ["eng", "deu"])]
    assert together == one_by_one
    # the language matters to this (random) head: with one code for both, the German text's scores differ
    same_code = fill(TEXTS[1], tokenizer_kwargs={"lang": "eng"}, top_k=3)
    assert [r["score"] for r in same_code] != [r["score"] for r in one_by_one[1]]


def test_a_text_missing_from_the_mapping_is_named(tokenizer):
    with pytest.raises(
        ValueError, match=r"`lang` is a mapping of texts to codes, but text 1 \('Salut'\) is not one of its 1 keys"
    ):
        tokenizer(["Hello", "Salut"], lang={"Hello": "eng"})


# ------------------------------------------------------------------------------------------- the model's tables


def test_reading_a_row_the_model_was_never_trained_on_warns():
    model = LangSAMPForMaskedLM(tiny_config(num_hidden_layers=1, trained_pairs=["eng_Latn", "hin_Deva"]))
    with pytest.warns(UserWarning) as caught:
        vector = model.language_embedding("zul")
    assert [str(w.message) for w in caught] == [
        "Language zul is not among the pairs this model was trained on (config.trained_pairs: 2 pairs, e.g. "
        "eng_Latn, hin_Deva): its row is still the random initialisation N(0, 0.02), not learned."
    ]
    assert caught[0].filename == __file__  # pointed at the caller's line
    table = model.language_script_embeddings.language_embeddings.weight
    assert torch.equal(vector, table[RELEASE_LANGUAGES.index("zul")])  # still returned: the user may want it
    with pytest.warns(UserWarning, match=r"^Script Cyrl is not among the pairs"):
        model.script_embedding(["Latn", "Cyrl"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.language_embedding(["eng", "hi", "hin_Deva"])  # trained: no warning
        model.script_embedding("Deva")
        LangSAMPForMaskedLM(tiny_config(num_hidden_layers=1)).language_embedding("zul")  # not recorded: nothing to say
