# Cell-type signals inside peaks, z-score statistics, and the HDF5 data set of each split.


rule inpeak_signal:
    input:
        bigwig=lambda wildcards: feature_signal(wildcards.cell, wildcards.assay),
        peaks=lambda wildcards: feature_peaks(wildcards.cell, wildcards.assay),
        sizes=chrom_sizes(),
    output:
        "results/features/signals/{cell}.{assay}.h5",
    log:
        "logs/features/signals/{cell}.{assay}.log",
    benchmark:
        "results/benchmarks/inpeak_signal/{cell}.{assay}.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        # nettime.signals.INPEAK_FORMAT (not imported: h5py and pyBigWig would slow every
        # parse); a new intermediate format reruns the rule, params being a rerun trigger.
        file_format="runs",
    script:
        "../scripts/inpeak_signal.py"


rule feature_stats:
    input:
        examples="results/examples/{split}.bed",
        signals=inpeak_signals(),
        fasta=genome_fasta(),
        fai=genome_fasta() + ".fai",
    output:
        "results/features/stats/{split}.json",
    log:
        "logs/features/stats/{split}.log",
    benchmark:
        "results/benchmarks/feature_stats/{split}.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        window=config["peaks"]["window"],
        cell_assays=CELL_ASSAYS,
        motifs=lambda wildcards: {tf: config["motifs"][tf] for tf in motif_tfs()},
        motif_dir=os.path.dirname(PROJECT.config_path),
    script:
        "../scripts/feature_stats.py"


rule dataset:
    input:
        examples="results/examples/{split}.bed",
        labels=lambda wildcards: split_labels(wildcards.split),
        signals=inpeak_signals(),
        stats=normalisation_stats,
        fasta=genome_fasta(),
        fai=genome_fasta() + ".fai",
    output:
        "results/data/{split}.h5",
    log:
        "logs/data/{split}.log",
    benchmark:
        "results/benchmarks/dataset/{split}.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=6000,
        runtime=120,
    params:
        window=config["peaks"]["window"],
        cell_assays=CELL_ASSAYS,
        conditions=CONDITIONS,
        motifs=lambda wildcards: {tf: config["motifs"][tf] for tf in motif_tfs()},
        motif_dir=os.path.dirname(PROJECT.config_path),
        normalisation=config["normalisation"],
    script:
        "../scripts/dataset.py"
