"""How a figure is declared: :class:`Figure` (what the figure needs, plans, draws and tests)
and :class:`FigurePlan` (one figure file on a configuration), with helpers the declarations
share. The declarations are in :mod:`~.figures_supervised`, :mod:`~.figures_baselines`, ...;
the registry of every figure is :mod:`nettime.paper.figures`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from nettime import layout
from nettime.config import Project
from nettime.files import PathLike
from nettime.layout import FIGURE_SPLIT

#: One row of the findings table (see :mod:`nettime.paper.findings`).
Claim = dict[str, object]


@dataclass(frozen=True)
class FigurePlan:
    """One figure file on a configuration.

    Attributes
    ----------
    name
        File stem: ``results/figures/{name}.pdf`` and ``.tsv``.
    files
        Input files by role (a nested mapping of paths), as the draw function reads them.
    models
        The models the figure compares: their checkpoints are inputs too, so that a deleted
        model is retrained and the figure redrawn.
    params
        What else the draw and claim functions need (titles, TF families, ...).
    """

    name: str
    files: dict[str, Any]
    models: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    """The declaration of a figure (or a family of figures, one per panel).

    Attributes
    ----------
    key
        Short identifier of the declaration (``fig2``, ``fig3a``, ...).
    title
        Heading of its figures in the report.
    caption
        Report caption (reStructuredText); ``{name}`` and the plan's params are filled in.
    plan
        The figure files this configuration makes (none when its experiment is not
        configured).
    draw
        ``draw(files, params, pdf, tsv) -> numbers``: writes the PDF and the TSV.
    models
        The model specs the figure needs beyond ``config["models"]``: name -> raw spec.
    claims
        ``claims(plan, numbers) -> rows`` of the findings table.
    table_caption
        When given, the TSV is shown in the report as a table with this caption.
    shows_new_conditions
        Whether its conditions may include the new ones: its TSV then also carries their
        reference scores (a table of their own, which only such figures read).
    """

    key: str
    title: str
    caption: str
    plan: Callable[[Project], list[FigurePlan]]
    draw: Callable[[Mapping[str, Any], Mapping[str, Any], PathLike, PathLike], pd.DataFrame]
    models: Callable[[Project], dict[str, dict[str, Any]]] = lambda project: {}
    claims: Callable[[FigurePlan, pd.DataFrame], list[Claim]] = lambda plan, numbers: []
    table_caption: str | None = None
    shows_new_conditions: bool = False


def probability_metrics(model: str) -> str:
    """The auPRC/AP table of a model on the figures' split."""
    return layout.path("metrics_of", model=model, split=FIGURE_SPLIT, kind="probability")

def experiments_section(project: Project) -> Mapping[str, Any]:
    return project.config.get("experiments") or {}
