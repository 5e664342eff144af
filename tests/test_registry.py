"""The model registry: defaults, condition selectors, fine-tuning chains, clear errors."""

import copy

import pytest

from nettime.config import ConfigError, load_project
from nettime.models.registry import PAPER_SPEC, model_specs, training_settings


@pytest.fixture(scope="module")
def project():
    return load_project("config/config.yaml")


def with_models(project, models, defaults=None):
    other = copy.deepcopy(project)
    other.config["models"] = models
    other.config["training"] = {"defaults": defaults or {}}
    return other


def test_paper_sizes_are_the_defaults(project):
    spec = model_specs(with_models(project, {"m": {}}))["m"]
    assert spec.sizes["embedding_dim"] == 50 and spec.sizes["tf_table_size"] == 256
    assert spec.budget == PAPER_SPEC["budget"] and spec.feature_set == "Seq+CT"
    assert spec.conditions == tuple(project.condition_names(["train"]))
    assert training_settings(project.config)["device"] == "auto"


def test_selectors_defaults_and_fine_tuning(project):
    specs = model_specs(with_models(project, {
        "jund": {"conditions": {"tf": "JUND"}, "sample_count": "single_task"},
        "ap1": {"conditions": {"tf": ["JUN", "JUNB"], "cell_type": "K562"}},
        "two": {"conditions": ["CTCF.K562", "SP1.HepG2"], "embeddings": "random_tf"},
        "tuned": {"init": {"from": "two"}, "conditions": "new", "predict": "heldout"},
    }, defaults={"sizes": {"embedding_dim": 4}, "budget": {"steps": 5}}))
    assert all(c.startswith("JUND.") for c in specs["jund"].conditions)
    assert specs["ap1"].conditions == ("JUN.K562", "JUNB.K562")
    assert specs["two"].sizes["embedding_dim"] == 4 and specs["two"].budget["steps"] == 5
    assert specs["two"].budget["lr"] == 1e-4  # from the paper where the defaults are silent
    assert specs["tuned"].init_from == "two"
    assert specs["tuned"].conditions == tuple(project.condition_names(["new"]))
    assert specs["tuned"].predict == tuple(project.condition_names(["heldout"]))


@pytest.mark.parametrize(("models", "message"), [
    ({"m": {"conditions": "nope"}}, "neither 'all' nor a panel"),
    ({"m": {"conditions": ["JUND.K562", "XX.K562"]}}, "unknown condition"),
    ({"m": {"conditions": {"tf": "XX"}}}, "matches no condition"),
    ({"m": {"feature_set": "Seq+Nothing"}}, "unknown feature set"),
    ({"m": {"init": {"from": "ghost"}}}, "not another model"),
    ({"a": {"init": {"from": "b"}}, "b": {"init": {"from": "a"}}}, "cycle"),
    ({"m": {"budget": {"steps": None, "epochs": None}}}, "steps or epochs"),
    ({"m": {"kind": "leopard", "budget": {"bound_fraction": 0.5}}}, "keeps its own"),
])
def test_bad_specs_name_the_model_and_key(project, models, message):
    other = with_models(project, models)
    other.config["feature_sets"] = {"Seq+CT": {"assays": [], "motifs": False}}
    with pytest.raises(ConfigError, match=message) as error:
        model_specs(other)
    assert "models." in str(error.value)


def test_a_default_bound_fraction_samples_nettime_models_only(project):
    specs = model_specs(with_models(project, {"net": {}, "leo": {"kind": "leopard"}},
                                    defaults={"budget": {"steps": 5, "bound_fraction": 0.5}}))
    assert specs["net"].budget["bound_fraction"] == 0.5
    assert specs["leo"].budget["bound_fraction"] is None


def test_vocabularies_follow_the_fine_tuning_chain(project):
    from nettime.models.registry import predictable, vocabularies

    specs = model_specs(with_models(project, {
        "base": {"conditions": ["JUND.K562", "CTCF.HepG2"], "predict": "all"},
        "tuned": {"init": {"from": "base"}, "conditions": ["FOXA1.MCF-7"]},
    }))
    assert vocabularies(specs, "base") == (["JUND", "CTCF"], ["K562", "HepG2"])
    assert vocabularies(specs, "tuned") == (["JUND", "CTCF", "FOXA1"],
                                            ["K562", "HepG2", "MCF-7"])
    # Never-trained pairs of known names are predicted; unknown names are left out.
    assert predictable(specs, "base") == ["JUND.K562", "JUND.HepG2", "CTCF.K562",
                                          "CTCF.HepG2"]
