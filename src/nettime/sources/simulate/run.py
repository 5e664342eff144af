"""Every stage of the simulated data set for a project, in order (``nettime simulate``)."""

from __future__ import annotations

import os

from nettime.config import Project, split_condition
from nettime.sources.simulate.cell import simulate_cell
from nettime.sources.simulate.common import check_new_conditions, panel_motifs, world_spec
from nettime.sources.simulate.condition import simulate_condition
from nettime.sources.simulate.portal import write_portal
from nettime.sources.simulate.world import simulate_world

# ---------------------------------------------------------------------------------------------
# everything


def simulate(project: Project, outdir: str | os.PathLike[str] = "resources/simulated",
             scale: str | float | None = None, seed: int | None = None,
             progress: bool = True) -> None:
    """All four stages for a project (what ``nettime simulate`` runs).

    The world is made of the supervised panels' TFs and cell types (:func:`~.common.world_spec`);
    the conditions and cell types beyond it are then simulated from its files, as the workflow's
    jobs do, so the files are the same whichever way they are made.

    Raises
    ------
    nettime.config.ConfigError
        Before any work: an unreadable motif, or a TF beyond the world whose motif has no family
        in it (:func:`~.common.check_new_conditions`).
    """
    from tqdm import tqdm

    check_new_conditions(project)
    spec = world_spec(project, scale=scale, seed=seed)
    motifs = panel_motifs(project)
    conditions = [split_condition(c) for c in project.condition_names()]
    cells = project.cell_types
    bar = tqdm(total=1 + len(conditions) + len(cells) + 1, disable=not progress,
               desc="simulate", unit="step")
    simulate_world(spec, outdir, progress=bar.set_postfix_str)
    bar.update()
    for tf, cell in conditions:
        bar.set_postfix_str(f"{tf}.{cell}")
        simulate_condition(outdir, tf, cell, motif=motifs[tf])
        bar.update()
    for cell in cells:
        simulate_cell(outdir, cell, project.assays_of(cell), progress=bar.set_postfix_str)
        bar.update()
    bar.set_postfix_str("portal")
    write_portal(project, outdir)
    bar.update()
    bar.close()
