"""The remote code says which transformers it needs: an older one gets one ImportError naming the range, not a
FileNotFoundError from the dynamic-module cache; config.json and the model card state the range too.

The old transformers is not in the suite: its version is faked (`transformers.__version__`, what the check reads) in a
fresh interpreter, and the old loader's copying rule is checked with the functions that implement it (transformers
< 5.10 copies into its cache only the files a module imports relatively itself, then reads the files those import).

Checked by hand with the real releases, in throwaway venvs (torch from the local CPU wheel):

    python3 -m venv /tmp/tf457
    /tmp/tf457/bin/pip install torch==2.13.0 "transformers==4.57.*" safetensors  # 4.57.6
    # DIR: save_for_hub(LangSAMPForMaskedLM(tiny_config()), tokenizer, DIR) run with this checkout
    /tmp/tf457/bin/python -c "import transformers as t; t.AutoConfig.from_pretrained(DIR, trust_remote_code=True)"

AutoConfig, AutoModelForMaskedLM and AutoTokenizer, on the folder and on a repo served by tests/fixtures/hub_server.py,
each end in this line (one line; wrapped here):

    ImportError: LangSAMP's remote code needs transformers>=5.14,<6 (found 4.57.6): pip install -U
    'transformers>=5.14,<6'

The code before ended in `FileNotFoundError: ... transformers_modules/DIR/langsamp_codes.py` (the folder),
`StrictDataclassDefinitionError: Class 'LangSAMPConfig' must be a dataclass before applying @strict` (the Hub repo), or
for AutoTokenizer an ImportError about protobuf. With `pip install "transformers==5.X"` in a second venv: 5.0-5.3 cannot
build the config (no dataclass configs); 5.0-5.9 failed on local folders with the FileNotFoundError above (fixed here);
5.4-5.13 load, but XLM-R's multiple-choice head fails there (IndexError, transformers' own XLMRobertaForMultipleChoice
too); 5.13.1 now ends in the ImportError above; on 5.14.0 and 5.19.0 every Auto class loads and runs, and on 5.14.0
tests/model/ (modeling, tokenization, codes, input checks, loading) passes.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fixtures.models import tiny_config
from transformers.dynamic_module_utils import get_relative_import_files, get_relative_imports

REPO = Path(__file__).resolve().parents[2]
ENTRY_MODULES = ("configuration_langsamp", "modeling_langsamp", "tokenization_langsamp")  # what an auto_map names
NEEDED = "transformers>=5.14,<6"


def run_python(code: str, *args: str) -> dict:
    """Run `code` in a fresh interpreter at the repo root; return the JSON it prints last."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


IMPORT_WITH_VERSION = """
    import importlib, json, sys, warnings

    outcome = {}
    for version in sys.argv[1:]:
        for name in ("configuration_langsamp", "modeling_langsamp", "tokenization_langsamp"):
            import transformers  # anew: importing the model code once puts another module object in sys.modules

            transformers.__version__ = version
            for module in ("configuration_langsamp", "modeling_langsamp", "tokenization_langsamp"):
                sys.modules.pop(module, None)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    importlib.import_module(name)
                    error = None
                except ImportError as exc:
                    error = str(exc)
            said = [str(w.message) for w in caught if "LangSAMP" in str(w.message)]
            outcome[f"{name} {version}"] = {"error": error, "warnings": said}
    print(json.dumps(outcome))
"""


def test_each_entry_module_names_the_transformers_it_needs_before_importing_anything_else():
    outcome = run_python(IMPORT_WITH_VERSION, "4.57.1", "5.13.1", "5.14.0", "5.26.0.dev0", "6.0.0")
    for name in ENTRY_MODULES:
        for old in ("4.57.1", "5.13.1"):
            assert outcome[f"{name} {old}"]["error"] == (
                f"LangSAMP's remote code needs {NEEDED} (found {old}): pip install -U '{NEEDED}'"
            )
        for fine in ("5.14.0", "5.26.0.dev0"):  # the floor itself, and a source install of a later release
            assert outcome[f"{name} {fine}"] == {"error": None, "warnings": []}
        # transformers 6 is untested, not known to fail: a checkpoint's code cannot be updated, so it warns, once, and
        # goes on
        assert outcome[f"{name} 6.0.0"] == {
            "error": None,
            "warnings": [
                f"LangSAMP's remote code is tested on {NEEDED} (found 6.0.0); if loading fails, pip install '{NEEDED}'"
            ],
        }


LOAD_WITH_VERSION = """
    import json, sys
    import transformers
    from transformers import AutoConfig, AutoModelForMaskedLM, AutoTokenizer

    transformers.__version__ = "4.57.1"
    outcome = {}
    for auto in (AutoConfig, AutoModelForMaskedLM, AutoTokenizer):
        try:
            auto.from_pretrained(sys.argv[1], trust_remote_code=True)
            outcome[auto.__name__] = None
        except Exception as error:
            outcome[auto.__name__] = f"{type(error).__name__}: {error}"
    print(json.dumps(outcome))
"""


def test_auto_classes_on_a_saved_folder_say_what_transformers_to_install(mlm_folder):
    outcome = run_python(LOAD_WITH_VERSION, str(mlm_folder))
    message = f"ImportError: LangSAMP's remote code needs {NEEDED} (found 4.57.1): pip install -U '{NEEDED}'"
    assert outcome == {"AutoConfig": message, "AutoModelForMaskedLM": message, "AutoTokenizer": message}


@pytest.mark.parametrize("entry", ENTRY_MODULES)
def test_each_entry_module_imports_every_sibling_it_needs_itself(entry):
    """transformers < 5.10 copies a local folder's module with only its own relative imports (`check_imports`), then
    hashes every file reachable from it (`get_relative_import_files`): a file reachable only through a sibling is
    missing, and the load fails with FileNotFoundError before the version check can run."""
    module = REPO / f"{entry}.py"
    reachable = {Path(path).stem for path in get_relative_import_files(module)}
    assert reachable  # the walk did find the siblings
    assert set(get_relative_imports(module)) == reachable


def test_config_json_records_the_range_and_a_saved_one_does_not_override_it(tmp_path):
    from configuration_langsamp import LangSAMPConfig

    tiny_config().save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["remote_code_requires"] == NEEDED
    saved["remote_code_requires"] = "transformers>=4.0"  # what an older copy of the code wrote
    (tmp_path / "config.json").write_text(json.dumps(saved))
    reloaded = LangSAMPConfig.from_pretrained(tmp_path)
    assert reloaded.to_dict()["remote_code_requires"] == NEEDED
    assert "remote_code_requires" not in vars(reloaded)


def test_model_card_states_the_range():
    from langsamp.hub.export import render_model_card

    card = render_model_card(tiny_config())
    assert f"`{NEEDED}`" in card.text
