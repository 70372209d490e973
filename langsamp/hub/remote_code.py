"""The five remote-code modules that travel with every LangSAMP checkpoint (what `trust_remote_code` imports)."""

import importlib.util
import os
import shutil
from pathlib import Path

# The remote-code modules are top-level modules: the root of a checkout, or site-packages once installed.
REMOTE_CODE_DIR = Path(importlib.util.find_spec("modeling_langsamp").origin).resolve().parent
# The modules that travel with every checkpoint (what trust_remote_code imports).
REMOTE_CODE_FILES = (
    "configuration_langsamp.py",
    "modeling_langsamp.py",
    "tokenization_langsamp.py",
    "langsamp_codes.py",
    "langsamp_inventory.py",
)


def copy_remote_code(folder: str | os.PathLike) -> None:
    """Copy the remote-code modules into `folder` (the Trainer's own pushes leave them out)."""
    for name in REMOTE_CODE_FILES:
        shutil.copyfile(REMOTE_CODE_DIR / name, Path(folder) / name)
