#!/usr/bin/env bash
# Bring what a bare GPU machine lacks for bench/gpu_train_step.py, as pure-Python wheels in .whl/ (git-ignored):
# the transformers this checkout is tested with (inside requirements.txt's range) and Liger Kernel (its fused
# linear cross-entropy). Run it where pip reaches PyPI; the GPU machine needs no registry:
#
#   bash bench/gpu_prepare.sh                          # here
#   python3 bench/gpu_train_step.py --install-wheels   # there, with .whl/ beside the checkout's files
#
# --install-wheels runs `pip install --no-index --no-deps --target <tmp> .whl/*.whl` and puts <tmp> first on
# sys.path. The GPU machine must already have torch, triton, tokenizers, safetensors and huggingface_hub in the
# ranges these wheels' metadata asks for (printed below). Override the versions with TRANSFORMERS=... LIGER=...
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
if [ -z "${TRANSFORMERS:-}" ]; then
    # The version installed here (the tests ran on it), if it is inside requirements.txt's range; else that range.
    TRANSFORMERS=$("$PYTHON" - <<'EOF'
from importlib.metadata import PackageNotFoundError, version
from packaging.requirements import Requirement

line = next(l.split("#")[0].strip() for l in open("requirements.txt") if l.startswith("transformers"))
requirement = Requirement(line)
try:
    installed = version("transformers")
except PackageNotFoundError:
    installed = None
print(f"transformers=={installed}" if installed and requirement.specifier.contains(installed) else line)
EOF
)
fi
LIGER=${LIGER:-liger-kernel==0.8.5}
LIMIT_MIB=64  # what travels with the working tree to the GPU machine, in all

mkdir -p .whl
rm -f .whl/transformers-*.whl .whl/liger_kernel-*.whl  # one version of each: two would stop the install
# --python-version 3.12: the GPU machine's Python; the wheels are pure Python (checked below), so any platform tag.
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform any -d .whl "$TRANSFORMERS" "$LIGER"

status=0
for wheel in .whl/*.whl; do
    case "$wheel" in
        *-py3-none-any.whl) ;;
        *) echo "gpu_prepare.sh: $wheel is not a pure-Python wheel: it may not install on the GPU machine." >&2; status=1 ;;
    esac
    echo "$(basename "$wheel"): $(du -k "$wheel" | cut -f1) KiB; needs: $(unzip -p "$wheel" '*.dist-info/METADATA' | grep '^Requires-Dist' | grep -v 'extra ==' | cut -d' ' -f2- | paste -sd ',' -)"
done
total_kib=$(du -ck .whl/*.whl | tail -1 | cut -f1)
echo "Total: $((total_kib / 1024)) MiB of wheels in .whl/ (limit ${LIMIT_MIB} MiB with the rest of the tree)"
if [ "$total_kib" -gt $((LIMIT_MIB * 1024)) ]; then
    echo "gpu_prepare.sh: the wheels alone exceed ${LIMIT_MIB} MiB." >&2
    status=1
fi
exit $status
