"""The tokenizer, the language codes and the model's config as a new user calls them: every bad input ends in a clear
error, or a warning where the input can be right, named by its message."""

import warnings

import pytest
import torch
from fixtures.models import TRAINED, tiny_config

from langsamp_inventory import RELEASE_LANGUAGES
from modeling_langsamp import LangSAMPForMaskedLM
from tokenization_langsamp import LangSAMPTokenizer

# ISO 639-3 / the IANA registry: `ar` is the macrolanguage Arabic (ara), Standard Arabic is arb and Egyptian arz;
# `zh` is Chinese (zho), Mandarin cmn.
ARA, ARB, ARZ, ZHO, CMN = (RELEASE_LANGUAGES.index(code) for code in ("ara", "arb", "arz", "zho", "cmn"))


# ------------------------------------------------------------------------------------------------ tokenizer


def test_a_folder_without_tokenizer_files_is_refused(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    # without the check the result was a 5-token vocabulary: every text <unk>
    with pytest.raises(ValueError, match=r"No tokenizer files in .*5 special tokens"):
        LangSAMPTokenizer.from_pretrained(tmp_path)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda t: t(5, lang="eng"), TypeError, r"Text 0 is int 5: pass a str"),
        (lambda t: t(["ok", None], lang="eng"), TypeError, r"Text 1 is NoneType None"),
        (
            lambda t: t("ok", lang=5),
            TypeError,
            r"`lang` must be a code \(str\), a list of codes \(one per text\) or a mapping of texts to codes.*int 5",
        ),
        (lambda t: t("ok", lang="eng", script=7), TypeError, r"`script` must be a code.*int 7"),
        (lambda t: t(["a", "b"], lang=["eng"]), ValueError, r"`lang` has 1 entries for a batch of 2"),
    ],
    ids=["number-text", "none-in-batch", "number-lang", "number-script", "lang-count"],
)
def test_wrong_types_passed_to_the_tokenizer(tokenizer, call, error, message):
    with pytest.raises(error, match=message):
        call(tokenizer)


def test_pad_refuses_features_with_and_without_ids(tokenizer):
    with_ids, without = tokenizer("Hello world", lang="eng"), tokenizer("Hallo")
    # each order: the parent took the keys of the first feature (ids dropped silently, or a KeyError)
    for features, index in (([with_ids, without], 1), ([without, with_ids], 0)):
        with pytest.raises(ValueError, match=rf"`lang_ids` is in some features but not in features \[{index}\].*lang="):
            tokenizer.pad(features)
    assert tokenizer.pad([with_ids, with_ids])["lang_ids"] == [with_ids["lang_ids"]] * 2


# --------------------------------------------------------------------------------- two-letter macrolanguage codes


def test_two_letter_codes_resolve_to_the_trained_individual_language(mlm_folder):
    trained = LangSAMPTokenizer.from_pretrained(mlm_folder)
    assert trained.trained_pairs == TRAINED  # read back from tokenizer_config.json
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # resolved: no warning
        batch = trained(["مرحبا بالعالم", "你好世界"], lang=["ar", "zh"])
    assert [row[0] for row in batch["lang_ids"]] == [ARB, CMN]
    assert trained.language_id("ara") == ARA  # an explicit ISO 639-3 code is taken as given


def test_two_letter_codes_warn_when_the_trained_languages_are_not_recorded(tokenizer):
    assert tokenizer.trained_pairs is None
    with pytest.warns(UserWarning, match=r"'ar' is the macrolanguage 'ara'; this model does not record .*arb"):
        batch = tokenizer("مرحبا", lang="ar")
    assert batch["lang_ids"][0] == ARA


def test_two_letter_codes_warn_or_fail_when_the_record_does_not_settle_it(tokenizer, monkeypatch):
    monkeypatch.setitem(tokenizer.init_kwargs, "trained_pairs", ["eng_Latn"])
    with pytest.warns(UserWarning, match=r"trained neither on it nor on any of its members .*untrained 'ara' row"):
        assert tokenizer.language_id("ar") == ARA
    tokenizer.trained_pairs = ["arb_Arab", "arz_Arab"]
    with pytest.raises(ValueError, match=r"'ar' .* is ambiguous for this model: it was trained on arb, arz"):
        tokenizer.language_id("ar")


def test_the_model_resolves_two_letter_codes_from_its_config(mlm_folder):
    model = LangSAMPForMaskedLM.from_pretrained(mlm_folder)
    assert model.config.trained_pairs == TRAINED  # saved in config.json
    table = model.language_script_embeddings.language_embeddings.weight
    assert torch.equal(model.language_embedding("ar"), table[ARB])
    with pytest.warns(UserWarning, match=r"^Language ara is not among the pairs this model was trained on"):
        assert torch.equal(model.language_embedding(["zh", "ara"]), table[[CMN, ARA]])  # ara: never trained


# ------------------------------------------------------------------------------------------------- model, config


@pytest.mark.parametrize(
    "codes, error, message",
    [
        (5, TypeError, r"Pass a language code \(str\) or a non-empty list of codes; got int 5"),
        (None, TypeError, r"got NoneType None"),
        ([], TypeError, r"got list \[\]"),
        ([5], ValueError, r"Language 5 is not a language code"),
        ("xx", ValueError, r"Unknown language 'xx'"),
    ],
)
def test_wrong_values_passed_to_language_embedding(codes, error, message):
    model = LangSAMPForMaskedLM(tiny_config())
    with pytest.raises(error, match=message):
        model.language_embedding(codes)


@pytest.mark.parametrize("lang_ids", ["hin", ["hin"]], ids=["code", "list-of-codes"])
def test_codes_passed_as_lang_ids_point_to_the_tokenizer(lang_ids):
    model = LangSAMPForMaskedLM(tiny_config())
    with pytest.raises(TypeError, match=r"`lang_ids` must hold integer row ids, got .*hin.*go through the tokenizer"):
        model(torch.tensor([[0, 100, 2]]), lang_ids=lang_ids, script_ids=[19])


def test_one_id_for_the_whole_batch_is_the_same_as_one_per_sequence():
    model = LangSAMPForMaskedLM(tiny_config()).eval()
    ids = torch.tensor([[0, 100, 2], [0, 200, 2]])
    with torch.no_grad():
        assert torch.equal(
            model(ids, lang_ids=3, script_ids=19).logits, model(ids, lang_ids=[3, 3], script_ids=[19, 19]).logits
        )


def test_empty_inventories_and_lowercase_scripts():
    with pytest.raises(ValueError, match=r"`languages` is empty: the table needs at least one code"):
        tiny_config(languages=[])
    model = LangSAMPForMaskedLM(tiny_config())
    table = model.language_script_embeddings.script_embeddings.weight
    assert torch.equal(model.script_embedding("deva"), table[model.config.scripts.index("Deva")])


def test_trained_pairs_must_be_labels_of_the_inventory():
    with pytest.raises(
        ValueError, match=r"`trained_pairs` holds \['arb', 'hin_Qqqq'\]: each entry must be `<lang>_<Script>`"
    ):
        tiny_config(trained_pairs=["arb", "hin_Qqqq", "eng_Latn"])
