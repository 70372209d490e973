"""LangSAMPTokenizer on real text: script detection, ids equal to the stock XLM-R tokenizer's, and
`lang_ids` / `script_ids` aligned with `input_ids` through every path users take."""

import json

import numpy as np
import pytest
import torch
from transformers import DataCollatorForLanguageModeling, XLMRobertaTokenizer

from langsamp.resources.xlmr_tokenizer import xlmr_tokenizer_json
from langsamp_inventory import RELEASE_LANGUAGES, RELEASE_SCRIPTS
from tokenization_langsamp import LangSAMPTokenizer

ID_KEYS = ("lang_ids", "script_ids")

# UDHR translation (its OHCHR file code) -> (language code to pass, the script its text is written in).
# Expected scripts are written out here, not read from udhr.py (which detects them with the same code).
REAL_TEXTS = {
    "eng": ("eng", "Latn"),
    "rus": ("rus", "Cyrl"),
    "arb": ("arb", "Arab"),
    "hin": ("hin", "Deva"),
    "cmn_hans": ("cmn", "Hani"),
    "jpn": ("jpn", "Jpan"),
    "kor": ("kor", "Hang"),
    "ell_monotonic": ("ell", "Grek"),
    "heb": ("heb", "Hebr"),
    "tha": ("tha", "Thai"),
    "amh": ("amh", "Ethi"),
    "kat": ("kat", "Geor"),
    "hye": ("hye", "Armn"),
    "ben": ("ben", "Beng"),
    "tam": ("tam", "Taml"),
    "khm": ("khm", "Khmr"),
    "mya": ("mya", "Mymr"),
    "sin": ("sin", "Sinh"),
    "lao": ("lao", "Laoo"),
    "mal": ("mal", "Mlym"),
    "div": ("div", "Thaa"),
    "bod": ("bod", "Tibt"),
    "tel": ("tel", "Telu"),
    "kan": ("kan", "Knda"),
    "guj": ("guj", "Gujr"),
    "pan": ("pan", "Guru"),
    "ydd": ("ydd", "Hebr"),
    "tir": ("tir", "Ethi"),
    "srp_cyrl": ("srp", "Cyrl"),
    "srp_latn": ("srp", "Latn"),
    "vie": ("vie", "Latn"),
    "vie_han": ("vie", "Hani"),  # Chữ Nôm, with characters beyond the BMP
}


@pytest.fixture(scope="module")
def stock():
    """transformers' own XLM-R tokenizer over the same tokenizer.json."""
    return XLMRobertaTokenizer(tokenizer_file=str(xlmr_tokenizer_json()), model_max_length=512)


@pytest.fixture(scope="module")
def real(udhr_translations):
    """OHCHR code -> (language, expected script, article 1, article 2) for the texts of REAL_TEXTS."""
    by_code = {t.code: t for t in udhr_translations.values()}
    missing = sorted(set(REAL_TEXTS) - set(by_code))
    assert not missing, f"UDHR translations missing from data/udhr: {missing} (run setup.sh)"
    out = {}
    for code, (lang, script) in REAL_TEXTS.items():
        articles = by_code[code].article_texts()
        out[code] = (lang, script, articles[1], articles[2])
    return out


def rows_of(values):
    """Per-sequence rows of a 2-D list / array / tensor: asserts each row is one repeated id; returns the ids."""
    values = np.asarray(values.tolist() if torch.is_tensor(values) else values, dtype=object)
    ids = []
    for row in values:
        row = list(row)
        assert len(set(row)) == 1, f"a sequence carries several ids: {row}"
        ids.append(row[0])
    return ids


def assert_aligned(encoding, lang_rows, script_rows):
    """Both id keys exist with the shape and type of input_ids and hold the given id on every token of each row."""
    input_ids = encoding["input_ids"]
    for key, rows in zip(ID_KEYS, (lang_rows, script_rows)):
        ids = encoding[key]
        assert type(ids) is type(input_ids), key
        if hasattr(input_ids, "shape"):
            assert tuple(ids.shape) == tuple(input_ids.shape) and ids.dtype == input_ids.dtype, key
            ids, reference = ids.tolist(), input_ids.tolist()
        else:
            reference = input_ids
        if reference and not isinstance(reference[0], list):  # a single unbatched sequence
            ids, reference = [ids], [reference]
        assert [len(r) for r in ids] == [len(r) for r in reference], key
        assert rows_of(ids) == list(rows), key


