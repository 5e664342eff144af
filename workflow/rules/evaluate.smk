# Evaluation (issue 6): per-condition metrics of each model on a split as a tidy table
# (model, condition, split, method, resolution, metric, value), then mean/SD/SEM across
# conditions and paired Wilcoxon tests between methods. nettime.metrics.paired_wilcoxon
# compares any two (model, method) selections for the figures.


rule evaluate:
    input:
        predictions="results/predictions/{model}/{split}.h5",
        data="results/data/{split}.h5",
        calls="results/calls/{model}/{split}.h5",
    output:
        table="results/metrics/{model}/{split}.tsv",
    log:
        "logs/metrics/{model}/{split}.log",
    benchmark:
        "results/benchmarks/metrics/{model}/{split}.tsv"
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
        table="results/metrics/{model}/{split}.tsv",
    output:
        summary="results/metrics/{model}/{split}.summary.tsv",
        wilcoxon="results/metrics/{model}/{split}.wilcoxon.tsv",
    log:
        "logs/metrics/{model}/{split}.summary.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/summarize_metrics.py"


rule evaluate_variant:
    # Predictions made differently (e.g. random embeddings at prediction time, Fig 4a):
    # auPRC and AP only (no calls are made from them), with method = the variant's name.
    input:
        predictions="results/predictions/{model}/{split}.{variant}.h5",
        data="results/data/{split}.h5",
    output:
        table="results/metrics/{model}/{split}.{variant}.tsv",
    log:
        "logs/metrics/{model}/{split}.{variant}.log",
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
