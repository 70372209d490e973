"""Data-pipeline throughput on one CPU core: raw Glot500-layout text files -> training-ready chunks of
`max_seq_length` tokens carrying their language and script ids.

Runs in a fresh process with TOKENIZERS_PARALLELISM=false and one torch thread (set by run_all.py), so the
work is single-threaded: "per core" is tokens per CPU-second (this process and its finished children), which
other load on the machine does not distort; wall-clock rates are reported next to it. Two paths:
  library  `langsamp.data.build_pretraining_dataset(num_proc=1)` into an empty datasets cache: what training
           runs (datasets' text loader, Arrow cache, tokenization, per-pair chunking, alpha=0.3 sampling), on two
           corpus sizes, so that fixed costs and the per-token (marginal) rate can be told apart; with
           num_proc=1 datasets (>= 4) tokenizes in one worker process (its CPU time is counted);
  direct   the same work with the tokenizer alone (read, tokenize each line with the file's label, concatenate
           per file, cut into chunks, drop the remainder): the floor the library path could reach.
If langsamp.data is missing or fails, only `direct` is reported, with the reason.
"""

import resource
import tempfile
import time
from pathlib import Path

import common

LINES_PER_CALL = 1000  # datasets.map's default batch size


def tokenizer_path(corpus, tokenizer, max_seq_length):
    """read -> tokenize (label fixes language and script) -> concatenate per file -> chunks; remainder dropped."""
    chunks, tokens_in = 0, 0
    for path in sorted(corpus.iterdir()):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        ids = []
        for start in range(0, len(lines), LINES_PER_CALL):
            encoded = tokenizer(lines[start : start + LINES_PER_CALL], lang=path.name)
            for row in encoded["input_ids"]:
                ids.extend(row)
            lang_id, script_id = encoded["lang_ids"][0][0], encoded["script_ids"][0][0]
        tokens_in += len(ids)
        rows = [
            {"input_ids": ids[i : i + max_seq_length], "lang_ids": lang_id, "script_ids": script_id}
            for i in range(0, len(ids) - max_seq_length + 1, max_seq_length)
        ]
        chunks += len(rows)
    return {"chunks": chunks, "tokens_tokenized": tokens_in, "tokens_out": chunks * max_seq_length}


def cpu_seconds():
    """CPU time of this process and of its finished child processes (datasets' num_proc worker), all threads."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def library_path(build, corpus, tokenizer, max_seq_length, cache, num_proc):
    """langsamp.data.build_pretraining_dataset into an empty cache (no reuse of earlier runs)."""
    dataset = build(str(corpus), tokenizer, max_seq_length=max_seq_length, num_proc=num_proc, cache_dir=str(cache))
    return dataset


def main():
    args = common.worker_args()
    common.set_threads(1)
    import datasets
    from transformers.utils import logging

    from langsamp.resources.xlmr_tokenizer import default_tokenizer

    datasets.disable_progress_bars()  # one bar per pair and step would flood the console
    logging.set_verbosity_error()  # "sequence longer than 512": lines are tokenized whole, then chunked
    corpora = {name: (Path(c["path"]), c["bytes"]) for name, c in args["corpora"].items()}
    length = args["max_seq_length"]
    tokenizer = default_tokenizer()
    result = {
        "corpora": {
            name: {"bytes": size, "files": len(list(path.iterdir()))} for name, (path, size) in corpora.items()
        },
        "max_seq_length": length,
        "runs": {},
    }

    def timed(name, corpus_name, function):
        start, cpu_start = time.perf_counter(), cpu_seconds()
        measured = function(corpora[corpus_name][0])
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
        size = corpora[corpus_name][1]
        measured.update(
            corpus=corpus_name,
            bytes=size,
            seconds=seconds,
            cpu_seconds=cpu,
            tokens_per_s=measured["tokens_out"] / seconds,
            tokens_per_cpu_s=measured["tokens_out"] / cpu,
            mb_per_s=size / 1e6 / seconds,
        )
        result["runs"][name] = measured

    timed("direct", "main", lambda corpus: tokenizer_path(corpus, tokenizer, length))
    try:
        import langsamp.data

        build = langsamp.data.build_pretraining_dataset
    except Exception as error:  # missing, or broken while another engineer writes it
        result["library_error"] = (
            f"langsamp.data.build_pretraining_dataset unavailable ({type(error).__name__}: {error})"
        )
    else:
        # Two corpus sizes: the difference gives the per-token (marginal) rate without the fixed costs
        # (tokenizer fingerprint, worker start, one datasets builder per pair), which is the rate at corpus scale.
        for corpus_name in [name for name in ("small", "main") if name in corpora]:
            fresh = default_tokenizer()  # langsamp.data memoises a tokenizer's fingerprint per object: do not reuse one
            with tempfile.TemporaryDirectory(prefix="langsamp-bench-cache-") as cache:
                try:

                    def library(corpus):
                        dataset = library_path(build, corpus, fresh, length, Path(cache), num_proc=1)
                        return {"chunks": len(dataset), "tokens_out": len(dataset) * length}

                    timed(f"library_{corpus_name}", corpus_name, library)
                except Exception as error:
                    result["library_error"] = (
                        f"build_pretraining_dataset(num_proc=1) failed ({type(error).__name__}: {error})"
                    )
                    break
    runs = result["runs"]
    if "library_main" in runs and "library_small" in runs:
        # In CPU seconds: wall-clock differences of two runs are at the mercy of other load on the machine.
        big, small = runs["library_main"], runs["library_small"]
        extra = big["cpu_seconds"] - small["cpu_seconds"]
        marginal = (big["tokens_out"] - small["tokens_out"]) / extra if extra > 0 else None
        result["library_marginal_tokens_per_cpu_s"] = marginal
        result["library_fixed_cpu_seconds"] = (
            small["cpu_seconds"] - small["tokens_out"] / marginal if marginal else None
        )
    common.write_result(args, result)


if __name__ == "__main__":
    main()
