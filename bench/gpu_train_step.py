"""GPU training step of XLM-R base: LangSAMPForMaskedLM vs transformers' XLMRobertaForMaskedLM, same weights, same
masks.

One run, bounded by --budget-s (default 300 s of measurement; about 6 minutes with start-up on one H200), for
vocabularies 250,002 (XLM-R) and 401,145 (Glot500), sequence 512, 32 sequences per step, sdpa attention, fused AdamW,
bf16 autocast and fp16 autocast with a GradScaler, measures per model:
  - step time (median after warm-up), tokens/s, peak torch.cuda.max_memory_allocated (reset per case);
  - model FLOPs utilisation (MFU) against the GPU's dense bf16 peak (PEAK_BF16_DENSE: the value and its source
    are written out), the FLOPs counted where each model runs its LM head (ours: masked positions; stock: all);
  - the largest batch it fits (doubling, then bisection; out-of-memory caught), for --fit-dtypes (bf16);
  - with Liger Kernel importable, ours with its fused linear cross-entropy as a third model ("langsamp+liger").
and checks the losses on identical weights and masks: ours vs stock and Liger vs plain, strictly in fp32 (eval
mode, no dropout) and in each autocast dtype (first step, same dropout seed) within that dtype's epsilon.
Results go to bench/results/gpu_train_step.json and .md (--tiny: gpu_train_step_tiny.*).

Standalone: needs only torch, transformers and the repository's root modules; nothing from data/, no Hub, no
tokenizer files (random token ids with XLM-R's special-token layout, masked by transformers'
DataCollatorForLanguageModeling over a placeholder vocabulary). On a GPU machine that lacks our transformers
version or Liger Kernel (it reaches no package registry):

    bash bench/gpu_prepare.sh                              # here, where pip reaches PyPI: wheels into .whl/
    python3 bench/gpu_train_step.py --install-wheels       # there (the .whl/ folder travels with the tree)
    # the same by hand: python3 -m pip install --no-index --no-deps --target /tmp/site .whl/*.whl
    #                   PYTHONPATH=/tmp/site python3 bench/gpu_train_step.py

CPU dry run of the same code path (tiny encoder, seconds; what tests/bench/test_gpu_train_step.py runs):

    .venv/bin/python bench/gpu_train_step.py --tiny --device cpu
"""

import argparse
import atexit
import gc
import importlib.metadata
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
import train_step

# Dense (no sparsity) bf16 tensor-core peaks, matched as substrings of torch.cuda.get_device_name(), first match wins.
# NVIDIA's datasheets print the sparse figure ("with sparsity"); dense is half of it.
PEAK_BF16_DENSE = [
    ("H200 NVL", 835.5e12, "NVIDIA H200 NVL datasheet: BF16 Tensor Core 1,671 TFLOPS with sparsity, so 835.5 dense"),
    ("H200", 989.4e12, "NVIDIA H200 (SXM) datasheet: BF16 Tensor Core 1,979 TFLOPS with sparsity, so 989.4 dense"),
    ("H100 NVL", 835.5e12, "NVIDIA H100 NVL datasheet: BF16 Tensor Core 1,671 TFLOPS with sparsity, so 835.5 dense"),
    ("H100 PCIe", 756.5e12, "NVIDIA H100 PCIe datasheet: BF16 Tensor Core 1,513 TFLOPS with sparsity, so 756.5 dense"),
    ("H100", 989.4e12, "NVIDIA H100 SXM datasheet: BF16 Tensor Core 1,979 TFLOPS with sparsity, so 989.4 dense"),
    ("A100", 312e12, "NVIDIA A100 datasheet: BF16 Tensor Core 312 TFLOPS dense (624 with sparsity)"),
]
VOCAB_SIZES = (250002, 401145)  # XLM-R's vocabulary; Glot500's
DTYPES = ("bf16", "fp16", "fp32")
MODELS = ("langsamp", "xlmr", "langsamp+liger")
MASK_PROBABILITY = 0.15
SEED = 0
STEP_SEED = 1000  # torch.manual_seed(STEP_SEED + step) before every step: the same dropout masks for every model
FP32_CHECK_SEQUENCES = 4
FIT_GRANULARITY = 8  # the largest-batch bisection stops when fits and fails are this many sequences apart
# Settings per mode: the GPU run, and the tiny CPU dry run through the same code (two vocabularies as well).
MODES = {
    "gpu": dict(
        shape="base",
        vocab_sizes=VOCAB_SIZES,
        seq_len=512,
        batch_size=32,
        warmup=3,
        steps=10,
        fit_max=4096,
        budget_s=300,
        fit_s=30,
    ),
    "tiny": dict(
        shape="tiny",
        vocab_sizes=(1000, 1601),
        seq_len=32,
        batch_size=4,
        warmup=1,
        steps=2,
        fit_max=8,
        budget_s=120,
        fit_s=20,
    ),
}


class BadInput(ValueError):
    """A wrong option: reported in one line, exit code 2, before anything expensive."""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        raise BadInput(message)


