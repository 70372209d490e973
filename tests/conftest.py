"""Shared pytest fixtures: the real offline resources (XLM-R tokenizer, UDHR text). Helpers to import (tiny configs,
the local Hub server, Hub-layout corpora, the recording train script) are in tests/fixtures/."""

import os

import pytest
from fixtures.models import TRAINED, tiny_config

# Before anything imports transformers or huggingface_hub, which read them once: the model code is imported lazily.
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing in the suite may reach the Hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tokenizer():
    from langsamp.resources.xlmr_tokenizer import default_tokenizer

    return default_tokenizer()


@pytest.fixture(autouse=True)
def _tokenizer_record_restored(request):
    """train.py records the run's pairs in its tokenizer (`trained_pairs`, kept in init_kwargs); tests that hand it
    the shared session tokenizer would leave that record behind for every later test."""
    if "tokenizer" not in request.fixturenames:
        yield
        return
    shared = request.getfixturevalue("tokenizer")
    saved = dict(shared.init_kwargs)
    # ... and a grown inventory (train.py appends the corpus' new codes to its tokenizer's).
    inventory = [list(shared.languages), list(shared.scripts), dict(shared._language_row), dict(shared._script_row)]
    yield
    shared.init_kwargs.clear()
    shared.init_kwargs.update(saved)
    shared.languages[:], shared.scripts[:] = inventory[:2]
    for rows, kept in zip((shared._language_row, shared._script_row), inventory[2:]):
        rows.clear()
        rows.update(kept)


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory, tokenizer):
    folder = tmp_path_factory.mktemp("tokenizer")
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def udhr_translations():
    from langsamp.resources.udhr import load_udhr

    return load_udhr()


@pytest.fixture(scope="module")
def mlm_folder(tmp_path_factory, tokenizer):
    """A saved tiny masked LM and its tokenizer, both recording that they were trained on TRAINED."""
    from modeling_langsamp import LangSAMPForMaskedLM

    folder = tmp_path_factory.mktemp("mlm")
    LangSAMPForMaskedLM(tiny_config(trained_pairs=TRAINED)).save_pretrained(folder)
    tokenizer.trained_pairs = TRAINED
    try:
        tokenizer.save_pretrained(folder)
    finally:
        tokenizer.trained_pairs = None
    return folder
