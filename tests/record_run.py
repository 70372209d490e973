"""Run train.py and record what it trained and evaluated on, for tests that check the data, not just the loss.

    RECORD_DIR=/tmp/rec python tests/record_run.py --corpus ... --output_dir ...          # or under torchrun

Writes, per rank (`RANK`, default 0), into RECORD_DIR:
  rank{r}.json  {"mixture": rows of the sampled mixture, "train": the training rows after the held-out split,
                 "held_out": the held-out chunks (before masking), "batches": every collated batch in call order,
                 each {"kind": "train" | "eval", "input_ids", "labels", "lang_ids"}};
  rank{r}-{event}.pt  the model's state_dict at each event named in RECORD_WEIGHTS (comma-separated:
                 `begin` = on_train_begin, after loading and before any step; `end` = on_train_end; `stepN` = after
                 optimizer step N).
Rows are lists of token ids. Only train.py's own functions are wrapped: what it computes is unchanged.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from transformers import TrainerCallback  # noqa: E402

from langsamp.training import train  # noqa: E402

OUT = Path(os.environ["RECORD_DIR"])
RANK = int(os.environ.get("RANK", "0"))
WEIGHT_EVENTS = {name for name in os.environ.get("RECORD_WEIGHTS", "").split(",") if name}
record = {"mixture": None, "train": None, "held_out": None, "batches": []}


def ids_of(dataset):
    return None if dataset is None else [list(row) for row in dataset["input_ids"]]


build, split, masking = train.build_pretraining_dataset, train.split_held_out, train.ResumableMasking


def recording_build(*args, **kwargs):
    result = build(*args, **kwargs)
    record["mixture"] = ids_of(result[0] if isinstance(result, tuple) else result)  # (dataset, mixture) with return_mixture
    return result


def recording_split(dataset, *args, **kwargs):
    train_rows, held_out = split(dataset, *args, **kwargs)
    record["train"], record["held_out"] = ids_of(train_rows), ids_of(held_out)
    return train_rows, held_out


class RecordingMasking(masking):
    def __call__(self, features):
        batch = super().__call__(features)
        record["batches"].append({
            "kind": "eval" if "labels" in features[0] else "train",
            "input_ids": batch["input_ids"].tolist(),
            "labels": batch["labels"].tolist(),
            "lang_ids": batch["lang_ids"].tolist(),
        })
        return batch


class DumpWeights(TrainerCallback):
    def _dump(self, event, model):
        if event in WEIGHT_EVENTS:
            torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, OUT / f"rank{RANK}-{event}.pt")

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._dump("begin", model)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self._dump("end", model)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self._dump(f"step{state.global_step}", model)


train.build_pretraining_dataset, train.split_held_out, train.ResumableMasking = recording_build, recording_split, RecordingMasking
OUT.mkdir(parents=True, exist_ok=True)
try:
    train.main(sys.argv[1:], callbacks=[DumpWeights()])
finally:
    (OUT / f"rank{RANK}.json").write_text(json.dumps(record))
