"""estimate_tokens: a streamed pair's size extrapolated from a probe of its first bytes, against the tokenizer run
line by line over the whole pair."""

import gzip
import random

import pytest

from langsamp.data import estimate_tokens


@pytest.fixture(scope="module")
def long_pair(tmp_path_factory, udhr_translations, tokenizer):
    """About 1 MB of UDHR lines (4 languages, shuffled so every part of the file has the same mix), its exact token
    count as the pipeline counts it (each line with <s> ... </s>), plain and gzip-compressed."""
    lines = [
        line
        for label in ("eng_Latn", "deu_Latn", "rus_Cyrl", "hin_Deva")
        for line in udhr_translations[label].paragraphs()
    ]
    lines = [line for line in lines if line.strip()] * 12
    random.Random(0).shuffle(lines)
    exact = sum(len(ids) for ids in tokenizer(lines)["input_ids"])
    folder = tmp_path_factory.mktemp("long-pair")
    text = "".join(line + "\n" for line in lines).encode("utf-8")
    (folder / "plain.txt").write_bytes(text)
    (folder / "compressed.txt.gz").write_bytes(gzip.compress(text))
    return folder, exact, len(text)


@pytest.mark.parametrize(
    "name",
    [
        "plain.txt",
        pytest.param(
            "compressed.txt.gz",
            marks=pytest.mark.xfail(
                strict=True,
                reason="known bug: the text-bytes-per-disk-byte ratio divides by raw.tell(), which gzip advances in "
                "128 KiB read-ahead blocks, so compressed pairs are under-counted",
            ),
        ),
    ],
)
def test_estimate_tokens_extrapolates_from_a_probe(long_pair, tokenizer, name):
    folder, exact, text_bytes = long_pair
    assert text_bytes > 16 * (1 << 15)  # the probe reads only part of the file: the extrapolating branch
    tokens, is_exact = estimate_tokens([folder / name], tokenizer, probe_bytes=1 << 15)
    assert is_exact is False
    assert tokens == pytest.approx(exact, rel=0.04), (tokens, exact)


def test_estimate_tokens_is_exact_when_the_probe_covers_the_pair(long_pair, tokenizer):
    folder, exact, text_bytes = long_pair
    assert estimate_tokens([folder / "plain.txt"], tokenizer, probe_bytes=2 * text_bytes) == (exact, True)
