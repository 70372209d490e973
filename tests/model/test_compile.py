"""`torch.compile` (CPU inductor) trains LangSAMP: the same losses as eager, and one graph.

With `sparse_prediction` (ModernBERT's switch; train.py turns it on), the head selects the labelled positions, a
data-dependent shape. It is written as ONE nonzero and
plain gathers, and its loss without a Python branch on the number of targets when compiling, so with dynamo's
`capture_dynamic_output_shape_ops` (train.py sets it for --torch_compile) the whole forward is one graph, and
without it there is a single break. The id range checks (`.item()`) are skipped while compiling. Slow-ish: about
20 s of CPU for both tests (inductor compiles the forward and backward), 4-8 min wall on a heavily loaded machine."""

import pytest
import torch
from fixtures.models import tiny_config

pytestmark = pytest.mark.filterwarnings("ignore")


def batches(seed=0, n=3, batch=4, seq=24):
    generator = torch.Generator().manual_seed(seed)
    out = []
    for step in range(n):
        ids = torch.randint(5, 5000, (batch, seq), generator=generator)
        labels = torch.full_like(ids, -100)
        masked = torch.rand(batch, seq, generator=generator) < 0.15
        masked[0, step + 1] = True  # at least one target
        labels[masked] = ids[masked]
        out.append(
            dict(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                labels=labels,
                lang_ids=torch.randint(0, 600, (batch,), generator=generator),
                script_ids=torch.randint(0, 30, (batch,), generator=generator),
            )
        )
    return out


def train_losses(model, steps):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for batch in steps:
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses


def fresh_model(sparse_prediction=True):
    """As train.py trains: ModernBERT's `sparse_prediction` on (the head at the masked positions only), and the
    chunked loss, here from one masked position on: eager runs it, a compiled graph keeps the plain head."""
    from modeling_langsamp import LangSAMPForMaskedLM

    torch.manual_seed(0)
    chunked = 1 if sparse_prediction else None
    return LangSAMPForMaskedLM(tiny_config(sparse_prediction=sparse_prediction, chunked_loss_rows=chunked)).train()


@pytest.fixture
def capture_dynamic_shapes():
    import torch._inductor.config

    # One compile thread: a pool of compile workers costs more to start than the tiny graphs cost to build.
    with (
        torch._dynamo.config.patch(capture_dynamic_output_shape_ops=True),
        torch._inductor.config.patch(compile_threads=1),
    ):
        torch._dynamo.reset()
        yield
    torch._dynamo.reset()


@pytest.mark.parametrize("sparse_prediction", [True, False])
def test_the_masked_lm_forward_is_one_graph(capture_dynamic_shapes, sparse_prediction):
    batch = batches(n=1)[0]
    explained = torch._dynamo.explain(fresh_model(sparse_prediction))(**batch)
    assert explained.graph_break_count == 0, [reason.reason[:200] for reason in explained.break_reasons]
    assert explained.graph_count == 1


def test_compiled_training_gives_the_eager_losses(capture_dynamic_shapes):
    steps = batches()
    eager = train_losses(fresh_model(), steps)
    compiled = train_losses(torch.compile(fresh_model(), backend="inductor"), steps)
    assert eager[0] > eager[-1]  # it trains
    assert compiled == pytest.approx(eager, rel=1e-4, abs=1e-5)
    # A batch with nothing masked: a zero loss (not NaN) through the branch-free compiled path too (traced by
    # dynamo and AOT autograd; inductor's code generation is not what this checks).
    empty = dict(steps[0], labels=torch.full_like(steps[0]["labels"], -100))
    model = torch.compile(fresh_model(), backend="aot_eager")
    loss = model(**empty).loss
    assert loss.item() == 0.0
    loss.backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
