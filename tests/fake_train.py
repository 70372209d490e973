"""A stand-in for train.py in compare_baseline.py's tests: takes train.py's flags and, where train.py would write its
model, copies a prepared tiny checkpoint ($FAKE_TRAIN_LANGSAMP with the tables, $FAKE_TRAIN_BASELINE without, per
--use_lang_embedding), in a fraction of a second instead of minutes. Every call is appended to $FAKE_TRAIN_CALLS; it
fails (exit 1) for the seed in $FAKE_TRAIN_FAIL_SEED."""

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--output_dir")
parser.add_argument("--seed", type=int)
parser.add_argument("--max_steps", type=int)
parser.add_argument("--use_lang_embedding")
args, _ = parser.parse_known_args()
with open(os.environ["FAKE_TRAIN_CALLS"], "a", encoding="utf-8") as calls:
    calls.write(f"{args.seed} {args.use_lang_embedding}\n")
if os.environ.get("FAKE_TRAIN_FAIL_SEED") == str(args.seed):
    sys.exit("fake_train.py: failing as asked")
source = os.environ["FAKE_TRAIN_LANGSAMP" if args.use_lang_embedding == "True" else "FAKE_TRAIN_BASELINE"]
shutil.copytree(source, args.output_dir)
Path(args.output_dir, "trainer_state.json").write_text(json.dumps({"global_step": args.max_steps}))
