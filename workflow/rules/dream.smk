# The ENCODE-DREAM benchmark (Fig 3d), when config `dream:` is present: windows tiling the
# protocol's chromosomes and a genome-wide data set of the tracks the compared models read
# (z-scored like the training split), each model's predictions over it reduced to 50-bp block
# maxima (the per-base predictions are deleted condition by condition), and the protocol's
# table per model (B/A/U bins, auPRC and auROC per condition). Library code:
# nettime.data.tiles, nettime.evaluation.genome_wide, nettime.evaluation.dream.
from nettime.evaluation.dream import (
    dream_input_files,
    dream_label_files,
    dream_model_conditions,
)
from nettime.paper.figures_dream import dream_settings

DREAM = dream_settings(PROJECT)


if DREAM is not None:

    rule dream_tiles:
        input:
            fasta=layout.path("genome", source=SOURCE),
            fai=f"{layout.path('genome', source=SOURCE)}.fai",
            sizes=layout.path("chrom_sizes", source=SOURCE),
        output:
            layout.path("dream_examples"),
        log:
            layout.log("dream/tiles"),
        benchmark:
            layout.benchmark("dream_tiles")
        conda:
            "../envs/data.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=60,
        params:
            chromosomes=DREAM["chromosomes"],
            window=config["peaks"]["window"],
            grid=DREAM["step"],
        script:
            "../scripts/dream_tiles.py"

    rule dream_signal:
        input:
            inpeak=layout.path("inpeak_signal", cell="{cell}", assay="{assay}"),
            tiles=layout.path("dream_examples"),
            # The training split's track, whose statistics z-score the tiles.
            reference=(
                [
                    layout.path(
                        "data_signal", split="train", cell="{cell}", assay="{assay}"
                    )
                ]
                if config["normalisation"] == "train"
                else []
            ),
        output:
            layout.path("dream_signal", cell="{cell}", assay="{assay}"),
        log:
            layout.log("dream/signals/{cell}.{assay}"),
        benchmark:
            layout.benchmark("dream_signal/{cell}.{assay}")
        conda:
            "../envs/data.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=60,
        params:
            normalisation=config["normalisation"],
        script:
            "../scripts/dream_signal.py"

    rule dream_motifs:
        input:
            fasta=layout.path("genome", source=SOURCE),
            fai=f"{layout.path('genome', source=SOURCE)}.fai",
            tiles=layout.path("dream_examples"),
            reference=(
                [layout.path("data_motifs", split="train", tf="{tf}")]
                if config["normalisation"] == "train"
                else []
            ),
        output:
            layout.path("dream_motifs", tf="{tf}"),
        log:
            layout.log("dream/motifs/{tf}"),
        benchmark:
            layout.benchmark("dream_motifs/{tf}")
        conda:
            "../envs/motifs.yaml"
        threads: 1
        resources:
            mem_mb=3000,
            runtime=120,
        params:
            motif=lambda w: str(config["motifs"][w.tf]),
            motif_dir=os.path.dirname(PROJECT.config_path),
            normalisation=config["normalisation"],
        script:
            "../scripts/dream_motifs.py"

    rule dream_predict:
        # One condition at a time: its per-base predictions over every tile (large at genome
        # scale) are reduced to block maxima and deleted.
        input:
            model=layout.path("model_file", model="{model}"),
            data=lambda w: dream_input_files(
                MODELS, FEATURE_SETS, w.model, DREAM["conditions"]
            ),
        output:
            layout.path("dream_maxima", model="{model}"),
        log:
            layout.log("dream/predictions/{model}"),
        benchmark:
            layout.benchmark("dream_predict/{model}")
        conda:
            "../envs/torch.yaml"
        threads: TRAINING["threads"]
        resources:
            **gpu_resources(),
            mem_mb=TRAINING["mem_mb"],
            runtime=TRAINING["runtime"],
        params:
            conditions=lambda w: dream_model_conditions(
                MODELS, w.model, DREAM["conditions"]
            ),
        script:
            "../scripts/dream_predict.py"

    rule dream_evaluate:
        input:
            unpack(
                lambda w: dream_label_files(
                    dream_model_conditions(MODELS, w.model, DREAM["conditions"]),
                    SOURCE,
                    DREAM["labels_dir"],
                )
            ),
            maxima=layout.path("dream_maxima", model="{model}"),
            sizes=layout.path("chrom_sizes", source=SOURCE),
            blacklist=(
                [layout.path("blacklist", source=SOURCE)]
                if DREAM["exclude_blacklist"]
                else []
            ),
        output:
            layout.path("dream_metrics", model="{model}"),
        log:
            layout.log("dream/metrics/{model}"),
        benchmark:
            layout.benchmark("dream_evaluate/{model}")
        conda:
            "../envs/data.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=60,
        params:
            conditions=lambda w: dream_model_conditions(
                MODELS, w.model, DREAM["conditions"]
            ),
            bin=DREAM["bin"],
            step=DREAM["step"],
            labels_dir=DREAM["labels_dir"],
            label_columns=DREAM["label_columns"],
        script:
            "../scripts/dream_evaluate.py"
