# Figures: one rule per figure planned by the registry (nettime.paper.figures), made in a loop.
# A figure's inputs are exactly the files its declaration plans (metric tables, thresholds, an
# embeddings table) and its models' checkpoints, so that `snakemake results/figures/<name>.pdf`
# builds that figure and nothing else. The findings table judges every figure's claims.

for name, (figure, plan) in FIGURES.items():

    rule:
        name:
            f"figure_{name}"
        input:
            figure_input(name),
        output:
            pdf=report(
                layout.path("figure_pdf", name=name),
                caption="../report/figure.rst",
                category="Figures",
                subcategory=figure.title,
            ),
            tsv=(
                report(
                    layout.path("figure_tsv", name=name),
                    caption="../report/table.rst",
                    category="Tables",
                )
                if figure.table_caption
                else layout.path("figure_tsv", name=name)
            ),
        log:
            layout.log(f"figures/{name}"),
        benchmark:
            layout.benchmark(f"figure/{name}")
        conda:
            "../envs/plots.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            record=plan_record(figure, plan),
            caption=caption(figure, plan),
            table_caption=figure.table_caption or "",
        script:
            "../scripts/figure.py"


rule findings:
    input:
        # Every figure's numbers, and the files its claims may read besides them.
        **{name: layout.path("figure_tsv", name=name) for name in FIGURES},
        planned=[
            path for name in FIGURES for path in flat_paths(FIGURES[name][1].files)
        ],
    output:
        report(
            layout.path("findings"),
            caption="../report/findings.rst",
            category="Findings",
        ),
    log:
        layout.log("figures/findings"),
    benchmark:
        layout.benchmark("findings/findings")
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        figures={
            name: plan_record(figure, plan) for name, (figure, plan) in FIGURES.items()
        },
    script:
        "../scripts/findings.py"
