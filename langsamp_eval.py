"""Evaluation of LangSAMP checkpoints with the paper's protocols (`python langsamp_eval.py --help`).

The command line is `langsamp/evaluation/cli.py`; `pip install .` installs it as the `langsamp-eval` command. The
Python API (`langsamp.evaluation`) is re-exported here with `main`, so `import langsamp_eval as ev` in a clone keeps
working (`from langsamp import evaluation as ev` anywhere).
"""

import sys

from langsamp.evaluation import *  # noqa: F403
from langsamp.evaluation.cli import main

if __name__ == "__main__":
    sys.exit(main())
