"""The demo's probes: what a newcomer can read off the model (fill-mask, UDHR retrieval, the language table) before
and after training, written to `demo_probes.json` in output_dir and shown in the summary."""

from __future__ import annotations

import json
import time
from pathlib import Path

from transformers import TrainerCallback


class DemoProbes(TrainerCallback):
    """`probes["before"]` at the start of training, `probes["after"]` at its end (not after an interrupted run), on
    rank 0 only. `seconds`: how long they took, which is not training time."""

    def __init__(self, tokenizer, pairs: list[str]):
        self.tokenizer, self.pairs = tokenizer, pairs
        self.probes: dict[str, dict] = {}
        self.seconds = 0.0

    def _probe(self, model) -> dict:
        from langsamp.resources.demo import probe

        started = time.perf_counter()
        found = probe(model, self.tokenizer, self.pairs)
        self.seconds += time.perf_counter() - started
        return found

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if state.is_world_process_zero and "before" not in self.probes:
            self.probes["before"] = self._probe(model)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero or "before" not in self.probes or state.global_step < state.max_steps:
            return
        self.probes["after"] = self._probe(model)
        text = json.dumps(self.probes, indent=2, ensure_ascii=False) + "\n"
        Path(args.output_dir, "demo_probes.json").write_text(text)
