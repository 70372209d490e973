"""Training-step benchmark: LangSAMPForMaskedLM vs transformers' XLMRobertaForMaskedLM, same weights, same masks;
eager, or `torch.compile`d (`compile` in the worker's arguments; its first steps, which compile, are warm-up).

`prepare()` (in the parent) writes the shared weights and the masked batches; each (model, sequence length)
then runs in a fresh process (`python bench/train_step.py ARGS.json`), so its peak RSS is its own. The two
models' processes run in lockstep (common.run_lockstep): they alternate step by step, so load from elsewhere
on the machine falls on both alike.

Same weights: our model is built once from a seed, its two LangSAMP tables are zeroed (the addition still runs,
so its cost is counted) and its state dict minus the tables loads strictly into the stock model. With zero
tables the two models compute the same function, so their losses on the same batch must agree.
"""

import gc
import os
import resource
import time

import common


def initial_state(shape, seed=0, **overrides):
    """The shared weights: LangSAMPForMaskedLM built from `seed` with both LangSAMP tables zeroed (the addition
    still runs, so its cost is counted), as a CPU state dict. `overrides` go to the config (e.g. vocab_size)."""
    import torch

    from modeling_langsamp import LangSAMPForMaskedLM

    torch.manual_seed(seed)
    model = LangSAMPForMaskedLM(common.langsamp_config(shape, **overrides))
    with torch.no_grad():
        for table in (
            model.language_script_embeddings.language_embeddings,
            model.language_script_embeddings.script_embeddings,
        ):
            table.weight.zero_()
    return model.state_dict()


def prepare(folder, shape, seq_lens, batch_sizes, n_steps, seed=0):
    """Write `weights.pt` and one `batches_<seq>.pt` per sequence length into `folder`; return their paths."""
    import texts
    import torch
    from transformers import DataCollatorForLanguageModeling

    from langsamp.resources.xlmr_tokenizer import default_tokenizer

    weights = folder / "weights.pt"
    torch.save(initial_state(shape, seed), weights)

    tokenizer = default_tokenizer()
    # The collator the Trainer would use: 15% of non-special tokens, 80/10/10, seeded so both models see the same.
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, seed=seed)
    batch_files = {}
    for seq_len, batch in zip(seq_lens, batch_sizes):
        rows = texts.training_chunks(tokenizer, seq_len, batch * n_steps, seed=seed)
        batches = [collator(rows[i * batch : (i + 1) * batch]) for i in range(n_steps)]
        batch_files[seq_len] = folder / f"batches_{seq_len}.pt"
        torch.save([dict(b) for b in batches], batch_files[seq_len])
    return weights, batch_files


def build(model_name, shape, weights, device="cpu", **overrides):
    """`model_name` ('langsamp' or 'xlmr') on `device` with `weights` (a state dict or the path of one, from
    `initial_state`) loaded strictly; `overrides` go to the config and must match those of the weights."""
    import torch
    from transformers import XLMRobertaForMaskedLM
    from transformers.initialization import no_init_weights

    from modeling_langsamp import LangSAMPForMaskedLM

    if model_name not in ("langsamp", "xlmr"):
        raise ValueError(f"Unknown model {model_name!r}: 'langsamp' or 'xlmr'.")
    state = weights if isinstance(weights, dict) else torch.load(weights, weights_only=True)
    # Every parameter comes from `state` (strict load below): skip the random init, allocate on `device` directly.
    with torch.device(device), no_init_weights():
        if model_name == "langsamp":
            # ModernBERT's sparse_prediction, as train.py trains: the LM head at the masked positions only.
            model = LangSAMPForMaskedLM(common.langsamp_config(shape, sparse_prediction=True, **overrides))
        else:
            model = XLMRobertaForMaskedLM(common.stock_config(shape, **overrides))
            state = {k: v for k, v in state.items() if not k.startswith("language_script_embeddings.")}
    model.tie_weights()  # skipped with the init above; the check below makes sure it happened
    model.load_state_dict(state, strict=True)
    if model.lm_head.decoder.weight is not model.roberta.embeddings.word_embeddings.weight:
        raise RuntimeError(
            f"{model_name}: the LM decoder is not tied to the word embeddings; the comparison would be unfair."
        )
    return model


