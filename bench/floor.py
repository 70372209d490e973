"""A computed floor for a training step on this machine: what the step could not take less than, measured here.

floor = the step's model FLOPs (common.training_flops: encoder, attention, LM head at the masked positions only)
        / the machine's fp32 matmul rate (the best of a few large square matmuls, same torch threads)
      + the optimizer's bytes (fused AdamW reads parameter, gradient and both moments, writes parameter and both
        moments: 7 x 4 bytes a parameter) / the machine's memory bandwidth (the best of a few large element-wise adds)

Both rates are measured in the same run as the steps they judge, so a step's "multiple of the floor" is a figure of
the code, not of the machine. Everything else a step does (layer norms, softmax, GELU, dropout, the embedding
gather and scatter, the allocator, the kernel) is above the floor.

    python bench/floor.py          # print this machine's rates
"""

import time

import common

ADAMW_BYTES_PER_PARAMETER = 7 * 4
MATMUL_SIZE = 2048  # large enough that the rate is the kernel's, small enough for a second or two on 2 cores
BANDWIDTH_FLOATS = 32 * 2**20  # 128 MB a tensor: far past any cache


def matmul_rate(threads, repeats=10, size=MATMUL_SIZE):
    """Best fp32 matmul rate in FLOP/s over `repeats` square `size` matmuls."""
    import torch

    common.set_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    out = torch.empty(size, size)
    torch.mm(a, b, out=out)  # the first call pays for the kernel's set-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def memory_bandwidth(threads, repeats=10, n_floats=BANDWIDTH_FLOATS):
    """Best memory bandwidth in bytes/s over `repeats` element-wise adds c = a + b (two reads and a write)."""
    import torch

    common.set_threads(threads)
    a, b, c = torch.ones(n_floats), torch.ones(n_floats), torch.empty(n_floats)
    torch.add(a, b, out=c)  # pages faulted in here, not in the timed calls
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.add(a, b, out=c)
        best = min(best, time.perf_counter() - start)
    return 3 * 4 * n_floats / best


def machine_rates(threads):
    return {"matmul_flops_per_s": matmul_rate(threads), "bandwidth_bytes_per_s": memory_bandwidth(threads)}


def step_floor(rates, config, sequences, seq_len, masked_positions, parameters):
    """The floor of one training step, in seconds, and its two parts."""
    flops = common.training_flops(config, sequences, seq_len, masked_positions)["total"]
    compute = flops / rates["matmul_flops_per_s"]
    optimizer = ADAMW_BYTES_PER_PARAMETER * parameters / rates["bandwidth_bytes_per_s"]
    return {"flops": flops, "compute_s": compute, "optimizer_s": optimizer, "floor_s": compute + optimizer}


if __name__ == "__main__":
    for threads in (1, 2):
        r = machine_rates(threads)
        print(
            f"{threads} thread(s): fp32 matmul {r['matmul_flops_per_s'] / 1e9:.1f} GFLOP/s, "
            f"memory {r['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s"
        )