def parse_args(argv=None):
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="tiny encoder, vocabularies 1,000 and 1,601, sequence 32, batch 4: a dry run in seconds",
    )
    parser.add_argument(
        "--device", choices=("auto", "cuda", "cpu"), default="auto", help="auto (default): cuda when torch sees a GPU"
    )
    parser.add_argument(
        "--dtypes",
        default="bf16,fp16",
        help=f"comma-separated autocast dtypes from {','.join(DTYPES)} (default bf16,fp16)",
    )
    parser.add_argument(
        "--fit-dtypes",
        help="dtypes whose largest batch is searched (default bf16, else the first of --dtypes; 'none' to skip)",
    )
    parser.add_argument(
        "--vocab-sizes", help="comma-separated vocabulary sizes (default 250002,401145; --tiny 1000,1601)"
    )
    parser.add_argument("--batch-size", type=int, help="sequences per step (default 32; --tiny 4)")
    parser.add_argument("--seq-len", type=int, help="tokens per sequence, at most 512 (default 512; --tiny 32)")
    parser.add_argument("--steps", type=int, help="timed steps per case after the warm-up (default 10; --tiny 2)")
    parser.add_argument("--warmup", type=int, help="untimed steps per case first (default 3; --tiny 1)")
    parser.add_argument("--fit-max", type=int, help="largest batch a search tries (default 4096; --tiny 8)")
    parser.add_argument(
        "--fit-seconds", type=float, help="time limit of one largest-batch search (default 30; --tiny 20)"
    )
    parser.add_argument(
        "--budget-s",
        type=float,
        help="measurement time budget in seconds; what does not fit is skipped and said so (default 300; --tiny 120)",
    )
    parser.add_argument(
        "--liger",
        choices=("auto", "on", "off"),
        default="auto",
        help="Liger Kernel's fused linear cross-entropy as a third model: auto (default) where it imports on a GPU; "
        "on: fail without it",
    )
    parser.add_argument(
        "--peak-tflops",
        type=float,
        help="dense bf16 peak of the GPU in TFLOP/s, for a GPU PEAK_BF16_DENSE does not list",
    )
    parser.add_argument(
        "--install-wheels",
        nargs="?",
        const=str(common.ROOT / ".whl"),
        metavar="DIR",
        help="first pip-install (--no-index --no-deps) the wheels in DIR (default .whl/, from bench/gpu_prepare.sh) "
        "into a temporary folder and use them",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=common.RESULTS_DIR,
        help="folder for the JSON and markdown (default bench/results/)",
    )
    args = parser.parse_args(argv)
    args.command = " ".join(["python bench/gpu_train_step.py", *(sys.argv[1:] if argv is None else argv)])

    mode = MODES["tiny" if args.tiny else "gpu"]
    for name in ("batch_size", "seq_len", "steps", "warmup", "fit_max"):
        value = getattr(args, name)
        setattr(args, name, mode[name] if value is None else value)
    args.budget_s = mode["budget_s"] if args.budget_s is None else args.budget_s
    args.fit_seconds = mode["fit_s"] if args.fit_seconds is None else args.fit_seconds
    args.shape = mode["shape"]
    args.mode = "tiny" if args.tiny else "gpu"
    for name, low in (("batch_size", 1), ("seq_len", 3), ("steps", 1), ("warmup", 0), ("fit_max", 1)):
        if getattr(args, name) < low:
            parser.error(f"--{name.replace('_', '-')} {getattr(args, name)}: give at least {low}.")
    if args.seq_len > common.COMMON_CONFIG["max_position_embeddings"] - 2:
        parser.error(
            f"--seq-len {args.seq_len}: XLM-R's positions allow at most "
            f"{common.COMMON_CONFIG['max_position_embeddings'] - 2}."
        )
    if args.budget_s <= 0 or args.fit_seconds <= 0:
        parser.error("--budget-s and --fit-seconds must be positive.")
    if args.peak_tflops is not None and args.peak_tflops <= 0:
        parser.error(f"--peak-tflops {args.peak_tflops}: give the GPU's dense bf16 peak in TFLOP/s, e.g. 989.4.")
    args.dtypes = _choices("--dtypes", args.dtypes, DTYPES, parser)
    if args.fit_dtypes is None:
        args.fit_dtypes = [d for d in args.dtypes if d == "bf16"] or args.dtypes[:1]
    elif args.fit_dtypes.strip() == "none":
        args.fit_dtypes = []
    else:
        args.fit_dtypes = _choices("--fit-dtypes", args.fit_dtypes, args.dtypes, parser, "the measured --dtypes")
    if args.vocab_sizes is None:
        args.vocab_sizes = list(mode["vocab_sizes"])
    else:
        try:
            args.vocab_sizes = [int(v) for v in args.vocab_sizes.split(",") if v.strip()]
        except ValueError:
            parser.error(
                f"--vocab-sizes {args.vocab_sizes!r}: give whole numbers separated by commas, e.g. 250002,401145."
            )
        if not args.vocab_sizes or min(args.vocab_sizes) < 16:
            parser.error(f"--vocab-sizes {args.vocab_sizes}: give sizes of at least 16 (special tokens plus pieces).")
    if args.install_wheels is not None:
        wheels = sorted(Path(args.install_wheels).glob("*.whl"))
        if not wheels:
            parser.error(
                f"--install-wheels: no .whl files in {args.install_wheels}; run `bash bench/gpu_prepare.sh` where pip "
                "reaches PyPI first."
            )
        args.wheels = wheels
    return args


