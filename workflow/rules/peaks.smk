# Merged peak set -> example windows and their sequence for every split (one job), and the base
# labels of each condition on every split (one job per condition).
# Library code: nettime.data.writer, nettime.data.peaks.


rule examples:
    input:
        peaks=example_peak_files(),
        fasta=layout.path("genome", source=SOURCE),
        fai=f"{layout.path('genome', source=SOURCE)}.fai",
        sizes=layout.path("chrom_sizes", source=SOURCE),
        blacklist=layout.path("blacklist", source=SOURCE),
    output:
        beds=[layout.path("examples", split=s) for s in layout.SPLITS],
        sequences=[layout.path("data_examples", split=s) for s in layout.SPLITS],
    log:
        layout.log("examples"),
    benchmark:
        layout.benchmark("examples")
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        splits={s: config["splits"][s] for s in layout.SPLITS},
        peaks=config["peaks"],
    script:
        "../scripts/examples.py"


rule labels:
    input:
        examples=[layout.path("examples", split=s) for s in layout.SPLITS],
        conserved=lambda w: layout.path(
            "condition_peaks",
            source=SOURCE,
            condition=w.condition,
            label_set="conserved",
        ),
        relaxed=lambda w: layout.path(
            "condition_peaks",
            source=SOURCE,
            condition=w.condition,
            label_set="relaxed",
        ),
    output:
        [
            layout.path("data_labels", split=s, condition="{condition}")
            for s in layout.SPLITS
        ],
    log:
        layout.log("labels/{condition}"),
    benchmark:
        layout.benchmark("labels/{condition}")
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        window=config["peaks"]["window"],
    script:
        "../scripts/labels.py"


rule data:
    # `snakemake data` builds every split's data set and nothing after it.
    input:
        data_set_files(),
