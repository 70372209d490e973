"""LangSAMP benchmark, in one run, side by side with stock transformers XLM-R on the same inputs and weights:

  train     training step (forward + backward + AdamW) time and peak memory, LangSAMPForMaskedLM vs
            XLMRobertaForMaskedLM, vocabulary 250,002, sequence 128 and 512, with the loss-equality check
  tokenize  LangSAMPTokenizer with script detection vs XLMRobertaTokenizer, same tokenizer.json, real
            multilingual UDHR paragraphs
  data      raw Glot500-layout text files -> training-ready chunks, tokens/s on one core, against the tokens/s
            a training step consumes ("cores needed to keep the trainer fed")
  infer     mean-pooled encoder embeddings per second, eager vs sdpa attention, padded batches

Every measurement runs in a fresh process, on CPU (the inputs need data/ and the tokenizer setup.sh brings).
Figures are printed and written to bench/results/latest.json and bench/results/latest.md. On a GPU, the training
step of XLM-R base is bench/gpu_train_step.py's: standalone, for a bare GPU machine.

    .venv/bin/python bench/run_all.py                 # full run: a few minutes on 2 CPU cores
    .venv/bin/python bench/run_all.py --quick         # smoke check, under a minute
    .venv/bin/python bench/run_all.py --only train,infer
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import common
from common import mib

PARTS = ("train", "tokenize", "data", "infer")
TARGETS = {"train_speedup": 2.0, "train_memory_ratio": 0.5, "loss_tolerance": 1e-5, "tokenize_ratio": 0.95}

# Sizes per run mode, for the small shape (hidden 256, 4 layers) on CPU.
SETTINGS = {
    "full": dict(
        train=dict(seq_lens=[128, 512], batch_sizes=[8, 2], warmup=1, steps=4),
        tokenize=dict(texts=3000, batch_size=1000, repeats=9, parallelism=["true", "false"], single_texts=300),
        data=dict(copies=2, labels=None, max_seq_length=512),
        infer=dict(texts=256, batch_size=32, max_length=128, repeats=3),
    ),
    "quick": dict(
        train=dict(seq_lens=[128], batch_sizes=[4], warmup=0, steps=1),
        tokenize=dict(texts=300, batch_size=300, repeats=3, parallelism=["true"], single_texts=100),
        data=dict(copies=1, labels=20, max_seq_length=512),
        infer=dict(texts=32, batch_size=16, max_length=128, repeats=1),
    ),
}
COMPILE_WARMUP = 2  # extra warm-up steps with --compile: the first step compiles (forward and backward)
# Where no GPU was measured, the GPU trainer's appetite is an assumption, stated in the output: XLM-R base trained
# the LangSAMP way (head on 15% of positions) on one A100 (312 TFLOP/s bf16 peak) at 40% model-FLOPs utilisation.
ASSUMED_GPU = dict(
    name="one A100 (bf16, 312 TFLOP/s peak) at 40% MFU, XLM-R base, seq 512",
    peak_flops=312e12,
    mfu=0.40,
    seq=512,
    mask=0.15,
)


def training_flops_per_token(shape, seq, mask_share):
    """Training FLOPs per token of a masked LM trained the LangSAMP way (LM head at the masked positions only)."""
    return common.training_flops(common.model_config(shape), 1, seq, mask_share * seq)["total"] / seq


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a smoke check in under a minute")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    parser.add_argument(
        "--threads", type=int, default=2, help="torch threads for training and inference on CPU (default 2)"
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="train part: also time both models torch.compile'd (CPU inductor), all four in lockstep",
    )
    parser.add_argument(
        "--stock-malloc",
        action="store_true",
        help="train part: glibc's default malloc thresholds, not train.py's (langsamp/training/allocator.py)",
    )
    parser.add_argument("--output", type=Path, default=common.RESULTS_DIR, help="folder for latest.json / latest.md")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        parser.error(
            f"--only {args.only!r}: unknown part(s) {', '.join(unknown) or '(none given)'}; choose from "
            f"{','.join(PARTS)}."
        )
    if args.threads < 1:
        parser.error(f"--threads {args.threads}: give at least 1.")
    args.device = "cpu"  # a GPU run is bench/gpu_train_step.py
    args.parts = parts
    return args


def settings_for(args):
    mode = "quick" if args.quick else "full"
    settings = {part: dict(values) for part, values in SETTINGS[mode].items()}
    settings["shape"] = "small"
    settings["mode"] = mode
    return settings


# ---- the four parts -------------------------------------------------------------------------------------------


def run_train(args, settings, folder):
    import floor
    import train_step

    s = settings["train"]
    print(f"[train] preparing shared weights and masked batches ({settings['shape']} shape)...", flush=True)
    compiled = getattr(args, "compile", False)
    weights, batch_files = train_step.prepare(
        folder,
        settings["shape"],
        s["seq_lens"],
        s["batch_sizes"],
        s["warmup"] + s["steps"] + (COMPILE_WARMUP if compiled else 0),
    )
    print(f"[train] this machine's fp32 matmul rate and memory bandwidth ({args.threads} threads)...", flush=True)
    rates = floor.machine_rates(args.threads)
    rows = []
    variants = [(model, False) for model in ("langsamp", "xlmr")] + (
        [(model, True) for model in ("langsamp", "xlmr")] if compiled else []
    )
    for seq_len in s["seq_lens"]:
        print(
            f"[train] LangSAMP and stock XLM-R in lockstep{', eager and compiled' if compiled else ''}, sequence "
            f"{seq_len}...",
            flush=True,
        )
        ours, stock, *compiled_results = common.run_lockstep(
            "train_step",
            [
                dict(
                    model=model,
                    compile=compile_it,
                    shape=settings["shape"],
                    weights=str(weights),
                    batches=str(batch_files[seq_len]),
                    seq_len=seq_len,
                    device=args.device,
                    threads=args.threads,
                    warmup=s["warmup"] + (COMPILE_WARMUP if compiled else 0),
                    keep_large_blocks=not getattr(args, "stock_malloc", False),
                )
                for model, compile_it in variants
            ],
            s["warmup"] + s["steps"] + (COMPILE_WARMUP if compiled else 0),
            desc=f"train seq {seq_len}",
        )
        first_diff = abs(ours["losses"][0] - stock["losses"][0])
        step_floor = floor.step_floor(
            rates,
            common.model_config(settings["shape"]),
            ours["batch_size"],
            seq_len,
            ours["masked_per_step"],
            ours["parameters"],
        )
        rows.append(
            {
                "seq_len": seq_len,
                "langsamp": ours,
                "xlmr": stock,
                "speedup": stock["median_step_s"] / ours["median_step_s"],
                "time_ratio": ours["median_step_s"] / stock["median_step_s"],
                "cpu_speedup": stock["median_step_cpu_s"] / ours["median_step_cpu_s"],
                "memory_growth_ratio": ours["peak_growth_bytes"] / stock["peak_growth_bytes"],
                "memory_peak_ratio": ours["peak_bytes"] / stock["peak_bytes"],
                "loss_diff_step1": first_diff,
                "loss_diff_max_all_steps": max(abs(a - b) for a, b in zip(ours["losses"], stock["losses"])),
                "loss_equal": first_diff <= TARGETS["loss_tolerance"],
                "floor": step_floor,
            }
        )
        if compiled_results:
            ours_c, stock_c = compiled_results
            rows[-1].update(
                langsamp_compiled=ours_c,
                xlmr_compiled=stock_c,
                compiled_over_eager_langsamp=ours_c["median_step_s"] / ours["median_step_s"],
                compiled_over_eager_xlmr=stock_c["median_step_s"] / stock["median_step_s"],
                compiled_time_ratio=ours_c["median_step_s"] / stock_c["median_step_s"],
                compiled_loss_diff_max=max(abs(a - b) for a, b in zip(ours_c["losses"], ours["losses"])),
            )
    return {
        "shape": settings["shape"],
        "config": common.model_config(settings["shape"]),
        "settings": s,
        "rates": rates,
        "stock_malloc": bool(getattr(args, "stock_malloc", False)),
        "rows": rows,
    }


def run_tokenize(args, settings, folder):
    import texts

    s = settings["tokenize"]
    pairs = texts.paragraphs(s["texts"])
    path = folder / "tokenize_texts.json"
    path.write_text(json.dumps(pairs))
    results = {}
    for parallelism in s["parallelism"]:
        print(f"[tokenize] {len(pairs)} texts, TOKENIZERS_PARALLELISM={parallelism}...", flush=True)
        result = common.run_worker(
            "tokenize_throughput",
            dict(
                texts=str(path),
                batch_size=s["batch_size"],
                repeats=s["repeats"],
                parallelism=parallelism,
                single_texts=s["single_texts"],
            ),
            env={"TOKENIZERS_PARALLELISM": parallelism},
        )
        v = result["variants"]
        # the median of the per-repeat ratios (each repeat times all variants interleaved), not a ratio of medians
        result["ratio_detect"] = result["ratios"]["detect"]["wall"]["median"]
        result["ratio_label"] = v["label"]["tokens_per_s"] / v["stock"]["tokens_per_s"]
        results[parallelism] = result
    return {"settings": s, "by_parallelism": results}


def run_data(args, settings, folder, train):
    import texts

    s = settings["data"]
    labels = None
    if s["labels"]:
        labels = set(list(texts.translations())[: s["labels"]])
    corpora = {}
    # Two sizes tell the fixed cost of a build from its per-token rate; a quick run measures one.
    for name, copies in (("small", 1), ("main", s["copies"])) if s["copies"] > 1 else (("main", 1),):
        path, size = texts.write_corpus(folder / f"corpus_{name}", copies=copies, labels=labels)
        corpora[name] = {"path": str(path), "bytes": size, "copies": copies}
    sizes = ", ".join(f"{c['bytes'] / 1e6:.1f}" for c in corpora.values())
    print(f"[data] corpora of {sizes} MB, one core...", flush=True)
    result = common.run_worker(
        "data_pipeline",
        dict(corpora=corpora, max_seq_length=s["max_seq_length"]),
        env={"TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1", "RAYON_NUM_THREADS": "1"},
    )
    for name, c in corpora.items():
        result["corpora"][name]["copies"] = c["copies"]
    runs = result["runs"]
    # Per core = per CPU-second of single-threaded work (robust to other load on the machine).
    rates = {"direct (tokenizer only)": runs["direct"]["tokens_per_cpu_s"]}
    if "library_main" in runs:
        rates["build_pretraining_dataset, whole build"] = runs["library_main"]["tokens_per_cpu_s"]
    if result.get("library_marginal_tokens_per_cpu_s"):
        rates["build_pretraining_dataset, marginal"] = result["library_marginal_tokens_per_cpu_s"]
    consumers = []
    for row in (train or {}).get("rows", []):
        ours = row["langsamp"]
        consumers.append(
            {
                "what": f"LangSAMP training step, {train['shape']} shape, seq {row['seq_len']}, {args.device} "
                "(measured above)",
                "tokens_per_s": ours["tokens_per_step"] / ours["median_step_s"],
            }
        )
    flops = training_flops_per_token("base", ASSUMED_GPU["seq"], ASSUMED_GPU["mask"])
    consumers.append(
        {
            "what": f"ASSUMED, not measured (bench/gpu_train_step.py measures it on a GPU): {ASSUMED_GPU['name']}, "
            f"{flops / 1e9:.2f} GFLOP/token",
            "tokens_per_s": ASSUMED_GPU["peak_flops"] * ASSUMED_GPU["mfu"] / flops,
        }
    )
    for c in consumers:
        c["cores_needed"] = {name: c["tokens_per_s"] / rate for name, rate in rates.items()}
    return {"settings": s, "pipeline": result, "rates_per_core": rates, "consumers": consumers}


def run_infer(args, settings, folder):
    import inference
    import texts

    s = settings["infer"]
    pairs = texts.paragraphs(s["texts"], seed=1)
    path = folder / "infer_texts.json"
    path.write_text(json.dumps(pairs))
    checkpoint = inference.prepare(folder / "checkpoint", settings["shape"])
    print(f"[infer] {len(pairs)} texts, eager vs sdpa ({settings['shape']} shape)...", flush=True)
    result = common.run_worker(
        "inference",
        dict(
            texts=str(path),
            checkpoint=str(checkpoint),
            device=args.device,
            threads=args.threads,
            batch_size=s["batch_size"],
            max_length=s["max_length"],
            repeats=s["repeats"],
        ),
    )
    v = result["variants"]
    result["sdpa_speedup"] = v["sdpa"]["embeddings_per_s"] / v["eager"]["embeddings_per_s"]
    return {"shape": settings["shape"], "settings": s, **result}


# ---- report ---------------------------------------------------------------------------------------------------


def verdict(ok):
    return "MET" if ok else "MISSED"


def floor_lines(train):
    """The floor table: each model's step as a multiple of the computed floor, its kernel share and page faults."""
    rates = train["rates"]
    lines = [
        "",
        f"Floor (bench/floor.py): the step's model FLOPs (LM head at the masked positions) / this machine's fp32 "
        f"matmul rate, {rates['matmul_flops_per_s'] / 1e9:.1f} GFLOP/s, + AdamW's 28 bytes a parameter / its memory "
        f"bandwidth, {rates['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s, both measured in this run. glibc malloc: "
        + ("its defaults (--stock-malloc)." if train.get("stock_malloc") else "train.py's thresholds (allocator.py)."),
        "",
        "| seq | model | floor (s) | step median / floor | step min / floor | kernel share | minor faults/step |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in train["rows"]:
        floor_s = row["floor"]["floor_s"]
        for name, label in (("langsamp", "LangSAMP"), ("xlmr", "stock XLM-R")):
            r = row[name]
            lines.append(
                f"| {row['seq_len']} | {label} | {floor_s:.3f} | {r['median_step_s'] / floor_s:.2f}x | "
                f"{r['min_step_s'] / floor_s:.2f}x | {r['kernel_share']:.1%} | "
                f"{r['minor_faults_per_step']:,.0f} |"
            )
    return lines


def ratio_lines(tok):
    """Throughput over stock's with an interval: median [min, max] of the per-repeat ratios, wall and CPU time."""
    names = {"detect": "batch, lang= (detected)", "label": "batch, lang= label", "single_detect": "one text a call"}
    lines = [
        f"Throughput / stock's, median [min, max] over {tok['settings']['repeats']} repeats (one text a call: the "
        f"first {tok['settings']['single_texts']} texts):",
        "",
        "| TOKENIZERS_PARALLELISM | LangSAMP | wall-time ratio | CPU-time ratio |",
        "|---|---|---|---|",
    ]
    for parallelism, result in tok["by_parallelism"].items():
        for name, label in names.items():
            r = result["ratios"][name]
            lines.append(
                f"| {parallelism} | {label} | "
                + " | ".join(f"{r[k]['median']:.3f} [{r[k]['min']:.3f}, {r[k]['max']:.3f}]" for k in ("wall", "cpu"))
                + " |"
            )
    return lines + [""]


def render(report):
    """The markdown printed and written to latest.md."""
    lines = [f"# LangSAMP benchmark ({report['mode']} run, {report['device']})", ""]
    lines += [
        f"Command: `{report['command']}`  ",
        f"Machine: {common.machine_line(report['machine'])}  ",
        f"Date: {report['date']}, wall time {report['wall_s']:.0f} s ("
        + ", ".join(f"{part} {seconds:.0f} s" for part, seconds in report.get("part_seconds", {}).items())
        + f"), load average at end {report['loadavg_at_end'][0]}",
        "",
    ]
    load = report["machine"]["loadavg_at_start"][0]
    if max(load, report["loadavg_at_end"][0]) > 0.5:
        lines += [
            f"Other work shared the {report['machine']['cores_visible']} cores during this run (load average {load} "
            f"at start, {report['loadavg_at_end'][0]} at end): absolute times are slower and noisier than on an idle "
            "machine; the compared variants alternate step by step (training) or batch by batch (tokenizer, "
            "inference), so their ratios hold better.",
            "",
        ]
    for part, error in report.get("errors", {}).items():
        lines += [f"**{part} FAILED**: {error}", ""]
    train = report.get("train")
    if train:
        c = train["config"]
        lines += [
            f"## 1. Training step: LangSAMPForMaskedLM vs XLMRobertaForMaskedLM ({train['shape']}: hidden "
            f"{c['hidden_size']}, {c['num_hidden_layers']} layers, {c['num_attention_heads']} heads, FFN "
            f"{c['intermediate_size']}, vocab {c['vocab_size']:,})",
            "",
            "Forward + backward + AdamW step, fp32, same weights (LangSAMP tables zeroed), same 15% masks "
            "(DataCollatorForLanguageModeling, seed 0). AdamW fused (the Trainer's default), lr 5e-5, no weight decay. "
            "The two models run in separate processes that alternate step by step. "
            f"Median of {train['settings']['steps']} steps after {train['settings']['warmup']} warm-up; "
            "CPU s/step = process CPU time (all threads), a cross-check when other load shares the cores. "
            f"Memory: {train['rows'][0]['langsamp']['memory_kind']} above the process's memory after loading model "
            'and batches ("growth"), and its absolute peak.',
            "",
            "| seq x batch | model | step, median (s) | step, min (s) | CPU s/step | tokens/s | peak growth (MiB) | "
            "peak (MiB) | loss, step 1 |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in train["rows"]:
            for name, label in (("langsamp", "LangSAMP"), ("xlmr", "stock XLM-R")):
                r = row[name]
                lines.append(
                    f"| {row['seq_len']} x {r['batch_size']} | {label} | {r['median_step_s']:.3f} | "
                    f"{r['min_step_s']:.3f} | {r['median_step_cpu_s']:.2f} | "
                    f"{r['tokens_per_step'] / r['median_step_s']:,.0f} | {mib(r['peak_growth_bytes']):,.0f} | "
                    f"{mib(r['peak_bytes']):,.0f} | {r['losses'][0]:.6f} |"
                )
        lines += [
            "",
            "| seq | speed-up (stock/ours) | CPU-time speed-up | time ours/stock | peak growth ours/stock | peak "
            "ours/stock | loss diff step 1 (all steps) | targets |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for row in train["rows"]:
            targets = (
                f"speed {verdict(row['speedup'] >= TARGETS['train_speedup'])}, memory "
                f"{verdict(row['memory_growth_ratio'] <= TARGETS['train_memory_ratio'])}, loss "
                f"{verdict(row['loss_equal'])}"
            )
            lines.append(
                f"| {row['seq_len']} | {row['speedup']:.2f}x | {row['cpu_speedup']:.2f}x | {row['time_ratio']:.2f} | "
                f"{row['memory_growth_ratio']:.2f} | {row['memory_peak_ratio']:.2f} | {row['loss_diff_step1']:.1e} "
                f"({row['loss_diff_max_all_steps']:.1e}) | {targets} |"
            )
        lines += floor_lines(train)
        if "langsamp_compiled" in train["rows"][0]:
            lines += [
                "",
                "torch.compile (CPU inductor, capture_dynamic_output_shape_ops as train.py --torch_compile sets it; "
                f"the first {COMPILE_WARMUP + train['settings']['warmup']} steps, which compile, are warm-up):",
                "",
                "| seq | ours compiled (s) | stock compiled (s) | ours compiled/eager | stock compiled/eager | time "
                "ours/stock, compiled | max loss diff ours compiled vs eager |",
                "|---|---:|---:|---:|---:|---:|---:|",
            ]
            for row in train["rows"]:
                lines.append(
                    f"| {row['seq_len']} | {row['langsamp_compiled']['median_step_s']:.3f} | "
                    f"{row['xlmr_compiled']['median_step_s']:.3f} | {row['compiled_over_eager_langsamp']:.2f} | "
                    f"{row['compiled_over_eager_xlmr']:.2f} | {row['compiled_time_ratio']:.2f} | "
                    f"{row['compiled_loss_diff_max']:.1e} |"
                )
        lines += [
            "",
            f"Targets (small shape, CPU): speed-up >= {TARGETS['train_speedup']}x, peak growth <= "
            f"{TARGETS['train_memory_ratio']}x; |loss diff| <= {TARGETS['loss_tolerance']} on identical weights (step "
            "1).",
        ]
        if report["mode"] == "quick":
            lines.append(
                "Quick run: smaller batches and fewer steps than the full run the targets are set for; a smoke check "
                "only."
            )
        lines.append("")
    tok = report.get("tokenize")
    if tok:
        first = next(iter(tok["by_parallelism"].values()))
        lines += [
            f"## 2. Tokenization: {first['texts']:,} UDHR paragraphs, {first['languages']} languages, "
            f"{first['scripts']} scripts, {first['tokens']:,} tokens, batches of {first['batch_size']}",
            "",
            "Same tokenizer.json for both; variants interleaved batch by batch; median of "
            f"{tok['settings']['repeats']} passes. CPU-time ratio = the same with process CPU time (all threads), a "
            "cross-check when other load shares the cores.",
            "",
            "| TOKENIZERS_PARALLELISM | tokenizer | texts/s | tokens/s | ratio to stock | CPU-time ratio to stock |",
            "|---|---|---:|---:|---:|---:|",
        ]
        names = {
            "stock": "stock XLMRobertaTokenizer",
            "detect": "LangSAMP, lang=ISO 639-3 (script detected)",
            "label": "LangSAMP, lang=Glot500 label (no detection)",
        }
        for parallelism, result in tok["by_parallelism"].items():
            stock = result["variants"]["stock"]
            for name, v in result["variants"].items():
                lines.append(
                    f"| {parallelism} | {names[name]} | {v['texts_per_s']:,.0f} | {v['tokens_per_s']:,.0f} | "
                    f"{v['tokens_per_s'] / stock['tokens_per_s']:.2f} | "
                    f"{v['tokens_per_cpu_s'] / stock['tokens_per_cpu_s']:.2f} |"
                )
        lines += ["", *ratio_lines(tok)]
        for parallelism, result in tok["by_parallelism"].items():
            lines.append(
                f"- parallelism {parallelism}: detection / stock = {result['ratio_detect']:.2f} (target >= "
                f"{TARGETS['tokenize_ratio']}: {verdict(result['ratio_detect'] >= TARGETS['tokenize_ratio'])}); same "
                f"input_ids as stock: {result['same_input_ids_as_stock']}; detected script = label's script for "
                f"{result['detected_script_matches_label']:.1%} of texts"
            )
        lines.append("")
    data = report.get("data")
    if data:
        p = data["pipeline"]
        corpora = p["corpora"]
        names = {
            "direct": "tokenizer -> concatenate -> chunk (no datasets)",
            "library_small": "langsamp.data.build_pretraining_dataset(num_proc=1), empty cache",
            "library_main": "langsamp.data.build_pretraining_dataset(num_proc=1), empty cache",
        }
        lines += [
            "## 3. Data pipeline: raw text files -> training-ready chunks, one CPU core",
            "",
            "Glot500-layout corpora written from the UDHR with langsamp.resources.udhr.write_glot500_corpus "
            f"({corpora['main']['files']} files, one per language-script pair; "
            f'"main" repeats each file\'s text x{corpora["main"]["copies"]}); '
            f"chunks of {p['max_seq_length']} tokens; "
            "TOKENIZERS_PARALLELISM=false, 1 torch thread.",
            "",
            "| path | corpus | chunks | tokens out | wall (s) | CPU (s) | tokens per CPU-second (per core) | tokens/s "
            "wall |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, m in p["runs"].items():
            lines.append(
                f"| {names[name]} | {m['corpus']} ({m['bytes'] / 1e6:.1f} MB) | {m['chunks']:,} | {m['tokens_out']:,} "
                f"| {m['seconds']:.1f} | {m['cpu_seconds']:.1f} | {m['tokens_per_cpu_s']:,.0f} | "
                f"{m['tokens_per_s']:,.0f} |"
            )
        if p.get("library_marginal_tokens_per_cpu_s"):
            lines += [
                "",
                "build_pretraining_dataset per token, from the difference of the two corpora: "
                f"**{p['library_marginal_tokens_per_cpu_s']:,.0f} tokens per CPU-second**, plus a fixed cost of about "
                f"{p['library_fixed_cpu_seconds']:.1f} CPU-s per build (tokenizer fingerprint, worker process, one "
                "datasets text builder per pair) that a corpus of hundreds of GB amortises.",
            ]
        if p.get("library_error"):
            lines += ["", f"The library path did not run: {p['library_error']}; figures are for the direct path."]
        rate_names = list(data["rates_per_core"])
        lines += [
            "",
            "Cores needed to keep the trainer fed = trainer tokens/s / pipeline tokens per CPU-second:",
            "",
            "| trainer | consumes tokens/s | "
            + " | ".join(f"cores at {name} ({data['rates_per_core'][name]:,.0f}/s)" for name in rate_names)
            + " |",
            "|---|---:|" + "---:|" * len(rate_names),
        ]
        for c in data["consumers"]:
            lines.append(
                f"| {c['what']} | {c['tokens_per_s']:,.0f} | "
                + " | ".join(f"{c['cores_needed'][name]:.3f}" for name in rate_names)
                + " |"
            )
        lines.append("")
    infer = report.get("infer")
    if infer:
        v = infer["variants"]
        lines += [
            f"## 4. Inference: mean-pooled LangSAMPModel embeddings ({infer['shape']} shape), eager vs sdpa",
            "",
            f"{infer['texts']} UDHR paragraphs, batches of {infer['batch_size']} padded to the longest (max "
            f"{infer['max_length']}), {infer['padding_share']:.0%} of positions are padding; "
            f"{infer['threads'] or 'default'} threads; implementations interleaved batch by batch, median of "
            f"{infer['settings']['repeats']} passes.",
            "",
            "| attention | embeddings/s | real tokens/s | CPU s per pass |",
            "|---|---:|---:|---:|",
            f"| eager | {v['eager']['embeddings_per_s']:,.1f} | {v['eager']['tokens_per_s']:,.0f} | "
            f"{v['eager']['median_cpu_s']:.2f} |",
            f"| sdpa | {v['sdpa']['embeddings_per_s']:,.1f} | {v['sdpa']['tokens_per_s']:,.0f} | "
            f"{v['sdpa']['median_cpu_s']:.2f} |",
            "",
            f"sdpa / eager = {infer['sdpa_speedup']:.2f}x (CPU time: "
            f"{v['eager']['median_cpu_s'] / v['sdpa']['median_cpu_s']:.2f}x); outputs agree (allclose rtol 1e-4, atol "
            f"1e-5): {infer['allclose']} (max |diff| {infer['max_abs_difference']:.1e}).",
            "",
        ]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    settings = settings_for(args)
    report = {
        "mode": settings["mode"],
        "device": args.device,
        "command": " ".join(["python bench/run_all.py", *(sys.argv[1:] if argv is None else argv)]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": common.machine_info(args.device, args.threads),
        "targets": TARGETS,
    }
    print(common.machine_line(report["machine"]), flush=True)
    if report["machine"]["loadavg_at_start"][0] > 0.5:
        print(
            f"Note: load average {report['machine']['loadavg_at_start'][0]} before starting: other work shares the "
            "cores, so absolute times will be slow and noisy. Ratios hold better (the compared variants alternate "
            "step by step / batch by batch).",
            flush=True,
        )
    runners = {
        "train": lambda folder: run_train(args, settings, folder),
        "tokenize": lambda folder: run_tokenize(args, settings, folder),
        "data": lambda folder: run_data(args, settings, folder, report.get("train")),
        "infer": lambda folder: run_infer(args, settings, folder),
    }
    errors = {}
    with tempfile.TemporaryDirectory(prefix="langsamp-bench-") as tmp:
        for part in PARTS:
            if part not in args.parts:
                continue
            part_start = time.perf_counter()
            try:
                report[part] = runners[part](Path(tmp))
            except Exception as error:  # report the other parts anyway; the exit code says something failed
                errors[part] = f"{type(error).__name__}: {error}"
                print(f"[{part}] FAILED: {errors[part]}", flush=True)
            report.setdefault("part_seconds", {})[part] = round(time.perf_counter() - part_start, 1)
    report["errors"] = errors
    report["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["wall_s"] = time.perf_counter() - started
    markdown = render(report)
    print("\n" + markdown)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output / "latest.md").write_text(markdown + "\n")
    print(f"Written: {args.output / 'latest.json'}, {args.output / 'latest.md'}")
    failed = [row["seq_len"] for row in report.get("train", {}).get("rows", []) if not row["loss_equal"]]
    if failed:  # a wrong model is not a fast model: fail loudly
        print(
            f"LOSS CHECK FAILED at sequence length(s) {failed}: the two models disagree on identical weights and masks."
        )
    if errors:
        print(f"Parts that failed: {', '.join(errors)}.")
    return 1 if failed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