def _choices(option, text, allowed, parser, what="the choices"):
    values = [v.strip() for v in text.split(",") if v.strip()]
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        parser.error(f"{option} {text!r}: {', '.join(bad) or 'none given'} not among {what} ({','.join(allowed)}).")
    return values


def install_wheels(wheels):
    """pip-install `wheels` without dependencies or an index into a fresh folder and put it first on sys.path
    (before transformers is imported, so the carried version is the one used)."""
    if "transformers" in sys.modules:
        raise RuntimeError("install_wheels must run before transformers is imported.")
    target = tempfile.mkdtemp(prefix="langsamp-wheels-")
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "-q",
        "--no-index",
        "--no-deps",
        "--no-compile",
        "--target",
        target,
        *map(str, wheels),
    ]
    subprocess.run(command, check=True)
    sys.path.insert(0, target)
    print(f"Installed {', '.join(w.name for w in wheels)} into {target}", flush=True)


# ---- environment ------------------------------------------------------------------------------------------------


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment(device):
    import torch
    import transformers

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "transformers_path": str(Path(transformers.__file__).parent),
        "triton": _version("triton"),
        "liger_kernel": _version("liger-kernel"),
        "cuda": torch.version.cuda,
        "device": device.type,
        "cpu_cores_visible": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(
            gpu=torch.cuda.get_device_name(device),
            gpu_memory_gib=round(props.total_memory / 2**30, 1),
            gpu_multiprocessors=props.multi_processor_count,
            cudnn=torch.backends.cudnn.version(),
        )
        try:
            smi = subprocess.run(
                ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=20,
            )
            info["driver"] = smi.stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            info["driver"] = None
    try:  # the transformers version this project asks for, against the one that runs
        from packaging.requirements import Requirement

        for line in (common.ROOT / "requirements.txt").read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("transformers"):
                requirement = Requirement(line)
                info["transformers_required"] = str(requirement.specifier)
                info["transformers_meets_requirement"] = requirement.specifier.contains(
                    transformers.__version__, prereleases=True
                )
    except (ImportError, OSError):
        pass
    return info


def bf16_peak(env, override_tflops):
    """(FLOP/s, where the figure comes from) for MFU, or (None, why there is none)."""
    if override_tflops:
        return override_tflops * 1e12, f"--peak-tflops {override_tflops} (given on the command line)"
    if env["device"] != "cuda":
        return None, "no MFU on CPU: the table lists GPUs' dense bf16 peaks only"
    for key, flops, source in PEAK_BF16_DENSE:
        if key in env["gpu"]:
            return flops, source
    return None, f"{env['gpu']!r} is not in PEAK_BF16_DENSE: pass --peak-tflops with its dense bf16 peak for MFU"


def measured_matmul_tflops(device):
    """A large bf16 matmul's rate on random data (median of 10 after 3 warm-ups): the ceiling this card reaches in
    practice, next to the datasheet's peak."""
    import torch

    n = 8192
    a, b = (torch.randn(n, n, device=device, dtype=torch.bfloat16) for _ in range(2))
    times = []
    for i in range(13):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        a @ b
        end.record()
        torch.cuda.synchronize()
        if i >= 3:
            times.append(start.elapsed_time(end) / 1e3)
    del a, b
    return 2 * n**3 / statistics.median(times) / 1e12


# ---- inputs -----------------------------------------------------------------------------------------------------


def placeholder_collator(vocab_size):
    """transformers' DataCollatorForLanguageModeling (15%, 80/10/10, as the Trainer masks) over a placeholder
    vocabulary with XLM-R's special-token layout: <s>=0 <pad>=1 </s>=2 <unk>=3 ... <mask>=vocab_size-1. No
    tokenizer files needed: the benchmark feeds random ids, whose cost equals real text's."""
    from transformers import DataCollatorForLanguageModeling, XLMRobertaTokenizer

    pieces = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces += [(f"\u2581p{i}", -1.0) for i in range(vocab_size - len(pieces) - 1)] + [("<mask>", 0.0)]
    tokenizer = XLMRobertaTokenizer(vocab=pieces)
    if len(tokenizer) != vocab_size or tokenizer.mask_token_id != vocab_size - 1:
        raise RuntimeError(
            f"placeholder vocabulary: {len(tokenizer)} pieces, <mask> at {tokenizer.mask_token_id}; expected "
            f"{vocab_size}, {vocab_size - 1}."
        )
    return DataCollatorForLanguageModeling(tokenizer, mlm_probability=MASK_PROBABILITY)


def masked_batch(collator, batch_size, seq_len, n_languages, n_scripts):
    """One training batch from the global torch RNG (seed it for reproducible batches): `<s> ids </s>` rows of
    random pieces, masked by the collator, with one language and one script id per sequence."""
    import torch

    tokenizer = collator.tokenizer
    ids = torch.randint(4, len(tokenizer) - 1, (batch_size, seq_len))
    ids[:, 0], ids[:, -1] = tokenizer.bos_token_id, tokenizer.eos_token_id
    special = torch.zeros_like(ids, dtype=torch.bool)
    special[:, 0] = special[:, -1] = True
    input_ids, labels = collator.torch_mask_tokens(ids, special_tokens_mask=special)
    return {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        "labels": labels,
        "lang_ids": torch.randint(n_languages, (batch_size,)),
        "script_ids": torch.randint(n_scripts, (batch_size,)),
    }


