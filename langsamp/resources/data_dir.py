"""Where the offline resources live (the UDHR, the imported pretrained encoder): `$LANGSAMP_DATA_DIR` if set, else
the `data/` folder of the clone this package runs from (setup.sh fills it), else `./data` for an installed
package."""

import os
from pathlib import Path

from langsamp.checkout import CHECKOUT


def data_dir():
    """The folder of the offline resources (see the module's docstring)."""
    if os.environ.get("LANGSAMP_DATA_DIR"):
        return Path(os.environ["LANGSAMP_DATA_DIR"]).expanduser()
    return CHECKOUT / "data" if CHECKOUT is not None else Path.cwd() / "data"
