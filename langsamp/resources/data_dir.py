"""Where the offline resources live (the UDHR, the imported pretrained encoder): `$LANGSAMP_DATA_DIR` if set, else
the `data/` folder of the checkout this package runs from (setup.sh fills it), else `./data` for an installed
package."""

import os
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]  # a clone's root; for an installed package, a folder of the venv


def data_dir():
    """The folder of the offline resources (see the module's docstring)."""
    if os.environ.get("LANGSAMP_DATA_DIR"):
        return Path(os.environ["LANGSAMP_DATA_DIR"]).expanduser()
    if (REPOSITORY / "setup.sh").is_file() and (REPOSITORY / "langsamp").is_dir():
        return REPOSITORY / "data"
    return Path.cwd() / "data"
