# Cell-type signals inside peaks, z-score statistics, and the HDF5 data set of each split.
# Library code: nettime.data.signals, nettime.data.writer.


rule inpeak_signal:
    input:
        bigwig=lambda w: layout.path(
            "feature_signal", source=SOURCE, cell=w.cell, assay=w.assay
        ),
        peaks=lambda w: layout.path(
            "feature_peaks", source=SOURCE, cell=w.cell, assay=w.assay
        ),
        sizes=layout.path("chrom_sizes", source=SOURCE),
    output:
        layout.path("inpeak_signal", cell="{cell}", assay="{assay}"),
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
        examples=layout.path("examples", split="{split}"),
        signals=inpeak_signals(),
        fasta=layout.path("genome", source=SOURCE),
        fai=layout.path("genome", source=SOURCE) + ".fai",
    output:
        layout.path("feature_stats", split="{split}"),
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
        examples=layout.path("examples", split="{split}"),
        labels=lambda w: [
            layout.path("labels", split=w.split, condition=c) for c in CONDITIONS
        ],
        signals=inpeak_signals(),
        stats=normalisation_stats,
        fasta=layout.path("genome", source=SOURCE),
        fai=layout.path("genome", source=SOURCE) + ".fai",
    output:
        layout.path("data_set", split="{split}"),
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
