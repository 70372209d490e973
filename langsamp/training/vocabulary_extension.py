"""Growing a checkpoint's vocabulary to a larger tokenizer's (XLM-R's 250,002 pieces -> Glot500's ~401K) without
losing a trained row.

Glot500's tokenizer keeps XLM-R's pieces first and appends the new ones, but moves `<mask>` to the very end. A
plain `resize_token_embeddings` (what the release did, `--vocab_init resize`) keeps rows BY ID: XLM-R's trained
`<mask>` row then belongs to an ordinary new piece and the new `<mask>` id gets a random row, so fill-mask and the
MLM objective start from an untrained mask. `by_piece` matches rows by PIECE STRING instead: every piece the
checkpoint's vocabulary had keeps its trained embedding row and output bias at its new id (special tokens
included, wherever they moved); pieces new to the model start N(0, initializer_range) as in the paper, with bias
0. The decoder is tied to the embeddings, so it follows.
"""

import logging
from dataclasses import dataclass

import torch

logger = logging.getLogger(__name__)

VOCAB_INIT_METHODS = ("by_piece", "resize")


@dataclass(frozen=True)
class VocabularyExtension:
    """What `extend_vocabulary` did, for the log and the model card."""

    method: str
    old_size: int
    new_size: int
    kept: int  # rows carried over (by piece: pieces in both vocabularies; resize: the old ids)
    moved: int  # of those, pieces whose id changed (by_piece only)
    new: int  # rows that start N(0, initializer_range)
    dropped: int  # old pieces the new vocabulary lacks (their rows are gone)

    def summary(self):
        if self.method == "resize":
            return (
                f"Vocabulary {self.old_size} -> {self.new_size} rows by plain resize (rows kept by id, "
                f"{self.new} new rows N(0, initializer_range))."
            )
        return (
            f"Vocabulary {self.old_size} -> {self.new_size} pieces matched by string: {self.kept} trained rows kept "
            f"({self.moved} at a new id), {self.new} new pieces N(0, initializer_range), {self.dropped} old pieces "
            "dropped."
        )


def extend_vocabulary(model, old_vocab, new_vocab, method="by_piece"):
    """Resize `model`'s embeddings, decoder and output bias from `old_vocab` to `new_vocab` ({piece: id}, e.g.
    `tokenizer.get_vocab()`). Returns a VocabularyExtension. ValueError for an unknown method, a vocabulary that does
    not match the model's rows, or a moved `<pad>` (RoBERTa's position ids are counted from the padding id)."""
    if method not in VOCAB_INIT_METHODS:
        raise ValueError(f"vocab_init must be one of {', '.join(VOCAB_INIT_METHODS)}, not {method!r}.")
    embeddings = model.get_input_embeddings()
    old_rows, new_size = embeddings.weight.shape[0], max(new_vocab.values()) + 1
    if method == "resize":
        model.resize_token_embeddings(new_size, mean_resizing=False)  # new rows N(0, initializer_range)
        return VocabularyExtension(method, old_rows, new_size, old_rows, 0, new_size - old_rows, 0)
    if max(old_vocab.values()) + 1 != old_rows:
        raise ValueError(
            f"The checkpoint's tokenizer has {max(old_vocab.values()) + 1} ids but its embeddings {old_rows} rows: "
            "rows cannot be matched by piece. Use the checkpoint's own tokenizer files, or --vocab_init resize."
        )
    pad = getattr(model.config, "pad_token_id", None)
    if pad is not None:
        piece = next((p for p, i in old_vocab.items() if i == pad), None)
        if piece is not None and new_vocab.get(piece, pad) != pad:
            raise ValueError(
                f"The new tokenizer moves {piece!r} from id {pad} to {new_vocab[piece]}: RoBERTa counts position ids "
                "from the padding id, so the trained positions would shift. Keep the padding token's id."
            )
    common = [piece for piece in old_vocab if piece in new_vocab]
    old_ids = torch.tensor([old_vocab[p] for p in common], dtype=torch.long)
    new_ids = torch.tensor([new_vocab[p] for p in common], dtype=torch.long)
    old_weight = embeddings.weight.detach().clone()
    output = model.get_output_embeddings()
    old_bias = output.bias.detach().clone() if output is not None and output.bias is not None else None
    old_decoder = None
    if output is not None and output.weight is not embeddings.weight:  # untied decoder: carry it over too
        old_decoder = output.weight.detach().clone()

    model.resize_token_embeddings(new_size, mean_resizing=False)
    std = model.config.initializer_range
    with torch.no_grad():
        weight = model.get_input_embeddings().weight
        fresh = torch.empty_like(weight).normal_(0.0, std)  # every row not carried over: a new piece
        fresh[new_ids] = old_weight[old_ids]
        weight.copy_(fresh)
        output = model.get_output_embeddings()
        if old_decoder is not None and output.weight is not weight:
            decoder = torch.empty_like(output.weight).normal_(0.0, std)
            decoder[new_ids] = old_decoder[old_ids]
            output.weight.copy_(decoder)
        if old_bias is not None and output.bias is not None:
            bias = torch.zeros_like(output.bias)
            bias[new_ids] = old_bias[old_ids]
            output.bias.copy_(bias)
    moved = int((old_ids != new_ids).sum())
    return VocabularyExtension(
        method, old_rows, new_size, len(common), moved, new_size - len(common), len(old_vocab) - len(common)
    )
