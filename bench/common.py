"""Shared pieces of the benchmark: model configurations, the machine description, peak-memory probes and the
subprocess runner that gives every measurement a fresh process (so peak RSS and thread settings are its own)."""

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
if str(ROOT) not in sys.path:  # the langsamp package and the remote-code modules are in the repository root
    sys.path.insert(0, str(ROOT))

# Encoder shapes. "small" fits a 2-core CPU in seconds per step; "base" is XLM-R base (for a GPU); "tiny" is only
# for CPU dry runs of bench/gpu_train_step.py. All keep XLM-R's full 250,002-piece vocabulary unless a caller
# overrides vocab_size: the vocabulary-sized LM head is what the benchmark is about.
CONFIGS = {
    "tiny": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64),
    "small": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
}
COMMON_CONFIG = dict(
    vocab_size=250002,
    max_position_embeddings=514,
    type_vocab_size=1,
    layer_norm_eps=1e-5,
    hidden_act="gelu",
    hidden_dropout_prob=0.1,
    attention_probs_dropout_prob=0.1,
    initializer_range=0.02,
    pad_token_id=1,
    bos_token_id=0,
    eos_token_id=2,
    tie_word_embeddings=True,
)


def model_config(name):
    """Keyword arguments shared by LangSAMPConfig and transformers' XLMRobertaConfig for a named shape."""
    if name not in CONFIGS:
        raise ValueError(f"Unknown model shape {name!r}: choose one of {', '.join(CONFIGS)}.")
    return {**COMMON_CONFIG, **CONFIGS[name]}


def langsamp_config(name, **overrides):
    from configuration_langsamp import LangSAMPConfig

    return LangSAMPConfig(**{**model_config(name), **overrides})


def stock_config(name, **overrides):
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(**{**model_config(name), **overrides})


def training_flops(config, sequences, seq_len, head_positions):
    """Model FLOPs of one training step (forward + backward = 3 x forward) of an XLM-R masked LM, by part:
    matmul weights 2 FLOPs per weight per token forward (so 6 per step), attention scores and context
    2 x 2 x seq x hidden per token per layer forward, and the LM head (dense h x h, decoder h x vocab) at
    `head_positions` positions only, which is where a model actually runs it. Biases, layer norms, softmax and
    embedding lookups are left out (under 1%); so is recomputation (flash attention's backward redoes the scores):
    these are the model's FLOPs, not the hardware's."""
    h, layers, ffn, vocab = (
        config["hidden_size"],
        config["num_hidden_layers"],
        config["intermediate_size"],
        config["vocab_size"],
    )
    tokens = sequences * seq_len
    parts = {
        "encoder_matmuls": 6 * tokens * layers * (4 * h * h + 2 * h * ffn),
        "attention": 3 * 4 * layers * sequences * seq_len * seq_len * h,
        "lm_head": 6 * head_positions * (h * h + h * vocab),
    }
    parts["total"] = sum(parts.values())
    return parts


def machine_info(device="cpu", threads=None):
    import datasets
    import tokenizers
    import torch
    import transformers

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores_visible": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": threads,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "datasets": datasets.__version__,
        "device": device,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    if device == "cuda" and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def machine_line(info):
    line = (
        f"{info['cpu']}, {info['cores_visible']} cores visible, torch threads {info['torch_threads']}, "
        f"{info['memory_gib']} GiB RAM; Python {info['python']}, torch {info['torch']}, "
        f"transformers {info['transformers']}, tokenizers {info['tokenizers']}, datasets {info['datasets']}; "
        f"load average at start {info['loadavg_at_start'][0]}"
    )
    if info.get("gpu"):
        line += f"; GPU {info['gpu']}"
    return line


# ---- peak memory of the current process -------------------------------------------------------------------


