# Cell-type signals inside peaks, z-score statistics, and the HDF5 data set of each split.
# Library code: nettime.data.signals, nettime.data.writer.


rule inpeak_signal:
    input:
        bigwig=lambda w: layout.feature_signal(SOURCE, w.cell, w.assay),
        peaks=lambda w: layout.feature_peaks(SOURCE, w.cell, w.assay),
        sizes=layout.chrom_sizes(SOURCE),
    output:
        layout.inpeak_signal("{cell}", "{assay}"),
    log:
        layout.log("features/signals/{cell}.{assay}"),
    benchmark:
        layout.benchmark("inpeak_signal/{cell}.{assay}")
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        # nettime.data.signals.INPEAK_FORMAT (not imported: h5py and pyBigWig would slow every
        # parse); a new intermediate format reruns the rule, params being a rerun trigger.
        file_format="runs",
    script:
        "../scripts/inpeak_signal.py"


rule feature_stats:
    input:
        examples=layout.examples("{split}"),
        signals=inpeak_signals(),
        fasta=layout.genome_fasta(SOURCE),
        fai=layout.genome_fasta(SOURCE) + ".fai",
    output:
        layout.feature_stats("{split}"),
    log:
        layout.log("features/stats/{split}"),
    benchmark:
        layout.benchmark("feature_stats/{split}")
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        window=config["peaks"]["window"],
        cell_assays=[f"{cell}.{assay}" for cell, assay in CELL_ASSAYS],
        motifs=lambda wildcards: motif_specs(),
        motif_dir=os.path.dirname(PROJECT.config_path),
    script:
        "../scripts/feature_stats.py"


rule dataset:
    input:
        examples=layout.examples("{split}"),
        labels=lambda w: [layout.labels(w.split, c) for c in CONDITIONS],
        signals=inpeak_signals(),
        stats=normalisation_stats,
        fasta=layout.genome_fasta(SOURCE),
        fai=layout.genome_fasta(SOURCE) + ".fai",
    output:
        layout.data_set("{split}"),
    log:
        layout.log("data/{split}"),
    benchmark:
        layout.benchmark("dataset/{split}")
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=6000,
        runtime=120,
    params:
        window=config["peaks"]["window"],
        cell_assays=[f"{cell}.{assay}" for cell, assay in CELL_ASSAYS],
        conditions=CONDITIONS,
        motifs=lambda wildcards: motif_specs(),
        motif_dir=os.path.dirname(PROJECT.config_path),
        normalisation=config["normalisation"],
    script:
        "../scripts/dataset.py"
