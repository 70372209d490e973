"""The run's summary: the figures `main` returns, and the closing block printed for the user."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainingArguments

from langsamp.training.model_card import last_logged_loss


@dataclass
class RunFacts:
    """What the summary needs to know of the run besides the Trainer's state."""

    demo: bool
    steps: int  # optimizer steps in this process (a resumed run counts from where it resumed)
    batch: int  # sequences per optimizer step, all processes together
    max_seq_length: int
    seconds: float  # wall time of training alone (held-out losses and demo probes left out)
    n_params: int
    grown_rows: dict | None = None  # the table rows this run appended (table_rows.grow_tables' record)


def summary_of(trainer: Any, run: RunFacts, losses: dict, head_warmup: Any, pushed: Any) -> dict:
    """The figures `main` returns (and the tests read)."""
    tokens = run.steps * run.batch * run.max_seq_length
    return {
        "output_dir": str(Path(trainer.args.output_dir).resolve()),
        "steps": trainer.state.global_step,
        "tokens_per_second": round(tokens / run.seconds, 1) if run.seconds > 0 else None,
        "loss_before": losses.get("before"),
        "loss_after": losses.get("after"),
        "train_loss_last": last_logged_loss(trainer.state),
        "pushed": None if pushed is None else getattr(pushed, "oid", str(pushed)),
        "hub_model_id": trainer.hub_model_id if trainer.args.push_to_hub else None,
        "final_push_failed": bool(trainer.args.push_to_hub) and pushed is None,
        "failed_pushes": len(trainer.failed_pushes),
        "head_warmup_steps": head_warmup.steps,
        "head_warmup_learning_rate": head_warmup.learning_rate,
        "head_warmup_seconds": head_warmup.seconds,
        "new_languages": list((run.grown_rows or {}).get("languages", {})),
        "new_scripts": list((run.grown_rows or {}).get("scripts", {})),
    }


def print_summary(
    summary: dict, run: RunFacts, model: Any, training_args: TrainingArguments, probes: dict | None = None
) -> None:
    """The closing block a user reads: where the checkpoint is, the losses, the throughput, how to load it."""
    demo, steps, batch, seconds, n_params = run.demo, run.steps, run.batch, run.seconds, run.n_params
    out = summary["output_dir"]
    lines = ["", "=" * 100, "LangSAMP continual pretraining: done", ""]
    lines.append(f"  checkpoint        {out}")
    if summary["new_languages"] or summary["new_scripts"]:
        lines.append(
            f"  new table rows    {len(summary['new_languages'])} language(s) "
            f"({', '.join(summary['new_languages']) or '-'}), {len(summary['new_scripts'])} script(s) "
            f"({', '.join(summary['new_scripts']) or '-'})"
        )
    if demo:
        lines.append(
            f"                    multilingual-e5-small continually pretrained as LangSAMP ({n_params / 1e6:.1f}M "
            f"parameters, {model.config.num_hidden_layers} layers x {model.config.hidden_size}, XLM-R vocabulary)"
        )
    lines.append(
        f"  steps             {summary['steps']} ({steps} in this run; {batch} sequences x {run.max_seq_length} "
        "tokens each)"
    )
    if summary["loss_before"] is not None:
        ln_vocab = math.log(model.config.vocab_size)
        lines.append(
            f"  MLM loss          {summary['loss_before']:.3f} before -> {summary['loss_after']:.3f} after "
            f"(held-out chunks, same masks; ln(vocab) = {ln_vocab:.2f})"
        )
    if summary["train_loss_last"] is not None:
        lines.append(f"  last train loss   {summary['train_loss_last']:.3f}")
    if summary["tokens_per_second"] is not None:
        lines.append(f"  throughput        {summary['tokens_per_second']:,.0f} tokens/s ({seconds:.0f} s of training)")
    if summary["head_warmup_steps"]:
        warm = summary["head_warmup_steps"]
        timing = f"; {summary['head_warmup_seconds']:.0f} s of the training" if summary["head_warmup_seconds"] else ""
        lines.append(
            f"  head warm-up      steps 1-{warm}: LM head + tables only (lr "
            f"{summary['head_warmup_learning_rate']:g}), then {max(summary['steps'] - warm, 0)} steps of everything "
            f"(lr {training_args.learning_rate:g}){timing}"
        )
    if probes:
        from langsamp.resources.demo import probe_lines

        lines += probe_lines(probes["before"], probes["after"])
    if training_args.push_to_hub:
        state = f"pushed, commit {summary['pushed']}" if summary["pushed"] else "FINAL PUSH FAILED (see the warnings)"
        lines.append(
            f"  Hub               {training_args.hub_model_id}: {state}; {summary['failed_pushes']} intermediate "
            "push(es) failed"
        )
    lines += [
        "",
        "  Load it:",
        "    from transformers import AutoModelForMaskedLM, AutoTokenizer",
        f"    tokenizer = AutoTokenizer.from_pretrained({out!r}, trust_remote_code=True)",
        f"    model = AutoModelForMaskedLM.from_pretrained({out!r}, trust_remote_code=True)",
        '    batch = tokenizer(["All human beings are born free and equal in <mask>."], lang="eng", '
        'return_tensors="pt")',
        "    logits = model(**batch).logits",
        "=" * 100,
    ]
    print("\n".join(lines), flush=True)
