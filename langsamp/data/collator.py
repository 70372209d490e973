"""Masking for LangSAMP's MLM pretraining: transformers' stock collator, which does everything the recipe needs, and
`ResumableMasking`, which makes its masks the same in a resumed run as in an uninterrupted one."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np
import torch
from transformers import DataCollatorForLanguageModeling, default_data_collator


def make_collator(tokenizer, mlm_probability: float = 0.15, seed: int | None = None) -> DataCollatorForLanguageModeling:
    """transformers' stock `DataCollatorForLanguageModeling`, which does all LangSAMP needs (checked on v5.24):

    * 15% of tokens masked, of those 80% `<mask>`, 10% a random token (drawn from the whole vocabulary, as
      run_mlm.py does), 10% kept; labels -100 everywhere else;
    * special tokens (`<s>`, `</s>`, `<pad>`, `<unk>`, `<mask>`) are never masked: without a
      `special_tokens_mask` column it calls `tokenizer.get_special_tokens_mask(ids, already_has_special_tokens
      =True)`, which marks every id in `tokenizer.all_special_ids`, padding included;
    * `lang_ids` / `script_ids` pass through `tokenizer.pad`, which keeps one scalar per row (-> `[batch]`
      long tensors, which the model broadcasts over the sequence).

    `seed`: None draws masks from torch's global RNG, which the Trainer seeds (`set_seed(args.seed)`), saves in
    every checkpoint (rng_state*.pth) and restores on resume, but only after the first resumed step's batches
    were collated, so masks from then on follow the restored stream, not the uninterrupted run's. An int gives
    the collator its own torch.Generator, seeded on first use in each process (DataLoader workers: seed + worker
    id); it is not checkpointed, so a resumed run restarts it from `seed`. Either way the DATA ORDER of a resumed
    run is exact (the rows come from the deterministic dataset); the masks are a fresh random draw. Under DDP
    every rank gets the same `seed` (and the Trainer seeds every rank's global RNG alike): for different masks
    per rank pass e.g. `seed=args.seed + 1000 * args.process_index`. The training script wraps the collator in
    `ResumableMasking`, which seeds each batch's masks from its content: resumed runs then match exactly.
    """
    return DataCollatorForLanguageModeling(tokenizer=tokenizer, mlm=True, mlm_probability=mlm_probability, seed=seed)


# The stock class is the LangSAMP collator: nothing needs overriding (see make_collator).
LangSAMPDataCollator = DataCollatorForLanguageModeling


class ResumableMasking:
    """The MLM collator (drawing from torch's global RNG, `make_collator(seed=None)`), run with that RNG seeded from
    (seed, the batch's token ids) and restored afterwards.

    Why: on resume the Trainer restores the checkpoint's RNG state only AFTER it has fetched, and so masked, the
    first batches of the resumed run; masks from the live global RNG therefore differ from the uninterrupted run's
    from the resume point on. Seeded by the batch itself, every batch is masked the same way whatever happened in
    the process before (resume, dataloader workers, ranks), while a chunk that comes back in another batch is masked
    afresh. The training RNG (dropout) is left untouched by `fork_rng`. Held-out chunks come already masked
    (`mask_once`) and are only stacked.
    """

    def __init__(self, mlm_collator: Callable[[Sequence[dict]], dict], seed: int):
        self.mlm_collator = mlm_collator
        self.key = int(seed).to_bytes(8, "little", signed=True)

    def __call__(self, features: Sequence[dict]) -> dict:
        if "labels" in features[0]:
            return default_data_collator(features)
        if "mlm_probability" in features[0]:  # a scheduled run's rows carry their step's masking rate (phased.py)
            rates = {feature["mlm_probability"] for feature in features}
            features = [{k: v for k, v in feature.items() if k != "mlm_probability"} for feature in features]
            self.mlm_collator.mlm_probability = max(rates)  # one step's rows share one rate
        digest = hashlib.blake2b(key=self.key, digest_size=8)
        for feature in features:
            digest.update(np.asarray(feature["input_ids"], dtype=np.int64).tobytes())
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int.from_bytes(digest.digest(), "little") >> 1)
            return self.mlm_collator(features)
