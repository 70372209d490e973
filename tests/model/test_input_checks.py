"""Nothing silently wrong (issue 9): every bad input a new user tried ends in a clear error, or a warning where the
input can be right, named by its message. The export CLI's every path (a good run, and each bad value) is here too."""

import json
import warnings
from pathlib import Path

import pytest
import torch
from conftest import TRAIN_SCRIPT, tiny_config

from langsamp.hub import export
from langsamp.training import train
from langsamp_inventory import RELEASE_LANGUAGES
from modeling_langsamp import LangSAMPForMaskedLM, LangSAMPForSequenceClassification, LangSAMPModel
from tokenization_langsamp import LangSAMPTokenizer

# ISO 639-3 / the IANA registry: `ar` is the macrolanguage Arabic (ara), Standard Arabic is arb and Egyptian arz;
# `zh` is Chinese (zho), Mandarin cmn.
ARA, ARB, ARZ, ZHO, CMN = (RELEASE_LANGUAGES.index(code) for code in ("ara", "arb", "arz", "zho", "cmn"))


TRAINED = ["arb_Arab", "cmn_Hani", "eng_Latn"]


@pytest.fixture(scope="module")
def mlm_folder(tmp_path_factory, tokenizer):
    """A saved tiny masked LM and its tokenizer, both recording that they were trained on TRAINED."""
    folder = tmp_path_factory.mktemp("mlm")
    LangSAMPForMaskedLM(tiny_config(trained_pairs=TRAINED)).save_pretrained(folder)
    tokenizer.trained_pairs = TRAINED
    try:
        tokenizer.save_pretrained(folder)
    finally:
        tokenizer.trained_pairs = None
    return folder


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
        (lambda t: t("ok", lang=5), TypeError, r"`lang` must be a code \(str\), a list of codes \(one per text\) or a mapping of texts to codes.*int 5"),
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
        assert torch.equal(model(ids, lang_ids=3, script_ids=19).logits, model(ids, lang_ids=[3, 3], script_ids=[19, 19]).logits)


def test_empty_inventories_and_lowercase_scripts():
    with pytest.raises(ValueError, match=r"`languages` is empty: the table needs at least one code"):
        tiny_config(languages=[])
    model = LangSAMPForMaskedLM(tiny_config())
    table = model.language_script_embeddings.script_embeddings.weight
    assert torch.equal(model.script_embedding("deva"), table[model.config.scripts.index("Deva")])


def test_trained_pairs_must_be_labels_of_the_inventory():
    with pytest.raises(ValueError, match=r"`trained_pairs` holds \['arb', 'hin_Qqqq'\]: each entry must be `<lang>_<Script>`"):
        tiny_config(trained_pairs=["arb", "hin_Qqqq", "eng_Latn"])


# -------------------------------------------------------------------------------------------------- export.py


def run_export(capsys, *argv):
    """export.main in-process: (exit status, stdout, stderr)."""
    try:
        export.main([str(a) for a in argv])
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def test_export_into_a_non_empty_folder_needs_overwrite_which_replaces_it(capsys, mlm_folder, tmp_path):
    (tmp_path / "hub").mkdir()
    (tmp_path / "hub" / "pytorch_model.bin").write_text("an older model")
    status, _, err = run_export(capsys, "--model", mlm_folder, "--output_dir", tmp_path / "hub")
    assert status == 2 and err == f"export.py: error: --output_dir {tmp_path / 'hub'} already holds files: pass --overwrite to replace them, or choose an empty folder.\n"
    assert (tmp_path / "hub" / "pytorch_model.bin").read_text() == "an older model"

    status, out, _ = run_export(capsys, "--model", mlm_folder, "--output_dir", tmp_path / "hub", "--overwrite")
    assert status == 0 and "Hub-ready folder" in out
    assert sorted(p.name for p in (tmp_path / "hub").iterdir()) == sorted(
        ["README.md", "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", *export.REMOTE_CODE_FILES]
    )  # the stale weights are gone
    for name in ("config.json", "tokenizer_config.json"):  # the record of what it was trained on travels
        assert json.loads((tmp_path / "hub" / name).read_text())["trained_pairs"] == TRAINED


