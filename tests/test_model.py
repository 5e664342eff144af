"""The NetTIME network: sizes, shapes, variants, the fused GRU and vocabulary growth."""

import copy

import pytest
import torch

from nettime.models.gru import bigru
from nettime.models.network import (
    EMBEDDING_MODES,
    ModelConfig,
    ModelError,
    NetTIME,
    build_model,
    count_parameters,
    grow_vocab,
    load_model,
    randomize_embeddings,
    save_model,
)
from nettime.models.recompute import Recompute
from nettime.models.training import sequence_loss


def test_paper_sizes_have_the_original_parameter_count():
    config = ModelConfig(n_features=8, embedding_dim=50, tf_table_size=256, cell_table_size=64)
    model = NetTIME(config)
    assert config.hidden == 100
    assert count_parameters(model) == 1_524_302
    assert model.blocks[0].dropout_cnn.p == 0.1 and model.blocks[1].dropout_cnn.p == 0.0
    assert model.blocks[0].gru.hidden_size == 100 and model.blocks[0].conv1.kernel_size == (7,)


@pytest.mark.parametrize("mode", list(EMBEDDING_MODES))
def test_every_mode_gives_logits_per_position(mode):
    config = ModelConfig(n_features=5, embedding_dim=3, tf_table_size=4, cell_table_size=3,
                         embeddings=mode)
    model = NetTIME(config).eval()
    x = torch.randn(2, 11, 5)
    out = model(x, torch.tensor([0, 3]), torch.tensor([2, 1]))
    assert out.shape == (2, 11, 2) and out.dtype == torch.float32
    tf_source, cell_source = EMBEDDING_MODES[mode]
    used = (tf_source != "none") + (cell_source != "none")
    assert config.hidden == 3 * (used or 2)
    assert (model.tf_embed is not None) == (tf_source == "trained")
    assert (model.tf_random is not None) == (tf_source == "random")


def test_embeddings_set_the_initial_state_so_conditions_differ():
    model = NetTIME(ModelConfig(n_features=4, embedding_dim=4, tf_table_size=3,
                                cell_table_size=2)).eval()
    x = torch.randn(1, 20, 4).expand(2, -1, -1)
    out = model(x, torch.tensor([0, 1]), torch.tensor([0, 0]))
    assert not torch.allclose(out[0], out[1])
    h0 = model.initial_state(torch.tensor([2]), torch.tensor([1]))
    expected = torch.cat([model.tf_embed.weight[2], model.cell_embed.weight[1]])
    assert torch.equal(h0[0, 0], expected) and torch.equal(h0[1, 0], expected)


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


# One thread: both directions batched; two: one worker thread per direction.
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("chunk", [1, 4, 100])
def test_fused_gru_matches_torch_gru_values_and_gradients(chunk, threads, restore_threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    gru = torch.nn.GRU(6, 5, batch_first=True, bidirectional=True).double()
    x = torch.randn(3, 9, 6, dtype=torch.double, requires_grad=True)
    h0 = torch.randn(2, 3, 5, dtype=torch.double, requires_grad=True)
    reference = gru(x, h0)[0]
    fused = bigru(gru, x, h0, chunk=chunk)
    torch.testing.assert_close(fused, reference)
    weights = torch.randn_like(reference)
    inputs = [x, h0, *gru.parameters()]
    expected = torch.autograd.grad((reference * weights).sum(), inputs)
    got = torch.autograd.grad((fused * weights).sum(), inputs)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b)
    with torch.no_grad():
        torch.testing.assert_close(bigru(gru, x, h0, chunk=chunk), reference.detach())
    with torch.inference_mode():
        torch.testing.assert_close(bigru(gru, x, h0, chunk=chunk), reference.detach())
    assert torch.get_num_threads() == threads


def test_fused_gru_with_a_thread_per_direction_is_deterministic(restore_threads):
    """Each direction's arithmetic does not depend on how the two threads are scheduled: runs
    give the same bits, and agree with the batched single-thread path up to rounding."""
    torch.manual_seed(1)
    gru = torch.nn.GRU(8, 6, batch_first=True, bidirectional=True)
    x = torch.randn(4, 30, 8, requires_grad=True)
    h0 = torch.randn(2, 4, 6, requires_grad=True)
    results = []
    for threads in (2, 2, 2, 1):
        torch.set_num_threads(threads)
        out = bigru(gru, x, h0, chunk=7)
        results.append((out, *torch.autograd.grad(out.square().sum(), [x, h0, *gru.parameters()])))
    for a, b, c, single in zip(*results, strict=True):
        assert torch.equal(a, b) and torch.equal(a, c)
        torch.testing.assert_close(single, a)


