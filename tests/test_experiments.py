"""The paper's experiments as generated model specs and planned figures (nettime.paper.experiments,
nettime.paper.figures)."""

import copy

import pytest

from nettime.config import ConfigError, load_project
from nettime.models.registry import model_specs, predictable
from nettime.paper.experiments import families
from nettime.paper.figures import figure_models, plan_figures

EXPERIMENTS = {
    "base_model": "multitask",
    "multitask": {"budget": {"steps": None, "epochs": 2, "batch_size": 64},
                  "panels": {"jund": {"tfs": ["JUND"]},
                             "jun_family": {"tfs": ["JUN", "JUNB", "JUND"]},
                             "unrelated": {"tfs": ["CTCF", "FOXA1", "CEBPB"],
                                           "group_by": "tf"}}},
    "feature_settings": ["Seq", "Seq+TF", "Seq+CT", "Seq+CT+TF"],
    "random_at_training": ["random_tf", "random_cell", "random_both"],
    "families": {"JUN": ["JUN", "JUNB", "JUND"], "FOXA": ["FOXA1", "FOXA2"]},
}


@pytest.fixture(scope="module")
def tiny():
    return load_project("config/tiny/config.yaml")


def with_experiments(project, experiments):
    other = copy.deepcopy(project)
    other.config["experiments"] = copy.deepcopy(experiments)
    # Without new_conditions, Fig 6b searches a condition of the base model.
    other.config["motif_discovery"] = {**other.config.get("motif_discovery", {}),
                                       "conditions": ["JUND.K562"]}
    return other


def resolved(project):
    """Generated models merged into the registry, resolved as common.smk does."""
    other = copy.deepcopy(project)
    other.config["models"] = {**other.config["models"], **figure_models(other)}
    return model_specs(other)


def test_fig2_models_share_stl_and_predict_only_what_they_need(tiny):
    project = with_experiments(tiny, EXPERIMENTS)
    specs = resolved(project)
    # The panels take every supervised condition (train and heldout) of their TFs.
    jund = [c for c in tiny.condition_names(["train", "heldout"]) if c.startswith("JUND.")]
    assert specs["fig2_jund_mtl"].conditions == tuple(jund)
    assert specs["fig2_jund_mtl"].predict == tuple(jund)
    assert specs["fig2_jund_sampled"].sample_count == "single_task"
    assert specs["fig2_jund_mtl"].sample_count is None
    assert specs["fig2_jund_mtl"].budget["epochs"] == 2
    assert specs["fig2_jund_mtl"].budget["steps"] is None
    # One STL model per condition, shared between the panels (JUND is in two of them).
    stl = sorted(n for n in specs if n.startswith("stl_"))
    family = [c for c in tiny.condition_names(["train", "heldout"])
              if c.split(".")[0] in {"JUN", "JUNB", "JUND", "CTCF", "FOXA1", "CEBPB"}]
    assert len(stl) == len(family)
    assert specs["stl_JUND_K562"].conditions == ("JUND.K562",)
    assert predictable(specs, "stl_JUND_K562") == ["JUND.K562"]
    # The new FOXA2.A549 is no panel condition.
    assert "stl_FOXA2_A549" not in specs and "stl_CTCF_A549" in specs
    assert specs["fig2_unrelated_mtl"].budget["batch_size"] == 64


def test_feature_and_embedding_models_differ_from_the_base_in_one_factor(tiny):
    project = with_experiments(tiny, EXPERIMENTS)
    specs = resolved(project)
    base = specs["multitask"]
    # Seq+CT is the base model's own feature set: no extra model.
    assert "fig3a_seq_ct" not in specs
    for name, feature_set in (("fig3a_seq", "Seq"), ("fig3a_seq_tf", "Seq+TF"),
                              ("fig3a_seq_ct_tf", "Seq+CT+TF")):
        spec = specs[name]
        assert spec.feature_set == feature_set
        assert (spec.budget, spec.sizes, spec.conditions, spec.seed) == (
            base.budget, base.sizes, base.conditions, base.seed)
    for mode in ("random_tf", "random_cell", "random_both"):
        spec = specs[f"fig4b_{mode}"]
        assert spec.embeddings == mode and spec.feature_set == base.feature_set
        assert spec.budget == base.budget and spec.predict == tuple(
            tiny.condition_names(["train", "heldout"]))


def test_planned_figures_name_every_model_and_file_they_read(tiny):
    project = with_experiments(tiny, EXPERIMENTS)
    specs = resolved(project)
    figures = plan_figures(project)
    assert set(figures) == {"reference_free_signal", "fig2_jund", "fig2_jun_family",
                            "fig2_unrelated",
                            "fig3a_features", "fig4a_embeddings_prediction",
                            "fig4b_embeddings_training", "fig4c_tf_embeddings", "fig6b_motifs",
                            "fig7_crf"}
    plan = figures["fig3a_features"][1]
    assert plan.files["settings"]["Seq+CT"] == "results/metrics/multitask/test.probability.tsv"
    assert figures["fig2_unrelated"][1].params["group_by"] == "tf"
    named = {model for _, plan in figures.values() for model in plan.models}
    assert named <= set(specs)
    # Every metric file a figure reads belongs to one of the models it names.
    for _, plan in figures.values():
        def paths(files):
            return [files] if isinstance(files, str) else [p for v in files.values()
                                                           for p in paths(v)]
        for path in paths(plan.files):
            # Not acquired files (a planted motif), nor the reference table every figure reads.
            if path.startswith("results/") and "/reference" not in path:
                assert path.split("/")[2] in plan.models, (plan.name, path)
    assert families(project)["JUNB"] == "JUN"


def test_names_are_stable(tiny):
    first = figure_models(with_experiments(tiny, EXPERIMENTS))
    second = figure_models(with_experiments(tiny, EXPERIMENTS))
    assert list(first) == list(second)
    assert list(first)[:2] == ["fig2_jund_mtl", "fig2_jund_sampled"]


def test_no_experiments_no_models(tiny):
    other = copy.deepcopy(tiny)
    other.config.pop("experiments", None)
    assert figure_models(other) == {} and plan_figures(other) == {}


@pytest.mark.parametrize(("change", "message"), [
    ({"base_model": "ghost"}, "base_model 'ghost' is not a model"),
    ({"multitask": {"panels": {"x": {"tfs": ["NOPE"]}}}}, "matches no condition"),
])
def test_bad_experiments_are_named(tiny, change, message):
    with pytest.raises(ConfigError, match=message):
        figure_models(with_experiments(tiny, {**EXPERIMENTS, **change}))


def test_a_generated_name_in_models_is_an_error(tiny):
    project = with_experiments(tiny, EXPERIMENTS)
    project.config["models"]["stl_JUND_K562"] = {"conditions": ["JUND.K562"]}
    with pytest.raises(ConfigError, match="generated by experiments"):
        figure_models(project)


def test_samples_per_condition_keeps_the_ratios(tiny):
    experiments = copy.deepcopy(EXPERIMENTS)
    experiments["multitask"]["samples_per_condition"] = 100
    specs = resolved(with_experiments(tiny, experiments))
    n = len(specs["fig2_jun_family_mtl"].conditions)
    assert specs["fig2_jun_family_mtl"].sample_count == 100 * n
    assert specs["fig2_jun_family_sampled"].sample_count == 100
    assert specs["stl_JUN_K562"].sample_count == 100
