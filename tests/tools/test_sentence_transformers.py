"""sentence-transformers on a LangSAMP folder, as docs/tools.md shows it: `SentenceTransformer(folder,
trust_remote_code=True)` builds the encoder and mean pooling; its embedding is the attention-masked mean of
AutoModel's last hidden state, its similarity the cosine, and a saved and reloaded model encodes identically."""

import pytest
import torch

SENTENCES = [
    "Everyone has the right to life, liberty and security of person.",
    "لكل فرد الحق في الحياة والحرية وفي الأمان على شخصه.",
    "人人有权享有生命、自由和人身安全。",
]


@pytest.fixture(scope="module")
def sentence_model(folder):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), trust_remote_code=True, device="cpu")


def test_the_embedding_is_the_masked_mean_of_the_encoders_last_hidden_state(folder, folder_tokenizer, sentence_model):
    from transformers import AutoModel

    embeddings = sentence_model.encode(SENTENCES, convert_to_tensor=True)

    encoder = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    batch = folder_tokenizer(SENTENCES, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = encoder(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    by_hand = (hidden * mask).sum(1) / mask.sum(1)  # padding positions count for nothing

    assert embeddings.shape == (3, encoder.config.hidden_size)
    assert batch["attention_mask"].sum(1).unique().numel() > 1  # the sentences differ in length: padding matters
    torch.testing.assert_close(embeddings, by_hand, rtol=1e-5, atol=1e-5)


def test_similarity_is_the_cosine_of_the_embeddings(sentence_model):
    embeddings = sentence_model.encode(SENTENCES, convert_to_tensor=True)
    similarity = sentence_model.similarity(embeddings, embeddings)

    unit = [e / e.dot(e).sqrt() for e in embeddings]
    by_hand = torch.tensor([[float(a.dot(b)) for b in unit] for a in unit])
    torch.testing.assert_close(similarity, by_hand, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(similarity.diagonal(), torch.ones(3), rtol=0, atol=1e-5)


def test_save_and_reload_gives_the_same_embeddings(sentence_model, is_langsamp, tmp_path):
    from sentence_transformers import SentenceTransformer

    sentence_model.save(str(tmp_path / "st"))
    reloaded = SentenceTransformer(str(tmp_path / "st"), trust_remote_code=True, device="cpu")

    before = sentence_model.encode(SENTENCES, convert_to_tensor=True)
    after = reloaded.encode(SENTENCES, convert_to_tensor=True)
    torch.testing.assert_close(after, before, rtol=1e-6, atol=1e-6)
    # a LangSAMP folder carries its own model code: the reload ran it, not the checkout's modules; a plain one is
    # stock XLM-R
    module = type(reloaded[0].auto_model).__module__
    assert module.startswith("transformers_modules." if is_langsamp else "transformers.models.xlm_roberta."), module
    assert (tmp_path / "st" / "modules.json").is_file()
