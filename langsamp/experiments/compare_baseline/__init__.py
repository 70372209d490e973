"""LangSAMP against the paper's baseline over seeds (`langsamp-compare-baseline`, `python compare_baseline.py`)."""
