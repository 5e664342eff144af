# Cell-type signals inside peaks (independent of the examples), then each track over every
# split's examples, z-scored with the training split's statistics; TF motif channels likewise.
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


rule signal_tracks:
    input:
        inpeak=layout.path("inpeak_signal", cell="{cell}", assay="{assay}"),
        examples=[layout.path("examples", split=s) for s in layout.SPLITS],
    output:
        [
            layout.path("data_signal", split=s, cell="{cell}", assay="{assay}")
            for s in layout.SPLITS
        ],
    log:
        layout.log("data/signals/{cell}.{assay}"),
    benchmark:
        layout.benchmark("signal_tracks/{cell}.{assay}")
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        window=config["peaks"]["window"],
        normalisation=config["normalisation"],
    script:
        "../scripts/signal_tracks.py"


rule motif_tracks:
    input:
        examples=[layout.path("examples", split=s) for s in layout.SPLITS],
        fasta=layout.path("genome", source=SOURCE),
        fai=f"{layout.path('genome', source=SOURCE)}.fai",
    output:
        [layout.path("data_motifs", split=s, tf="{tf}") for s in layout.SPLITS],
    log:
        layout.log("data/motifs/{tf}"),
    benchmark:
        layout.benchmark("motif_tracks/{tf}")
    conda:
        "../envs/motifs.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        window=config["peaks"]["window"],
        motif=lambda w: str(config["motifs"][w.tf]),
        motif_dir=os.path.dirname(PROJECT.config_path),
        normalisation=config["normalisation"],
    script:
        "../scripts/motif_tracks.py"
