"""LangSAMP against the baseline (no tables), the same start, corpus and seeds (`python compare_baseline.py --help`).

The code is `langsamp/experiments/compare_baseline/`; `pip install .` installs it as `langsamp-compare-baseline`.
"""

from langsamp.experiments.compare_baseline.cli import cli

if __name__ == "__main__":
    cli()
