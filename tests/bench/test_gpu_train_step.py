"""bench/gpu_train_step.py, the GPU benchmark, kept working without a GPU: its CPU dry run (tiny encoder, both
models, bf16 and fp16 autocast) through the same code path, its largest-batch search and its fused-loss wiring."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import gpu_train_step  # noqa: E402
import train_step  # noqa: E402

VOCAB = 1000
# The tiny shape, written out here so the FLOP counts below are derived independently of bench/common.py.
HIDDEN, LAYERS, FFN, BATCH, SEQ = 32, 2, 64, 4, 32


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("gpu_bench")
    argv = ["--tiny", "--device", "cpu", "--vocab-sizes", str(VOCAB), "--dtypes", "bf16,fp16", "--output", str(output)]
    code = gpu_train_step.main(argv)
    return (
        code,
        json.loads((output / "gpu_train_step_tiny.json").read_text()),
        (output / "gpu_train_step_tiny.md").read_text(),
    )


def test_dry_run_reports_every_case_with_its_measurements(dry_run):
    code, report, markdown = dry_run
    assert code == 0, report["errors"]
    env = report["environment"]
    assert env["torch"] == torch.__version__ and env["device"] == "cpu"
    import transformers

    assert env["transformers"] == transformers.__version__
    cases = {(c["model"], c["dtype"]): c for c in report["cases"]}
    assert set(cases) == {(m, d) for m in ("langsamp", "xlmr") for d in ("bf16", "fp16")}
    for case in cases.values():
        assert case["batch_size"] == BATCH and case["seq_len"] == SEQ and case["attn_implementation"] == "sdpa"
        assert len(case["step_times_s"]) == len(case["losses"]) == 1 + 2  # tiny: 1 warm-up + 2 timed
        timed = sorted(case["step_times_s"][1:])
        assert case["median_step_s"] == pytest.approx((timed[0] + timed[1]) / 2)
        assert case["tokens_per_s"] == pytest.approx(BATCH * SEQ / case["median_step_s"])
        assert case["mfu"] is None and case["peak_memory_bytes"] is None  # no peak or CUDA memory on CPU: none invented
        # 15% of the 4 x 30 non-special positions: a binomial draw, far from 0 and from all of them.
        assert 5 <= case["masked_per_step"] <= 40
    assert (
        cases[("langsamp", "fp16")]["grad_scale_end"] is not None
        and cases[("langsamp", "bf16")]["grad_scale_end"] is None
    )
    assert "| 1,000 | bf16 | LangSAMP |" in markdown and "| 1,000 | fp16 | stock XLM-R |" in markdown
    assert "Liger Kernel: not measured" in markdown  # on CPU, said rather than skipped silently
    fits = {(f["model"], f["dtype"]): f for f in report["fits"]}
    assert set(fits) == {("langsamp", "bf16"), ("xlmr", "bf16")}  # --fit-dtypes defaults to bf16
    for fit in fits.values():  # nothing runs out of memory on CPU: the search goes 4, 8 and stops at --fit-max
        assert (
            [p["batch_size"] for p in fit["probes"]] == [4, 8]
            and fit["largest_batch"] == 8
            and fit["smallest_failing_batch"] is None
        )


def test_flops_counted_where_each_model_runs_its_head(dry_run):
    cases = {(c["model"], c["dtype"]): c for c in dry_run[1]["cases"]}
    tokens = BATCH * SEQ
    encoder = 6 * tokens * LAYERS * (4 * HIDDEN**2 + 2 * HIDDEN * FFN)  # QKV + output projection, FFN in and out
    attention = 3 * LAYERS * BATCH * (2 * SEQ * SEQ * HIDDEN) * 2  # QK^T and AV, forward x3 for the backward
    head_per_position = 6 * (HIDDEN * HIDDEN + HIDDEN * VOCAB)
    ours, stock = cases[("langsamp", "bf16")], cases[("xlmr", "bf16")]
    assert stock["flops_per_step"]["total"] == encoder + attention + tokens * head_per_position
    assert ours["flops_per_step"]["total"] == pytest.approx(
        encoder + attention + ours["masked_per_step"] * head_per_position
    )
    assert stock["flops_per_step_needed"]["total"] == pytest.approx(ours["flops_per_step"]["total"])


def test_losses_agree_with_cross_entropy_recomputed_here(dry_run):
    """The reported fp32 losses of ours and stock equal F.cross_entropy over the stock model's full logits, with
    the weights and first batch rebuilt here; the autocast first-step checks passed too."""
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    from configuration_langsamp import LangSAMPConfig

    report = dry_run[1]
    state = train_step.initial_state("tiny", gpu_train_step.SEED, vocab_size=VOCAB)
    inventory = LangSAMPConfig()
    torch.manual_seed(gpu_train_step.SEED)
    batch = gpu_train_step.masked_batch(
        gpu_train_step.placeholder_collator(VOCAB), BATCH, SEQ, len(inventory.languages), len(inventory.scripts)
    )
    config = XLMRobertaConfig(
        vocab_size=VOCAB,
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=2,
        intermediate_size=FFN,
        max_position_embeddings=514,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        tie_word_embeddings=True,
    )
    stock = XLMRobertaForMaskedLM(config)
    stock.load_state_dict(
        {k: v for k, v in state.items() if not k.startswith("language_script_embeddings.")}, strict=True
    )
    stock.eval()
    with torch.no_grad():
        logits = stock(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    expected = F.cross_entropy(logits.view(-1, VOCAB), batch["labels"].view(-1), ignore_index=-100).item()
    assert abs(expected - torch.log(torch.tensor(float(VOCAB))).item()) < 0.5  # near-uniform logits of a fresh model

    checks = {(k["dtype"], k["kind"]): k for k in report["loss_checks"]}
    assert set(checks) == {("fp32", "eval"), ("bf16", "train, step 1"), ("fp16", "train, step 1")}
    fp32 = checks[("fp32", "eval")]
    assert (fp32["a"], fp32["b"]) == ("langsamp", "xlmr")
    assert fp32["loss_a"] == pytest.approx(expected, abs=1e-5) and fp32["loss_b"] == pytest.approx(expected, abs=1e-5)
    assert all(k["equal"] for k in report["loss_checks"])
    cases = {(c["model"], c["dtype"]): c for c in report["cases"]}
    for dtype in ("bf16", "fp16"):  # the checks compare the cases' own first-step losses
        assert checks[(dtype, "train, step 1")]["loss_a"] == cases[("langsamp", dtype)]["losses"][0]
        assert checks[(dtype, "train, step 1")]["loss_b"] == cases[("xlmr", dtype)]["losses"][0]


@pytest.mark.parametrize(
    "boundary, start, limit, expected_probes",
    [
        (37, 32, 4096, [32, 64, 48, 40]),  # doubling overshoots; bisection stops 8 apart (32 fits, 40 does not)
        (50, 32, 4096, [32, 64, 48, 56]),  # 48 fits, 56 does not
        (5, 32, 4096, [32, 16, 8, 4]),  # the starting batch itself does not fit: halve, then 4 fits, 8 does not
        (0, 32, 4096, [32, 16, 8, 4, 2, 1]),  # nothing fits: down to a single sequence
        (10**9, 32, 100, [32, 64, 100]),  # everything fits: stop at the limit
    ],
)
def test_largest_batch_search(boundary, start, limit, expected_probes):
    probes = []

    def fits(batch):
        probes.append(batch)
        return batch <= boundary

    fit, fail, _ = gpu_train_step.largest_fitting(fits, start, limit, lambda: 1.0)
    assert probes == expected_probes
    assert fit <= boundary and (fail is None or fail > boundary)
    assert fail is None or fail - fit <= gpu_train_step.FIT_GRANULARITY
    assert fit == max((p for p in probes if p <= boundary), default=0)


def test_largest_batch_search_stops_at_its_time_limit():
    calls = []
    fit, fail, why = gpu_train_step.largest_fitting(
        lambda b: calls.append(b) or True, 32, 4096, lambda: 1.0 - len(calls)
    )
    assert calls == [32] and fit == 32 and fail is None and "time limit" in why


def test_fused_head_loss_equals_the_plain_loss_and_trains_the_tied_weights():
    """The Liger wiring, with a reference for what Liger's fused linear cross-entropy computes (the decoder's
    linear map, then mean cross-entropy): same loss as our plain head, gradients reach the tied embedding and the
    decoder bias."""
    state = train_step.initial_state("tiny", 0, vocab_size=VOCAB)
    state = {**state, "lm_head.bias": torch.randn(VOCAB) * 0.1}  # a non-zero bias, so leaving it out would show
    state["lm_head.decoder.bias"] = state["lm_head.bias"]
    cpu = torch.device("cpu")
    plain = gpu_train_step.build_model("langsamp", "tiny", state, VOCAB, cpu).eval()
    fused = gpu_train_step.build_model("langsamp", "tiny", state, VOCAB, cpu).eval()
    gpu_train_step.fuse_head_loss(
        fused, lambda weight, hidden, target, bias: F.cross_entropy(F.linear(hidden, weight, bias), target)
    )
    torch.manual_seed(3)
    batch = gpu_train_step.masked_batch(gpu_train_step.placeholder_collator(VOCAB), 2, 16, 610, 30)
    plain_loss, fused_loss = plain(**batch).loss, fused(**batch).loss
    assert fused_loss.item() == pytest.approx(plain_loss.item(), abs=1e-6)
    plain_loss.backward()
    fused_loss.backward()
    for name in ("roberta.embeddings.word_embeddings.weight", "lm_head.bias"):
        g_plain, g_fused = plain.get_parameter(name).grad, fused.get_parameter(name).grad
        assert g_fused is not None and g_fused.abs().sum() > 0
        torch.testing.assert_close(g_fused, g_plain, rtol=1e-5, atol=1e-7)


def test_out_of_memory_is_caught_and_the_search_goes_on(monkeypatch):
    """On CPU nothing runs out of memory: make steps above 6 sequences raise the error CUDA raises, and the search
    must record the failure, recover and report 4 as the largest batch tried that fits."""
    step = gpu_train_step.Trainer.step

    def step_with_a_memory_limit(self, inputs):
        if inputs["input_ids"].shape[0] > 6:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return step(self, inputs)

    monkeypatch.setattr(gpu_train_step.Trainer, "step", step_with_a_memory_limit)
    args = gpu_train_step.parse_args(["--tiny", "--device", "cpu", "--fit-max", "64"])
    state = train_step.initial_state("tiny", 0, vocab_size=VOCAB)
    fit = gpu_train_step.fit_case(
        "xlmr",
        "bf16",
        args,
        state,
        VOCAB,
        gpu_train_step.placeholder_collator(VOCAB),
        torch.device("cpu"),
        None,
        610,
        30,
        float("inf"),
    )
    assert [(p["batch_size"], p["fits"]) for p in fit["probes"]] == [(4, True), (8, False)]
    assert (fit["largest_batch"], fit["smallest_failing_batch"]) == (4, 8)


@pytest.mark.parametrize(
    "gpu, tflops",
    [
        ("NVIDIA H200", 989.4),
        ("NVIDIA H100 80GB HBM3", 989.4),  # the SXM part's name
        ("NVIDIA H100 PCIe", 756.5),
        ("NVIDIA H200 NVL", 835.5),
        ("NVIDIA A100-SXM4-80GB", 312.0),
        ("NVIDIA GeForce RTX 4090", None),  # not in the table: no MFU rather than a guessed one
    ],
)
def test_dense_bf16_peak_by_gpu_name(gpu, tflops):
    flops, source = gpu_train_step.bf16_peak({"device": "cuda", "gpu": gpu}, None)
    if tflops is None:
        assert flops is None and "--peak-tflops" in source
    else:
        assert flops == pytest.approx(tflops * 1e12) and "datasheet" in source


@pytest.mark.parametrize(
    "args, says",
    [
        (["--seq-len", "600"], "--seq-len 600"),
        (["--dtypes", "bf16,int8"], "int8"),
        (["--install-wheels", "/nonexistent-wheels"], "gpu_prepare.sh"),
    ],
)
def test_bad_options_fail_in_one_line(args, says):
    done = subprocess.run(
        [sys.executable, str(BENCH / "gpu_train_step.py"), *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in done.stderr
