"""Evaluation of LangSAMP checkpoints with the paper's protocols (`python langsamp_eval.py --help`).

The code is `langsamp/evaluation/cli.py`; `pip install .` installs it as the `langsamp-eval` command. Its functions
are re-exported here, so `import langsamp_eval as ev` in a clone keeps working (`from langsamp.evaluation import cli
as ev` anywhere).
"""

import sys

from langsamp.evaluation.cli import *  # noqa: F401,F403
from langsamp.evaluation.cli import main

if __name__ == "__main__":
    sys.exit(main())
