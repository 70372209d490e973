"""A small, local, Hugging Face Hub-compatible HTTP server for tests.

It implements the subset of the Hub HTTP API that `huggingface_hub` (2.4) and `transformers` (5.x) use to push
(`HfApi.create_repo`, `upload_folder`, `create_commit`, `model.push_to_hub`) and to load (`hf_hub_download`,
`snapshot_download`, `from_pretrained`) model repos. Everything runs in-process on the standard library
(`http.server.ThreadingHTTPServer` in a background thread); nothing outside 127.0.0.1 is contacted.

Storage model (under `root`)::

    blobs/<aa>/<sha256>                    content-addressed file contents (regular and LFS alike)
    repos/<type>/<namespace>/<name>.json   repo state: refs + every commit with its full file manifest

Every commit gets a 40-hex sha, keeps a pointer to its parent and a complete `path -> blob` manifest, so files
of any older revision stay readable by sha while `main` moves forward. Like the real Hub, `create_repo` makes an
initial commit holding a `.gitattributes` file.

Client-side requirements (see `LocalHub.client_env`):

* `HF_ENDPOINT` must be set *before* `huggingface_hub` is imported (it is read into `constants.ENDPOINT` at
  import time), so clients normally run in a fresh subprocess.
* `HF_HUB_DISABLE_XET=1`: when `hf_xet` is installed, uploads go through Xet (`/api/.../xet-write-token`) with no
  LFS fallback. With Xet disabled, the client uses the legacy "preupload -> LFS batch -> PUT -> commit" path
  implemented here. Downloads only use Xet when `/resolve` answers with an `X-Xet-Hash` header, which this
  server never sends.
* `HF_HUB_OFFLINE` must be unset. `HF_HUB_DISABLE_TELEMETRY=1` is recommended (telemetry calls would 404).

Repo ids must have a namespace (`user/name`); `create_repo("name")` puts the repo under the server's user.
Authorization headers are accepted and ignored.

Run standalone with `python tests/hub_server.py --root DIR --port N`.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import json
import os
import re
import tempfile
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, unquote, urlsplit


DEFAULT_USER = "local-user"

# Repo types as they appear in `/api/{type}s/...` and as URL prefixes in `/{prefix}{repo_id}/resolve/...`.
REPO_TYPES = ("model", "dataset", "space")
_URL_PREFIX_TO_TYPE = {"datasets": "dataset", "spaces": "space"}
_TYPE_TO_URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}

# Files larger than this are always stored as LFS (the Hub uses the same 10MB threshold).
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024

# `.gitattributes` committed by `create_repo` (a subset of the Hub's default one). It also drives the
# "lfs" vs "regular" decision of the preupload endpoint.
DEFAULT_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in (
        "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gguf", "*.gz", "*.h5", "*.joblib",
        "*.lfs.*", "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot", "*.parquet",
        "*.pb", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar", "*.safetensors", "saved_model/**/*",
        "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip", "*.zst", "*tfevents*",
    )
)

_SEGMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


# --------------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------------


def git_blob_sha1(data: bytes) -> str:
    """Git object id of a blob. `huggingface_hub` compares it with the preupload `oid` of regular files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-lfs pointer file that git would store in place of an LFS file."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def _now_iso() -> str:
    # `huggingface_hub.utils.parse_datetime` expects exactly '%Y-%m-%dT%H:%M:%S.%fZ'.
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class HubError(Exception):
    """An HTTP error answered as the Hub does: status, JSON `{"error": ...}` body and `X-Error-*` headers.

    `huggingface_hub.utils.hf_raise_for_status` maps `X-Error-Code` to exception classes: `RepoNotFound` ->
    `RepositoryNotFoundError`, `RevisionNotFound` -> `RevisionNotFoundError`, `EntryNotFound` ->
    `RemoteEntryNotFoundError` (which transformers treats as "optional file absent"). Any 400 becomes
    `BadRequestError`.
    """

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None,
                 body: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}
        self.body = body


def _repo_not_found(repo_id: str) -> HubError:
    return HubError(404, f"Repository not found: {repo_id}", "RepoNotFound")


def _revision_not_found(revision: str) -> HubError:
    return HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")


# --------------------------------------------------------------------------------------------------------------------
# Storage
# --------------------------------------------------------------------------------------------------------------------