# ------------------------------------------------------------------------------------- real text, 12+ scripts


def test_detects_the_script_of_real_text(tokenizer, real):
    langs = [lang for lang, *_ in real.values()]
    texts = [text for _, _, text, _ in real.values()]
    expected = [tokenizer.script_id(script) for _, script, *_ in real.values()]
    assert len({script for _, script, *_ in real.values()}) >= 12
    encoding = tokenizer(texts, lang=langs, padding=True, truncation=True, max_length=48, return_tensors="pt")
    detected = dict(zip(real, (RELEASE_SCRIPTS[i] for i in rows_of(encoding["script_ids"]))))
    assert detected == {code: script for code, (_, script, *_) in real.items()}
    assert_aligned(encoding, [tokenizer.language_id(lang) for lang in langs], expected)
    # one text at a time gives the same as the batch
    for code in ("jpn", "cmn_hans", "kor", "vie_han"):
        lang, script, text, _ = real[code]
        assert tokenizer(text, lang=lang)["script_ids"][0] == RELEASE_SCRIPTS.index(script), code


def test_script_ids_are_the_release_rows(tokenizer):
    assert tokenizer.scripts == RELEASE_SCRIPTS and tokenizer.languages == RELEASE_LANGUAGES
    assert (tokenizer.script_id("Arab"), tokenizer.script_id("Latn"), tokenizer.script_id("Tibt")) == (0, 19, 29)
    assert tokenizer.language_id("eng") == RELEASE_LANGUAGES.index("eng")


# --------------------------------------------------------------------------------------- ids equal stock ids


def test_ids_equal_the_stock_tokenizer(tokenizer, stock, real):
    texts = [text for _, _, text, _ in real.values()]
    pairs = [pair for *_, pair in real.values()]
    langs = [lang for lang, *_ in real.values()]
    for text in texts[:6]:
        ours = tokenizer(text, lang=langs[0])
        assert ours["input_ids"] == stock(text)["input_ids"]
    ours = tokenizer(texts, lang=langs, truncation=True, max_length=64, padding=True)
    theirs = stock(texts, truncation=True, max_length=64, padding=True)
    assert ours["input_ids"] == theirs["input_ids"] and ours["attention_mask"] == theirs["attention_mask"]
    ours = tokenizer(texts, pairs, lang=langs, truncation=True, max_length=64, padding=True)
    theirs = stock(texts, pairs, truncation=True, max_length=64, padding=True)
    assert ours["input_ids"] == theirs["input_ids"]
    assert ours["input_ids"][0].count(2) == 3  # really a pair: </s></s> between the parts, </s> at the end
    assert_aligned(
        ours, [tokenizer.language_id(lang) for lang in langs], rows_of(tokenizer(texts, lang=langs)["script_ids"])
    )


def test_without_lang_it_is_the_stock_tokenizer(tokenizer, stock, real):
    texts = [text for _, _, text, _ in real.values()][:5]
    for args, kwargs in (
        ((texts[0],), {}),
        ((texts,), dict(padding=True, truncation=True, max_length=20, return_tensors="pt")),
        ((texts, texts[::-1]), dict(truncation=True, max_length=30)),
    ):
        ours, theirs = tokenizer(*args, **kwargs), stock(*args, **kwargs)
        assert list(ours.keys()) == list(theirs.keys())
        for key in theirs:
            assert torch.equal(ours[key], theirs[key]) if torch.is_tensor(theirs[key]) else ours[key] == theirs[key], (
                key
            )


# ------------------------------------------------------------------------------------------ aligned paths


def test_single_text(tokenizer):
    encoding = tokenizer("Всеобщая декларация прав человека", lang="rus")
    assert_aligned(encoding, [tokenizer.language_id("rus")], [tokenizer.script_id("Cyrl")])
    pt = tokenizer("Всеобщая декларация прав человека", lang="rus", return_tensors="pt")
    assert pt["lang_ids"].shape == pt["input_ids"].shape == (1, len(encoding["input_ids"]))
    assert_aligned(pt, [tokenizer.language_id("rus")], [tokenizer.script_id("Cyrl")])


