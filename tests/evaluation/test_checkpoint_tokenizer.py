"""Evaluation tokenizes with the checkpoint's own tokenizer when no --tokenizer / tokenizer= is given, through the
command line and the Python API, and says in one warning line when it falls back to the built-in XLM-R one.

The checkpoint here is saved with a tokenizer whose tokenizer.json pieces are permuted: its ids differ from XLM-R's
for almost every piece, so a figure or an input id computed with the wrong tokenizer shows."""

import contextlib
import json
import logging

import pytest
import torch
from fixtures.models import tiny_config

from langsamp import evaluation as ev
from langsamp.evaluation.cli import main
from modeling_langsamp import LangSAMPForMaskedLM
from tokenization_langsamp import LangSAMPTokenizer

VOCAB = 250002
POSITIONS = 128  # tiny_config: 130 positions, less the padding offset (models.max_tokens caps max_length there)
LANGUAGES = ["eng_Latn", "deu_Latn", "hin_Deva"]
FALLBACK = "using the built-in XLM-R tokenizer"


@pytest.fixture(scope="module")
def weights():
    torch.manual_seed(0)
    return LangSAMPForMaskedLM(tiny_config()).eval()


@pytest.fixture(scope="module")
def permuted(tmp_path_factory, weights, tokenizer):
    """A checkpoint folder whose tokenizer.json lists XLM-R's pieces in reverse order (special tokens in place)."""
    folder = tmp_path_factory.mktemp("permuted")
    weights.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    path = folder / "tokenizer.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    assert [piece for piece, _ in vocab[:4]] == ["<s>", "<pad>", "</s>", "<unk>"] and vocab[-1][0] == "<mask>"
    spec["model"]["vocab"] = vocab[:4] + vocab[4:-1][::-1] + vocab[-1:]
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def own(permuted, tokenizer):
    """The permuted checkpoint's tokenizer, loaded by hand."""
    loaded = LangSAMPTokenizer.from_pretrained(str(permuted))
    text = "Alle Menschen sind frei"
    assert loaded(text)["input_ids"] != tokenizer(text)["input_ids"]  # the permutation changes the ids
    return loaded


@pytest.fixture(scope="module")
def bare(tmp_path_factory, weights):
    """A checkpoint folder with no tokenizer files."""
    folder = tmp_path_factory.mktemp("bare")
    weights.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def corpus(udhr_translations):
    full = ev.udhr_parallel_corpus({code: udhr_translations[code] for code in LANGUAGES})
    return {code: units[:6] for code, units in full.items()}


@contextlib.contextmanager
def fed_ids():
    """Every input-id tensor that reaches a word-embedding table (vocabulary-sized nn.Embedding), pad stripped."""
    seen = set()

    def hook(module, args):
        if isinstance(module, torch.nn.Embedding) and module.num_embeddings == VOCAB and args:
            seen.update(args[0].flatten().tolist())

    handle = torch.nn.modules.module.register_module_forward_pre_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()
        seen.discard(1)  # <pad>


def ids_of(tokenizer, texts, max_length):
    return {i for text in texts for i in tokenizer(text, truncation=True, max_length=max_length)["input_ids"]}


def fallback_lines(caplog):
    return [r.getMessage() for r in caplog.records if FALLBACK in r.getMessage()]


