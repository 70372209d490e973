"""End-to-end tests of the local Hub server (`tests/fixtures/hub_server.py`) with the real clients.

Each client runs in a fresh subprocess: `huggingface_hub` reads `HF_ENDPOINT` when it is imported, so the
endpoint of the server started here can only be picked up by a new interpreter.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fixtures.hub_server import LocalHub

REPO = "local-user/tiny-folder"
BERT_REPO = "local-org/tiny-bert"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with LocalHub(root=tmp_path_factory.mktemp("hub-storage")) as server:
        yield server


@pytest.fixture(scope="module")
def run_client(hub, tmp_path_factory):
    """Run a Python snippet in a fresh interpreter configured for `hub`; return the JSON it writes to RESULT."""
    hf_home = tmp_path_factory.mktemp("hf-home")
    env = hub.subprocess_env(hf_home)  # conftest.py sets HF_HUB_OFFLINE=1 for the suite: it is dropped here
    assert "HF_HUB_OFFLINE" not in env and env["HF_HUB_DISABLE_XET"] == "1"

    def run(code: str, *args: str) -> dict:
        result_file = tmp_path_factory.mktemp("client") / "result.json"
        prelude = "import json, sys\nRESULT = sys.argv[1]\nARGS = sys.argv[2:]\n"
        proc = subprocess.run(
            [sys.executable, "-c", prelude + textwrap.dedent(code), str(result_file), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, f"client failed:\n{proc.stdout}\n{proc.stderr}\nrequests: {hub.request_log[-20:]}"
        return json.loads(result_file.read_text())

    return run


def _folder_versions() -> list[dict[str, bytes]]:
    """Two versions of a folder with a safetensors file (LFS), a .py and a json file (regular)."""
    import numpy as np
    from safetensors.numpy import save as save_safetensors

    versions = []
    for i in range(2):
        versions.append(
            {
                "weights.safetensors": save_safetensors({"w": np.full((4, 4), float(i + 1), dtype=np.float32)}),
                "modeling_tiny.py": f"VERSION = {i + 1}\n\ndef forward(x):\n    return x * {i + 1}\n".encode(),
                "config.json": json.dumps({"version": i + 1, "hidden_size": 4}).encode(),
            }
        )
    return versions


@pytest.fixture(scope="module")
def uploaded(hub, run_client, tmp_path_factory):
    """Create REPO and upload two versions of a folder to it with `HfApi.upload_folder`."""
    versions = _folder_versions()
    folders = []
    for i, files in enumerate(versions):
        folder = tmp_path_factory.mktemp(f"v{i}")
        for name, data in files.items():
            (folder / name).write_bytes(data)
        folders.append(str(folder))
    result = run_client(
        """
        from huggingface_hub import HfApi
        api = HfApi()
        url = api.create_repo(ARGS[0])
        assert url.repo_id == ARGS[0], url
        api.create_repo(ARGS[0], exist_ok=True)  # 409 swallowed
        shas = [api.upload_folder(repo_id=ARGS[0], folder_path=f, commit_message=f"v{i}").oid
                for i, f in enumerate(ARGS[1:])]
        # re-uploading identical content is a no-op: preupload returns each file's remote oid (sha256 for LFS,
        # git blob sha1 for regular files), the client drops unchanged files and returns the current head
        noop_sha = api.upload_folder(repo_id=ARGS[0], folder_path=ARGS[-1], commit_message="again").oid
        tree = sorted((f.path, f.lfs is not None) for f in api.list_repo_tree(ARGS[0], revision=shas[0]))
        info = api.model_info(ARGS[0])
        json.dump({"shas": shas, "noop_sha": noop_sha, "tree": tree, "main_sha": info.sha,
                   "siblings": sorted(s.rfilename for s in info.siblings)}, open(RESULT, "w"))
        """,
        REPO,
        *folders,
    )
    return {"versions": versions, **result}


def test_upload_folder_creates_revisions(hub, uploaded):
    shas = uploaded["shas"]
    commits = hub.list_commits(REPO)
    # initial commit (.gitattributes, made by create_repo as on the Hub) + one commit per upload_folder
    assert len(commits) == 3 and commits[1:] == shas
    assert all(len(sha) == 40 and int(sha, 16) >= 0 for sha in shas)
    assert uploaded["main_sha"] == shas[-1]
    assert uploaded["noop_sha"] == shas[-1]  # no empty commit for an unchanged folder
    expected_files = [".gitattributes", "config.json", "modeling_tiny.py", "weights.safetensors"]
    assert hub.files_at(REPO, shas[0]) == hub.files_at(REPO, shas[1]) == expected_files
    assert uploaded["siblings"] == expected_files
    assert hub.files_at(REPO, commits[0]) == [".gitattributes"]
    # safetensors went through the LFS batch + PUT path, the others inline in the commit
    assert [tuple(x) for x in uploaded["tree"]] == [
        (".gitattributes", False),
        ("config.json", False),
        ("modeling_tiny.py", False),
        ("weights.safetensors", True),
    ]
    assert any(method == "PUT" and path.startswith("/_lfs/") for method, path, _ in hub.request_log)
    for sha, files in zip(shas, uploaded["versions"]):
        for name, data in files.items():
            assert hub.read_file(REPO, name, revision=sha) == data


def test_download_each_file_at_each_revision(hub, uploaded, run_client):
    result = run_client(
        """
        import hashlib
        from huggingface_hub import hf_hub_download
        out = {}
        for sha in ARGS[1:]:
            for name in ["weights.safetensors", "modeling_tiny.py", "config.json"]:
                path = hf_hub_download(ARGS[0], name, revision=sha)
                out[f"{sha}/{name}"] = hashlib.sha256(open(path, "rb").read()).hexdigest()
        # a branch name resolves to the latest commit
        out["main/config.json"] = hashlib.sha256(open(hf_hub_download(ARGS[0], "config.json"), "rb").read()).hexdigest()
        json.dump(out, open(RESULT, "w"))
        """,
        REPO,
        *uploaded["shas"],
    )
    expected = {
        f"{sha}/{name}": hashlib.sha256(data).hexdigest()
        for sha, files in zip(uploaded["shas"], uploaded["versions"])
        for name, data in files.items()
    }
    expected["main/config.json"] = hashlib.sha256(uploaded["versions"][-1]["config.json"]).hexdigest()
    assert result == expected
    assert len({v for k, v in result.items() if not k.startswith("main/")}) == 6  # the two versions really differ


def test_unknown_file_repo_and_revision_errors(hub, uploaded, run_client):
    result = run_client(
        """
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            EntryNotFoundError, RemoteEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError,
        )
        out = {}
        for key, kwargs in {
            "file": dict(repo_id=ARGS[0], filename="does_not_exist.json"),
            "file_at_sha": dict(repo_id=ARGS[0], filename="does_not_exist.json", revision=ARGS[1]),
            "repo": dict(repo_id="local-user/no-such-repo", filename="config.json"),
            "revision": dict(repo_id=ARGS[0], filename="config.json", revision="no-such-branch"),
        }.items():
            try:
                hf_hub_download(**kwargs)
                out[key] = "no error"
            except Exception as e:
                out[key] = [type(e).__name__, isinstance(e, EntryNotFoundError),
                            getattr(getattr(e, "response", None), "status_code", None)]
        json.dump(out, open(RESULT, "w"))
        """,
        REPO,
        uploaded["shas"][0],
    )
    assert result["file"] == ["RemoteEntryNotFoundError", True, 404]
    assert result["file_at_sha"] == ["RemoteEntryNotFoundError", True, 404]
    assert result["repo"] == ["RepositoryNotFoundError", False, 404]
    assert result["revision"] == ["RevisionNotFoundError", False, 404]


def test_transformers_push_to_hub_and_from_pretrained(hub, run_client):
    result = run_client(
        """
        import torch
        from transformers import AutoModel, BertConfig, BertModel

        torch.manual_seed(0)
        config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                            vocab_size=100, max_position_embeddings=64)
        model = BertModel(config).eval()
        commit = model.push_to_hub(ARGS[0])

        loaded = AutoModel.from_pretrained(ARGS[0], revision=commit.oid).eval()
        input_ids = torch.tensor([[1, 5, 17, 42, 99, 3]])
        with torch.no_grad():
            expected = model(input_ids).last_hidden_state
            actual = loaded(input_ids).last_hidden_state
        json.dump({
            "sha": commit.oid,
            "class": type(loaded).__name__,
            "max_abs_diff": (expected - actual).abs().max().item(),
            "same_params": all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                                  loaded.state_dict().values())),
        }, open(RESULT, "w"))
        """,
        BERT_REPO,
    )
    assert result["class"] == "BertModel"
    assert result["same_params"] is True
    assert result["max_abs_diff"] == 0.0
    commits = hub.list_commits(BERT_REPO)
    assert commits[-1] == result["sha"]
    files = hub.files_at(BERT_REPO, result["sha"])
    assert {"config.json", "model.safetensors", "README.md"} <= set(files)


def test_standalone_server(tmp_path):
    """`python tests/fixtures/hub_server.py --root DIR --port 0` prints its endpoint and serves the API."""
    import urllib.request

    proc = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve().parents[1] / "fixtures" / "hub_server.py"),
            "--root",
            str(tmp_path),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        endpoint = proc.stdout.readline().strip()
        assert endpoint.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{endpoint}/api/whoami-v2", timeout=10) as response:
            assert json.load(response)["name"] == "local-user"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
