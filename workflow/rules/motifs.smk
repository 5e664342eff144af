# De novo motifs (Fig 6b): STREME under a model's called sites of a split and under the
# condition's conserved ChIP-seq peaks, each against matched background windows from the
# split's examples, compared with TOMTOM and JASPAR. The engine (config motif_discovery.engine)
# is resolved when the job runs: the MEME Suite's streme (in the conda env) or the STREME-like
# engine reimplemented in nettime. Library code: nettime.evaluation.denovo.

MOTIF_DISCOVERY = PROJECT.config["motif_discovery"]


rule denovo_motifs:
    input:
        fasta=layout.path("genome", source=SOURCE),
        fai=layout.path("genome", source=SOURCE) + ".fai",
        sites=layout.path(
            "called_sites",
            model="{model}",
            split="{split}",
            method=MOTIF_DISCOVERY["calls"],
        ),
        peaks=layout.path(
            "condition_peaks",
            source=SOURCE,
            condition="{condition}",
            label_set="conserved",
        ),
        examples=layout.path("examples", split="{split}"),
    output:
        **layout.denovo_files(model="{model}", split="{split}", condition="{condition}"),
    log:
        layout.log("motifs/{model}/{split}/{condition}"),
    benchmark:
        layout.benchmark("motifs/{model}/{split}/{condition}")
    conda:
        "../envs/meme.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        # Only what changes the motifs: the condition list and the calls are in the paths.
        settings={
            key: MOTIF_DISCOVERY[key]
            for key in (
                "engine",
                "flank",
                "min_length",
                "max_length",
                "e_value_threshold",
                "nmotifs",
                "seed",
            )
        },
    script:
        "../scripts/denovo.py"