def model_inputs(model_name, batch, device):
    """The batch as `model_name` takes it: the stock model has no use for language and script ids."""
    drop = ("lang_ids", "script_ids") if model_name == "xlmr" else ()
    return {k: v.to(device) for k, v in batch.items() if k not in drop}


# ---- models -----------------------------------------------------------------------------------------------------


def liger_loss_class(choice, device):
    """(LigerFusedLinearCrossEntropyLoss or None, a line saying why)."""
    if choice == "off":
        return None, "off (--liger off)"
    if device.type != "cuda":
        if choice == "on":
            raise BadInput("--liger on: Liger Kernel's Triton kernels need a GPU; this run is on CPU.")
        return None, "not measured: Liger Kernel's Triton kernels need a GPU"
    try:
        from liger_kernel.transformers.fused_linear_cross_entropy import LigerFusedLinearCrossEntropyLoss
    except Exception as error:  # ImportError, or a Triton / transformers mismatch inside it
        if choice == "on":
            raise BadInput(
                f"--liger on: liger_kernel does not import ({type(error).__name__}: {error}); bring its wheel with "
                "bench/gpu_prepare.sh."
            ) from error
        return None, f"not measured: liger_kernel does not import ({type(error).__name__}: {error})"
    return LigerFusedLinearCrossEntropyLoss, f"liger-kernel {_version('liger-kernel')}"


def fuse_head_loss(model, fused_loss):
    """Let our model's LM head end in `fused_loss(weight, hidden, labels, bias) -> mean loss` (the signature of
    Liger's LigerFusedLinearCrossEntropyLoss), which runs the decoder matmul and the cross-entropy together in
    chunks, so the [n_masked, vocab] logits never exist whole. Our forward is otherwise unchanged (masked
    positions selected, tables added, dense + gelu + layer norm): the decoder becomes an identity, so the "logits"
    handed to the loss are its input, and the model's loss function becomes the fused one over the decoder's
    (tied) weight and bias."""
    import torch

    decoder = model.lm_head.decoder
    if decoder.weight is not model.roberta.embeddings.word_embeddings.weight:
        raise RuntimeError("fuse_head_loss: the decoder is not tied to the word embeddings.")
    model.lm_head.decoder = torch.nn.Identity()

    def loss_function(hidden, labels, **_):
        return fused_loss(decoder.weight, hidden, labels, decoder.bias)

    model.loss_function = loss_function
    return model


def build_model(model_name, shape, state, vocab_size, device, liger_class=None):
    base = "xlmr" if model_name == "xlmr" else "langsamp"
    model = train_step.build(base, shape, state, device, vocab_size=vocab_size, attn_implementation="sdpa")
    if model_name == "langsamp+liger":
        fuse_head_loss(model, liger_class())
    return model


def optimizer_for(model):
    import torch

    # The recipe's optimizer, as bench/train_step.py: AdamW (0.9, 0.999, 1e-8), no weight decay, fused.
    return torch.optim.AdamW(model.parameters(), lr=5e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, fused=True)


class Trainer:
    """One model's training step under one precision: autocast to `dtype` (none for fp32), a GradScaler for fp16."""

    def __init__(self, model, dtype, device):
        import torch

        self.model, self.dtype, self.device = model, dtype, device
        self.optimizer = optimizer_for(model)
        self.autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}[dtype]
        self.new_scaler()

    def new_scaler(self):
        import torch

        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.dtype == "fp16")

    def step(self, inputs):
        import torch

        with torch.autocast(self.device.type, dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None):
            loss = self.model(**inputs).loss
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        return loss.detach()


