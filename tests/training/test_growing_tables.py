"""Growing a trained checkpoint's language and script tables (langsamp/training/growing.py, table_rows.py): corpus
pairs whose codes the checkpoint lacks append rows, old rows keep their ids and bits, the new ones start at URIEL
neighbours' weighted mean (or random), and the grown model loads and tokenizes the new codes in a fresh process."""

import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from fixtures.models import tiny_config

from langsamp.evaluation.uriel_similarity import lang2vec_data_dir
from langsamp.training import arguments, builders, cli
from langsamp.training.growing import grow_inventory
from modeling_langsamp import LangSAMPForMaskedLM

TRAINED = ["deu_Latn", "eng_Latn", "fin_Latn", "hin_Deva"]  # the base checkpoint's record
TIFINAGH = "ⵜⴰⵎⴰⵣⵉⵖⵜ"
SENTENCE = "Everyone has the right to life, liberty and security of person."


@pytest.fixture(scope="module")
def base(tmp_path_factory, tokenizer):
    """A tiny LangSAMP checkpoint trained (by its record) on TRAINED, with distinct table rows, and its tokenizer."""
    folder = tmp_path_factory.mktemp("base")
    torch.manual_seed(0)
    model = LangSAMPForMaskedLM(tiny_config(trained_pairs=TRAINED, max_position_embeddings=66))
    model.save_pretrained(folder)
    saved = tokenizer.init_kwargs.get("trained_pairs")
    tokenizer.trained_pairs = TRAINED
    try:
        tokenizer.save_pretrained(folder)
    finally:
        tokenizer.trained_pairs = saved
    return folder


def grown_tokenizer(base, labels):
    from tokenization_langsamp import LangSAMPTokenizer

    tokenizer = LangSAMPTokenizer.from_pretrained(base)
    return tokenizer, grow_inventory(tokenizer, labels, None)


def uriel_unit(code, filename):
    with np.load(lang2vec_data_dir() / filename) as database:
        row = database["data"][database["langs"].tolist().index(code), :, 0].astype(np.float64)
        prefix = {"feature_predictions.npz": "S_", "family_features.npz": "F_", "geocoord_features.npz": "GC_"}[
            filename
        ]
        row = row[[i for i, name in enumerate(database["feats"].tolist()) if name.startswith(prefix)]]
    return row / np.linalg.norm(row)


