# Evaluation: per-condition metrics of a model on a split as a tidy table (model, condition,
# split, method, resolution, metric, value), then mean/SD/SEM across conditions and paired
# Wilcoxon tests between methods. Library code: nettime.evaluation.


ruleorder: evaluate_probability > evaluate_variant


rule evaluate:
    input:
        predictions=layout.path("predictions", model="{model}", split="{split}"),
        data=scoring_data(),
        calls=layout.path("calls", model="{model}", split="{split}"),
    output:
        table=layout.path("metrics", model="{model}", split="{split}"),
    log:
        layout.log("metrics/{model}/{split}"),
    benchmark:
        layout.benchmark("metrics/{model}/{split}")
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        settings=config["classify"],
    script:
        "../scripts/evaluate.py"


rule evaluate_probability:
    # auPRC and AP only: the figures that compare models need no calls (no threshold or CRF).
    input:
        predictions=layout.path("predictions", model="{model}", split="{split}"),
        data=scoring_data(),
    output:
        table=layout.path(
            "metrics_of", model="{model}", split="{split}", kind="probability"
        ),
    log:
        layout.log("metrics/{model}/{split}.probability"),
    benchmark:
        layout.benchmark("evaluate_probability/{model}.{split}")
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        settings=config["classify"],
    script:
        "../scripts/evaluate.py"


rule evaluate_variant:
    # Predictions made differently (e.g. random embeddings at prediction time, Fig 4a):
    # auPRC and AP only (no calls are made from them), with method = the variant's name.
    input:
        predictions=layout.path(
            "variant_predictions",
            model="{model}",
            split="{split}",
            variant="{variant}",
        ),
        data=scoring_data(),
    output:
        table=layout.path(
            "metrics_of", model="{model}", split="{split}", kind="{variant}"
        ),
    log:
        layout.log("metrics/{model}/{split}.{variant}"),
    benchmark:
        layout.benchmark("evaluate_variant/{model}.{split}.{variant}")
    wildcard_constraints:
        variant=r"(?!summary$|wilcoxon$)[A-Za-z0-9_-]+",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        settings=config["classify"],
    script:
        "../scripts/evaluate.py"


rule summarize_metrics:
    input:
        table=layout.path("metrics", model="{model}", split="{split}"),
    output:
        summary=layout.path(
            "metrics_of", model="{model}", split="{split}", kind="summary"
        ),
        wilcoxon=layout.path(
            "metrics_of", model="{model}", split="{split}", kind="wilcoxon"
        ),
    log:
        layout.log("metrics/{model}/{split}.summary"),
    benchmark:
        layout.benchmark("summarize_metrics/{model}.{split}")
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/summarize_metrics.py"


rule reference_scores:
    # What each supervised condition's inputs score untrained (and, simulated, the true
    # binding): the level a model must beat before any of its verdicts means something. New
    # conditions have their own table (below), so that adding one redraws no figure of the panel.
    input:
        unpack(reference_inputs),
    output:
        table=layout.path("reference_metrics", split="{split}"),
    log:
        layout.log("metrics/reference.{split}"),
    benchmark:
        layout.benchmark("reference_scores/{split}")
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        conditions=supervised_conditions(PROJECT),
    script:
        "../scripts/reference_scores.py"


rule reference_scores_new:
    # The same for the new conditions; only the figures that show them read it.
    input:
        unpack(new_reference_inputs),
    output:
        table=layout.path("new_reference_metrics", split="{split}"),
    log:
        layout.log("metrics/reference_new.{split}"),
    benchmark:
        layout.benchmark("reference_scores_new/{split}")
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        conditions=NEW_CONDITIONS,
    script:
        "../scripts/reference_scores.py"
