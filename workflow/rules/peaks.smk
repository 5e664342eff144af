# Merged peak set -> example windows per split, and per-condition base labels.
# Library code: nettime.data.peaks, nettime.data.writer.


rule examples:
    input:
        peaks=peak_files(),
        fasta=layout.path("genome", source=SOURCE),
        fai=layout.path("genome", source=SOURCE) + ".fai",
        sizes=layout.path("chrom_sizes", source=SOURCE),
        blacklist=layout.path("blacklist", source=SOURCE),
    output:
        layout.path("examples", split="{split}"),
    log:
        layout.log("examples/{split}"),
    benchmark:
        layout.benchmark("examples/{split}")
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        chromosomes=lambda wildcards: config["splits"][wildcards.split],
        peaks=config["peaks"],
    script:
        "../scripts/examples.py"


rule labels:
    input:
        examples=layout.path("examples", split="{split}"),
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
        layout.path("labels", split="{split}", condition="{condition}"),
    log:
        layout.log("labels/{split}/{condition}"),
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
