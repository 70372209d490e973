"""How the user ran a command, for its messages: the installed console script (`langsamp-train`) when it was one,
else the script in a clone (`train.py`). Tests that call a `main()` in-process see the script's name."""

from __future__ import annotations

import sys
from pathlib import Path


def command_name(script: str) -> str:
    """The program name for `prog: error: ...` lines: `langsamp-...` when run as a console script, else `script`."""
    invoked = Path(sys.argv[0]).name
    return invoked if invoked.startswith("langsamp-") else script


def command_line(script: str) -> str:
    """What the user types to run it again: `langsamp-...`, or `python <script>` in a clone."""
    name = command_name(script)
    return name if name != script else f"python {script}"