def current_rss():
    """Resident set size of this process now, in bytes."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def reset_peak_rss():
    """Reset the kernel's peak-RSS counter (VmHWM) to the current RSS, so a later `peak_rss()` measures only what
    follows (model construction and weight loading may have peaked higher). False where the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_rss():
    """Peak resident set size in bytes: VmHWM (resettable) where /proc has it, else ru_maxrss (whole lifetime)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ---- running a measurement in a fresh process ---------------------------------------------------------------


def run_worker(module, args, env=None):
    """Run `bench/<module>.py` in a fresh Python process with `args` (JSON); return the JSON it writes.

    Its stderr (progress bars, warnings) goes to the console as it happens."""
    with tempfile.TemporaryDirectory(prefix="langsamp-bench-") as folder:
        args_path, result_path = Path(folder) / "args.json", Path(folder) / "result.json"
        args_path.write_text(json.dumps({**args, "result_path": str(result_path)}))
        child_env = {**os.environ, **(env or {})}
        completed = subprocess.run([sys.executable, str(BENCH_DIR / f"{module}.py"), str(args_path)], env=child_env)
        if completed.returncode != 0 or not result_path.exists():
            raise RuntimeError(
                f"bench/{module}.py failed (exit code {completed.returncode}); its error is printed above."
            )
        return json.loads(result_path.read_text())


def run_lockstep(module, args_list, n_steps, desc="steps"):
    """Run several `bench/<module>.py` workers side by side, in lockstep: each loads what it needs, then they take
    turns, one step at a time (the others wait idle on a pipe), alternating who goes first. Whatever else loads the
    machine meanwhile then falls on all of them alike, so their ratios hold even where the absolute times do not.
    Each keeps its own process (its own peak RSS). Returns their JSON results in order."""
    from tqdm.auto import tqdm

    with tempfile.TemporaryDirectory(prefix="langsamp-bench-") as folder:
        procs, results = [], []
        try:
            for i, args in enumerate(args_list):
                args_path, result_path = Path(folder) / f"args{i}.json", Path(folder) / f"result{i}.json"
                args_path.write_text(json.dumps({**args, "result_path": str(result_path), "lockstep": True}))
                procs.append(
                    subprocess.Popen(
                        [sys.executable, str(BENCH_DIR / f"{module}.py"), str(args_path)],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                )
                results.append(result_path)
            for proc in procs:
                _expect(proc, "ready", module)
            for step in tqdm(range(n_steps), desc=desc, leave=False):
                order = procs if step % 2 == 0 else procs[::-1]
                for proc in order:
                    proc.stdin.write("go\n")
                    proc.stdin.flush()
                    _expect(proc, "done", module)
            for proc in procs:
                proc.stdin.close()
                if proc.wait() != 0:
                    raise RuntimeError(
                        f"bench/{module}.py failed (exit code {proc.returncode}); its error is printed above."
                    )
            return [json.loads(path.read_text()) for path in results]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()


def _expect(proc, word, module):
    """Read the worker's stdout up to the protocol word; pass anything else a library printed on to stderr."""
    while True:
        line = proc.stdout.readline()
        if not line:
            proc.wait()
            raise RuntimeError(
                f"bench/{module}.py stopped before saying {word!r} (exit code {proc.returncode}); its error is "
                "printed above."
            )
        if line.strip() == word:
            return
        sys.stderr.write(line)


def lockstep_next(args):
    """In a worker run by run_lockstep: wait for the parent's go-ahead before a step (a no-op when run alone)."""
    if args.get("lockstep") and sys.stdin.readline().strip() != "go":
        raise SystemExit("lockstep: the parent went away")


def lockstep_say(args, word):
    """In a worker run by run_lockstep: tell the parent "ready" (loaded) or "done" (a step ended)."""
    if args.get("lockstep"):
        print(word, flush=True)


def worker_args():
    """In a worker: the JSON arguments `run_worker` passed."""
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: {sys.argv[0]} ARGS.json (run through bench/run_all.py)")
    return json.loads(Path(sys.argv[1]).read_text())


def write_result(args, result):
    Path(args["result_path"]).write_text(json.dumps(result))


def set_threads(threads):
    import torch

    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def median(values):
    return statistics.median(values) if values else float("nan")


def mib(n_bytes):
    return n_bytes / 2**20
