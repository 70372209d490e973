"""Masking for LangSAMP's MLM pretraining: transformers' stock collator, which does everything the recipe needs."""

from transformers import DataCollatorForLanguageModeling

def make_collator(tokenizer, mlm_probability=0.15, seed=None):
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
    per rank pass e.g. `seed=args.seed + 1000 * args.process_index`. train.py wraps the collator in
    `ResumableMasking`, which seeds each batch's masks from its content: resumed runs then match exactly.
    """
    return DataCollatorForLanguageModeling(tokenizer=tokenizer, mlm=True, mlm_probability=mlm_probability, seed=seed)


# The stock class is the LangSAMP collator: nothing needs overriding (see make_collator).
LangSAMPDataCollator = DataCollatorForLanguageModeling

