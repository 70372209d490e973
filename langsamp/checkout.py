"""The clone this package runs from, if it runs from one: its root holds `setup.sh` and `train.py` beside `langsamp/`
(an installed package has neither). Where a clone keeps things: the offline resources in `data/`, the scripts."""

from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
CHECKOUT = _ROOT if (_ROOT / "setup.sh").is_file() and (_ROOT / "train.py").is_file() else None