def test_export_without_tokenizer_files_falls_back_to_xlmr_saying_so(capsys, tmp_path):
    LangSAMPForMaskedLM(tiny_config()).save_pretrained(tmp_path / "weights-only")
    status, out, _ = run_export(capsys, "--model", tmp_path / "weights-only", "--output_dir", tmp_path / "hub")
    assert status == 0 and "has no tokenizer files: exporting XLM-R's (250002 pieces" in out
    LangSAMPForMaskedLM(tiny_config(vocab_size=1000)).save_pretrained(tmp_path / "other-vocab")
    status, _, err = run_export(capsys, "--model", tmp_path / "other-vocab", "--output_dir", tmp_path / "hub2")
    assert status == 2 and "has no tokenizer files and its 1000-row vocabulary is not XLM-R's" in err


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing-path", r"--model {tmp}/nowhere: no such folder"),
        ("hub-id-offline", r"--model user/nothing: no such folder, and HF_HUB_OFFLINE is set"),
        ("model-is-a-file", r"--model {tmp}/file.txt is a file: pass the folder"),
        ("config-not-json", r"--model {tmp}/broken: It looks like the config file .* is not a valid JSON file"),
        ("no-weights", r"--model {tmp}/no-weights: .*no file named model.safetensors"),
        ("classifier", r"is a LangSAMPForSequenceClassification checkpoint, not a masked LM: .*random LM head"),
        ("bare-encoder", r"is a LangSAMPModel checkpoint, not a masked LM"),
        ("output-is-a-file", r"--output_dir {tmp}/file.txt is a file, not a folder"),
        ("output-under-a-file", r"--output_dir {tmp}/file.txt/sub: {tmp}/file.txt is a file, so no folder can be created"),
        ("output-is-the-model", r"--output_dir .* holds --model .*: writing there would replace it"),
        ("tokenizer-missing", r"--tokenizer {tmp}/nowhere: no such folder"),
        ("tokenizer-without-files", r"--tokenizer {tmp}/no-weights: No tokenizer files"),
        ("bad-repo-id", r"--push_to_hub bad id!: Repo id must use alphanumeric chars"),
        ("other-inventory", r"The tokenizer's languages differ from the model's"),
    ],
)
def test_export_bad_values_print_one_line_and_exit_2(capsys, monkeypatch, tmp_path, mlm_folder, tokenizer_dir, case, message):
    monkeypatch.setattr(export.constants, "HF_HUB_OFFLINE", True)
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    (tmp_path / "no-weights").mkdir()
    tiny_config().save_pretrained(tmp_path / "no-weights")
    model, output, extra = mlm_folder, tmp_path / "out", []
    if case == "missing-path":
        model = tmp_path / "nowhere"
    elif case == "hub-id-offline":
        model = "user/nothing"
    elif case == "model-is-a-file":
        model = tmp_path / "file.txt"
    elif case == "config-not-json":
        model = tmp_path / "broken"
    elif case == "no-weights":
        model = tmp_path / "no-weights"
    elif case == "classifier":
        model = tmp_path / "classifier"
        LangSAMPForSequenceClassification(tiny_config(num_labels=3)).save_pretrained(model)
    elif case == "bare-encoder":
        model = tmp_path / "encoder"
        LangSAMPModel(tiny_config()).save_pretrained(model)
    elif case == "output-is-a-file":
        output = tmp_path / "file.txt"
    elif case == "output-under-a-file":
        output = tmp_path / "file.txt" / "sub"
    elif case == "output-is-the-model":
        output = mlm_folder
    elif case == "tokenizer-missing":
        extra = ["--tokenizer", tmp_path / "nowhere"]
    elif case == "tokenizer-without-files":
        extra = ["--tokenizer", tmp_path / "no-weights"]
    elif case == "bad-repo-id":
        extra = ["--push_to_hub", "bad id!"]
    elif case == "other-inventory":
        model = tmp_path / "five-languages"
        LangSAMPForMaskedLM(tiny_config(languages=["eng", "fra", "hin", "rus", "zho"])).save_pretrained(model)
        extra = ["--tokenizer", tokenizer_dir]
    status, _, err = run_export(capsys, "--model", model, "--output_dir", output, *extra)
    lines = [line for line in err.splitlines() if line.startswith("export.py: error:")]
    assert status == 2 and len(lines) == 1, err
    assert "Traceback" not in err
    import re

    assert re.search(message.format(tmp=re.escape(str(tmp_path))), lines[0]), lines[0]
    assert not (tmp_path / "out").exists()  # nothing written


