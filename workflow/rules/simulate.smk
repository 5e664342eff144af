# The simulated ENCODE-like data set (source: simulated), in four stages so that a new condition
# reruns only its own files: the world (genome, elements, binding of every TF in every cell type),
# one job per condition (peaks, ground truth), one per cell type (signals and peak calls), and
# the portal metadata. Library code: nettime.simulate.
# Paths and helpers (SIM, SIM_WORLD, simulation_root, ...) live in common.smk.


rule simulate_world:
    output:
        **SIM_WORLD,
    log:
        "logs/simulate/world.log",
    benchmark:
        "results/benchmarks/simulate/world.tsv"
    conda:
        "../envs/motifs.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        tfs=SIM_TFS,
        cell_types=sorted(PROJECT.cell_types),
        motifs=SIM_MOTIFS,
        chromosomes=list(PROJECT.config["genome"]["chromosomes"]),
        scale=PROJECT.config["simulation"]["scale"],
        seed=PROJECT.config["simulation"]["seed"],
        outdir=simulation_root,
    script:
        "../scripts/simulate_world.py"


rule simulate_condition:
    input:
        world=SIM_WORLD["world"],
        binding=SIM_WORLD["binding"],
        sizes=SIM_WORLD["sizes"],
        gaps=SIM_WORLD["gaps"],
        blacklist=SIM_WORLD["blacklist"],
    output:
        conserved=f"{SIM}/peaks/{{condition}}.conserved.narrowPeak.gz",
        relaxed=f"{SIM}/peaks/{{condition}}.relaxed.narrowPeak.gz",
        sites=f"{SIM}/truth/{{condition}}.sites.bed",
    log:
        "logs/simulate/condition/{condition}.log",
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        outdir=simulation_root,
    script:
        "../scripts/simulate_condition.py"


rule simulate_cell:
    input:
        world=SIM_WORLD["world"],
        binding=SIM_WORLD["binding"],
        elements=SIM_WORLD["elements"],
        sizes=SIM_WORLD["sizes"],
        gaps=SIM_WORLD["gaps"],
        blacklist=SIM_WORLD["blacklist"],
    output:
        signals=expand(
            f"{SIM}/features/{{{{cell}}}}.{{assay}}.bigWig", assay=PROJECT.assays
        ),
        peaks=expand(
            f"{SIM}/features/{{{{cell}}}}.{{assay}}.narrowPeak.gz",
            assay=PROJECT.assays,
        ),
    log:
        "logs/simulate/cell/{cell}.log",
    benchmark:
        "results/benchmarks/simulate/cell/{cell}.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        outdir=simulation_root,
        assays=PROJECT.assays,
    script:
        "../scripts/simulate_cell.py"


rule simulate_portal:
    input:
        fasta=SIM_WORLD["fasta"],
        blacklist=SIM_WORLD["blacklist"],
        peaks=[condition_peaks(c, s) for c in CONDITIONS for s in LABEL_SETS],
        features=[
            path
            for cell_assay in CELL_ASSAYS
            for path in (
                feature_peaks(*cell_assay.split(".")),
                feature_signal(*cell_assay.split(".")),
            )
        ],
    output:
        table=f"{SIM}/portal/files.tsv",
        experiments=[f"{SIM}/{path}" for path in portal_json_paths(PROJECT)],
    log:
        "logs/simulate/portal.log",
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        outdir=simulation_root,
    script:
        "../scripts/simulate_portal.py"
