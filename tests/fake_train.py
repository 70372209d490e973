"""A stand-in for train.py in compare_baseline.py's tests: takes train.py's flags, writes a tiny random LangSAMP
masked LM (with or without the tables, per --use_lang_embedding) where train.py would, in a second instead of
minutes. Every call is appended to $FAKE_TRAIN_CALLS; it fails (exit 1) for the seed in $FAKE_TRAIN_FAIL_SEED."""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

parser = argparse.ArgumentParser()
parser.add_argument("--output_dir")
parser.add_argument("--seed", type=int)
parser.add_argument("--max_steps", type=int)
parser.add_argument("--use_lang_embedding")
parser.add_argument("--use_script_embedding")
args, _ = parser.parse_known_args()
with open(os.environ["FAKE_TRAIN_CALLS"], "a", encoding="utf-8") as calls:
    calls.write(f"{args.seed} {args.use_lang_embedding}\n")
if os.environ.get("FAKE_TRAIN_FAIL_SEED") == str(args.seed):
    sys.exit("fake_train.py: failing as asked")

import torch  # noqa: E402
from conftest import tiny_config  # noqa: E402

from assets import default_tokenizer  # noqa: E402
from modeling_langsamp import LangSAMPForMaskedLM  # noqa: E402

torch.manual_seed(args.seed)
tables = args.use_lang_embedding == "True"
model = LangSAMPForMaskedLM(tiny_config(use_lang_embedding=tables, use_script_embedding=tables))
model.save_pretrained(args.output_dir)
default_tokenizer().save_pretrained(args.output_dir)
Path(args.output_dir, "trainer_state.json").write_text(json.dumps({"global_step": args.max_steps}))
