"""The folders that the tools are tried on: a checkpoint written by train.py (a short run on UDHR text) and the
Hub-ready folders export.py makes of it (LangSAMP's format, and a plain XLM-R one). Tests take `folder` and run once
per kind; another kind of folder is one more entry in FOLDERS and one more fixture."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.models import TRAIN_SCRIPT, TRAINED, tiny_config

# fixture name of each kind of folder that `folder` runs the tests on
FOLDERS = {
    "train.py": "trained_folder",
    "export.py": "exported_folder",
    "export.py --format xlm-roberta": "plain_folder",
}


@pytest.fixture(scope="session")
def trained_folder(tmp_path_factory, udhr_translations) -> Path:
    """What `python train.py` writes: two optimisation steps of a tiny model on the UDHR text of TRAINED."""
    from langsamp.resources.udhr import write_glot500_corpus

    root = tmp_path_factory.mktemp("trained")
    corpus = write_glot500_corpus({pair: udhr_translations[pair] for pair in TRAINED}, root / "udhr")
    tiny_config().save_pretrained(root / "config")
    flags = {
        "corpus": corpus,
        "config_name": root / "config",
        "output_dir": root / "run",
        "cache_dir": root / "datasets-cache",
        "max_seq_length": 32,
        "per_device_train_batch_size": 8,
        "max_steps": 2,
        "max_eval_samples": 8,
        "report_to": "none",
        "disable_tqdm": "true",
        "dataloader_num_workers": 0,
        "seed": 0,
    }
    argv = [str(part) for key, value in flags.items() for part in (f"--{key}", value)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(
        [sys.executable, str(TRAIN_SCRIPT), *argv], cwd=TRAIN_SCRIPT.parent, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return root / "run"


@pytest.fixture(scope="session")
def exported_folder(tmp_path_factory, trained_folder) -> Path:
    """`langsamp-export --model <train.py's folder> --output_dir D` (its entry point, in this process)."""
    from langsamp.hub import export

    output = tmp_path_factory.mktemp("exported") / "hub"
    export.main(["--model", str(trained_folder), "--output_dir", str(output)])
    return output


@pytest.fixture(scope="session")
def plain_folder(tmp_path_factory, trained_folder) -> Path:
    """`langsamp-export --format xlm-roberta --language eng`: a stock XLM-R masked LM, English folded into its head."""
    from langsamp.hub import export

    output = tmp_path_factory.mktemp("plain") / "hub"
    export.main(
        ["--model", str(trained_folder), "--output_dir", str(output), "--format", "xlm-roberta"] + ["--language", "eng"]
    )
    assert json.loads((output / "config.json").read_text())["model_type"] == "xlm-roberta"
    return output


@pytest.fixture(scope="session", params=list(FOLDERS))
def folder(request) -> Path:
    return request.getfixturevalue(FOLDERS[request.param])


@pytest.fixture(scope="session")
def folder_tokenizer(folder):
    """`AutoTokenizer.from_pretrained(folder, trust_remote_code=True)`, loaded once: reading XLM-R's 250,002-piece
    tokenizer.json takes seconds."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder, trust_remote_code=True)


@pytest.fixture(scope="session")
def is_langsamp(folder) -> bool:
    """A LangSAMP-format folder (remote code, a tokenizer that takes `lang=`), as opposed to a plain XLM-R one."""
    return json.loads((folder / "config.json").read_text())["model_type"] == "langsamp"


@pytest.fixture(scope="session")
def lang_kwargs(is_langsamp) -> dict:
    """What the folder's tokenizer takes to tag English text: `lang=` for LangSAMP's, nothing for a plain one."""
    return {"lang": "eng"} if is_langsamp else {}
