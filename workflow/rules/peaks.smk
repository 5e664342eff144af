# Merged peak set -> example windows per split, and per-condition base labels.
# Library code: nettime.data.peaks, nettime.data.writer.


rule examples:
    input:
        peaks=peak_files(),
        fasta=layout.genome_fasta(SOURCE),
        fai=layout.genome_fasta(SOURCE) + ".fai",
        sizes=layout.chrom_sizes(SOURCE),
        blacklist=layout.blacklist(SOURCE),
    output:
        layout.examples("{split}"),
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
        examples=layout.examples("{split}"),
        conserved=lambda w: layout.condition_peaks(SOURCE, w.condition, "conserved"),
        relaxed=lambda w: layout.condition_peaks(SOURCE, w.condition, "relaxed"),
    output:
        layout.labels("{split}", "{condition}"),
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