@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("return_tensors", [None, "pt", "np"])
@pytest.mark.parametrize("padding", ["longest", "max_length"])
def test_batch_padding_and_tensors(tokenizer, real, padding_side, return_tensors, padding):
    codes = ["eng", "hin", "jpn", "arb"]
    texts = [real[c][2] for c in codes]
    langs = [real[c][0] for c in codes]
    lengths = [4, 30, 11, 17]  # cut to unequal lengths so that padding matters
    texts = [tokenizer.convert_tokens_to_string(tokenizer.tokenize(t)[:n]) for t, n in zip(texts, lengths)]
    encoding = tokenizer(
        texts,
        lang=langs,
        padding=padding,
        max_length=40,
        truncation=True,
        padding_side=padding_side,
        return_tensors=return_tensors,
    )
    expected_lang = [tokenizer.language_id(lang) for lang in langs]
    expected_script = [tokenizer.script_id(s) for s in ("Latn", "Deva", "Jpan", "Arab")]
    assert_aligned(encoding, expected_lang, expected_script)
    mask = np.asarray(encoding["attention_mask"].tolist() if return_tensors == "pt" else encoding["attention_mask"])
    assert mask.shape[1] == (40 if padding == "max_length" else mask.sum(axis=1).max())
    assert (mask[:, 0 if padding_side == "left" else -1] == 0).any()  # some row really is padded on that side
    if return_tensors == "pt":
        assert isinstance(encoding["lang_ids"], torch.Tensor) and encoding["lang_ids"].dtype == torch.long
    if return_tensors == "np":
        assert isinstance(encoding["script_ids"], np.ndarray)


def test_unpadded_batch_and_truncation(tokenizer, real):
    texts = [real[c][2] for c in ("eng", "kat", "tha")]
    encoding = tokenizer(texts, lang=["eng", "kat", "tha"], truncation=True, max_length=9)
    assert [len(ids) for ids in encoding["input_ids"]] == [9, 9, 9]
    assert_aligned(
        encoding,
        [tokenizer.language_id(c) for c in ("eng", "kat", "tha")],
        [tokenizer.script_id(s) for s in ("Latn", "Geor", "Thai")],
    )
    ragged = tokenizer(["Short one.", "A much longer sentence than the first one."], lang="eng")
    assert len(ragged["input_ids"][0]) != len(ragged["input_ids"][1])
    assert_aligned(ragged, [tokenizer.language_id("eng")] * 2, [19, 19])


@pytest.mark.parametrize("return_tensors", [None, "pt"])
def test_overflow_with_stride(tokenizer, real, return_tensors):
    codes = ["eng", "rus", "kor"]
    texts = [real["eng"][2], "Короткий текст.", real["kor"][2]]
    encoding = tokenizer(
        texts,
        lang=codes,
        truncation=True,
        max_length=16,
        stride=4,
        return_overflowing_tokens=True,
        padding=True,
        return_tensors=return_tensors,
    )
    mapping = list(np.asarray(encoding["overflow_to_sample_mapping"]))
    assert mapping[0] == 0 and mapping.count(1) == 1 and mapping.count(0) > 1 and mapping.count(2) > 1
    scripts = [tokenizer.script_id(s) for s in ("Latn", "Cyrl", "Hang")]
    assert_aligned(encoding, [tokenizer.language_id(codes[m]) for m in mapping], [scripts[m] for m in mapping])
    # windows overlap by `stride` tokens: this really is the overflow path
    first, second = list(np.asarray(encoding["input_ids"][0])), list(np.asarray(encoding["input_ids"][1]))
    assert first[-5:-1] == second[1:5]

    single = tokenizer(
        real["hin"][2], lang="hin", truncation=True, max_length=16, stride=4, return_overflowing_tokens=True
    )
    assert len(single["input_ids"]) > 1
    assert_aligned(
        single,
        [tokenizer.language_id("hin")] * len(single["input_ids"]),
        [tokenizer.script_id("Deva")] * len(single["input_ids"]),
    )


def test_is_split_into_words(tokenizer, stock):
    words = [["Все", "люди", "рождаются"], ["All", "human", "beings", "are", "born"]]
    encoding = tokenizer(words, lang=["rus", "eng"], is_split_into_words=True, padding=True, return_tensors="pt")
    assert torch.equal(
        encoding["input_ids"], stock(words, is_split_into_words=True, padding=True, return_tensors="pt")["input_ids"]
    )
    assert_aligned(
        encoding, [tokenizer.language_id("rus"), tokenizer.language_id("eng")], [tokenizer.script_id("Cyrl"), 19]
    )
    single = tokenizer(words[0], lang="rus", is_split_into_words=True)
    assert_aligned(single, [tokenizer.language_id("rus")], [tokenizer.script_id("Cyrl")])


