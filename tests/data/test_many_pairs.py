"""Glot500-c scale at small size: a streaming run over hundreds of language-script pairs reaches training with a
bounded number of open files (673 pairs once ended in "Too many open files": every pair's stream, copied per shard,
held a torch shared-memory file; pairs x pairs of them).

The corpus is bench/glot500_scale.py's synthetic one (Glot500-c's pairs and log-compressed relative sizes, UDHR
text), tiny. The run happens in a fresh process whose open-file limit is set BELOW the number of pairs, so an
implementation that keeps anything open per pair fails there, and a sampler records the most descriptors seen."""

import json
import os
import subprocess
import sys
from pathlib import Path

from fixtures.models import tiny_config

REPO = Path(__file__).resolve().parents[2]
PAIRS = 300
FD_LIMIT = 200  # soft RLIMIT_NOFILE of the run: below PAIRS

RUN = r"""
import json, os, resource, sys
sys.path[:0] = [".", "bench"]
resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[3]), resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
from glot500_scale import FdSampler
from langsamp.training import cli
sampler = FdSampler(every=0.01)
sampler.start()
summary = cli.main(sys.argv[4:])
sampler.stopped.set(); sampler.join()
json.dump({"steps": summary["steps"], "max_open_fds": sampler.peak}, open(sys.argv[2], "w"))
"""


def test_hundreds_of_pairs_stream_into_training_with_few_open_files(tmp_path):
    sys.path.insert(0, str(REPO / "bench"))
    from glot500_scale import write_corpus

    corpus, written, _ = write_corpus(tmp_path / "corpus", PAIRS, scale=0.003)
    assert written == PAIRS and len(list(corpus.iterdir())) == PAIRS + 1  # and the .complete marker
    tiny_config().save_pretrained(tmp_path / "config")
    argv = [
        "--corpus",
        str(corpus),
        "--streaming",
        "true",
        "--max_steps",
        "2",
        "--config_name",
        str(tmp_path / "config"),
        "--output_dir",
        str(tmp_path / "run"),
        "--cache_dir",
        str(tmp_path / "cache"),
        "--max_seq_length",
        "32",
        "--per_device_train_batch_size",
        "4",
        "--max_eval_samples",
        "8",
        "--report_to",
        "none",
        "--disable_tqdm",
        "true",
        "--dataloader_num_workers",
        "0",
        "--save_strategy",
        "no",
    ]
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, "-c", RUN, "x", str(out), str(FD_LIMIT), *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1"),
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    result = json.loads(out.read_text())
    assert result["steps"] == 2
    assert result["max_open_fds"] < 60, result  # a handful of files, pipes and libraries: nothing per pair