# ---------------------------------------------------------------------------------------------------- train.py


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory, udhr_translations):
    from langsamp.resources.udhr import write_glot500_corpus

    pairs = ("eng_Latn", "deu_Latn", "rus_Cyrl")
    return write_glot500_corpus({p: udhr_translations[p] for p in pairs}, tmp_path_factory.mktemp("corpus") / "udhr")


@pytest.fixture
def checked_train(monkeypatch, tokenizer):
    """train.main that must stop at the checks: the session tokenizer, and no model may be built."""
    monkeypatch.setattr(train, "load_tokenizer", lambda model_args: tokenizer)
    monkeypatch.setattr(train, "load_model", lambda *a, **k: pytest.fail("the model was built before the input was checked"))
    return train


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--output_dir", "{tmp}/file.txt"], r"--output_dir .*file.txt is a file, not a folder"),
        (["--output_dir", "{tmp}/file.txt/run"], r"file.txt is a file, so no folder can be created there"),
        (["--config_overrides", "hidden_sizee=64"], r"'hidden_sizee' is not a config field; closest: hidden_size"),
        (["--config_overrides", "hidden_size=abc"], r"hidden_size=abc is not a valid int"),
        (["--config_overrides", "hidden_size=64,num_hidden_layers"], r"'num_hidden_layers' is not `key=value`"),
        (["--config_overrides", "num_attention_heads=5"], r"hidden_size 768 is not a multiple of num_attention_heads 5"),
        (["--config_overrides", "hidden_act=gleu"], r"hidden_act 'gleu' is unknown"),
        (["--config_overrides", "hidden_size=-64,num_attention_heads=1"], r"hidden_size must be positive, got -64"),
        (["--languages", ",", ","], r"--languages ', ,' names no language"),
        (["--model_name_or_path", "{tmp}/nowhere"], r"--model_name_or_path .*nowhere: no such folder"),
        (["--tokenizer_name", "{tmp}/file.txt"], r"--tokenizer_name .*file.txt is a file"),
    ],
)
def test_train_bad_arguments_fail_before_any_work(tmp_path, checked_train, small_corpus, flags, message):
    (tmp_path / "file.txt").write_text("x")
    argv = ["--corpus", str(small_corpus), "--output_dir", str(tmp_path / "out"), "--report_to", "none"]
    argv += [flag.format(tmp=tmp_path) for flag in flags]
    with pytest.raises(train.BadInput, match=message):
        checked_train.main(argv)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("args.yaml", "max_steps: [1\n", r"args.yaml is not valid YAML: while parsing a flow sequence"),
        ("args.json", '{"max_steps": 1,}', r"args.json is not valid JSON: .*line 1 column 17"),
        ("args.yaml", "- max_steps\n- 1\n", r"args.yaml must hold a mapping of argument names to values .*got list"),
        ("args.yaml", "--max_steps: 1\n", r"'--max_steps' is not an argument name"),
    ],
)
def test_train_broken_argument_files(tmp_path, checked_train, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(train.BadInput, match=message):
        checked_train.main([str(tmp_path / name)])


def test_train_unknown_flags_and_bad_values_are_one_line(tmp_path):
    import subprocess
    import sys

    for flags, message in ((["--max_stepz", "3"], r"arguments are not used by the HfArgumentParser: \['--max_stepz', '3'\]"),
                           (["--max_steps", "three"], "argument --max_steps/--max-steps: invalid int value: 'three'")):
        with pytest.raises(train.BadInput, match=message):
            train.main(["--corpus", str(tmp_path), *flags])
    # the script itself: one line on stderr, exit 2 (argparse alone would print the whole usage first)
    proc = subprocess.run([sys.executable, TRAIN_SCRIPT, "--max_steps", "three"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.splitlines() == [
        "train.py: error: argument --max_steps/--max-steps: invalid int value: 'three' (python train.py --help lists the arguments)"
    ], proc.stderr[-2000:]


def test_train_languages_accept_spaces_commas_and_repeats():
    _, data_args, _ = train.parse_arguments(["--languages", "eng_Latn deu_Latn,rus", "eng_Latn", "--output_dir", "x"])
    assert data_args.languages == ["eng_Latn", "deu_Latn", "rus"]


def test_train_refuses_a_model_folder_without_tokenizer_files(tmp_path, small_corpus, monkeypatch):
    LangSAMPForMaskedLM(tiny_config()).save_pretrained(tmp_path / "weights-only")
    monkeypatch.setattr(train, "load_model", lambda *a, **k: pytest.fail("the model was built before the input was checked"))
    with pytest.raises(train.BadInput, match=r"Could not load a tokenizer from .*weights-only.*No tokenizer files"):
        train.main(["--corpus", str(small_corpus), "--model_name_or_path", str(tmp_path / "weights-only"),
                    "--output_dir", str(tmp_path / "out"), "--report_to", "none"])


def test_resuming_with_other_data_warns_and_the_record_covers_the_whole_run(tmp_path, small_corpus, tokenizer, monkeypatch, caplog):
    import logging

    monkeypatch.setattr(train, "load_tokenizer", lambda model_args: tokenizer)
    monkeypatch.setattr(tokenizer, "init_kwargs", dict(tokenizer.init_kwargs))  # train.py records trained_pairs in it
    out = tmp_path / "run"
    common = ["--corpus", str(small_corpus), "--output_dir", str(out), "--config_overrides",
              "hidden_size=32,num_hidden_layers=1,num_attention_heads=2,intermediate_size=64,max_position_embeddings=40",
              "--max_seq_length", "32", "--per_device_train_batch_size", "2", "--max_eval_samples", "0",
              "--report_to", "none", "--disable_tqdm", "true", "--dataloader_num_workers", "0", "--dataloader_pin_memory", "false",
              "--save_steps", "1",
              "--cache_dir", str(tmp_path / "cache")]
    train.main(common + ["--languages", "eng_Latn", "deu_Latn", "--max_steps", "1"])
    assert json.loads((out / "config.json").read_text())["trained_pairs"] == ["deu_Latn", "eng_Latn"]
    with caplog.at_level(logging.WARNING, logger="train"):
        train.main(common + ["--languages", "eng_Latn", "rus_Cyrl", "--max_steps", "2", "--max_seq_length", "24",
                             "--resume_from_checkpoint", "auto"])
    warned = [r.getMessage() for r in caplog.records if "other data arguments" in r.getMessage()]
    assert len(warned) == 1, caplog.text
    for change in ("languages: +1 (rus_Cyrl); -1 (deu_Latn)", "max_seq_length: 32 -> 24", "pairs: +1 (rus_Cyrl); -1 (deu_Latn)"):
        assert change in warned[0], warned[0]
    parts = json.loads((out / train.RUN_RECORD_NAME).read_text())["parts"]
    assert [(p["from_step"], p["data"]["pairs"], p["data"]["max_seq_length"]) for p in parts] == [
        (0, ["deu_Latn", "eng_Latn"], 32), (1, ["eng_Latn", "rus_Cyrl"], 24)]
    # the checkpoint records both parts: config, tokenizer and card
    for folder in (out, out / "checkpoint-2"):
        assert json.loads((folder / "config.json").read_text())["trained_pairs"] == ["deu_Latn", "eng_Latn", "rus_Cyrl"]
        assert json.loads((folder / "tokenizer_config.json").read_text())["trained_pairs"] == ["deu_Latn", "eng_Latn", "rus_Cyrl"]
    card = (out / "README.md").read_text()
    assert "| languages in training | 3 (deu_Latn, eng_Latn, rus_Cyrl) |" in card
    assert "| 0 | " in card and "| 1 | " in card and "2 (eng_Latn, rus_Cyrl) | 24 |" in card
