# Models, training and prediction (issue 5). A model is a named spec in config `models:`;
# common.smk derives its files (model_targets) so that each figure asks only for what it needs.
# Training and prediction ask for a GPU (resources gpu) unless training.device is cpu. The
# scripts read `training:` (device, threads, ...) from the config, not from params, so that
# moving a model to another device does not make Snakemake retrain it.


rule train_model:
    input:
        train=data_set("train"),
        valid=data_set("valid"),
        init=model_init,
    output:
        model="results/models/{model}/model.pt",
        log="results/models/{model}/log.tsv",
        spec="results/models/{model}/spec.yaml",
    log:
        "logs/models/{model}.log",
    benchmark:
        "results/benchmarks/train_model/{model}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: TRAINING["threads"]
    resources:
        **gpu_resources(),
        mem_mb=TRAINING["mem_mb"],
        runtime=TRAINING["runtime"],
    params:
        model=lambda wildcards: model_training_params(wildcards.model),
    script:
        "../scripts/train_model.py"


rule predict:
    input:
        model="results/models/{model}/model.pt",
        data=lambda wildcards: data_set(wildcards.split),
    output:
        "results/predictions/{model}/{split}.h5",
    log:
        "logs/predictions/{model}.{split}.log",
    benchmark:
        "results/benchmarks/predict/{model}.{split}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: TRAINING["threads"]
    resources:
        **gpu_resources(),
        mem_mb=TRAINING["mem_mb"],
        runtime=TRAINING["runtime"],
    params:
        conditions=lambda wildcards: predictable(MODELS, wildcards.model),
        variant=None,
    script:
        "../scripts/predict.py"


# Fig 4a: trained TF and/or cell-type embeddings replaced by random vectors at prediction time.
rule predict_variant:
    input:
        model="results/models/{model}/model.pt",
        data=lambda wildcards: data_set(wildcards.split),
    output:
        "results/predictions/{model}/{split}.{variant}.h5",
    log:
        "logs/predictions/{model}.{split}.{variant}.log",
    benchmark:
        "results/benchmarks/predict/{model}.{split}.{variant}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: TRAINING["threads"]
    resources:
        **gpu_resources(),
        mem_mb=TRAINING["mem_mb"],
        runtime=TRAINING["runtime"],
    params:
        conditions=lambda wildcards: predictable(MODELS, wildcards.model),
        variant=lambda wildcards: wildcards.variant,
    script:
        "../scripts/predict.py"


rule track:
    input:
        predictions="results/predictions/{model}/test.h5",
        data=data_set("test"),
        sizes=chrom_sizes(),
    output:
        "results/tracks/{model}/{condition}.bigWig",
    log:
        "logs/tracks/{model}.{condition}.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    script:
        "../scripts/track.py"
