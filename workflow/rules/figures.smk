# Figures (issue 7): each figure is a file target whose inputs are exactly the metric files
# (Fig 4c: the model, Fig 7: the classification outputs) of the models it compares, so that
# `snakemake results/figures/<name>.pdf` builds that figure and nothing else. The models come
# from config `experiments:` (nettime.experiments), merged into the registry in common.smk.


ruleorder: evaluate_probability > evaluate_variant


rule evaluate_probability:
    # auPRC and AP only: the figures that compare models need no calls (no threshold or CRF).
    input:
        predictions="results/predictions/{model}/{split}.h5",
        data="results/data/{split}.h5",
    output:
        table="results/metrics/{model}/{split}.probability.tsv",
    log:
        "logs/metrics/{model}/{split}.probability.log",
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


rule figure_multitask:
    input:
        lambda wildcards: figure_input(f"fig2_{wildcards.panel}"),
    output:
        pdf=report(
            "results/figures/fig2_{panel}.pdf",
            caption="../report/fig2.rst",
            category="Figures",
            subcategory="Fig 2: multitask learning",
        ),
        tsv="results/figures/fig2_{panel}.tsv",
    log:
        "logs/figures/fig2_{panel}.log",
    wildcard_constraints:
        panel="[a-z0-9_]+",
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        figure=lambda wildcards: f"fig2_{wildcards.panel}",
        files=lambda wildcards: figure_files(f"fig2_{wildcards.panel}"),
        spec=lambda wildcards: FIGURES[f"fig2_{wildcards.panel}"],
    script:
        "../scripts/figure.py"


rule figure_features:
    input:
        figure_input("fig3a_features"),
    output:
        pdf=report(
            "results/figures/fig3a_features.pdf",
            caption="../report/fig3a.rst",
            category="Figures",
            subcategory="Fig 3a / Table 4.1: input features",
        ),
        tsv=report(
            "results/figures/fig3a_features.tsv",
            caption="../report/table4_1.rst",
            category="Tables",
        ),
    log:
        "logs/figures/fig3a_features.log",
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        figure="fig3a_features",
        files=figure_files("fig3a_features"),
        spec=FIGURES.get("fig3a_features"),
    script:
        "../scripts/figure.py"


rule figure_embeddings_prediction:
    input:
        figure_input("fig4a_embeddings_prediction"),
    output:
        pdf=report(
            "results/figures/fig4a_embeddings_prediction.pdf",
            caption="../report/fig4a.rst",
            category="Figures",
            subcategory="Fig 4: embeddings",
        ),
        tsv=report(
            "results/figures/fig4a_embeddings_prediction.tsv",
            caption="../report/table4_2.rst",
            category="Tables",
        ),
    log:
        "logs/figures/fig4a_embeddings_prediction.log",
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        figure="fig4a_embeddings_prediction",
        files=figure_files("fig4a_embeddings_prediction"),
        spec=FIGURES.get("fig4a_embeddings_prediction"),
    script:
        "../scripts/figure.py"


rule figure_embeddings_training:
    input:
        figure_input("fig4b_embeddings_training"),
    output:
        pdf=report(
            "results/figures/fig4b_embeddings_training.pdf",
            caption="../report/fig4b.rst",
            category="Figures",
            subcategory="Fig 4: embeddings",
        ),
        tsv="results/figures/fig4b_embeddings_training.tsv",
    log:
        "logs/figures/fig4b_embeddings_training.log",
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        figure="fig4b_embeddings_training",
        files=figure_files("fig4b_embeddings_training"),
        spec=FIGURES.get("fig4b_embeddings_training"),
    script:
        "../scripts/figure.py"


rule figure_tf_embeddings:
    input:
        figure_input("fig4c_tf_embeddings"),
    output:
        pdf=report(
            "results/figures/fig4c_tf_embeddings.pdf",
            caption="../report/fig4c.rst",
            category="Figures",
            subcategory="Fig 4: embeddings",
        ),
        tsv="results/figures/fig4c_tf_embeddings.tsv",
    log:
        "logs/figures/fig4c_tf_embeddings.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        figure="fig4c_tf_embeddings",
        files=figure_files("fig4c_tf_embeddings"),
        spec=FIGURES.get("fig4c_tf_embeddings"),
        families=FAMILIES,
    script:
        "../scripts/figure.py"


rule figure_crf:
    input:
        figure_input("fig7_crf"),
    output:
        pdf=report(
            "results/figures/fig7_crf.pdf",
            caption="../report/fig7.rst",
            category="Figures",
            subcategory="Fig 7: binary calls",
        ),
        tsv="results/figures/fig7_crf.tsv",
    log:
        "logs/figures/fig7_crf.log",
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        figure="fig7_crf",
        files=figure_files("fig7_crf"),
        spec=FIGURES.get("fig7_crf"),
    script:
        "../scripts/figure.py"


rule findings:
    input:
        unpack(findings_input),
    output:
        report(
            "results/findings.tsv",
            caption="../report/findings.rst",
            category="Findings",
        ),
    log:
        "logs/figures/findings.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        families=FAMILIES,
    script:
        "../scripts/findings.py"
