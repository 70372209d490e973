"""Tokenizer throughput: LangSAMPTokenizer with script detection vs the stock XLMRobertaTokenizer, both over the
same tokenizer.json and the same multilingual UDHR batch. Run in a fresh process by run_all.py, so the Rust
tokenizer's thread pool follows TOKENIZERS_PARALLELISM as set for this run.

Variants:
  stock       XLMRobertaTokenizer(texts)
  detect      LangSAMPTokenizer(texts, lang=[ISO 639-3 per text]): the script is detected from each text
  label       LangSAMPTokenizer(texts, lang=[Glot500 label per text]): the label names the script, no detection
and, one text a call (as a pipeline tokenizes), `single_stock` and `single_detect` over the first `single_texts`.

The ratios to stock come with an interval: each repeat times every variant over the same texts, interleaved, so
one repeat gives one ratio per variant; the report is the median of those ratios and their range over the repeats.
"""

import shutil
import tempfile
import time
from pathlib import Path

import common


def load_tokenizers():
    from transformers import XLMRobertaTokenizer

    from langsamp.resources.xlmr_tokenizer import xlmr_tokenizer_json
    from tokenization_langsamp import LangSAMPTokenizer

    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(xlmr_tokenizer_json(), Path(folder) / "tokenizer.json")
        stock = XLMRobertaTokenizer.from_pretrained(folder, model_max_length=512)
        ours = LangSAMPTokenizer.from_pretrained(folder, model_max_length=512)
    return stock, ours


def main():
    import json

    from transformers.utils import logging

    logging.set_verbosity_error()  # "sequence longer than 512": whole paragraphs are tokenized, untruncated
    args = common.worker_args()
    pairs = json.loads(Path(args["texts"]).read_text())
    texts = [t for t, _ in pairs]
    labels = [label for _, label in pairs]
    isos = [label.split("_")[0] for label in labels]
    stock, ours = load_tokenizers()
    size = args["batch_size"]
    spans = [(i, min(i + size, len(texts))) for i in range(0, len(texts), size)]
    variants = {
        "stock": lambda a, b: stock(texts[a:b]),
        "detect": lambda a, b: ours(texts[a:b], lang=isos[a:b]),
        "label": lambda a, b: ours(texts[a:b], lang=labels[a:b]),
    }

    # Correctness of what is timed: same token ids, and detection picks each text's own script.
    reference = [ids for a, b in spans for ids in variants["stock"](a, b)["input_ids"]]
    detected = [ids for a, b in spans for ids in variants["detect"](a, b)["script_ids"]]
    labelled = [ids for a, b in spans for ids in variants["label"](a, b)["script_ids"]]
    same_ids = reference == [ids for a, b in spans for ids in variants["detect"](a, b)["input_ids"]]
    scripts_agree = sum(d[0] == s[0] for d, s in zip(detected, labelled)) / len(texts)
    tokens = sum(len(ids) for ids in reference)

    result = {
        "texts": len(texts),
        "languages": len(set(labels)),
        "scripts": len({label.split("_")[1] for label in labels}),
        "tokens": tokens,
        "batch_size": size,
        "same_input_ids_as_stock": same_ids,
        "detected_script_matches_label": scripts_agree,
        "parallelism": args["parallelism"],
        "variants": timed(variants, spans, args["repeats"], tokens, len(texts)),
    }
    n_single = min(args.get("single_texts", 300), len(texts))
    singles = {
        "single_stock": lambda a, b: stock(texts[a]),
        "single_detect": lambda a, b: ours(texts[a], lang=isos[a]),
    }
    single_tokens = sum(len(ids) for ids in reference[:n_single])
    result["single"] = timed(singles, [(i, i + 1) for i in range(n_single)], args["repeats"], single_tokens, n_single)
    result["single_texts"] = n_single
    result["ratios"] = {
        "detect": ratio_interval(result["variants"]["stock"], result["variants"]["detect"]),
        "label": ratio_interval(result["variants"]["stock"], result["variants"]["label"]),
        "single_detect": ratio_interval(result["single"]["single_stock"], result["single"]["single_detect"]),
    }
    common.write_result(args, result)


def ratio_interval(stock, variant):
    """Throughput of `variant` over stock's, repeat by repeat (wall and CPU time): median and [min, max]."""
    out = {}
    for key in ("times_s", "cpu_times_s"):
        ratios = sorted(s / v for s, v in zip(stock[key], variant[key]))
        out["wall" if key == "times_s" else "cpu"] = {
            "median": common.median(ratios),
            "min": ratios[0],
            "max": ratios[-1],
            "per_repeat": ratios,
        }
    return out


def timed(variants, spans, repeats, tokens, n_texts):
    """Every variant over every span, `repeats` times; per-repeat wall and CPU seconds, and their medians."""
    # Interleaved span by span (order rotating), so that load from elsewhere on the machine, which shifts over
    # seconds, falls on all variants alike; one repeat = every variant over the whole batch list.
    timings = {name: [0.0] * repeats for name in variants}
    cpu_timings = {name: [0.0] * repeats for name in variants}
    order = list(variants)
    turn = 0
    for repeat in range(repeats):
        for a, b in spans:
            turn += 1
            for name in order[turn % len(order) :] + order[: turn % len(order)]:
                start, cpu_start = time.perf_counter(), time.process_time()
                variants[name](a, b)
                timings[name][repeat] += time.perf_counter() - start
                cpu_timings[name][repeat] += time.process_time() - cpu_start
    results = {}
    for name, times in timings.items():
        seconds = common.median(times)
        cpu = common.median(cpu_timings[name])
        results[name] = {
            "times_s": times,
            "cpu_times_s": cpu_timings[name],
            "median_s": seconds,
            "median_cpu_s": cpu,
            "texts_per_s": n_texts / seconds,
            "tokens_per_s": tokens / seconds,
            "tokens_per_cpu_s": tokens / cpu,
        }
    return results


if __name__ == "__main__":
    main()
