"""Evaluation of LangSAMP checkpoints with the paper's protocols (`python langsamp_eval.py --help`).

The code is `langsamp/evaluation/cli.py`; `pip install .` installs it as the `langsamp-eval` command.
"""

import sys

from langsamp.evaluation.cli import main

if __name__ == "__main__":
    sys.exit(main())