def test_growing_keeps_every_old_row_and_output_and_starts_a_new_language_at_its_uriel_neighbours(base):
    tokenizer, new = grown_tokenizer(base, ["eng_Latn", "krl_Latn", "zgh_Tfng"])
    assert (new.languages, new.scripts) == (["krl", "zgh"], ["Tfng"])
    assert tokenizer.languages[610:] == ["krl", "zgh"] and tokenizer.scripts[30:] == ["Tfng"]
    model_args = arguments.ModelArguments(model_name_or_path=str(base), new_language_neighbours=2)
    config = builders.load_config(model_args, tokenizer)
    loaded = builders.load_model(model_args, config, tokenizer)
    grown, old = loaded.model.eval(), LangSAMPForMaskedLM.from_pretrained(base).eval()
    tables, old_tables = grown.language_script_embeddings, old.language_script_embeddings
    assert tables.language_embeddings.weight.shape[0] == 612 and tables.script_embeddings.weight.shape[0] == 31
    assert torch.equal(tables.language_embeddings.weight[:610], old_tables.language_embeddings.weight)
    assert torch.equal(tables.script_embeddings.weight[:30], old_tables.script_embeddings.weight)
    batch = tokenizer([SENTENCE], lang="eng", return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(grown(**batch).logits, old(**batch).logits)  # to the bit

    # Karelian by hand: the mean over syntax, family, geography of the cosines to the 4 trained languages; the 2 best,
    # weighted by similarity over their sum.
    files = ("feature_predictions.npz", "family_features.npz", "geocoord_features.npz")
    similarity = {
        code: np.mean([uriel_unit("krl", f) @ uriel_unit(code, f) for f in files])
        for code in ("deu", "eng", "fin", "hin")
    }
    first, second = sorted(similarity, key=similarity.get, reverse=True)[:2]
    assert first == "fin"  # Karelian's Finnic relative
    w = np.array([similarity[first], similarity[second]]) / (similarity[first] + similarity[second])
    rows = old_tables.language_embeddings.weight.detach().double()
    expected = w[0] * rows[tokenizer.language_id(first)] + w[1] * rows[tokenizer.language_id(second)]
    torch.testing.assert_close(tables.language_embeddings.weight[610].double(), expected, rtol=0, atol=1e-6)
    record = loaded.grown_rows["languages"]["krl"]
    assert record["init"] == "typology" and list(record["neighbours"]) == [first, second]
    assert record["neighbours"][first] == pytest.approx(w[0], abs=1e-9)
    # Tifinagh: the mean of the trained scripts' rows (Deva, Latn).
    scripts = old_tables.script_embeddings.weight.detach().double()
    mean = (scripts[tokenizer.script_id("Deva")] + scripts[tokenizer.script_id("Latn")]) / 2
    torch.testing.assert_close(tables.script_embeddings.weight[30].double(), mean, rtol=0, atol=1e-6)
    assert grown.config.added_rows["scripts"] == {"Tfng": {"init": "mean"}}


def test_random_init_and_a_language_uriel_does_not_know(base, caplog):
    tokenizer, _ = grown_tokenizer(base, ["cnr_Latn", "krl_Latn"])
    model_args = arguments.ModelArguments(model_name_or_path=str(base))
    config = builders.load_config(model_args, tokenizer)
    with caplog.at_level(logging.WARNING):
        record = builders.load_model(model_args, config, tokenizer).grown_rows
    assert record["languages"]["cnr"] == {"init": "random"}  # Montenegrin: no URIEL vectors
    assert "New language 'cnr' starts random, not by typology: URIEL does not know it" in caplog.text
    assert record["languages"]["krl"]["init"] == "typology"

    model_args = arguments.ModelArguments(model_name_or_path=str(base), new_language_init="random")
    tokenizer, _ = grown_tokenizer(base, ["krl_Latn"])
    torch.manual_seed(1)
    model = builders.load_model(model_args, builders.load_config(model_args, tokenizer), tokenizer).model
    torch.manual_seed(1)
    expected = torch.randn(model.config.hidden_size) * model.config.initializer_range  # N(0, initializer_range)
    assert torch.equal(model.language_script_embeddings.language_embeddings.weight[610], expected)


LOAD = """
import json, sys
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer
folder, out = sys.argv[1], sys.argv[2]
tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
model = AutoModelForMaskedLM.from_pretrained(folder, trust_remote_code=True).eval()
batch = tokenizer([TIFINAGH], lang="zgh", return_tensors="pt")
with torch.no_grad():
    logits = model(**batch).logits
json.dump({"lang_ids": batch["lang_ids"].tolist(), "script_ids": batch["script_ids"].tolist(),
           "logits": logits[0, :, :40].tolist()}, open(out, "w"))
""".replace("TIFINAGH", repr(TIFINAGH))


def test_train_py_grows_the_tables_and_the_output_loads_in_a_fresh_process(base, tmp_path, udhr_translations):
    from langsamp.resources.udhr import write_glot500_corpus

    pairs = ("eng_Latn", "deu_Latn", "zgh_Tfng")
    corpus = write_glot500_corpus({p: udhr_translations[p] for p in pairs}, tmp_path / "corpus")
    out = tmp_path / "out"
    argv = ["--model_name_or_path", str(base), "--corpus", str(corpus), "--output_dir", str(out), "--max_steps", "2"]
    argv += ["--max_seq_length", "32", "--per_device_train_batch_size", "4", "--max_eval_samples", "8"]
    argv += ["--report_to", "none", "--disable_tqdm", "true", "--cache_dir", str(tmp_path / "cache")]
    summary = cli.main(argv)
    assert (summary["new_languages"], summary["new_scripts"]) == (["zgh"], ["Tfng"])
    config = json.loads((out / "config.json").read_text())
    assert config["languages"][610:] == ["zgh"] and config["scripts"][30:] == ["Tfng"]
    assert "zgh_Tfng" in config["trained_pairs"] and config["added_rows"]["languages"]["zgh"]["init"] == "typology"
    assert "Table rows added for 1 new language(s) and 1 new script(s)" in (out / "README.md").read_text()

    script = tmp_path / "load.py"
    script.write_text(LOAD)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, str(script), str(out), str(tmp_path / "loaded.json")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    loaded = json.loads((tmp_path / "loaded.json").read_text())
    assert set(loaded["lang_ids"][0]) == {610} and set(loaded["script_ids"][0]) == {30}  # Tifinagh detected
    model = LangSAMPForMaskedLM.from_pretrained(out).eval()
    from tokenization_langsamp import LangSAMPTokenizer

    batch = LangSAMPTokenizer.from_pretrained(out)([TIFINAGH], lang="zgh", return_tensors="pt")
    with torch.no_grad():
        expected = model(**batch).logits[0, :, :40]
    torch.testing.assert_close(torch.tensor(loaded["logits"]), expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "entry, message",
    [
        (
            "xyq_Latn",
            "Language 'xyq' is not an ISO 639-3 code, so no table row is added for it; closest real codes: ayq, byq, "
            "kyq, myq, nyq.",
        ),
        (
            "kab_Tfnx",
            "Script 'Tfnx' is not an ISO 15924 code, so no table row is added for it; closest real codes: Tfng",
        ),
    ],
)
def test_a_code_no_standard_has_is_one_line_before_any_work(tmp_path, checked_train, small_corpus, entry, message):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for file in small_corpus.iterdir():
        (corpus / file.name).write_bytes(file.read_bytes())
    (corpus / f"{entry}.txt").write_text("Some text in a language.\n" * 3)
    with pytest.raises(cli.BadInput) as error:
        checked_train.main(["--corpus", str(corpus), "--output_dir", str(tmp_path / "out"), "--report_to", "none"])
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_a_dataset_with_one_config_per_pair_grows_the_inventory_too(tmp_path, base, udhr_translations):
    from fixtures.hub_layouts import write_fineweb2_layout

    from langsamp.data import offered_labels, open_corpus

    lines = {label: list(udhr_translations[label].paragraphs())[:12] for label in ("eng_Latn", "zgh_Tfng")}
    corpus = write_fineweb2_layout(lines, tmp_path / "fineweb-2")
    assert offered_labels(str(corpus)) == ["eng_Latn", "zgh_Tfng"]  # its `*_removed` configs are no pairs
    tokenizer, new = grown_tokenizer(base, offered_labels(str(corpus)))
    assert (new.languages, new.scripts) == (["zgh"], ["Tfng"])
    assert open_corpus(str(corpus), tokenizer).labels == ["eng_Latn", "zgh_Tfng"]  # refused before the growth
