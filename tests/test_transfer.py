"""Transfer learning (nettime.paper.transfer and the Average Train prediction): which model
each strategy uses, on which conditions, with which embeddings."""

import copy

import h5py
import numpy as np
import pytest
import torch

from nettime.config import ConfigError, load_project, split_condition
from nettime.models.network import ModelConfig, build_model
from nettime.models.prediction import predict_condition, write_predictions
from nettime.models.registry import average_train_cells, model_specs, vocabularies
from nettime.paper.figures import figure_models, plan_figures
from nettime.paper.transfer import (
    NEW_PRETRAINED_NONE,
    PRETRAINED,
    PRETRAINED_NONE,
    fine_tuning_conditions,
    tuned_name,
)


@pytest.fixture(scope="module")
def tiny():
    return load_project("config/tiny/config.yaml")


@pytest.fixture(scope="module")
def specs(tiny):
    project = copy.deepcopy(tiny)
    project.config["models"] = {**project.config["models"], **figure_models(project)}
    return model_specs(project)


def test_leave_out_models_never_train_on_heldout_conditions(tiny, specs):
    heldout = tiny.condition_names(["heldout"])
    train = tiny.condition_names(["train"])
    assert heldout == ["JUND.A549", "CTCF.A549"]
    for name in (PRETRAINED, PRETRAINED_NONE, "catchitt_transfer", "leopard_transfer"):
        assert list(specs[name].conditions) == train, name
        assert list(specs[name].predict) == heldout, name
    assert specs[PRETRAINED].embeddings == "both"
    assert specs[PRETRAINED_NONE].embeddings == "none"
    # The supervised base model trains on them.
    assert set(heldout) <= set(specs["multitask"].conditions)


def test_fine_tuning_sets_of_the_paper_and_the_thesis(tiny, specs):
    train = tiny.condition_names(["train"])
    target = "JUND.A549"
    paper = fine_tuning_conditions(target, train, "paper")
    thesis = fine_tuning_conditions(target, train, "thesis")
    assert paper == ["JUND.K562", "JUND.HepG2"]
    assert thesis == ["JUND.K562", "JUND.HepG2", "FOXA1.A549"]
    for which, expected in (("paper", paper), ("thesis", thesis)):
        for mode, init in (("trained", PRETRAINED), ("none", PRETRAINED_NONE)):
            spec = specs[tuned_name(target, which, mode)]
            assert list(spec.conditions) == expected
            assert spec.init_from == init
            assert list(spec.predict) == [target]
            assert spec.embeddings == ("both" if mode == "trained" else "none")


def test_average_train_averages_exactly_the_trained_cell_types_of_the_tf(specs):
    # JUND was trained in K562 and HepG2, CTCF in K562 and HepG2 (A549 is the target).
    assert average_train_cells(specs, PRETRAINED) == {"JUND.A549": ["K562", "HepG2"],
                                                      "CTCF.A549": ["K562", "HepG2"]}
    # A model fine-tuned on the paper's set: the chain's trained cell types.
    assert average_train_cells(specs, tuned_name("JUND.A549", "paper")) == {
        "JUND.A549": ["K562", "HepG2"]}


def test_new_condition_models_grow_from_the_base_and_its_controls(tiny, specs):
    target = "FOXA2.A549"
    for control, init in (("trained", "multitask"), ("none", NEW_PRETRAINED_NONE),
                          ("random", "fig4b_random_both")):
        spec = specs[tuned_name(target, "new", control)]
        assert spec.init_from == init
        assert list(spec.predict) == [target]
        # [p', *] U [*, q'] \ [p', q'] over the whole sheet.
        assert set(spec.conditions) == {"FOXA2.HepG2", "JUND.A549", "FOXA1.A549", "CTCF.A549"}
    assert specs[NEW_PRETRAINED_NONE].embeddings == "none"
    tfs, cells = vocabularies(specs, tuned_name(target, "new"))
    base_tfs, base_cells = vocabularies(specs, "multitask")
    assert tfs[:len(base_tfs)] == base_tfs and cells[:len(base_cells)] == base_cells


def test_a_new_tf_without_other_conditions_is_refused(tiny, tmp_path):
    sheet = tmp_path / "conditions.tsv"
    rows = open(tiny.config["conditions"]).read() + "SOX2\tA549\t\tnew\n"
    sheet.write_text(rows)
    project = copy.deepcopy(tiny)
    project.config["conditions"] = str(sheet)
    project = load_project("config/tiny/config.yaml",
                           config={**project.config, "motifs": {**project.config["motifs"],
                                                                "SOX2": "MA0143.4"}})
    with pytest.raises(ConfigError, match="SOX2.A549: no other condition of its TF SOX2"):
        figure_models(project)