def test_batch_of_pair_tuples(tokenizer, stock):
    pairs = [("Hello there.", "Здравствуйте все люди мира."), ("Bonjour.", "Salut.")]
    encoding = tokenizer(pairs, lang=["rus", "fra"])
    assert encoding["input_ids"] == stock(pairs)["input_ids"]
    # the script is the majority over the whole sequence (both parts), as the id covers both
    assert_aligned(
        encoding, [tokenizer.language_id("rus"), tokenizer.language_id("fra")], [tokenizer.script_id("Cyrl"), 19]
    )


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_rows_with_list_ids(tokenizer, padding_side):
    rows = [
        tokenizer(text, lang=lang)
        for text, lang in (("Hello world, how are you?", "eng"), ("नमस्ते", "hin"), ("Γειά", "ell"))
    ]
    rows = [dict(row) for row in rows]
    batch = tokenizer.pad(rows, padding_side=padding_side, return_tensors="pt")
    assert_aligned(
        batch,
        [tokenizer.language_id(c) for c in ("eng", "hin", "ell")],
        [tokenizer.script_id(s) for s in ("Latn", "Deva", "Grek")],
    )
    assert (batch["attention_mask"][:, 0 if padding_side == "left" else -1] == 0).any()
    padded_to = tokenizer.pad(rows, padding="max_length", max_length=20)
    assert_aligned(
        padded_to,
        [tokenizer.language_id(c) for c in ("eng", "hin", "ell")],
        [tokenizer.script_id(s) for s in ("Latn", "Deva", "Grek")],
    )
    assert {len(ids) for ids in padded_to["lang_ids"]} == {20}


@pytest.mark.parametrize(
    "padding_side, expected",
    [("right", [[3, 4, 5, 3, 3], [7, 7, 7, 7, 7]]), ("left", [[3, 3, 3, 4, 5], [7, 7, 7, 7, 7]])],
)
def test_pad_keeps_per_token_ids_in_place(tokenizer, padding_side, expected):
    """Ids that vary along a sequence (hand-made rows) stay on their tokens; padding goes on the padding side."""
    rows = [
        {"input_ids": [0, 9, 2], "lang_ids": [3, 4, 5], "script_ids": [3, 4, 5]},
        {"input_ids": [0, 9, 9, 9, 2], "lang_ids": [7] * 5, "script_ids": [7] * 5},
    ]
    batch = tokenizer.pad(rows, padding_side=padding_side)
    assert batch["lang_ids"] == expected and batch["script_ids"] == expected


def test_pad_rows_with_scalar_ids(tokenizer):
    rows = [
        {"input_ids": [0, 35378, 8999, 2], "lang_ids": 145, "script_ids": 19},
        {"input_ids": [0, 2], "lang_ids": 468, "script_ids": 5},
    ]
    batch = tokenizer.pad(rows, return_tensors="pt")
    assert batch["input_ids"].shape == (2, 4)
    assert batch["lang_ids"].tolist() == [145, 468] and batch["script_ids"].tolist() == [19, 5]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]


def test_data_collator_for_language_modeling(tokenizer, real):
    from fixtures.models import tiny_config

    from modeling_langsamp import LangSAMPForMaskedLM

    codes = ["eng", "hin", "kor", "amh"]
    with_lists = [
        dict(tokenizer(real[c][2], lang=real[c][0], truncation=True, max_length=24 - 4 * i))
        for i, c in enumerate(codes)
    ]
    with_scalars = [
        {"input_ids": row["input_ids"], "lang_ids": row["lang_ids"][0], "script_ids": row["script_ids"][0]}
        for row in with_lists
    ]
    expected_lang = [tokenizer.language_id(real[c][0]) for c in codes]
    expected_script = [tokenizer.script_id(real[c][1]) for c in codes]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.5, seed=0)
    torch.manual_seed(0)
    model = LangSAMPForMaskedLM(tiny_config(num_hidden_layers=1)).eval()
    as_tensors = [{k: torch.tensor(v) for k, v in row.items()} for row in with_lists]  # datasets' set_format("torch")
    for rows, per_token in ((with_lists, True), (with_scalars, False), (as_tensors, True)):
        batch = collator(rows)
        assert batch["input_ids"].shape == batch["labels"].shape == (4, 24)
        if per_token:
            assert_aligned(batch, expected_lang, expected_script)
        else:
            assert batch["lang_ids"].tolist() == expected_lang and batch["script_ids"].tolist() == expected_script
        masked = batch["labels"] != -100
        assert masked.any() and (batch["input_ids"][masked] == tokenizer.mask_token_id).any()
        assert not masked[:, 0].any()  # <s> is never a target
        with torch.no_grad():
            out = model(**batch)
        assert torch.isfinite(out.loss) and out.logits.shape == (4, 24, model.config.vocab_size)


