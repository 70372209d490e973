"""Write (and optionally push) a Hub-ready LangSAMP folder from a checkpoint (`python export.py --help`).

The code is `langsamp/hub/export.py`; `pip install .` installs it as the `langsamp-export` command.
"""

from langsamp.hub.export import main

if __name__ == "__main__":
    main()
