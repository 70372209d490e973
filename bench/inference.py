"""Inference benchmark: mean-pooled sentence embeddings per second from LangSAMPModel, eager vs sdpa attention
(`from_pretrained(..., attn_implementation=...)`), same checkpoint, same padded batches of real multilingual
paragraphs of varied length; the two implementations' embeddings must agree (allclose)."""

import json
import time
from pathlib import Path

import common


def prepare(folder, shape, seed=0):
    """Save a LangSAMPForMaskedLM checkpoint (as training would) for the encoder to load from."""
    import torch

    from modeling_langsamp import LangSAMPForMaskedLM

    torch.manual_seed(seed)
    LangSAMPForMaskedLM(common.langsamp_config(shape)).save_pretrained(folder)
    return folder


def mean_pool(hidden, mask):
    """Mean over non-padding tokens (<s> and </s> included), as the paper's retrieval evaluation pools."""
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1)


def main():
    import torch
    from transformers.utils import logging

    from langsamp.resources.xlmr_tokenizer import default_tokenizer
    from modeling_langsamp import LangSAMPModel

    logging.set_verbosity_error()  # loading the encoder from a masked-LM checkpoint lists the unused head keys
    args = common.worker_args()
    threads = common.set_threads(args.get("threads"))
    device = torch.device(args["device"])
    texts = [t for t, _ in json.loads(Path(args["texts"]).read_text())]
    tokenizer = default_tokenizer()
    size = args["batch_size"]
    batches = [
        tokenizer(
            texts[i : i + size], padding="longest", truncation=True, max_length=args["max_length"], return_tensors="pt"
        )
        for i in range(0, len(texts), size)
    ]
    real = sum(int(b["attention_mask"].sum()) for b in batches)
    padded = sum(b["attention_mask"].numel() for b in batches)
    batches = [{k: v.to(device) for k, v in b.items()} for b in batches]

    models = {}
    for impl in ("eager", "sdpa"):
        model = (
            LangSAMPModel.from_pretrained(args["checkpoint"], attn_implementation=impl, add_pooling_layer=False)
            .to(device)
            .eval()
        )
        if model.config._attn_implementation != impl:
            raise RuntimeError(f"Asked for {impl} attention, got {model.config._attn_implementation}.")
        models[impl] = model

    # Interleaved batch by batch (order alternating), so load from elsewhere on the machine falls on both alike.
    timings = {impl: [0.0] * args["repeats"] for impl in models}
    cpu_timings = {impl: [0.0] * args["repeats"] for impl in models}
    outputs = {impl: [] for impl in models}
    order = list(models)
    with torch.inference_mode():
        for model in models.values():  # warm-up: one batch each
            model(**batches[0])
        turn = 0
        for repeat in range(args["repeats"]):
            for batch in batches:
                turn += 1
                for impl in order if turn % 2 else order[::-1]:
                    start, cpu_start = time.perf_counter(), time.process_time()
                    pooled = mean_pool(models[impl](**batch).last_hidden_state, batch["attention_mask"])
                    if device.type == "cuda":
                        torch.cuda.synchronize()
                    timings[impl][repeat] += time.perf_counter() - start
                    cpu_timings[impl][repeat] += time.process_time() - cpu_start
                    if repeat == 0:
                        outputs[impl].append(pooled)
    embeddings = {impl: torch.cat(pooled) for impl, pooled in outputs.items()}
    difference = (embeddings["eager"] - embeddings["sdpa"]).abs().max().item()
    result = {
        "texts": len(texts),
        "batch_size": size,
        "max_length": args["max_length"],
        "real_tokens": real,
        "padded_tokens": padded,
        "padding_share": 1 - real / padded,
        "threads": threads,
        "allclose": bool(torch.allclose(embeddings["eager"], embeddings["sdpa"], rtol=1e-4, atol=1e-5)),
        "max_abs_difference": difference,
        "variants": {},
    }
    for impl, times in timings.items():
        seconds = common.median(times)
        result["variants"][impl] = {
            "times_s": times,
            "cpu_times_s": cpu_timings[impl],
            "median_s": seconds,
            "median_cpu_s": common.median(cpu_timings[impl]),
            "embeddings_per_s": len(texts) / seconds,
            "tokens_per_s": real / seconds,
        }
    common.write_result(args, result)


if __name__ == "__main__":
    main()