def test_save_and_load_round_trip(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path / "saved")
    config_file = tmp_path / "saved" / "tokenizer_config.json"
    config = json.loads(config_file.read_text())
    assert config["languages"] == RELEASE_LANGUAGES and config["scripts"] == RELEASE_SCRIPTS
    assert config["auto_map"]["AutoTokenizer"][0] == "tokenization_langsamp.LangSAMPTokenizer"
    # a model with its own (small) inventory: the ids must follow the saved lists, not the release's
    config["languages"], config["scripts"] = ["eng", "hin", "rus"], ["Latn", "Deva", "Cyrl"]
    config_file.write_text(json.dumps(config))
    reloaded = LangSAMPTokenizer.from_pretrained(tmp_path / "saved")
    assert reloaded.languages == ["eng", "hin", "rus"] and reloaded.scripts == ["Latn", "Deva", "Cyrl"]
    text = ["नमस्ते दुनिया", "Привет"]
    encoding = reloaded(text, lang=["hin", "rus"], padding=True)
    assert encoding["input_ids"] == tokenizer(text, padding=True)["input_ids"]
    assert rows_of(encoding["lang_ids"]) == [1, 2] and rows_of(encoding["script_ids"]) == [1, 2]
    with pytest.raises(ValueError, match="Unknown language 'deu'"):
        reloaded("Hallo", lang="deu")
    with pytest.raises(ValueError, match="Arab"):
        reloaded("مرحبا", lang="eng")  # Arabic is not among this tokenizer's scripts
    reloaded.save_pretrained(tmp_path / "again")  # and saving writes them back
    again = json.loads((tmp_path / "again" / "tokenizer_config.json").read_text())
    assert again["languages"] == ["eng", "hin", "rus"] and again["scripts"] == ["Latn", "Deva", "Cyrl"]


# ----------------------------------------------------------------------------------------------- lang forms


def test_positional_arguments_reach_the_stock_call_in_their_places(tokenizer):
    """`tokenizer(text, text_pair, text_target, text_pair_target, add_special_tokens, ...)`, positionally, for one
    text and for a batch: the ids are the stock call's."""
    stock = tokenizer("Hello world", add_special_tokens=False)["input_ids"]
    assert tokenizer("Hello world", None, None, None, False, lang="eng")["input_ids"] == stock
    assert tokenizer(["Hello world"], None, None, None, False, lang="eng")["input_ids"] == [stock]


def test_language_code_forms(tokenizer):
    hin, srp, zho = (tokenizer.language_id(c) for c in ("hin", "srp", "zho"))
    deva, latn, cyrl, hani = (tokenizer.script_id(s) for s in ("Deva", "Latn", "Cyrl", "Hani"))

    def ids(text, **kwargs):
        encoding = tokenizer(text, **kwargs)
        return encoding["lang_ids"][0], encoding["script_ids"][0]

    assert ids("नमस्ते दुनिया", lang="hin") == (hin, deva)  # ISO 639-3, script detected
    assert ids("नमस्ते दुनिया", lang="hi") == (hin, deva)  # ISO 639-1
    assert ids("namaste duniya", lang="hin_Latn") == (hin, latn)  # Glot500 label
    assert ids("नमस्ते दुनिया", lang="hin_Latn") == (hin, latn)  # the label fixes the script whatever the text
    assert ids("Здраво свете", lang="sr-Latn") == (srp, latn)  # BCP-47 with script: given wins over detected
    assert ids("Здраво свете", lang="sr") == (srp, cyrl)
    with pytest.warns(UserWarning, match=r"'zh-Hans' is the macrolanguage 'zho'; this model does not record"):
        assert ids("世界人权宣言", lang="zh-Hans") == (zho, hani)  # no record of what was trained: zho, saying so
    with pytest.warns(UserWarning, match=r"'zh-Hant' is the macrolanguage 'zho'"):
        assert ids("世界人權宣言", lang="zh-Hant") == (zho, hani)  # Glot500 has one Han script
    assert ids("Hello", lang="hin", script="Deva") == (hin, deva)  # script= overrides detection
    assert ids("Hello", lang="hin_Latn", script="Deva") == (hin, deva)  # ... and the label
    assert ids("Hello", lang="hin", script="Hans") == (hin, hani)
    both = tokenizer(["Hello", "Hello"], lang="eng", script=["Latn", "Cyrl"])
    assert rows_of(both["script_ids"]) == [latn, cyrl]
    only_script = tokenizer("Hello", script="Latn")
    assert "lang_ids" not in only_script and only_script["script_ids"] == [latn] * len(only_script["input_ids"])


