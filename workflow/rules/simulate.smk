# The simulated ENCODE-like data set (source: simulated), in four stages so that a new condition
# reruns only its own files: the world (genome, elements, binding of every TF in every cell type
# of the supervised panels), one job per condition (peaks, ground truth), one per cell type
# (signals and peak calls), and the portal metadata. A condition or cell type beyond the world
# (panel new) is simulated from the world's files without changing them, so adding one reruns
# only its own jobs. Library code: nettime.sources.simulate.
from nettime.sources.simulate.common import world_members


rule simulate_world:
    output:
        **SIM_WORLD,
    log:
        layout.log("simulate/world"),
    benchmark:
        layout.benchmark("simulate/world")
    conda:
        "../envs/motifs.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        tfs=world_members(PROJECT)[0],
        cell_types=world_members(PROJECT)[1],
        motifs={
            tf: str(PROJECT.config["motifs"].get(tf, ""))
            for tf in world_members(PROJECT)[0]
        },
        chromosomes=list(PROJECT.config["genome"]["chromosomes"]),
        scale=PROJECT.config["simulation"]["scale"],
        seed=PROJECT.config["simulation"]["seed"],
        outdir=simulation_folder,
    script:
        "../scripts/simulate_world.py"


rule simulate_condition:
    input:
        world=SIM_WORLD["world"],
        binding=SIM_WORLD["binding"],
        elements=SIM_WORLD["elements"],
        sites=SIM_WORLD["sites"],
        meme=SIM_WORLD["meme"],
        sizes=SIM_WORLD["sizes"],
        gaps=SIM_WORLD["gaps"],
        blacklist=SIM_WORLD["blacklist"],
    output:
        conserved=layout.path(
            "condition_peaks",
            source="simulated",
            condition="{condition}",
            label_set="conserved",
        ),
        relaxed=layout.path(
            "condition_peaks",
            source="simulated",
            condition="{condition}",
            label_set="relaxed",
        ),
        sites=layout.path("simulated_sites", condition="{condition}"),
    log:
        layout.log("simulate/condition/{condition}"),
    benchmark:
        layout.benchmark("simulate_condition/{condition}")
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        outdir=simulation_folder,
        # A TF beyond the world is simulated from its motif: a changed motif reruns the job.
        motif=lambda wildcards: str(
            PROJECT.config["motifs"].get(split_condition(wildcards.condition)[0], "")
        ),
    script:
        "../scripts/simulate_condition.py"


rule simulate_cell:
    input:
        world=SIM_WORLD["world"],
        binding=SIM_WORLD["binding"],
        elements=SIM_WORLD["elements"],
        sites=SIM_WORLD["sites"],
        sizes=SIM_WORLD["sizes"],
        gaps=SIM_WORLD["gaps"],
        blacklist=SIM_WORLD["blacklist"],
    output:
        signals=[
            layout.path(
                "feature_signal", source="simulated", cell="{cell}", assay=assay
            )
            for assay in PROJECT.assays
        ],
        peaks=[
            layout.path(
                "feature_peaks", source="simulated", cell="{cell}", assay=assay
            )
            for assay in PROJECT.assays
        ],
    log:
        layout.log("simulate/cell/{cell}"),
    benchmark:
        layout.benchmark("simulate/cell/{cell}")
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        outdir=simulation_folder,
        assays=PROJECT.assays,
    script:
        "../scripts/simulate_cell.py"


rule simulate_portal:
    input:
        fasta=SIM_WORLD["fasta"],
        blacklist=SIM_WORLD["blacklist"],
        peaks=[
            layout.path(
                "condition_peaks", source="simulated", condition=c, label_set=s
            )
            for c in CONDITIONS
            for s in layout.LABEL_SETS
        ],
        features=[
            path
            for cell, assay in CELL_ASSAYS
            for path in (
                layout.path(
                    "feature_peaks", source="simulated", cell=cell, assay=assay
                ),
                layout.path(
                    "feature_signal", source="simulated", cell=cell, assay=assay
                ),
            )
        ],
    output:
        table=layout.path("simulated_portal_table"),
        experiments=[
            f"{layout.SIMULATED}/{path}" for path in portal_json_paths(PROJECT)
        ],
    log:
        layout.log("simulate/portal"),
    benchmark:
        layout.benchmark("simulate_portal/portal")
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        outdir=simulation_folder,
    script:
        "../scripts/simulate_portal.py"
