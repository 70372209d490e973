"""The checkout passes `ruff check` and `ruff format --check` with the repository's settings (pyproject.toml
[tool.ruff]), as the pre-commit hook requires of every commit."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).parent / "ruff"  # the venv's, pinned in requirements-dev.txt


@pytest.mark.parametrize(
    "command",
    [["check", ".", "--output-format", "concise"], ["format", "--check", "."]],
    ids=["check", "format"],
)
def test_ruff_passes(command):
    if not RUFF.is_file():
        pytest.skip(f"ruff is not installed in this environment ({RUFF}): pip install -r requirements-dev.txt")
    # --no-cache: the test leaves nothing in the checkout.
    result = subprocess.run([str(RUFF), *command, "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        shown = " ".join(["ruff", *command])
        pytest.fail(f"`{shown}` exits with {result.returncode}:\n{result.stdout}{result.stderr}", pytrace=False)
