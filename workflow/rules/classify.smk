# Binary calls: the best of n random thresholds and the CRF, both chosen on the validation
# predictions of the frozen network, then per-base calls and called sites (BED). The CRF is
# fitted on validation predictions (split at random into a fitting part and a selection part)
# because training-split predictions are over-confident. Library code: nettime.calls.


rule search_threshold:
    input:
        predictions=layout.path("predictions", model="{model}", split="valid"),
        data=scoring_data("valid"),
    output:
        table=layout.path("thresholds", model="{model}"),
    log:
        layout.log("classify/{model}/search_threshold"),
    benchmark:
        layout.benchmark("classify/{model}/search_threshold")
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        settings=config["classify"],
    script:
        "../scripts/search_threshold.py"


rule train_crf:
    input:
        predictions=layout.path("predictions", model="{model}", split="valid"),
        data=scoring_data("valid"),
    output:
        crf=layout.path("crf", model="{model}"),
        log_table=layout.path("crf_log", model="{model}"),
    log:
        layout.log("classify/{model}/train_crf"),
    benchmark:
        layout.benchmark("classify/{model}/train_crf")
    conda:
        "../envs/torch.yaml"
    # The CRF's tensors are small: one thread is faster than several.
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        settings=config["classify"],
    script:
        "../scripts/train_crf.py"


rule call_sites:
    input:
        predictions=layout.path("predictions", model="{model}", split="{split}"),
        data=scoring_data(),
        thresholds=layout.path("thresholds", model="{model}"),
        crf=layout.path("crf", model="{model}"),
    output:
        calls=layout.path("calls", model="{model}", split="{split}"),
        threshold_bed=layout.path(
            "called_sites", model="{model}", split="{split}", method="threshold"
        ),
        crf_bed=layout.path(
            "called_sites", model="{model}", split="{split}", method="crf"
        ),
    log:
        layout.log("calls/{model}/{split}"),
    benchmark:
        layout.benchmark("calls/{model}/{split}")
    conda:
        "../envs/torch.yaml"
    # The CRF's tensors are small: one thread is faster than several.
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        settings=config["classify"],
    script:
        "../scripts/call_sites.py"
