# Merged peak set -> example windows per split, and per-condition base labels.


rule examples:
    input:
        peaks=[condition_peaks(c, s) for c in CONDITIONS for s in LABEL_SETS],
        fasta=genome_fasta(),
        fai=genome_fasta() + ".fai",
        sizes=chrom_sizes(),
        blacklist=blacklist_bed(),
    output:
        "results/examples/{split}.bed",
    log:
        "logs/examples/{split}.log",
    benchmark:
        "results/benchmarks/examples/{split}.tsv"
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
        examples="results/examples/{split}.bed",
        conserved=lambda wildcards: condition_peaks(wildcards.condition, "conserved"),
        relaxed=lambda wildcards: condition_peaks(wildcards.condition, "relaxed"),
    output:
        "results/labels/{split}/{condition}.h5",
    log:
        "logs/labels/{split}/{condition}.log",
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
