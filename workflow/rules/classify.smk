# Binary calls (issue 6): the best of n random thresholds and the CRF, both chosen on the
# validation predictions of the frozen network, then per-base calls and called sites (BED).
# The CRF is fitted on validation predictions (split at random into a fitting part and a
# selection part) because training-split predictions are over-confident; see nettime.calls.


rule search_threshold:
    input:
        predictions="results/predictions/{model}/valid.h5",
        data="results/data/valid.h5",
    output:
        table="results/classify/{model}/thresholds.tsv",
    log:
        "logs/classify/{model}/search_threshold.log",
    benchmark:
        "results/benchmarks/classify/{model}/search_threshold.tsv"
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
        predictions="results/predictions/{model}/valid.h5",
        data="results/data/valid.h5",
    output:
        crf="results/classify/{model}/crf.pt",
        log_table="results/classify/{model}/crf_log.tsv",
    log:
        "logs/classify/{model}/train_crf.log",
    benchmark:
        "results/benchmarks/classify/{model}/train_crf.tsv"
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
        predictions="results/predictions/{model}/{split}.h5",
        data="results/data/{split}.h5",
        thresholds="results/classify/{model}/thresholds.tsv",
        crf="results/classify/{model}/crf.pt",
    output:
        calls="results/calls/{model}/{split}.h5",
        threshold_bed="results/calls/{model}/{split}.threshold.bed",
        crf_bed="results/calls/{model}/{split}.crf.bed",
    log:
        "logs/calls/{model}/{split}.log",
    benchmark:
        "results/benchmarks/calls/{model}/{split}.tsv"
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
