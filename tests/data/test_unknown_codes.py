"""A corpus pair whose language or script the model lacks: the error names what the code stands for and how to add
it, and the route it names (a tokenizer saved with the code in its inventory) then takes the same corpus."""

import json

import pytest

from langsamp.data.sources import discover_corpus
from langsamp.training import builders
from langsamp.training.arguments import ModelArguments
from langsamp_inventory import RELEASE_LANGUAGES, RELEASE_SCRIPTS
from tokenization_langsamp import LangSAMPTokenizer

# Tifinagh letters only (Unicode's Tfng block), as a zgh_Tfng or kab_Tfng file would hold.
TIFINAGH = "ⵜⵜⵍⴰⵍⴻⵏ ⵎⵉⴷⴷⵏ ⴰⴽⴽ ⴷ ⵉⵍⴻⵍⵍⵉⵢⴻⵏ ⵎⴳⴷⴰⵏ ⴳ ⵡⴰⴷⴷⵓⵔ ⴷ ⵉⵣⵔⴼⴰⵏ\n"
ADD_ROUTE = 'which appends the table row (docs/training.md, "Adding a language or a script")'


def corpus(tmp_path, *labels):
    root = tmp_path / "corpus"
    root.mkdir()
    for label in labels:
        (root / label).write_text(TIFINAGH * 3, encoding="utf-8")
    return root


def test_a_pair_in_a_script_the_model_lacks_says_how_to_add_the_script(tmp_path):
    with pytest.raises(ValueError) as error:
        discover_corpus(corpus(tmp_path, "kab_Tfng"))
    message = str(error.value)
    # before: "... script 'Tfng' is not among the model's scripts (Arab, ...). Remove the pair, or filter it out ..."
    assert message.startswith("Corpus entry 'kab_Tfng': script 'Tfng' is not among the model's scripts: 'Tfng' is ")
    assert "'Tfng' is Tifinagh (ISO 15924); the model's 30 scripts are Arab, Armn, " in message
    assert "Glot500-c has kab (Kabyle) in Latn." in message  # Kabyle's one pair in Glot500-c is kab_Latn
    assert (
        f"To add the script, continue training the model with train.py on a corpus with a '<lang>_Tfng' pair, "
        f"{ADD_ROUTE}; or filter the pair out with `languages`." in message
    )


def test_a_real_language_the_model_lacks_is_named_and_the_named_route_then_works(tmp_path, tokenizer_dir):
    root = corpus(tmp_path, "zgh_Tfng")
    with pytest.raises(ValueError) as error:
        discover_corpus(root)
    message = str(error.value)
    # before: "Unknown language 'zgh': ... Closest known codes: mgh." (Makhuwa-Meetto, of Mozambique: unrelated)
    assert "mgh" not in message
    assert message.startswith(
        "Corpus entry 'zgh_Tfng': Unknown language 'zgh': 'zgh' is Standard Moroccan Tamazight (ISO 639), a real "
        "language that is not among the model's 610 languages."
    )
    assert f"on a corpus with a 'zgh_<Script>' pair, {ADD_ROUTE}." in message
    assert message.endswith("Its script 'Tfng' is not among the model's scripts either (train.py appends both rows).")

    # The route: a tokenizer saved with both codes appended (the release's ids stay where they were) ...
    extended = LangSAMPTokenizer.from_pretrained(
        tokenizer_dir, languages=[*RELEASE_LANGUAGES, "zgh"], scripts=[*RELEASE_SCRIPTS, "Tfng"]
    )
    extended.save_pretrained(tmp_path / "tokenizer")
    saved = json.loads((tmp_path / "tokenizer" / "tokenizer_config.json").read_text())
    assert (saved["languages"][-1], saved["scripts"][-1]) == ("zgh", "Tfng")  # what --tokenizer_name loads
    # ... takes the corpus, and train.py's new tables (from XLM-R or from scratch) get a row for each.
    assert list(discover_corpus(root, model_languages=extended.languages, model_scripts=extended.scripts)) == [
        "zgh_Tfng"
    ]
    config = builders.load_config(ModelArguments(tokenizer_name=str(tmp_path / "tokenizer")), extended)
    assert (len(config.languages), config.languages[610], len(config.scripts), config.scripts[30]) == (
        611,
        "zgh",
        31,
        "Tfng",
    )
    ids = extended(TIFINAGH, lang="zgh")
    assert (ids["lang_ids"][0], ids["script_ids"][0]) == (610, 30)
