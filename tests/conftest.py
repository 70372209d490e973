"""Shared fixtures: real offline resources (XLM-R tokenizer, UDHR text) and tiny random configs."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing in the suite may reach the Hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TRAIN_SCRIPT = Path(__file__).resolve().parents[1] / "train.py"  # what users run: langsamp/training/train.py


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
    yield
    shared.init_kwargs.clear()
    shared.init_kwargs.update(saved)


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory, tokenizer):
    folder = tmp_path_factory.mktemp("tokenizer")
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def udhr_translations():
    from langsamp.resources.udhr import load_udhr

    return load_udhr()


def tiny_config(**overrides):
    """A small random LangSAMP config (the release's 610 x 30 inventory) for fast CPU tests."""
    from configuration_langsamp import LangSAMPConfig

    values = dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        vocab_size=250002,
        max_position_embeddings=130,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    values.update(overrides)
    return LangSAMPConfig(**values)