def test_recomputed_activations_train_exactly_like_the_plain_graph(monkeypatch):
    """Outputs, gradients, weights and BatchNorm running statistics (updated once per step)
    of the memory-saving path equal those of the plain autograd graph, with dropout on."""
    recipes = []
    pack = Recompute.pack

    def counting_pack(self, tensor):
        packed = pack(self, tensor)
        recipes.append(not isinstance(packed, torch.Tensor))
        return packed

    monkeypatch.setattr(Recompute, "pack", counting_pack)
    config = ModelConfig(n_features=6, embedding_dim=4, tf_table_size=5, cell_table_size=3,
                         dropout=0.3)
    lean = build_model(config, seed=0).double()
    plain = copy.deepcopy(lean)
    plain.recompute_activations = False
    optimizers = [torch.optim.Adam(m.parameters(), lr=1e-2) for m in (lean, plain)]
    generator = torch.Generator().manual_seed(1)
    for step in range(3):
        x = torch.randn(4, 23, 6, dtype=torch.double, generator=generator)
        y = (torch.rand(4, 23, generator=generator) < 0.3).long()
        tf, cell = torch.tensor([0, 4, 2, 0]), torch.tensor([1, 2, 0, 1])
        results = []
        for model, optimizer in zip((lean, plain), optimizers, strict=True):
            torch.manual_seed(10 + step)  # the same dropout masks for both
            logits = model(x, tf, cell)
            optimizer.zero_grad()
            sequence_loss(logits, y).backward()
            results.append((logits.detach(), [p.grad.clone() for p in model.parameters()]))
            optimizer.step()
        torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-12, atol=1e-12)
        for a, b in zip(results[0][1], results[1][1], strict=True):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    assert sum(recipes) >= 15  # BN/ReLU/Tanh/dropout results were rebuilt, not kept
    state, reference = lean.state_dict(), plain.state_dict()
    assert int(state["blocks.0.bn1.num_batches_tracked"]) == 3
    for name, value in reference.items():
        torch.testing.assert_close(state[name], value, rtol=1e-12, atol=1e-12, msg=name)
    # Evaluation and gradient-free calls never take the recomputing path.
    recipes.clear()
    with torch.no_grad():
        lean(x, tf, cell)
    lean.eval()(x, tf, cell).sum().backward()
    assert not any(recipes)


def test_fixed_random_embeddings_are_buffers_not_parameters():
    model = NetTIME(ModelConfig(n_features=4, embedding_dim=3, embeddings="random_both"))
    names = [n for n, _ in model.named_parameters()]
    assert not any("embed" in n for n in names)
    assert set(model.state_dict()) >= {"tf_random", "cell_random"}


def test_grow_vocab_keeps_trained_rows_and_appends_names():
    config = ModelConfig(n_features=4, embedding_dim=3, tf_table_size=2, cell_table_size=2,
                         tf_vocab=("JUND", "CTCF"), cell_vocab=("K562",))
    model = build_model(config, seed=1)
    grown = grow_vocab(model, tfs=["CTCF", "FOXA1"], cells=["HepG2"], seed=3)
    assert grown.config.tf_vocab == ("JUND", "CTCF", "FOXA1")
    assert grown.config.cell_vocab == ("K562", "HepG2")
    assert grown.tf_embed.num_embeddings == 3 and grown.cell_embed.num_embeddings == 2
    assert torch.equal(grown.tf_embed.weight[:2], model.tf_embed.weight)
    assert torch.equal(grown.cell_embed.weight, model.cell_embed.weight)
    x = torch.randn(1, 10, 4)
    grown.eval(), model.eval()
    torch.testing.assert_close(grown(x, torch.tensor([1]), torch.tensor([0])),
                               model(x, torch.tensor([1]), torch.tensor([0])))


def test_randomize_embeddings_replaces_only_the_chosen_table():
    model = build_model(ModelConfig(n_features=4, embedding_dim=3), seed=0)
    swapped = randomize_embeddings(model, tf=True, cell=False, seed=5)
    assert not torch.equal(swapped.tf_embed.weight, model.tf_embed.weight)
    assert torch.equal(swapped.cell_embed.weight, model.cell_embed.weight)
    assert torch.equal(swapped.blocks[0].conv1.weight, model.blocks[0].conv1.weight)


def test_bad_configurations_are_refused():
    with pytest.raises(ModelError, match="embedding mode"):
        ModelConfig(n_features=4, embeddings="sometimes")
    with pytest.raises(ModelError, match="do not fit"):
        ModelConfig(n_features=4, tf_table_size=1, tf_vocab=("A", "B"))


def test_save_and_load_round_trip(tmp_path):
    model = build_model(ModelConfig(n_features=6, embedding_dim=2, embeddings="random_tf",
                                    tf_vocab=("A",), cell_vocab=("c",)), seed=2).eval()
    save_model(model, tmp_path / "m.pt", {"step": 3})
    loaded = load_model(tmp_path / "m.pt").eval()
    assert loaded.config == model.config
    x = torch.randn(2, 8, 6)
    index = torch.tensor([0, 0])
    torch.testing.assert_close(loaded(x, index, index), model(x, index, index))
    (tmp_path / "bad.pt").write_text("not a checkpoint")
    with pytest.raises(ModelError, match="bad.pt"):
        load_model(tmp_path / "bad.pt")