class HubStore:
    """Thread-safe repo storage: content-addressed blobs on disk plus one JSON state file per repo.

    Repo state::

        {"id", "type", "private", "createdAt",
         "refs": {"refs/heads/main": sha, "refs/tags/v1": sha, "refs/pr/1": sha},
         "commits": {sha: {"id", "parents": [sha], "title", "message", "date", "authors",
                           "files": {path: {"sha256", "size", "lfs": bool, "blob_id"}}}},
         "order": [sha, ...]}   # creation order
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.blobs_dir = self.root / "blobs"
        self.repos_dir = self.root / "repos"
        self.blobs_dir.mkdir(parents=True, exist_ok=True)
        self.repos_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._repos: dict[tuple[str, str], dict] = {}
        for state_file in self.repos_dir.glob("*/*/*.json"):  # reload state from a previous run
            state = json.loads(state_file.read_text())
            self._repos[(state["type"], state["id"])] = state

    # ---- blobs -------------------------------------------------------------------------------------------------

    def blob_path(self, sha256: str) -> Path:
        return self.blobs_dir / sha256[:2] / sha256

    def has_blob(self, sha256: str) -> bool:
        return bool(_SHA256_RE.match(sha256)) and self.blob_path(sha256).is_file()

    def put_blob(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        if not self.has_blob(sha256):
            self._write_blob_file(sha256, [data])
        return sha256

    def put_blob_stream(self, chunks: Iterator[bytes], expected_sha256: str) -> int:
        """Store a streamed blob, checking its sha256. Returns its size."""
        hasher = hashlib.sha256()
        self.blob_path(expected_sha256).parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.blobs_dir, prefix=".incoming-")
        size = 0
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    hasher.update(chunk)
                    f.write(chunk)
                    size += len(chunk)
            if hasher.hexdigest() != expected_sha256:
                raise HubError(400, f"sha256 mismatch: expected {expected_sha256}, got {hasher.hexdigest()}")
            os.replace(tmp, self.blob_path(expected_sha256))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return size

    def _write_blob_file(self, sha256: str, chunks: list[bytes]) -> None:
        path = self.blob_path(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(tmp, path)

    def read_blob(self, sha256: str) -> bytes:
        return self.blob_path(sha256).read_bytes()

    # ---- repos -------------------------------------------------------------------------------------------------

    @staticmethod
    def validate_repo_id(repo_id: str) -> None:
        parts = repo_id.split("/")
        if len(parts) != 2 or not all(_SEGMENT_RE.match(p) and ".." not in p for p in parts):
            raise HubError(400, f"Invalid repo id '{repo_id}' (expected 'namespace/name')")

    def _state_path(self, repo_type: str, repo_id: str) -> Path:
        return self.repos_dir / repo_type / f"{repo_id}.json"

    def _save(self, state: dict) -> None:
        path = self._state_path(state["type"], state["id"])
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, path)

    def get_repo(self, repo_type: str, repo_id: str) -> dict:
        with self._lock:
            state = self._repos.get((repo_type, repo_id))
            if state is None:
                raise _repo_not_found(repo_id)
            return state

    def repo_exists(self, repo_type: str, repo_id: str) -> bool:
        with self._lock:
            return (repo_type, repo_id) in self._repos

    def create_repo(self, repo_type: str, repo_id: str, private: bool = False, author: str = DEFAULT_USER) -> dict:
        self.validate_repo_id(repo_id)
        with self._lock:
            if (repo_type, repo_id) in self._repos:
                raise HubError(409, f"You already created this {repo_type} repo")
            state = {
                "id": repo_id,
                "type": repo_type,
                "private": bool(private),
                "createdAt": _now_iso(),
                "refs": {},
                "commits": {},
                "order": [],
            }
            self._repos[(repo_type, repo_id)] = state
            # The Hub creates every repo with an initial commit holding `.gitattributes`.
            self._add_commit(
                state,
                parent=None,
                files={".gitattributes": self._file_entry(DEFAULT_GITATTRIBUTES.encode(), lfs=False)},
                title="initial commit",
                message="",
                author=author,
                ref="refs/heads/main",
            )
            return state

    def delete_repo(self, repo_type: str, repo_id: str) -> None:
        with self._lock:
            if self._repos.pop((repo_type, repo_id), None) is None:
                raise _repo_not_found(repo_id)
            self._state_path(repo_type, repo_id).unlink(missing_ok=True)

    # ---- revisions ---------------------------------------------------------------------------------------------

    @staticmethod
    def ref_candidates(revision: str) -> list[str]:
        if revision.startswith("refs/"):
            return [revision]
        return [f"refs/heads/{revision}", f"refs/tags/{revision}"]

    def resolve(self, state: dict, revision: str) -> str:
        """Branch / tag / `refs/...` / full commit sha -> commit sha. Raises RevisionNotFound."""
        with self._lock:
            for ref in self.ref_candidates(revision):
                if ref in state["refs"]:
                    return state["refs"][ref]
            if _SHA_RE.match(revision) and revision in state["commits"]:
                return revision
        raise _revision_not_found(revision)

    def commit_info(self, state: dict, sha: str) -> dict:
        return state["commits"][sha]

    def history(self, state: dict, sha: str) -> list[str]:
        """First-parent history of `sha`, newest first."""
        out = []
        with self._lock:
            while sha is not None:
                out.append(sha)
                parents = state["commits"][sha]["parents"]
                sha = parents[0] if parents else None
        return out

    # ---- commits -----------------------------------------------------------------------------------------------

    def _file_entry(self, data: bytes, lfs: bool) -> dict:
        return self.make_entry(self.put_blob(data), len(data), lfs, data=data)

    @staticmethod
    def make_entry(sha256: str, size: int, lfs: bool, data: bytes | None = None) -> dict:
        """Manifest entry of a file. `blob_id` is its git object id: for LFS files, the id of the pointer file."""
        blob_id = git_blob_sha1(lfs_pointer(sha256, size) if lfs else data)
        return {"sha256": sha256, "size": size, "lfs": lfs, "blob_id": blob_id}

    def _add_commit(self, state: dict, parent: str | None, files: dict, title: str, message: str, author: str,
                    ref: str) -> str:
        date = _now_iso()
        # Like git, the id hashes the tree, the parent and the metadata; the counter makes ids unique even for
        # identical commits created within the same millisecond.
        payload = json.dumps(
            {"repo": [state["type"], state["id"]], "parent": parent, "files": files, "title": title,
             "message": message, "date": date, "n": len(state["order"]), "t": time.time_ns()},
            sort_keys=True,
        )
        sha = hashlib.sha1(payload.encode()).hexdigest()
        state["commits"][sha] = {
            "id": sha,
            "parents": [parent] if parent else [],
            "title": title,
            "message": message,
            "date": date,
            "authors": [author],
            "files": files,
        }
        state["order"].append(sha)
        state["refs"][ref] = sha
        self._save(state)
        return sha

    def commit(self, repo_type: str, repo_id: str, revision: str, operations: list[dict], header: dict,
               create_pr: bool, author: str) -> tuple[str, str | None]:
        """Apply NDJSON commit operations on top of `revision`. Returns (commit sha, pr ref or None)."""
        with self._lock:
            state = self.get_repo(repo_type, repo_id)
            if create_pr:
                base = self.resolve(state, revision)
                pr_num = 1 + sum(1 for ref in state["refs"] if ref.startswith("refs/pr/"))
                target_ref = f"refs/pr/{pr_num}"
            else:
                # One can only commit to a branch (or an existing PR ref), not to a tag or a commit sha.
                target_ref = next(
                    (r for r in self.ref_candidates(revision)
                     if r in state["refs"] and (r.startswith("refs/heads/") or r.startswith("refs/pr/"))),
                    None,
                )
                if target_ref is None:
                    raise _revision_not_found(revision)
                base = state["refs"][target_ref]
            parent_commit = header.get("parentCommit")
            if parent_commit and not create_pr and parent_commit != base:
                # `create_commit(parent_commit=...)` must fail if the branch moved in the meantime.
                raise HubError(412, f"Parent commit {parent_commit} is not the head of {revision} ({base})")

            files = dict(state["commits"][base]["files"])
            for op in operations:
                key, value = op.get("key"), op.get("value") or {}
                path = value.get("path", "")
                if key in ("file", "lfsFile"):
                    self._validate_path(path)
                if key == "file":
                    # Regular file, content inline (`_commit_api._prepare_commit_payload`: encoding "base64").
                    content = value.get("content", "")
                    data = base64.b64decode(content) if value.get("encoding") == "base64" else content.encode()
                    files[path] = self._file_entry(data, lfs=False)
                elif key == "lfsFile":
                    # LFS file: content must already have been PUT via the LFS batch "upload" action.
                    oid = value.get("oid", "")
                    if value.get("algo", "sha256") != "sha256" or not self.has_blob(oid):
                        raise HubError(400, f"LFS object {oid} for '{path}' was not uploaded")
                    files[path] = self.make_entry(oid, self.blob_path(oid).stat().st_size, lfs=True)
                elif key == "deletedFile":
                    if path not in files:
                        raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                    del files[path]
                elif key == "deletedFolder":
                    prefix = path.rstrip("/") + "/"
                    matched = [p for p in files if p.startswith(prefix)]
                    if not matched:
                        raise HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                    for p in matched:
                        del files[p]
                else:
                    raise HubError(400, f"Unknown commit operation {key!r}")
            sha = self._add_commit(
                state,
                parent=base,
                files=files,
                title=header.get("summary") or "Update",
                message=header.get("description") or "",
                author=author,
                ref=target_ref,
            )
            return sha, (target_ref if create_pr else None)

    @staticmethod
    def _validate_path(path: str) -> None:
        parts = path.split("/")
        if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts) or parts[0] == ".git":
            raise HubError(400, f"Invalid path in repo: '{path}'")

    def create_ref(self, repo_type: str, repo_id: str, ref: str, starting_point: str | None) -> None:
        with self._lock:
            state = self.get_repo(repo_type, repo_id)
            if ref in state["refs"]:
                raise HubError(409, f"Reference {ref} already exists")
            state["refs"][ref] = self.resolve(state, starting_point or "main")
            self._save(state)

    def delete_ref(self, repo_type: str, repo_id: str, ref: str) -> None:
        with self._lock:
            state = self.get_repo(repo_type, repo_id)
            if ref not in state["refs"] or ref == "refs/heads/main":
                raise _revision_not_found(ref)
            del state["refs"][ref]
            self._save(state)

    # ---- upload mode ----------------------------------------------------------------------------------------------

    def lfs_patterns(self, state: dict, sha: str) -> list[str]:
        """Patterns marked `filter=lfs` in the `.gitattributes` of a revision (default ones if none)."""
        entry = state["commits"][sha]["files"].get(".gitattributes")
        text = self.read_blob(entry["sha256"]).decode("utf-8", "replace") if entry else DEFAULT_GITATTRIBUTES
        return [line.split()[0] for line in text.splitlines() if "filter=lfs" in line.split()[1:]]

    @staticmethod
    def is_lfs(path: str, size: int, sample: bytes, patterns: list[str]) -> bool:
        if size > LFS_SIZE_THRESHOLD or b"\x00" in sample:  # big or binary => LFS, as the Hub does
            return True
        name = path.rsplit("/", 1)[-1]
        for pattern in patterns:
            target = path if "/" in pattern else name
            if fnmatch.fnmatchcase(target, pattern.replace("**/", "*")):
                return True
        return False


# --------------------------------------------------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keep-alive (the client reuses connections): every response sets Content-Length.
    protocol_version = "HTTP/1.1"
    server_version = "LocalHub/1.0"
    hub: "LocalHub"  # set on a per-LocalHub subclass

    # ---- plumbing --------------------------------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from the base class
        if self.hub.verbose:
            super().log_message(format, *args)

    def _iter_body(self) -> Iterator[bytes]:
        """Yield the request body, de-chunking `Transfer-Encoding: chunked` (LFS PUTs of file objects)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                        pass
                    return
                yield self.rfile.read(size)
                self.rfile.readline()  # CRLF after each chunk
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk

    def _body(self) -> bytes:
        if self._body_cache is None:
            self._body_cache = b"".join(self._iter_body())
        return self._body_cache

    def _json_body(self) -> dict:
        body = self._body()
        try:
            return json.loads(body) if body else {}
        except json.JSONDecodeError:
            raise HubError(400, "Invalid JSON body")

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json",
              headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, str(value))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.hub._log_request(self.command, self.path, status)

    def _send_json(self, data: Any, status: int = 200, headers: dict | None = None) -> None:
        self._send(status, json.dumps(data).encode(), headers=headers)

    def _send_error(self, err: HubError) -> None:
        headers = dict(err.headers)
        if err.code:
            headers["X-Error-Code"] = err.code
        headers["X-Error-Message"] = err.message.encode("ascii", "replace").decode()
        self._send_json(err.body or {"error": err.message}, status=err.status, headers=headers)

    def _dispatch(self) -> None:
        self._body_cache: bytes | None = None
        split = urlsplit(self.path)
        self.query = parse_qs(split.query)
        # Split the *raw* path first: the client quotes revisions with `quote(rev, safe="")`, so a revision like
        # `refs/pr/1` arrives as one `refs%2Fpr%2F1` segment. Each segment is unquoted afterwards.
        segments = [unquote(s) for s in split.path.split("/")[1:]]
        try:
            try:
                self._route(segments)
            finally:
                if self.command not in ("GET", "HEAD") and self._body_cache is None:
                    self._body()  # drain unread bodies so that the keep-alive connection stays in sync
        except HubError as err:
            self._send_error(err)
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception as exc:  # pragma: no cover - server bug: answer 500 instead of hanging the client
            self.close_connection = True  # the request body may be partly unread
            self._send_error(HubError(500, f"Internal error: {type(exc).__name__}: {exc}"))
            if self.hub.verbose:
                raise

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _dispatch

    def _param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def _flag(self, name: str) -> bool:
        return (self._param(name) or "").lower() in ("1", "true", "yes")

    # ---- routing ---------------------------------------------------------------------------------------------------

    def _route(self, seg: list[str]) -> None:
        method = self.command
        if seg[:1] == ["api"]:
            return self._route_api(seg[1:])
        if seg[:1] == ["_lfs"] and len(seg) == 2:
            return self._lfs_object(seg[1])
        # `/{prefix}{namespace}/{name}/resolve/{revision}/{path...}` (prefix: "" | "datasets/" | "spaces/")
        repo_type = "model"
        if seg and seg[0] in _URL_PREFIX_TO_TYPE:
            repo_type, seg = _URL_PREFIX_TO_TYPE[seg[0]], seg[1:]
        if len(seg) >= 4 and seg[2] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve(repo_type, f"{seg[0]}/{seg[1]}", seg[3], "/".join(seg[4:]))
        if len(seg) >= 2 and seg[1] == "resolve" and method in ("GET", "HEAD"):
            raise _repo_not_found(seg[0])  # namespace-less repo ids are not supported
        # Git LFS batch API: `POST /{prefix}{namespace}/{name}.git/info/lfs/objects/batch`
        if len(seg) == 6 and seg[1].endswith(".git") and seg[2:] == ["info", "lfs", "objects", "batch"]:
            return self._lfs_batch(repo_type, f"{seg[0]}/{seg[1][:-4]}")
        raise HubError(404, f"Unknown route {method} {self.path}")

    def _route_api(self, seg: list[str]) -> None:
        method = self.command
        if seg == ["whoami-v2"]:
            return self._send_json(self.hub.whoami())
        if seg == ["agent-harnesses"]:
            # Read by `huggingface_hub.utils._detect_agent`: must be a JSON object if answered with 200.
            return self._send_json({"standardEnvVars": [], "harnesses": {}})
        if seg == ["validate-yaml"] and method == "POST":
            # `HfApi._validate_yaml` (called by create_commit when README.md is committed) reads
            # `warnings` / `errors` from the JSON body.
            self._body()
            return self._send_json({"errors": [], "warnings": []})
        if seg == ["repos", "create"] and method == "POST":
            return self._create_repo()
        if seg == ["repos", "delete"] and method == "DELETE":
            return self._delete_repo()
        if len(seg) >= 3 and seg[0].endswith("s") and seg[0][:-1] in REPO_TYPES:
            repo_type, repo_id, rest = seg[0][:-1], f"{seg[1]}/{seg[2]}", seg[3:]
            return self._route_repo_api(repo_type, repo_id, rest)
        raise HubError(404, f"Unknown route {method} {self.path}")

    def _route_repo_api(self, repo_type: str, repo_id: str, rest: list[str]) -> None:
        method = self.command
        store = self.hub.store
        state = store.get_repo(repo_type, repo_id)  # RepoNotFound first, as the Hub does
        action, args = (rest[0], rest[1:]) if rest else (None, [])
        if action is None and method == "GET":
            return self._repo_info(state, "main")
        if action == "revision" and len(args) == 1 and method == "GET":
            return self._repo_info(state, args[0])
        if action == "tree" and args and method == "GET":
            return self._tree(state, args[0], "/".join(args[1:]))
        if action == "paths-info" and len(args) == 1 and method == "POST":
            return self._paths_info(state, args[0])
        if action == "preupload" and len(args) == 1 and method == "POST":
            return self._preupload(state, args[0])
        if action == "commit" and len(args) == 1 and method == "POST":
            return self._commit(repo_type, repo_id, args[0])
        if action == "commits" and len(args) == 1 and method == "GET":
            return self._list_commits(state, args[0])
        if action == "refs" and not args and method == "GET":
            return self._refs(state)
        if action == "branch" and len(args) == 1 and method in ("POST", "DELETE"):
            ref = f"refs/heads/{args[0]}"
            if method == "DELETE":
                store.delete_ref(repo_type, repo_id, ref)
            else:
                store.create_ref(repo_type, repo_id, ref, self._json_body().get("startingPoint"))
            return self._send_json({})
        if action == "tag" and len(args) == 1 and method == "POST":
            store.create_ref(repo_type, repo_id, f"refs/tags/{self._json_body().get('tag')}", args[0])
            return self._send_json({})
        if action == "xet-write-token":
            raise HubError(501, "Xet is not supported by this local Hub: set HF_HUB_DISABLE_XET=1 in the client")
        raise HubError(404, f"Unknown route {method} {self.path}")

    # ---- repo management -------------------------------------------------------------------------------------------

    def _repo_url(self, repo_type: str, repo_id: str) -> str:
        return f"{self.hub.endpoint}/{_TYPE_TO_URL_PREFIX[repo_type]}{repo_id}"

    def _repo_id_from_payload(self, payload: dict) -> tuple[str, str]:
        repo_type = payload.get("type") or "model"
        if repo_type not in REPO_TYPES:
            raise HubError(400, f"Invalid repo type {repo_type!r}")
        return repo_type, f"{payload.get('organization') or self.hub.user}/{payload.get('name')}"

    def _create_repo(self) -> None:
        payload = self._json_body()
        repo_type, repo_id = self._repo_id_from_payload(payload)
        url = self._repo_url(repo_type, repo_id)
        private = payload.get("private") or payload.get("visibility") == "private"
        try:
            self.hub.store.create_repo(repo_type, repo_id, private=bool(private), author=self.hub.user)
        except HubError as err:
            if err.status == 409:
                # `HfApi.create_repo(exist_ok=True)` swallows the 409 and then still reads `url` from the body.
                err.body = {"error": err.message, "url": url}
            raise
        # `create_repo` builds a `RepoUrl` from `url` (which must be on the configured endpoint).
        self._send_json({"url": url, "name": repo_id, "id": repo_id})

    def _delete_repo(self) -> None:
        repo_type, repo_id = self._repo_id_from_payload(self._json_body())
        self.hub.store.delete_repo(repo_type, repo_id)
        self._send_json({})

    def _repo_info(self, state: dict, revision: str) -> None:
        """`GET /api/models/{repo}[/revision/{rev}]` -> `HfApi.model_info` / `repo_info` (ModelInfo)."""
        store = self.hub.store
        sha = store.resolve(state, revision)
        commit = store.commit_info(state, sha)
        with_blobs = self._flag("blobs")
        siblings = []
        for path, entry in sorted(commit["files"].items()):
            sibling: dict[str, Any] = {"rfilename": path}
            if with_blobs:  # `siblings[].size/blobId/lfs` are only sent with `?blobs=true`
                sibling.update(self._blob_fields(entry, tree_style=False))
            siblings.append(sibling)
        namespace = state["id"].split("/")[0]
        self._send_json({
            "_id": hashlib.sha1(f"{state['type']}/{state['id']}".encode()).hexdigest()[:24],
            "id": state["id"],
            "modelId": state["id"],
            "author": namespace,
            "sha": sha,  # `snapshot_download` and `create_commit` (no-op commits) need the resolved sha
            "lastModified": commit["date"],
            "createdAt": state["createdAt"],
            "private": state["private"],
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "siblings": siblings,
            "spaces": [],
            "usedStorage": sum(e["size"] for e in commit["files"].values()),
        })

    # ---- listing -----------------------------------------------------------------------------------------------

    @staticmethod
    def _blob_fields(entry: dict, tree_style: bool) -> dict:
        """Size / git blob id / LFS info of a file, in `/tree` style or in `siblings` (`?blobs=true`) style.

        `RepoFile` (tree) reads `oid` and `lfs: {oid, size, pointerSize}`; `RepoSibling` (model_info) reads `blobId`
        and `lfs: {sha256, size, pointerSize}`.
        """
        data: dict[str, Any] = {"oid" if tree_style else "blobId": entry["blob_id"], "size": entry["size"]}
        if entry["lfs"]:
            pointer_size = len(lfs_pointer(entry["sha256"], entry["size"]))
            data["lfs"] = {"oid" if tree_style else "sha256": entry["sha256"], "size": entry["size"],
                           "pointerSize": pointer_size}
        return data

    def _file_json(self, path: str, entry: dict) -> dict:
        return {"type": "file", "path": path, **self._blob_fields(entry, tree_style=True)}

    def _last_commit(self, state: dict, sha: str, path: str) -> dict:
        """The newest commit of the first-parent history of `sha` that changed `path` (`expand=true`)."""
        def snapshot(commit_sha: str) -> Any:  # the file entry, or the contents of the folder
            files = state["commits"][commit_sha]["files"]
            if path in files:
                return files[path]
            return sorted((p, e["sha256"]) for p, e in files.items() if p.startswith(path + "/"))

        history = self.hub.store.history(state, sha)
        current = snapshot(sha)
        last = history[0]
        for older in history[1:]:
            if snapshot(older) != current:
                break
            last = older
        commit = state["commits"][last]
        return {"id": last, "title": commit["title"], "date": commit["date"]}

    def _tree_entries(self, state: dict, sha: str, prefix: str, recursive: bool) -> list[dict]:
        files = state["commits"][sha]["files"]
        base = prefix.rstrip("/") + "/" if prefix else ""
        entries: dict[str, dict] = {}
        for path, entry in files.items():
            if not path.startswith(base):
                continue
            parts = path[len(base):].split("/")
            # Folders on the way to the file (only the first level when not recursive).
            for depth in range(1, len(parts) if recursive else min(2, len(parts))):
                folder = base + "/".join(parts[:depth])
                if folder not in entries:
                    children = sorted(p for p in files if p.startswith(folder + "/"))
                    tree_id = hashlib.sha1("\n".join(children).encode()).hexdigest()
                    entries[folder] = {"type": "directory", "path": folder, "oid": tree_id, "size": 0}
            if recursive or len(parts) == 1:
                entries[path] = self._file_json(path, entry)
        return [entries[p] for p in sorted(entries)]

    def _tree(self, state: dict, revision: str, path: str) -> None:
        """`GET /api/models/{repo}/tree/{rev}[/{path}]?recursive=&expand=` -> `HfApi.list_repo_tree`.

        Single page: no `Link: <...>; rel="next"` header, so `_paginate_pages` stops after it.
        """
        store = self.hub.store
        sha = store.resolve(state, revision)
        entries = self._tree_entries(state, sha, path, recursive=self._flag("recursive"))
        if path and not entries:
            raise HubError(404, f"Path {path} not found in {revision}", "EntryNotFound",
                           headers={"X-Repo-Commit": sha})
        if self._flag("expand"):
            for e in entries:
                e["lastCommit"] = self._last_commit(state, sha, e["path"])
        self._send_json(entries)

    def _paths_info(self, state: dict, revision: str) -> None:
        """`POST /api/models/{repo}/paths-info/{rev}` (form-encoded `paths`) -> `HfApi.get_paths_info`."""
        sha = self.hub.store.resolve(state, revision)
        form = parse_qs(self._body().decode())
        files = state["commits"][sha]["files"]
        out = []
        for path in form.get("paths", []):
            path = path.strip("/")
            if path in files:
                out.append(self._file_json(path, files[path]))
            elif any(p.startswith(path + "/") for p in files):
                out.append({"type": "directory", "path": path,
                            "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0})
        self._send_json(out)

    def _list_commits(self, state: dict, revision: str) -> None:
        """`GET /api/models/{repo}/commits/{rev}` -> `HfApi.list_repo_commits` (newest first)."""
        store = self.hub.store
        out = []
        for sha in store.history(state, store.resolve(state, revision)):
            c = state["commits"][sha]
            out.append({"id": sha, "title": c["title"], "message": c["message"], "date": c["date"],
                        "authors": [{"user": a} for a in c["authors"]]})
        self._send_json(out)

    def _refs(self, state: dict) -> None:
        """`GET /api/models/{repo}/refs` -> `HfApi.list_repo_refs`."""
        def items(prefix: str) -> list[dict]:
            return [{"name": ref[len(prefix):], "ref": ref, "targetCommit": sha}
                    for ref, sha in sorted(state["refs"].items()) if ref.startswith(prefix)]
        pull_requests = [{"name": ref, "ref": ref, "targetCommit": sha}
                         for ref, sha in sorted(state["refs"].items()) if ref.startswith("refs/pr/")]
        self._send_json({"branches": items("refs/heads/"), "tags": items("refs/tags/"), "converts": [],
                         "pullRequests": pull_requests})

    # ---- upload ----------------------------------------------------------------------------------------------------

    def _preupload(self, state: dict, revision: str) -> None:
        """`POST /api/models/{repo}/preupload/{rev}` -> `_commit_api._fetch_upload_modes`.

        Request: `{"files": [{"path", "sample" (base64 of the first 512 bytes), "size"}]}`.
        Response: for each file, `uploadMode` ("lfs" -> LFS batch + PUT + `lfsFile` commit op; "regular" ->
        base64 content inline in the commit), `shouldIgnore` (gitignore) and `oid`, the remote file's id:
        sha256 for LFS, git blob sha1 for regular files. When it equals the local one, `create_commit` drops the
        file from the commit as unchanged.
        """
        store = self.hub.store
        sha = store.resolve(state, revision)
        remote = state["commits"][sha]["files"]
        patterns = store.lfs_patterns(state, sha)
        out = []
        for f in self._json_body().get("files", []):
            path, size = f["path"], int(f.get("size", 0))
            sample = base64.b64decode(f.get("sample") or "")
            mode = "lfs" if store.is_lfs(path, size, sample, patterns) else "regular"
            oid = None
            existing = remote.get(path)
            if existing is not None and existing["lfs"] == (mode == "lfs"):
                oid = existing["sha256"] if existing["lfs"] else existing["blob_id"]
            out.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        self._send_json({"files": out, "commitOid": sha})

    def _lfs_batch(self, repo_type: str, repo_id: str) -> None:
        """Git LFS batch API (`lfs.post_lfs_batch_info`).

        Each object gets an `actions.upload.href` pointing at `PUT /_lfs/{oid}` on this server, or no `actions`
        when the blob is already stored (the client then skips the upload). No `header.chunk_size` => the
        client uses the single-PUT "basic" transfer, not multipart.
        """
        self.hub.store.get_repo(repo_type, repo_id)
        payload = self._json_body()
        operation = payload.get("operation", "upload")
        objects = []
        for obj in payload.get("objects", []):
            oid, size = str(obj.get("oid", "")), int(obj.get("size", 0))
            item: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
            if not _SHA256_RE.match(oid):
                item["error"] = {"code": 422, "message": f"Invalid oid {oid}"}
            elif operation == "download":
                if self.hub.store.has_blob(oid):
                    item["actions"] = {"download": {"href": f"{self.hub.endpoint}/_lfs/{oid}"}}
                else:
                    item["error"] = {"code": 404, "message": "Object does not exist"}
            elif not self.hub.store.has_blob(oid):
                item["actions"] = {"upload": {"href": f"{self.hub.endpoint}/_lfs/{oid}"}}
            objects.append(item)
        self._send(200, json.dumps({"transfer": "basic", "objects": objects}).encode(),
                   content_type="application/vnd.git-lfs+json")

    def _lfs_object(self, oid: str) -> None:
        """`PUT /_lfs/{oid}`: LFS upload target (body = raw bytes, possibly chunked); `GET` serves it back."""
        if not _SHA256_RE.match(oid):
            raise HubError(400, f"Invalid oid {oid}")
        if self.command == "PUT":
            self._body_cache = b""  # body consumed by the stream below
            self.hub.store.put_blob_stream(self._iter_body(), oid)
            return self._send(200, b"", headers={"ETag": f'"{oid}"'})
        if self.command in ("GET", "HEAD"):
            if not self.hub.store.has_blob(oid):
                raise HubError(404, "Object does not exist", "EntryNotFound")
            return self._send(200, self.hub.store.read_blob(oid), content_type="application/octet-stream")
        raise HubError(405, "Method not allowed")

    def _commit(self, repo_type: str, repo_id: str, revision: str) -> None:
        """`POST /api/models/{repo}/commit/{rev}` (NDJSON) -> `_commit_api._send_commit`.

        Body lines: `{"key": "header", "value": {"summary", "description", "parentCommit"?}}`, then
        `file` (`path`, `content`, `encoding: base64`), `lfsFile` (`path`, `algo`, `oid`, `size`), `deletedFile`,
        `deletedFolder` (`path`). The client reads `commitUrl`, `commitOid` and, with `?create_pr=1`,
        `pullRequestUrl`. `CommitInfo` parses the repo URL from the part of `commitUrl` before "/commit/".
        """
        lines = [json.loads(line) for line in self._body().decode().splitlines() if line.strip()]
        header = next((item.get("value") or {} for item in lines if item.get("key") == "header"), {})
        operations = [item for item in lines if item.get("key") != "header"]
        create_pr = self._flag("create_pr")
        sha, pr_ref = self.hub.store.commit(repo_type, repo_id, revision, operations, header, create_pr,
                                            author=self.hub.user)
        repo_url = self._repo_url(repo_type, repo_id)
        self._send_json({
            "success": True,
            "commitOid": sha,
            "commitUrl": f"{repo_url}/commit/{sha}",
            "commitMessage": header.get("summary", ""),
            "hookOutput": "",
            "pullRequestUrl": f"{repo_url}/discussions/{pr_ref.rsplit('/', 1)[-1]}" if pr_ref else None,
        })

    # ---- download --------------------------------------------------------------------------------------------------

    def _resolve(self, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        """`HEAD`/`GET /{repo}/resolve/{rev}/{path}` -> `hf_hub_download`, `get_hf_file_metadata`.

        `get_hf_file_metadata` (HEAD) needs `X-Repo-Commit` (the resolved sha; without it the client raises
        FileMetadataError) and an etag: `X-Linked-Etag` or `ETag` (it names the blob in the cache; the Hub uses the
        sha256 for LFS files and the git blob sha1 for regular files). The size comes from `X-Linked-Size` or
        `Content-Length`. We answer 200 directly instead of redirecting LFS files to a CDN. A 404 carries
        `X-Error-Code: EntryNotFound` *and* `X-Repo-Commit`, which lets the client cache the absence (`.no_exist`).
        """
        store = self.hub.store
        state = store.get_repo(repo_type, repo_id)
        sha = store.resolve(state, revision)
        entry = state["commits"][sha]["files"].get(path)
        if entry is None:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound", headers={"X-Repo-Commit": sha})
        headers = {"X-Repo-Commit": sha, "Accept-Ranges": "bytes"}
        if entry["lfs"]:
            headers.update({"ETag": f'"{entry["sha256"]}"', "X-Linked-Etag": f'"{entry["sha256"]}"',
                            "X-Linked-Size": entry["size"]})
        else:
            headers["ETag"] = f'"{entry["blob_id"]}"'
        if self.command == "HEAD":
            # Content-Length of the would-be body, without reading the blob.
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(entry["size"]))
            for key, value in headers.items():
                self.send_header(key, str(value))
            self.end_headers()
            self.hub._log_request(self.command, self.path, 200)
            return
        data = store.read_blob(entry["sha256"])
        # `http_get` resumes interrupted downloads with `Range: bytes=N-`.
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
        if match and (match.group(1) or match.group(2)):
            start_s, end_s = match.groups()
            if start_s:
                start, end = int(start_s), int(end_s) if end_s else len(data) - 1
            else:  # suffix range: last N bytes
                start, end = max(0, len(data) - int(end_s)), len(data) - 1
            end = min(end, len(data) - 1)
            if start > end:
                raise HubError(416, "Requested range not satisfiable",
                               headers={"Content-Range": f"bytes */{len(data)}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return self._send(206, data[start:end + 1], "application/octet-stream", headers)
        self._send(200, data, "application/octet-stream", headers)


# --------------------------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------------------------


class LocalHub:
    """A local Hub server on 127.0.0.1 running in a background thread.

    Usage::

        with LocalHub(root=tmp_path) as hub:
            env = hub.subprocess_env(tmp_path / "hf_home")  # os.environ - HF_* + client_env()
            subprocess.run([sys.executable, "client.py"], env=env, check=True)
            hub.list_commits("user/my-model")
    """

    def __init__(self, root: str | os.PathLike, host: str = "127.0.0.1", port: int = 0, user: str = DEFAULT_USER,
                 verbose: bool = False):
        self.root = Path(root)
        self.host = host
        self.port = port
        self.user = user
        self.verbose = verbose
        self.store = HubStore(self.root)
        self.endpoint: str | None = None
        self.request_log: list[tuple[str, str, int]] = []  # (method, path, status), for debugging tests
        self._log_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------------------

    def start(self) -> "LocalHub":
        if self._server is not None:
            return self
        handler = type("LocalHubHandler", (_Handler,), {"hub": self})
        self._server = ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.endpoint = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="LocalHub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> "LocalHub":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Block until interrupted (standalone mode)."""
        self.start()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    # ---- client configuration --------------------------------------------------------------------------------------

    def client_env(self, hf_home: str | os.PathLike) -> dict[str, str]:
        """Environment variables a client process needs (merge into `os.environ`; drop `HF_HUB_OFFLINE`)."""
        if self.endpoint is None:
            raise RuntimeError("LocalHub is not started")
        hf_home = Path(hf_home)
        return {
            "HF_ENDPOINT": self.endpoint,            # read at import of huggingface_hub
            "HF_HUB_DISABLE_XET": "1",               # force the LFS upload path (no Xet fallback otherwise)
            "HF_HOME": str(hf_home),
            "HF_HUB_CACHE": str(hf_home / "hub"),
            "HF_TOKEN": "hf_local_test_token",       # any value is accepted; avoids token lookups
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        }

    def subprocess_env(self, hf_home: str | os.PathLike, base: dict[str, str] | None = None) -> dict[str, str]:
        """A complete environment for a client subprocess: `base` (default `os.environ`) without any
        `HF_*` / `HUGGINGFACE_*` / `TRANSFORMERS_*` variable (notably `HF_HUB_OFFLINE`, which must be unset),
        plus `client_env(hf_home)`."""
        base = dict(os.environ if base is None else base)
        env = {k: v for k, v in base.items() if not k.startswith(("HF_", "HUGGINGFACE_", "TRANSFORMERS_"))}
        env.update(self.client_env(hf_home))
        return env

    # ---- introspection for tests -----------------------------------------------------------------------------------

    def whoami(self) -> dict:
        # `HfApi.whoami` returns this dict as is; `name` is the default namespace for `create_repo("name")`.
        return {
            "type": "user",
            "id": hashlib.sha1(self.user.encode()).hexdigest()[:24],
            "name": self.user,
            "fullname": self.user,
            "email": f"{self.user}@localhost",
            "emailVerified": True,
            "isPro": False,
            "orgs": [],
            "auth": {"type": "access_token", "accessToken": {"displayName": "local", "role": "write"}},
        }

    def list_commits(self, repo_id: str, repo_type: str = "model", revision: str = "main") -> list[str]:
        """Commit shas of the first-parent history of `revision`, oldest first (includes the initial commit)."""
        state = self.store.get_repo(repo_type, repo_id)
        return list(reversed(self.store.history(state, self.store.resolve(state, revision))))

    def files_at(self, repo_id: str, sha: str, repo_type: str = "model") -> list[str]:
        """Sorted paths of the files in the repo at commit `sha` (or any revision name)."""
        state = self.store.get_repo(repo_type, repo_id)
        return sorted(state["commits"][self.store.resolve(state, sha)]["files"])

    def read_file(self, repo_id: str, path: str, revision: str = "main", repo_type: str = "model") -> bytes:
        """Raw bytes of `path` at `revision`, straight from the storage."""
        state = self.store.get_repo(repo_type, repo_id)
        files = state["commits"][self.store.resolve(state, revision)]["files"]
        return self.store.read_blob(files[path]["sha256"])

    def _log_request(self, method: str, path: str, status: int) -> None:
        with self._log_lock:
            self.request_log.append((method, path, status))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a local Hugging Face Hub-compatible server.")
    parser.add_argument("--root", default=None, help="storage directory (default: a new temporary directory)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--user", default=DEFAULT_USER)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    root = args.root or tempfile.mkdtemp(prefix="local-hub-")
    hub = LocalHub(root=root, host=args.host, port=args.port, user=args.user, verbose=args.verbose).start()
    print(hub.endpoint, flush=True)
    hub.serve_forever()


if __name__ == "__main__":
    main()
