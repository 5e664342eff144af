# Acquisition for `source: encode`: resolve accessions on the ENCODE portal (or the mirror named
# by encode.portal), then download, verify and write the acquired files in the layout every
# source shares (resources/encode/genome, peaks, features). Logic lives in nettime.encode.
#
# resources/encode/lock.tsv records every resolved file and is reused by later runs (no network
# for locked rows); it is not a declared output, so Snakemake never deletes it. The checkpoint's
# output, resolved.tsv, is the part of the lock this configuration uses; downloads read their
# entry from lock.tsv, so a refresh by hand (`nettime encode resolve --refresh`, which deletes
# the acquired files whose entry changed) is honoured by the next run. Downloads name their
# outputs by condition / cell type / assay (known from the sheets), so `snakemake -n` lists them
# before resolution; they read resolved.tsv as ancient() input, so re-resolving (a new sheet row)
# does not redo finished downloads. A pinned accession is a param: changing it redoes that file.
ENCODE_RESOLVED = layout.path("encode_resolved")


checkpoint encode_resolve:
    input:
        conditions=config["conditions"],
        cell_features=config["cell_features"],
    output:
        ENCODE_RESOLVED,
    log:
        "logs/encode/resolve.log",
    conda:
        "../envs/acquisition.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
        encode_connections=1,
    params:
        resources=lambda w, output: os.path.dirname(output[0]),
        selection={
            k: config["encode"][k]
            for k in ("assembly", "status", "output_types", "references", "refresh")
        },
    script:
        "../scripts/encode_resolve.py"


rule encode_genome:
    input:
        ancient(ENCODE_RESOLVED),
    output:
        fasta=layout.path("genome", source="encode"),
        fai=layout.path("genome", source="encode") + ".fai",
        sizes=layout.path("chrom_sizes", source="encode"),
    log:
        "logs/encode/genome.log",
    benchmark:
        "results/benchmarks/encode/genome.tsv"
    conda:
        "../envs/acquisition.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=240,
        encode_connections=1,
    params:
        key="genome",
        role="genome",
        resources=lambda w, input: os.path.dirname(input[0]),
        pins=lambda w: ",".join(config["genome"]["chromosomes"]),
    script:
        "../scripts/encode_download.py"


rule encode_blacklist:
    input:
        ancient(ENCODE_RESOLVED),
    output:
        layout.path("blacklist", source="encode"),
    log:
        "logs/encode/blacklist.log",
    conda:
        "../envs/acquisition.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=30,
        encode_connections=1,
    params:
        key="blacklist",
        role="blacklist",
        resources=lambda w, input: os.path.dirname(input[0]),
        pins="",
    script:
        "../scripts/encode_download.py"


rule encode_condition_peaks:
    input:
        ancient(ENCODE_RESOLVED),
    output:
        layout.path(
            "condition_peaks",
            source="encode",
            condition="{condition}",
            label_set="{label_set}",
        ),
    log:
        "logs/encode/peaks/{condition}.{label_set}.log",
    conda:
        "../envs/acquisition.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
        encode_connections=1,
    params:
        key=lambda w: w.condition,
        role=lambda w: w.label_set,
        resources=lambda w, input: os.path.dirname(input[0]),
        pins=lambda w: encode_pins("condition", w.condition),
    script:
        "../scripts/encode_download.py"


rule encode_feature_peaks:
    input:
        ancient(ENCODE_RESOLVED),
    output:
        layout.path("feature_peaks", source="encode", cell="{cell}", assay="{assay}"),
    log:
        "logs/encode/features/{cell}.{assay}.peaks.log",
    conda:
        "../envs/acquisition.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
        encode_connections=1,
    params:
        key=lambda w: f"{w.cell}.{w.assay}",
        role="peaks",
        resources=lambda w, input: os.path.dirname(input[0]),
        pins=lambda w: encode_pins("feature", f"{w.cell}.{w.assay}"),
    script:
        "../scripts/encode_download.py"


rule encode_feature_signal:
    input:
        ancient(ENCODE_RESOLVED),
    output:
        layout.path("feature_signal", source="encode", cell="{cell}", assay="{assay}"),
    log:
        "logs/encode/features/{cell}.{assay}.signal.log",
    benchmark:
        "results/benchmarks/encode/{cell}.{assay}.signal.tsv"
    conda:
        "../envs/acquisition.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=240,
        encode_connections=1,
    params:
        key=lambda w: f"{w.cell}.{w.assay}",
        role="signal",
        resources=lambda w, input: os.path.dirname(input[0]),
        pins=lambda w: encode_pins("feature", f"{w.cell}.{w.assay}"),
    script:
        "../scripts/encode_download.py"
