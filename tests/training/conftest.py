"""Fixtures of the train.py tests: a small real corpus, and cli.main stopped before any model is built."""

import pytest

from langsamp.training import cli


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory, udhr_translations):
    from langsamp.resources.udhr import write_glot500_corpus

    pairs = ("eng_Latn", "deu_Latn", "rus_Cyrl")
    return write_glot500_corpus({p: udhr_translations[p] for p in pairs}, tmp_path_factory.mktemp("corpus") / "udhr")


@pytest.fixture
def checked_train(monkeypatch, tokenizer):
    """train.main that must stop at the checks: the session tokenizer, and no model may be built."""
    monkeypatch.setattr(cli, "load_tokenizer", lambda model_args: tokenizer)
    monkeypatch.setattr(
        cli, "load_model", lambda *a, **k: pytest.fail("the model was built before the input was checked")
    )
    return cli
