"""LangSAMP against the baseline (no tables), the same start, corpus and seeds (`python compare_baseline.py --help`).

The code is `langsamp/evaluation/compare_baseline.py`; `pip install .` installs it as `langsamp-compare-baseline`.
"""

from langsamp.evaluation.compare_baseline import cli

if __name__ == "__main__":
    cli()