def test_transfer_figures_are_planned_with_their_models(tiny):
    planned = plan_figures(tiny)
    for name in ("fig5b_transfer", "figs5ac_baselines_transfer", "figs5bd_fine_tuning",
                 "fig4_7c_fine_tuning", "fig6a_new_conditions"):
        assert name in planned
    figure, plan = planned["fig5b_transfer"]
    assert plan.params["conditions"] == ["JUND.A549", "CTCF.A549"]
    assert set(plan.files["arms"]) == {"Supervised", "Embedding Transfer", "Average Train",
                                       "No Embedding Transfer"}
    assert plan.files["arms"]["Average Train"].endswith("test.average_train.tsv")


def _model():
    config = ModelConfig(n_features=5, embedding_dim=3, tf_table_size=4, cell_table_size=4,
                         tf_vocab=("JUND", "CTCF"), cell_vocab=("K562", "HepG2", "A549"))
    model = build_model(config, seed=2)
    with torch.no_grad():  # distinct cell-type rows, so averaging is visible
        model.cell_embed.weight.normal_()
    return model


def test_average_train_prediction_is_the_mean_over_the_named_cell_types(tmp_path):
    model = _model()
    x = np.random.default_rng(0).standard_normal((6, 20, 5)).astype(np.float32)
    reader_calls = []

    def reader_for(tf, cell):
        reader_calls.append((tf, cell))
        return lambda a, b: x[a:b]

    path = tmp_path / "p.h5"
    write_predictions(path, model, ["JUND.A549"], 6, 20, reader_for, "m", "test",
                      batch_size=4, device="cpu", progress=False,
                      embedding_cells={"JUND.A549": ["K562", "HepG2"]})
    # The target's own features (q = A549), with the embeddings of K562 and HepG2.
    assert reader_calls == [("JUND", "A549")]
    each = [np.concatenate([p for _, p in predict_condition(
        model, lambda a, b: x[a:b], 6, 0, cell, batch_size=4)]).astype(np.float64)
        for cell in (0, 1)]
    with h5py.File(path) as h5:
        got = h5["prob/JUND.A549"][:].astype(np.float64)
    np.testing.assert_allclose(got, (each[0] + each[1]) / 2, atol=1e-3)
    own = np.concatenate([p for _, p in predict_condition(model, lambda a, b: x[a:b], 6, 0, 2)])
    assert not np.allclose(got, own, atol=1e-3)  # not A549's own embedding


def test_embedding_transfer_uses_the_target_cell_types_row(tmp_path):
    model = _model()
    x = np.random.default_rng(1).standard_normal((3, 20, 5)).astype(np.float32)
    path = tmp_path / "p.h5"
    write_predictions(path, model, ["CTCF.A549"], 3, 20, lambda t, c: (lambda a, b: x[a:b]),
                      "m", "test", device="cpu", progress=False)
    with torch.no_grad():
        logits = model.eval()(torch.from_numpy(x), torch.full((3,), 1), torch.full((3,), 2))
    expected = torch.softmax(logits, -1)[..., 1].numpy()
    with h5py.File(path) as h5:
        np.testing.assert_allclose(h5["prob/CTCF.A549"][:], expected, atol=1e-3)


def test_heldout_samples_never_reach_the_leave_out_models_sampler(specs, tiny, tmp_path):
    from helpers import write_random_dataset

    from nettime.data.dataset import FeatureSet
    from nettime.data.loader import make_loader

    every = tiny.condition_names(["train", "heldout"])
    cells = sorted({split_condition(c)[1] for c in every})
    write_random_dataset(tmp_path / "train", 12, 30, every, cells, ["DNase"],
                         np.random.default_rng(0))
    spec = specs[PRETRAINED]
    tfs, cell_vocab = vocabularies(specs, PRETRAINED)
    loader = make_loader(tmp_path / "train", FeatureSet("Seq+DNase", ("DNase",), False),
                         spec.conditions, ["conserved", "relaxed"], tfs, cell_vocab, 8)
    seen = set()
    for batch in loader:
        seen |= {(tfs[t], cell_vocab[c]) for t, c in zip(batch["tf"].tolist(),
                                                         batch["cell"].tolist(), strict=True)}
    assert seen == {split_condition(c) for c in spec.conditions}
    assert not seen & {split_condition(c) for c in tiny.condition_names(["heldout"])}