def usage_per_step(before, after, steps):
    """User and kernel CPU time, the kernel's share of it, and page faults, a step, from two getrusage results."""
    user, system = (after.ru_utime - before.ru_utime) / steps, (after.ru_stime - before.ru_stime) / steps
    return {
        "user_s_per_step": user,
        "system_s_per_step": system,
        "kernel_share": system / (user + system),
        "minor_faults_per_step": (after.ru_minflt - before.ru_minflt) / steps,
    }


def main():
    import torch
    from tqdm.auto import tqdm

    args = common.worker_args()
    if args.get("keep_large_blocks", True):  # as train.py's main does, unless the run asks for glibc's defaults
        from langsamp.training.allocator import keep_large_blocks

        keep_large_blocks()
    threads = common.set_threads(args.get("threads"))
    device = torch.device(args["device"])
    model = build(args["model"], args["shape"], args["weights"]).to(device).train()
    if args.get("compile"):  # as train.py --torch_compile does (the Trainer compiles the model it is given)
        torch._dynamo.config.capture_dynamic_output_shape_ops = True
        model = torch.compile(model)
    # The recipe's optimizer: AdamW (0.9, 0.999, 1e-8), no weight decay; fused, as the Trainer's default
    # (optim="adamw_torch_fused" with torch >= 2.8) builds it.
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=5e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, fused=True
    )
    batches = torch.load(args["batches"], weights_only=True)
    if args["model"] == "xlmr":  # the stock model has no use for them
        batches = [{k: v for k, v in b.items() if k not in ("lang_ids", "script_ids")} for b in batches]
    batches = [{k: v.to(device) for k, v in b.items()} for b in batches]

    cuda = device.type == "cuda"
    gc.collect()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base_bytes = torch.cuda.memory_allocated()
    else:
        base_bytes = common.current_rss()
        peak_reset = common.reset_peak_rss()

    times, cpu_times, losses, usages = [], [], [], []
    warmup = args["warmup"]
    common.lockstep_say(args, "ready")
    steps = (
        batches
        if args.get("lockstep")
        else tqdm(batches, desc=f"train {args['model']} seq {args['seq_len']}", leave=False)
    )
    for step, batch in enumerate(steps):
        common.lockstep_next(args)
        if step == warmup:
            usages.append(resource.getrusage(resource.RUSAGE_SELF))
        torch.manual_seed(1000 + step)  # same dropout masks in both models' processes
        start, cpu_start = time.perf_counter(), time.process_time()
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())  # synchronises a GPU
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
        common.lockstep_say(args, "done")

    usages.append(resource.getrusage(resource.RUSAGE_SELF))
    if cuda:
        peak_bytes = torch.cuda.max_memory_allocated()
    else:
        peak_bytes = common.peak_rss()
    batch0 = batches[0]
    common.write_result(
        args,
        {
            "model": args["model"],
            "compiled": bool(args.get("compile")),
            "seq_len": args["seq_len"],
            "batch_size": int(batch0["input_ids"].shape[0]),
            "tokens_per_step": int(batch0["input_ids"].numel()),
            "masked_per_step": float(sum(int((b["labels"] != -100).sum()) for b in batches) / len(batches)),
            "threads": threads,
            "step_times_s": times,
            "warmup_steps": warmup,
            "median_step_s": common.median(times[warmup:]),
            "min_step_s": min(times[warmup:]),
            "step_cpu_times_s": cpu_times,
            "median_step_cpu_s": common.median(cpu_times[warmup:]),
            **usage_per_step(*usages, len(batches) - warmup),
            "loadavg_after": os.getloadavg(),
            "losses": losses,
            "memory_kind": "cuda max_memory_allocated"
            if cuda
            else ("peak RSS (VmHWM, reset before step 1)" if peak_reset else "ru_maxrss"),
            "memory_before_bytes": base_bytes,
            "peak_bytes": peak_bytes,
            "peak_growth_bytes": peak_bytes - base_bytes,
            "parameters": sum(p.numel() for p in model.parameters()),
        },
    )


if __name__ == "__main__":
    main()