def synchronize(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def free_memory(device, collect=True):
    """Give the freed GPU memory back (empty_cache), after a garbage collection when `collect` (a model just
    deleted: ~0.3 s, so not after every probe). Nothing to do on CPU."""
    if device.type != "cuda":
        return
    import torch

    if collect:
        gc.collect()
    torch.cuda.empty_cache()


def is_out_of_memory(error):
    import torch

    return isinstance(error, torch.OutOfMemoryError)


# ---- measurements -----------------------------------------------------------------------------------------------


def fp32_losses(models, state, shape, vocab_size, batch, device, liger_class):
    """Eval-mode (no dropout) fp32 loss of each model on the same batch: the strict equality check."""
    import torch

    losses = {}
    for name in models:
        model = build_model(name, shape, state, vocab_size, device, liger_class).eval()
        with torch.no_grad():
            losses[name] = model(**model_inputs(name, batch, device)).loss.item()
        del model
        free_memory(device)
    return losses


def time_case(model_name, dtype, args, state, vocab_size, batches, device, liger_class, peak_flops):
    """Warm-up + timed steps of one model in one precision; its losses, times, peak memory, FLOPs and MFU."""
    import torch

    model = build_model(model_name, args.shape, state, vocab_size, device, liger_class).train()
    trainer = Trainer(model, dtype, device)
    inputs = [model_inputs(model_name, b, device) for b in batches]
    free_memory(device, collect=False)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times, losses = [], []
    for step, batch in enumerate(inputs):
        torch.manual_seed(STEP_SEED + step)
        synchronize(device)
        start = time.perf_counter()
        loss = trainer.step(batch)
        synchronize(device)
        times.append(time.perf_counter() - start)
        losses.append(loss.item())
    timed = times[args.warmup :]
    median = statistics.median(timed)
    batch_size, seq_len = batches[0]["input_ids"].shape
    masked = statistics.mean(int((b["labels"] != -100).sum()) for b in batches)
    config = model.config.to_dict()
    computed = common.training_flops(
        config, batch_size, seq_len, batch_size * seq_len if model_name == "xlmr" else masked
    )
    needed = common.training_flops(config, batch_size, seq_len, masked)
    result = {
        "model": model_name,
        "vocab_size": vocab_size,
        "dtype": dtype,
        "batch_size": int(batch_size),
        "seq_len": int(seq_len),
        "attn_implementation": model.config._attn_implementation,
        "masked_per_step": masked,
        "step_times_s": times,
        "warmup_steps": args.warmup,
        "median_step_s": median,
        "min_step_s": min(timed),
        "tokens_per_s": batch_size * seq_len / median,
        "losses": losses,
        "peak_memory_bytes": torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None,
        "memory_kind": "torch.cuda.max_memory_allocated, reset after model, optimizer and batches were placed"
        if device.type == "cuda"
        else "not measured on CPU",
        "parameters": sum(p.numel() for p in model.parameters()),
        "flops_per_step": computed,
        "flops_per_step_needed": needed,
        "mfu": computed["total"] / median / peak_flops if peak_flops else None,
        "mfu_needed": needed["total"] / median / peak_flops if peak_flops else None,
        "grad_scale_end": trainer.scaler.get_scale() if trainer.scaler.is_enabled() else None,
    }
    del trainer, model, inputs  # the caller frees the memory
    return result


def largest_fitting(fits, start, limit, time_left, granularity=FIT_GRANULARITY):
    """The largest batch in [1, limit] for which `fits(batch)` holds, assuming that fitting is monotone: try
    `start`, double while it fits, then bisect between the largest fit and the smallest failure down to
    `granularity` sequences (to one while nothing fits). Stops early when `time_left()` is not positive. Returns
    (largest fit or 0, smallest
    failure or None, why it stopped)."""
    fit, fail = 0, None
    batch = min(start, limit)
    while time_left() > 0:
        if fits(batch):
            fit = batch
            if batch >= limit:
                return fit, fail, f"fits the search's limit of {limit}"
            batch = min(batch * 2, limit)
        else:
            fail = batch
            break
    else:
        return fit, fail, "stopped by the time limit while doubling"
    while fail - fit > (granularity if fit else 1):  # near zero, down to the single sequence
        if time_left() <= 0:
            return fit, fail, "stopped by the time limit while bisecting"
        middle = (fit + fail) // 2
        if middle <= fit:
            break
        if fits(middle):
            fit = middle
        else:
            fail = middle
    return fit, fail, f"fits {fit}, not {fail}" if fit else f"not even {fail}"


def fit_case(
    model_name, dtype, args, state, vocab_size, collator, device, liger_class, n_languages, n_scripts, deadline
):
    """The largest batch `model_name` trains in one step (forward, backward, AdamW with its state) in `dtype`."""
    import torch

    model = build_model(model_name, args.shape, state, vocab_size, device, liger_class).train()
    trainer = Trainer(model, dtype, device)
    case_deadline = min(deadline, time.perf_counter() + args.fit_seconds)
    probes = []

    def fits(batch_size):
        torch.manual_seed(SEED + batch_size)
        batch = model_inputs(
            model_name, masked_batch(collator, batch_size, args.seq_len, n_languages, n_scripts), device
        )
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        start = time.perf_counter()
        error = None
        try:
            trainer.step(batch)
            synchronize(device)
        except Exception as caught:
            if not is_out_of_memory(caught):
                raise
            error = f"{type(caught).__name__}"
        # Outside the handler, so the traceback's frames (and the activations they hold) are gone.
        del batch
        ok = error is None
        probes.append(
            {
                "batch_size": batch_size,
                "fits": ok,
                "seconds": round(time.perf_counter() - start, 3),
                "peak_memory_bytes": torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None,
            }
        )
        if not ok:
            trainer.optimizer.zero_grad(set_to_none=True)
            trainer.new_scaler()  # a step cut short can leave a scaler mid-step
        free_memory(device, collect=False)
        print(
            f"    batch {batch_size}: {'fits' if ok else 'out of memory'} ({probes[-1]['seconds']:.1f} s)", flush=True
        )
        return ok

    fit, fail, why = largest_fitting(fits, args.batch_size, args.fit_max, lambda: case_deadline - time.perf_counter())
    trainer = model = None  # the caller frees the memory (`fits` still closes over the names)
    return {
        "model": model_name,
        "vocab_size": vocab_size,
        "dtype": dtype,
        "seq_len": args.seq_len,
        "largest_batch": fit,
        "smallest_failing_batch": fail,
        "status": why,
        "probes": probes,
    }


def loss_check(kind, vocab_size, dtype, name_a, loss_a, name_b, loss_b):
    """Agreement of two losses on identical weights and masks. fp32: 1e-5 relative (different reduction orders
    only). Autocast: the dtype's machine epsilon relative (the head's matmuls run on different row counts, so
    rounding may differ); the strict check is the fp32 one."""
    import torch

    eps = {"fp32": 1e-5, "bf16": torch.finfo(torch.bfloat16).eps, "fp16": torch.finfo(torch.float16).eps}[dtype]
    tolerance = eps * max(1.0, abs(loss_b))
    diff = abs(loss_a - loss_b)
    return {
        "kind": kind,
        "vocab_size": vocab_size,
        "dtype": dtype,
        "a": name_a,
        "b": name_b,
        "loss_a": loss_a,
        "loss_b": loss_b,
        "abs_diff": diff,
        "tolerance": tolerance,
        "equal": bool(diff <= tolerance) and math.isfinite(loss_a) and math.isfinite(loss_b),
    }


# ---- report -----------------------------------------------------------------------------------------------------

MODEL_LABELS = {"langsamp": "LangSAMP", "xlmr": "stock XLM-R", "langsamp+liger": "LangSAMP + Liger FLCE"}


def _gib(value):
    return "-" if value is None else f"{value / 2**30:.1f}"


def _pct(value):
    return "-" if value is None else f"{value:.1%}"


def render(report):
    env, s = report["environment"], report["settings"]
    device = env.get("gpu") or f"CPU ({env['cpu_cores_visible']} cores)"
    c = s["config"]
    lines = [
        f"# Training step on {device}: LangSAMPForMaskedLM vs XLMRobertaForMaskedLM ({report['mode']} run)",
        "",
        f"Command: `{report['command']}`  ",
        f"Date: {report['date']}; wall time {report['wall_s']:.0f} s (budget {s['budget_s']:.0f} s of measurement)  ",
        "Versions: "
        + ", ".join(
            f"{k} {env[k]}"
            for k in ("python", "torch", "transformers", "cuda", "cudnn", "triton", "liger_kernel", "driver")
            if env.get(k)
        ),
        "",
        f"Encoder: hidden {c['hidden_size']}, {c['num_hidden_layers']} layers, {c['num_attention_heads']} heads, FFN "
        f"{c['intermediate_size']}, {s['attn_implementation']} attention, dropout {c['hidden_dropout_prob']}; random "
        f"init from seed {SEED}, the LangSAMP tables zeroed (their addition still runs) and the same weights loaded "
        f"into the stock model. Step = forward + backward + fused AdamW (lr 5e-5); batches of {s['batch_size']} x "
        f"{s['seq_len']} random pieces, {MASK_PROBABILITY:.0%} masked by DataCollatorForLanguageModeling, identical "
        f"for every model; same dropout seed per step. Median of {s['steps']} steps after {s['warmup']} warm-up.",
        "",
        f"MFU = model FLOPs per step / median step time / peak. Peak: {report['peak_source']}"
        + (
            f"; a bf16 8192^3 matmul measured {report['matmul_bf16_tflops']:.0f} TFLOP/s on this card."
            if report.get("matmul_bf16_tflops")
            else "."
        ),
        "FLOPs: 6 x encoder matmul weights x tokens + attention (12 x layers x seq^2 x hidden per sequence) + the LM "
        "head (6 x (hidden^2 + hidden x vocab) per position) at the positions each model runs it: ours at the masked "
        "ones, stock at all of them. 'MFU, needed' counts the head at the masked positions for both: the work the "
        "loss needs.",
        "",
        "| vocab | dtype | model | step (ms) | tokens/s | peak memory (GiB) | TFLOP/step | MFU | MFU, needed | "
        "largest batch |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    fits = {(f["vocab_size"], f["dtype"], f["model"]): f for f in report["fits"]}
    for r in report["cases"]:
        key = (r["vocab_size"], r["dtype"], r["model"])
        label = MODEL_LABELS[r["model"]]
        if r.get("error"):
            lines.append(f"| {r['vocab_size']:,} | {r['dtype']} | {label} | {r['error']} | | | | | | |")
            continue
        fit = fits.get(key)
        fit_text = (
            "-"
            if fit is None
            else (f"{fit['largest_batch']}" + ("" if fit["smallest_failing_batch"] else "+") + f" ({fit['status']})")
        )
        lines.append(
            f"| {r['vocab_size']:,} | {r['dtype']} | {label} | {r['median_step_s'] * 1e3:,.1f} | "
            f"{r['tokens_per_s']:,.0f} | {_gib(r['peak_memory_bytes'])} | {r['flops_per_step']['total'] / 1e12:.3g} | "
            f"{_pct(r['mfu'])} | {_pct(r['mfu_needed'])} | {fit_text} |"
        )
    ratios = report["ratios"]
    if ratios:
        lines += [
            "",
            "| vocab | dtype | stock / ours step time | ours / stock peak memory | largest batch, ours / stock |",
            "|---:|---|---:|---:|---:|",
        ]
        for q in ratios:
            memory = "-" if q["memory_ratio"] is None else f"{q['memory_ratio']:.2f}"
            batch = "-" if q["largest_batch_ratio"] is None else f"{q['largest_batch_ratio']:.1f}x"
            lines.append(f"| {q['vocab_size']:,} | {q['dtype']} | {q['speedup']:.2f}x | {memory} | {batch} |")
    lines += [
        "",
        "Loss checks (identical weights and masks):",
        "",
        "| vocab | precision | compared | loss a | loss b | abs diff | tolerance | equal |",
        "|---:|---|---|---:|---:|---:|---:|---|",
    ]
    for k in report["loss_checks"]:
        lines.append(
            f"| {k['vocab_size']:,} | {k['dtype']} ({k['kind']}) | {MODEL_LABELS[k['a']]} vs {MODEL_LABELS[k['b']]} | "
            f"{k['loss_a']:.6f} | {k['loss_b']:.6f} | {k['abs_diff']:.1e} | {k['tolerance']:.1e} | "
            f"{'yes' if k['equal'] else 'NO'} |"
        )
    lines += ["", f"Liger Kernel: {report['liger']}."]
    if report["largest_batch_note"]:
        lines.append(report["largest_batch_note"])
    for item in report["skipped"]:
        lines.append(f"Skipped: {item}.")
    for item in report["errors"]:
        lines.append(f"**Error**: {item}")
    return "\n".join(lines) + "\n"


def ratios(cases, fits):
    by_key = {(r["vocab_size"], r["dtype"], r["model"]): r for r in cases if not r.get("error")}
    fit_by_key = {(f["vocab_size"], f["dtype"], f["model"]): f for f in fits}
    rows = []
    for (vocab, dtype, model), ours in by_key.items():
        stock = by_key.get((vocab, dtype, "xlmr"))
        if model != "langsamp" or stock is None:
            continue
        fo, fs = fit_by_key.get((vocab, dtype, "langsamp")), fit_by_key.get((vocab, dtype, "xlmr"))
        rows.append(
            {
                "vocab_size": vocab,
                "dtype": dtype,
                "speedup": stock["median_step_s"] / ours["median_step_s"],
                "memory_ratio": ours["peak_memory_bytes"] / stock["peak_memory_bytes"]
                if ours["peak_memory_bytes"]
                else None,
                "largest_batch_ratio": fo["largest_batch"] / fs["largest_batch"]
                if fo and fs and fs["largest_batch"]
                else None,
            }
        )
    return rows


def write(report, output):
    output.mkdir(parents=True, exist_ok=True)
    stem = "gpu_train_step" if report["mode"] == "gpu" else "gpu_train_step_tiny"
    report["ratios"] = ratios(report["cases"], report["fits"])
    report["wall_s"] = (
        time.perf_counter() - report.pop("_started") if "_started" in report else report.get("wall_s", 0.0)
    )
    paths = output / f"{stem}.json", output / f"{stem}.md"
    paths[0].write_text(json.dumps(report, indent=2) + "\n")
    paths[1].write_text(render(report))
    return paths


# ---- the run ----------------------------------------------------------------------------------------------------


def run(args):
    import torch

    from configuration_langsamp import LangSAMPConfig

    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device == "cuda" and not torch.cuda.is_available():
        raise BadInput(
            "--device cuda: torch sees no GPU here (torch.cuda.is_available() is False); use --device cpu for a dry "
            "run."
        )
    device = torch.device(args.device)
    started = time.perf_counter()
    deadline = started + args.budget_s
    env = environment(device)
    liger_class, liger_status = liger_loss_class(args.liger, device)
    peak_flops, peak_source = bf16_peak(env, args.peak_tflops)
    print("Environment: " + ", ".join(f"{k} {v}" for k, v in env.items()), flush=True)
    if env.get("transformers_meets_requirement") is False:
        print(
            f"Warning: transformers {env['transformers']} is outside requirements.txt's "
            f"{env['transformers_required']}: bring the wheel with bench/gpu_prepare.sh and pass --install-wheels.",
            flush=True,
        )
    models = ["langsamp", "xlmr"] + (["langsamp+liger"] if liger_class else [])
    inventory = LangSAMPConfig()
    n_languages, n_scripts = len(inventory.languages), len(inventory.scripts)
    report = {
        "mode": args.mode,
        "command": args.command,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "environment": env,
        "settings": {
            "shape": args.shape,
            "config": {
                k: v for k, v in common.model_config(args.shape).items() if k != "vocab_size"
            },  # vocab_sizes below
            "vocab_sizes": args.vocab_sizes,
            "dtypes": args.dtypes,
            "fit_dtypes": args.fit_dtypes,
            "batch_size": args.batch_size,
            "seq_len": args.seq_len,
            "warmup": args.warmup,
            "steps": args.steps,
            "fit_max": args.fit_max,
            "fit_seconds": args.fit_seconds,
            "budget_s": args.budget_s,
            "attn_implementation": "sdpa",
            "mask_probability": MASK_PROBABILITY,
            "models": models,
        },
        "peak_bf16_flops": peak_flops,
        "peak_source": peak_source,
        "matmul_bf16_tflops": measured_matmul_tflops(device) if device.type == "cuda" else None,
        "liger": liger_status,
        "cases": [],
        "fits": [],
        "loss_checks": [],
        "skipped": [],
        "errors": [],
        "largest_batch_note": ""
        if device.type == "cuda"
        else "Largest batch on CPU: nothing runs out of memory here, so the search only exercises its code up to "
        "--fit-max.",
        "_started": started,
    }
    if report["matmul_bf16_tflops"]:
        print(
            f"bf16 8192^3 matmul: {report['matmul_bf16_tflops']:.0f} TFLOP/s; peak used for MFU: {peak_source}",
            flush=True,
        )

    def over_budget(what):
        if time.perf_counter() < deadline:
            return False
        report["skipped"].append(f"{what} (time budget of {args.budget_s:.0f} s spent)")
        print(f"[skip] {what}: time budget spent", flush=True)
        return True

    states, collators = {}, {}
    for vocab in args.vocab_sizes:
        if over_budget(f"vocabulary {vocab:,}"):
            continue
        print(f"[vocab {vocab:,}] weights and batches...", flush=True)
        states[vocab] = train_step.initial_state(args.shape, SEED, vocab_size=vocab)
        collators[vocab] = collator = placeholder_collator(vocab)
        torch.manual_seed(SEED)
        batches = [
            masked_batch(collator, args.batch_size, args.seq_len, n_languages, n_scripts)
            for _ in range(args.warmup + args.steps)
        ]
        check_batch = {k: v[:FP32_CHECK_SEQUENCES] for k, v in batches[0].items()}
        try:
            fp32 = fp32_losses(models, states[vocab], args.shape, vocab, check_batch, device, liger_class)
            for name in models[1:]:
                report["loss_checks"].append(
                    loss_check("eval", vocab, "fp32", "langsamp", fp32["langsamp"], name, fp32[name])
                )
            print(f"[vocab {vocab:,}] fp32 losses: " + ", ".join(f"{k} {v:.6f}" for k, v in fp32.items()), flush=True)
        except Exception as error:
            report["errors"].append(f"fp32 loss check, vocabulary {vocab:,}: {type(error).__name__}: {error}")
            print(f"[vocab {vocab:,}] fp32 loss check FAILED: {error}", flush=True)
        free_memory(device)
        for dtype in args.dtypes:
            first = {}
            for name in models:
                if over_budget(f"timing of {name}, vocabulary {vocab:,}, {dtype}"):
                    continue
                try:
                    result = time_case(
                        name, dtype, args, states[vocab], vocab, batches, device, liger_class, peak_flops
                    )
                    first[name] = result["losses"][0]
                    print(
                        f"[vocab {vocab:,} {dtype}] {name}: {result['median_step_s'] * 1e3:.1f} ms/step, "
                        f"{result['tokens_per_s']:,.0f} tokens/s, peak {_gib(result['peak_memory_bytes'])} GiB, MFU "
                        f"{_pct(result['mfu'])}, loss {result['losses'][0]:.6f}",
                        flush=True,
                    )
                except Exception as error:
                    what = "out of memory" if is_out_of_memory(error) else f"{type(error).__name__}: {error}"
                    result = {
                        "model": name,
                        "vocab_size": vocab,
                        "dtype": dtype,
                        "batch_size": args.batch_size,
                        "error": what,
                    }
                    if not is_out_of_memory(error):
                        report["errors"].append(f"{name}, vocabulary {vocab:,}, {dtype}: {what}")
                    print(f"[vocab {vocab:,} {dtype}] {name}: {what}", flush=True)
                free_memory(device)  # here, after any handler: its traceback held the failed case's tensors
                report["cases"].append(result)
                write(dict(report), args.output)  # so far, in case the run is cut short
            for name in models[1:]:
                if "langsamp" in first and name in first:
                    report["loss_checks"].append(
                        loss_check("train, step 1", vocab, dtype, "langsamp", first["langsamp"], name, first[name])
                    )
        del batches

    for vocab in states:
        for dtype in args.fit_dtypes:
            for name in models:
                if over_budget(f"largest batch of {name}, vocabulary {vocab:,}, {dtype}"):
                    continue
                print(f"[vocab {vocab:,} {dtype}] {name}: largest batch...", flush=True)
                try:
                    fit = fit_case(
                        name,
                        dtype,
                        args,
                        states[vocab],
                        vocab,
                        collators[vocab],
                        device,
                        liger_class,
                        n_languages,
                        n_scripts,
                        deadline,
                    )
                    report["fits"].append(fit)
                    print(
                        f"[vocab {vocab:,} {dtype}] {name}: largest batch {fit['largest_batch']} ({fit['status']})",
                        flush=True,
                    )
                except Exception as error:
                    report["errors"].append(
                        f"largest batch of {name}, vocabulary {vocab:,}, {dtype}: {type(error).__name__}: {error}"
                    )
                free_memory(device)
                write(dict(report), args.output)
    return report


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.install_wheels is not None:
        install_wheels(args.wheels)
    import torch

    threads = torch.get_num_threads()
    if args.device == "cpu" or not torch.cuda.is_available():
        torch.set_num_threads(1)  # a CPU run is a dry run of tiny ops: more threads only add contention
    try:
        report = run(args)
    finally:
        torch.set_num_threads(threads)
    json_path, md_path = write(report, args.output)
    print("\n" + md_path.read_text())
    print(f"Written: {json_path}, {md_path}")
    failed = [k for k in report["loss_checks"] if not k["equal"]]
    if failed:  # a wrong model is not a fast model
        print(
            "LOSS CHECK FAILED: "
            + "; ".join(f"{k['a']} vs {k['b']}, vocabulary {k['vocab_size']:,}, {k['dtype']}" for k in failed)
        )
    if not any("median_step_s" in c for c in report["cases"]):
        print("Nothing was measured: see the skipped cases above (raise --budget-s?).")
        return 1
    return 1 if failed or report["errors"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BadInput as error:
        print(f"gpu_train_step.py: error: {error}", file=sys.stderr)
        sys.exit(2)
