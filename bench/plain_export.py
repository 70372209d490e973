"""The plain XLM-R export of a checkpoint against the LangSAMP folder it came from: encoder hidden states, masked-LM
logits with the folded language, and fill-mask top-5, on UDHR sentences of that language (stock transformers loads
the plain folder, no remote code).

    python bench/plain_export.py --model outputs/demo --language hin_Deva
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer, pipeline

from langsamp.resources.udhr import load_udhr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="outputs/demo")
    parser.add_argument("--language", default="hin_Deva")
    parser.add_argument("--sentences", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        plain_dir = Path(folder) / "plain"
        command = [sys.executable, "-m", "langsamp.hub.export", "--model", args.model, "--output_dir", str(plain_dir)]
        subprocess.run([*command, "--format", "xlm-roberta", "--language", args.language], check=True)
        print(json.dumps(compare(args, plain_dir), indent=2))


def compare(args: argparse.Namespace, plain_dir: Path) -> dict:
    texts = [text for text in load_udhr()[args.language].paragraphs() if text.strip()][: args.sentences]
    ours = AutoModelForMaskedLM.from_pretrained(args.model, trust_remote_code=True).eval()
    our_tokenizer = AutoTokenizer.from_pretrained(args.model, trust_remote_code=True)
    plain = AutoModelForMaskedLM.from_pretrained(plain_dir).eval()  # stock XLMRobertaForMaskedLM
    plain_tokenizer = AutoTokenizer.from_pretrained(plain_dir)
    batch = our_tokenizer(texts, lang=args.language, padding=True, truncation=True, max_length=128, return_tensors="pt")
    plain_batch = plain_tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.no_grad():
        a = ours(**batch, output_hidden_states=True)
        b = plain(**plain_batch, output_hidden_states=True)
    masked = [" ".join(text.split()[:12]).rsplit(" ", 1)[0] + f" {plain_tokenizer.mask_token}" for text in texts]
    fill_ours = pipeline("fill-mask", model=ours, tokenizer=our_tokenizer, top_k=5)
    fill_plain = pipeline("fill-mask", model=plain, tokenizer=plain_tokenizer, top_k=5)
    same_top5 = [
        [r["token"] for r in fill_ours(text, tokenizer_kwargs={"lang": args.language})]
        == [r["token"] for r in fill_plain(text)]
        for text in masked
    ]
    return {
        "model": args.model,
        "language": args.language,
        "plain_class": type(plain).__name__,
        "same_input_ids": bool(torch.equal(batch["input_ids"], plain_batch["input_ids"])),
        "hidden_states_identical": all(torch.equal(x, y) for x, y in zip(a.hidden_states, b.hidden_states)),
        "logits_max_abs_difference": (a.logits - b.logits).abs().max().item(),
        "logits_max_abs": a.logits.abs().max().item(),
        "fill_mask_same_top5": f"{sum(same_top5)}/{len(same_top5)}",
    }


if __name__ == "__main__":
    main()