# --------------------------------------------------------------------------------------------- edge behaviour


def test_text_without_letters_takes_the_language_default_script(tokenizer):
    assert tokenizer("1948 — 10.12.", lang="rus")["script_ids"][0] == tokenizer.script_id("Cyrl")
    assert tokenizer("1948 — 10.12.", lang="hin")["script_ids"][0] == tokenizer.script_id("Deva")
    assert tokenizer("1948", lang="hin_Latn")["script_ids"][0] == tokenizer.script_id("Latn")  # a named script wins
    assert tokenizer("1948", lang="eng", script="Arab")["script_ids"][0] == tokenizer.script_id("Arab")
    batch = tokenizer(["1948 !", "Article 1"], lang=["kor", "eng"])
    assert rows_of(batch["script_ids"]) == [tokenizer.script_id("Hang"), 19]


def test_script_outside_the_inventory_raises(tokenizer, udhr_translations):
    cherokee = {t.code: t for t in udhr_translations.values()}["chr_cased"].article_texts()[1]
    with pytest.raises(ValueError, match=r"written in Cher.*not among the model's scripts.*script="):
        tokenizer(cherokee, lang="eng")
    with pytest.raises(ValueError, match=r"Text 1 .*written in Runr"):
        tokenizer(["fine text", "ᚠᚢᚦᚨᚱᚲ ᚷᚹᚺ"], lang="eng")  # constructed: Runic
    assert tokenizer(cherokee, lang="eng", script="Latn")["script_ids"][0] == 19  # the documented way out
    with pytest.raises(ValueError, match="Unknown script 'Cher'"):
        tokenizer("Hello", lang="eng", script="Cher")


def test_unknown_language_names_it_and_close_codes(tokenizer):
    with pytest.raises(ValueError, match=r"Unknown language 'hni'.*Closest known codes:.*\bhin\b"):
        tokenizer("नमस्ते", lang="hni")
    with pytest.raises(ValueError, match=r"Unknown language 'xx'"):
        tokenizer("Hello", lang="xx")
    with pytest.raises(ValueError, match=r"'english' is not a language code"):
        tokenizer("Hello", lang="english")
    with pytest.raises(ValueError, match=r"Unknown language 'qqq'"):
        tokenizer(["Hello", "World"], lang=["eng", "qqq"])
    with pytest.raises(ValueError, match="Unknown language"):
        tokenizer.language_id("qqq")


def test_bad_batches_raise(tokenizer):
    with pytest.raises(ValueError, match=r"`lang` has 2 entries for a batch of 3 texts"):
        tokenizer(["a", "b", "c"], lang=["eng", "fra"])
    with pytest.raises(ValueError, match=r"`script` has 1 entries for a batch of 2 texts"):
        tokenizer(["a", "b"], lang="eng", script=["Latn"])
    with pytest.raises(ValueError, match="padding"):  # ragged lengths cannot become one tensor: the stock message
        tokenizer(["Short.", "A longer sentence than that."], lang="eng", return_tensors="pt")
    with pytest.raises(ValueError, match="batch length of `text`: 2 does not match batch length of `text_pair`: 1"):
        tokenizer(["First.", "Second."], ["Only one pair."], lang="eng")
    with pytest.raises(ValueError, match="Text 0 is empty"):
        tokenizer("", lang="eng")
    with pytest.raises(ValueError, match="Text 1 is empty"):
        tokenizer(["Hello", "   "], lang="eng")
