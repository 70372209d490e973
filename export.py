"""Write (and optionally push) a Hub-ready LangSAMP folder from a checkpoint (`python export.py --help`).

The code is `langsamp/hub/export.py`; `pip install .` installs it as the `langsamp-export` command. Its functions are
re-exported here, so `import export; export.save_for_hub(...)` in a clone keeps working.
"""

from langsamp.hub.export import *  # noqa: F401,F403
from langsamp.hub.export import main

if __name__ == "__main__":
    main()
