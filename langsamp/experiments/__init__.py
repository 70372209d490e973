"""Experiments built on the package: studies that train and evaluate several runs and report on them."""