def run_cli(argv, output):
    assert main(argv + ["--output", str(output)]) == 0
    return json.loads(output.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- retrieval


def test_retrieval_uses_the_checkpoints_tokenizer(permuted, own, tokenizer, corpus, tmp_path, caplog):
    texts = [t for code in LANGUAGES for t in corpus[code]]
    loaded = LangSAMPForMaskedLM.from_pretrained(permuted)
    expected = ev.sentence_retrieval(loaded, own, corpus, source="eng_Latn", layer=[0, 2])
    with caplog.at_level(logging.WARNING), fed_ids() as seen:
        api = ev.sentence_retrieval(str(permuted), None, corpus, source="eng_Latn", layer=[0, 2])
    assert seen == ids_of(own, texts, POSITIONS) and not seen <= ids_of(tokenizer, texts, POSITIONS)
    assert api == expected and not fallback_lines(caplog)
    corpus_file = tmp_path / "corpus.json"
    corpus_file.write_text(json.dumps(corpus), encoding="utf-8")
    for layer in (0, 2):
        with fed_ids() as seen:
            argv = f"retrieval --model {permuted} --corpus {corpus_file} --source eng_Latn --layer {layer}".split()
            cli = run_cli(argv, tmp_path / "retrieval.json")
        assert seen == ids_of(own, texts, POSITIONS)
        assert cli == json.loads(json.dumps(expected[layer]))
    assert not fallback_lines(caplog)


def test_a_loaded_model_uses_the_tokenizer_of_the_checkpoint_it_came_from(permuted, own, tokenizer, corpus, caplog):
    texts = [t for code in LANGUAGES for t in corpus[code]]
    with caplog.at_level(logging.WARNING), fed_ids() as seen:
        ev.sentence_retrieval(ev.load_model(permuted, "encoder"), None, corpus, source="eng_Latn", layer=2)
    assert seen == ids_of(own, texts, POSITIONS) and not fallback_lines(caplog)


# ---------------------------------------------------------------- masked-LM quality


def test_mlm_uses_the_checkpoints_tokenizer(permuted, own, tokenizer, corpus, tmp_path, caplog):
    options = dict(languages=["deu_Latn", "hin_Deva"], max_sentences=2, max_length=32)
    texts = [t for code in options["languages"] for t in corpus[code][:2]]
    expected = ev.masked_lm_quality(LangSAMPForMaskedLM.from_pretrained(permuted), own, corpus, **options)
    wrong = ev.masked_lm_quality(LangSAMPForMaskedLM.from_pretrained(permuted), tokenizer, corpus, **options)
    assert expected["average"] != wrong["average"]
    with caplog.at_level(logging.WARNING), fed_ids() as seen:
        api = ev.masked_lm_quality(str(permuted), None, corpus, **options)
    assert api == expected
    assert seen - {own.mask_token_id} == ids_of(own, texts, 32)  # pseudo-perplexity leaves every token unmasked once
    corpus_file = tmp_path / "corpus.json"
    corpus_file.write_text(json.dumps(corpus), encoding="utf-8")
    argv = f"mlm --model {permuted} --corpus {corpus_file} --languages deu_Latn hin_Deva "
    argv += "--max-sentences 2 --max-length 32"
    cli = run_cli(argv.split(), tmp_path / "mlm.json")
    assert cli == json.loads(json.dumps(expected))
    assert not fallback_lines(caplog)


# ---------------------------------------------------------------- language neutrality


def test_neutrality_uses_the_checkpoints_tokenizer(permuted, own, tokenizer, corpus, tmp_path, caplog):
    options = dict(layers=[0, 2], probe_folds=None, max_length=64)
    texts = [t for code in LANGUAGES for t in corpus[code]]
    expected = ev.language_neutrality(LangSAMPForMaskedLM.from_pretrained(permuted), own, corpus, **options)
    with caplog.at_level(logging.WARNING), fed_ids() as seen:
        api = ev.language_neutrality(str(permuted), None, corpus, **options)
    assert seen == ids_of(own, texts, 64)
    assert api == expected
    corpus_file = tmp_path / "corpus.json"
    corpus_file.write_text(json.dumps(corpus), encoding="utf-8")
    argv = f"neutrality --model {permuted} --corpus {corpus_file} --layers 0 2 --probe-folds 0 --max-length 64".split()
    cli = run_cli(argv, tmp_path / "neutrality.json")
    assert cli == json.loads(json.dumps(expected))
    assert not fallback_lines(caplog)


# ---------------------------------------------------------------- a benchmark task


def test_benchmark_task_uses_each_checkpoints_tokenizer(permuted, own, tokenizer, tmp_path, caplog):
    settings = dict(layer=2, max_length=64)
    full = ev.udhr_parallel_corpus()
    texts = [t for code in LANGUAGES for t in full[code]]
    loaded = LangSAMPForMaskedLM.from_pretrained(permuted)
    corpus = {code: full[code] for code in LANGUAGES}
    expected = ev.sentence_retrieval(loaded, own, corpus, source="eng_Latn", layer=2, top_k=(1, 5, 10), max_length=64)
    with caplog.at_level(logging.WARNING), fed_ids() as seen:
        api = ev.run_task("udhr-retrieval", str(permuted), languages=LANGUAGES[1:], **settings)
    assert seen == ids_of(own, texts, 64)
    assert api["per_language"] == expected["per_language"]
    with fed_ids() as seen:
        argv = f"benchmark --task udhr-retrieval --models permuted={permuted} --layer 2 --max-length 64".split()
        cli = run_cli(argv + ["--languages", *LANGUAGES[1:]], tmp_path / "benchmark.json")
    assert seen == ids_of(own, texts, 64)
    assert cli["results"]["permuted"]["per_language"] == json.loads(json.dumps(expected["per_language"]))
    assert not fallback_lines(caplog)


# ---------------------------------------------------------------- the fallback, said in one line


def test_a_folder_without_tokenizer_files_falls_back_with_one_warning(bare, tokenizer, corpus, tmp_path, caplog):
    texts = [t for code in LANGUAGES for t in corpus[code]]
    with caplog.at_level(logging.WARNING), fed_ids() as seen:
        ev.sentence_retrieval(str(bare), None, corpus, source="eng_Latn", layer=2)
    assert seen == ids_of(tokenizer, texts, POSITIONS)
    (line,) = fallback_lines(caplog)
    assert line == f"{bare} has no tokenizer files: {FALLBACK} (langsamp.resources.xlmr_tokenizer.default_tokenizer)."
    caplog.clear()
    corpus_file = tmp_path / "corpus.json"
    corpus_file.write_text(json.dumps(corpus), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        argv = f"neutrality --model {bare} --corpus {corpus_file} --layers 2 --probe-folds 0".split()
        run_cli(argv, tmp_path / "neutrality.json")
    assert len(fallback_lines(caplog)) == 1 and "\n" not in fallback_lines(caplog)[0]


def test_a_model_built_in_memory_falls_back_with_one_warning(weights, tokenizer, corpus, caplog):
    texts = [t for code in LANGUAGES for t in corpus[code]]
    with caplog.at_level(logging.WARNING), fed_ids() as seen:
        ev.sentence_retrieval(weights, None, corpus, source="eng_Latn", layer=2)
    assert seen == ids_of(tokenizer, texts, POSITIONS)
    (line,) = fallback_lines(caplog)
    assert line.startswith("the model was not loaded from a checkpoint") and "\n" not in line
