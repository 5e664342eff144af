"""The binding model of the simulated world, one (TF, cell type) pair at a time.

An element's openness in a cell type, a TF's traits and its preference for a cell type each come
from their own random stream, and which planted sites a TF binds in a cell type from the pair's
stream: so a pair's binding is a function of the pair and the world's planted sites alone. The
world stage calls these functions for each of its pairs; the condition and cell stages call them,
from the world's files (:class:`WorldState`), for a TF or cell type beyond the world, which
changes no file of the world.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nettime.motifs.matrices import Motif, read_meme
from nettime.sources.simulate.common import (
    FAMILY_SIMILARITY,
    new_tf_family,
    read_world,
    sort_bed,
    stream,
)

SITE_COLUMNS = ["chrom", "start", "end", "site", "motif", "score", "strand", "element"]


def element_openness(elements: pd.DataFrame, cell: str, seed: int) -> np.ndarray:
    """The openness of every element in one cell type (0 where closed).

    Constitutive elements are open in every cell type, the others in a random subset (more
    often promoters); an open element's strength is log-normal.

    Parameters
    ----------
    elements
        The world's elements in the order of their IDs, with columns ``type`` (``promoter`` or
        ``enhancer``) and ``constitutive`` (bool).
    cell, seed
        The cell type and the world's seed: the draws come from ``stream(seed, "activity",
        cell)``, so a cell type's openness does not depend on the other cell types.

    Returns
    -------
    numpy.ndarray
        float64 (n_elements,), rounded to 4 decimals.
    """
    rng = stream(seed, "activity", cell)
    specific = rng.random(len(elements)) < np.where(elements["type"] == "promoter", 0.35, 0.25)
    strength = rng.lognormal(0.0, 0.4, len(elements))
    return np.where(elements["constitutive"] | specific, strength, 0.0).round(4)


@dataclass(frozen=True)
class TFTraits:
    """A TF's cell-type-independent traits.

    Attributes
    ----------
    element_preference
        ``promoter`` and ``enhancer`` -> binding preference in (0, 1], the larger being 1.
    indirect_cell
        The world cell type in which the TF also binds without its motif (tethered to other
        TFs' sites), or None.
    """

    element_preference: dict[str, float]
    indirect_cell: str | None


def tf_traits(seed: int, tf: str, world_cells: Sequence[str]) -> TFTraits:
    """A TF's traits, from ``stream(seed, "tf", tf)``; ``world_cells`` are the world's cell types
    in the world's order (the indirect cell type is one of them)."""
    rng = stream(seed, "tf", tf)
    pref = rng.uniform(0.15, 1.0, size=2)
    pref /= pref.max()
    choice = int(rng.integers(len(world_cells)))
    indirect = world_cells[choice] if rng.random() < 0.6 else None
    return TFTraits({"promoter": float(pref[0]), "enhancer": float(pref[1])}, indirect)


def cell_preference(seed: int, tf: str, cell: str) -> float:
    """A TF's preference for a cell type, in [0.4, 1), from ``stream(seed, "pref", tf, cell)``."""
    return float(stream(seed, "pref", tf, cell).uniform(0.4, 1.0))


@dataclass(frozen=True)
class PlantedSites:
    """The world's planted motif sites in the order of their IDs (the order of the draws).

    Attributes
    ----------
    table
        (n_sites, 5): columns ``chrom``, ``start``, ``end``, ``site``, ``element``.
    motif
        object (n_sites,): the TF whose motif was planted.
    score
        float64 (n_sites,): the instance's log-odds relative to the motif's best.
    element_type
        object (n_sites,): ``promoter`` or ``enhancer``, the type of the site's element.
    element_index
        int64 (n_sites,): the row of the site's element in the elements table.
    """

    table: pd.DataFrame
    motif: np.ndarray
    score: np.ndarray
    element_type: np.ndarray
    element_index: np.ndarray

    @classmethod
    def from_frames(cls, sites: pd.DataFrame, elements: pd.DataFrame) -> PlantedSites:
        """From the sites (columns of ``truth/sites.bed``, any order) and the elements (in the
        order of their IDs)."""
        order = np.argsort(sites["site"].str[1:].astype(np.int64).to_numpy(), kind="stable")
        sites = sites.iloc[order].reset_index(drop=True)
        index = pd.Index(elements["element"]).get_indexer(sites["element"])
        if (index < 0).any():
            missing = sites.loc[index < 0, "element"].iloc[0]
            raise ValueError(f"planted site of unknown element {missing!r}")
        return cls(table=sites[["chrom", "start", "end", "site", "element"]],
                   motif=sites["motif"].to_numpy(dtype=object),
                   score=sites["score"].to_numpy(dtype=np.float64),
                   element_type=elements["type"].to_numpy(dtype=object)[index],
                   element_index=index.astype(np.int64))


def bind_pair(sites: PlantedSites, site_family: np.ndarray, tf: str, family: int, cell: str,
              traits: TFTraits, openness: np.ndarray, seed: int) -> pd.DataFrame:
    """The sites one TF binds in one cell type (draws from ``stream(seed, "binding", tf, cell)``).

    A TF binds sites of its motif family in open elements, with a probability set by the site's
    motif strength, its preference for the cell type and the element type (less for a family
    member's motif than its own); in its indirect cell type it also binds other sites of open
    elements without a motif.

    Parameters
    ----------
    sites
        The world's planted sites.
    site_family
        int64 (n_sites,): the motif family of each site's planted motif.
    tf, family
        The TF and its motif family.
    cell, traits
        The cell type and the TF's traits.
    openness
        float64 (n_elements,): the openness of every element in ``cell``.
    seed
        The world's seed.

    Returns
    -------
    pandas.DataFrame
        One row per bound site, in the sites' order: ``chrom``, ``start``, ``end``, ``tf``,
        ``cell_type``, ``site``, ``element``, ``kind`` (``direct`` or ``indirect``),
        ``occupancy`` (float64, 4 decimals).
    """
    rng = stream(seed, "binding", tf, cell)
    n = len(sites.score)
    own = sites.motif == tf
    in_family = site_family == family
    e_pref = np.where(sites.element_type == "promoter", traits.element_preference["promoter"],
                      traits.element_preference["enhancer"])
    c_pref = cell_preference(seed, tf, cell)
    site_open = openness[sites.element_index]
    # Binding needs open chromatin, a strong enough motif, and the TF's preferences.
    affinity = 1 / (1 + np.exp(-(sites.score - 0.6) / 0.07))
    p = c_pref * e_pref * affinity * np.where(own, 1.0, 0.75)
    u = rng.random(n)
    bound = in_family & (site_open > 0) & (u < p)
    kind = np.full(n, "direct", dtype=object)
    if traits.indirect_cell == cell:
        # Motif-less binding: tethered to other TFs' sites in open elements.
        tether = ~in_family & (site_open > 0) & (rng.random(n) < 0.2)
        kind[tether] = "indirect"
        bound |= tether
        affinity = np.where(tether, 0.6, affinity)
    occupancy = site_open * affinity * c_pref * rng.uniform(0.7, 1.3, n)
    chosen = sites.table.loc[bound].copy()
    chosen.insert(3, "tf", tf)
    chosen.insert(4, "cell_type", cell)
    chosen["kind"] = kind[bound]
    chosen["occupancy"] = occupancy[bound].round(4)
    return chosen


class WorldState:
    """The world as its files describe it, to simulate pairs beyond it.

    Attributes
    ----------
    folder
        The simulated data set's folder.
    world
        ``truth/world.json``: seed, TFs, cell types, motif families, ...
    elements
        (n_elements, 3): ``element``, ``type``, ``constitutive`` of ``truth/elements.tsv``, in
        the order of their IDs.
    sites
        The planted sites of ``truth/sites.bed``.
    """

    def __init__(self, outdir: str | os.PathLike[str]):
        self.folder = Path(outdir)
        self.world: dict[str, Any] = read_world(self.folder)
        elements = pd.read_csv(self.folder / "truth" / "elements.tsv", sep="\t",
                               usecols=["element", "type", "constitutive"])
        order = np.argsort(elements["element"].str[1:].astype(np.int64).to_numpy(),
                           kind="stable")
        self.elements = elements.iloc[order].reset_index(drop=True)
        sites = pd.read_csv(self.folder / "truth" / "sites.bed", sep="\t", header=None,
                            names=SITE_COLUMNS)
        self.sites = PlantedSites.from_frames(sites, self.elements)
        families = self.world["families"]
        self._site_family = np.array([families[m] for m in self.sites.motif], dtype=np.int64)
        self._planted: dict[str, Motif] | None = None

    @property
    def seed(self) -> int:
        return int(self.world["seed"])

    @property
    def tfs(self) -> list[str]:
        return list(self.world["tfs"])

    @property
    def cell_types(self) -> list[str]:
        return list(self.world["cell_types"])

    def has_pair(self, tf: str, cell: str) -> bool:
        """Whether the world stage simulated this pair (its binding is in ``binding.tsv.gz``)."""
        return tf in self.world["tfs"] and cell in self.world["cell_types"]

    def planted_motifs(self) -> dict[str, Motif]:
        """World TF -> its motif, as planted (``motifs/planted.meme``)."""
        if self._planted is None:
            motifs = read_meme(self.folder / "motifs" / "planted.meme")
            self._planted = {m.name: m for m in motifs}
        return self._planted

    def family(self, tf: str, motif: Motif | None = None) -> int:
        """The motif family of a TF: a world TF's own, or for a TF beyond the world that of the
        world TF with the most similar motif (``motif`` is then required).

        Raises
        ------
        ValueError
            A TF beyond the world without its motif, or whose motif is like no world TF's.
        """
        families = self.world["families"]
        if tf in families:
            return int(families[tf])
        if motif is None:
            raise ValueError(f"TF {tf!r} is not in the simulated world of {self.folder} (TFs "
                             f"{', '.join(self.tfs)}): simulating it needs its motif")
        family = new_tf_family(motif, self.planted_motifs(), families)
        if family is None:
            raise ValueError(
                f"TF {tf!r} (motif {motif.matrix_id}) of the conditions sheet is in no "
                f"supervised panel and its motif is like no motif of the world's TFs "
                f"({', '.join(self.tfs)}; motif similarity < {FAMILY_SIMILARITY}), so the "
                "simulated genome has no site it could bind")
        return family

    def openness(self, cell: str) -> np.ndarray:
        """float64 (n_elements,): the openness of every element in ``cell`` (a world cell type's
        is the one of ``elements.tsv``)."""
        return element_openness(self.elements, cell, self.seed)

    def binding(self, tf: str, cell: str, motif: Motif | None = None,
                openness: np.ndarray | None = None) -> pd.DataFrame:
        """The sites ``tf`` binds in ``cell`` (see :func:`bind_pair`), sorted like a BED file;
        ``openness`` (of :meth:`openness`) saves recomputing it for several TFs."""
        if openness is None:
            openness = self.openness(cell)
        traits = tf_traits(self.seed, tf, self.cell_types)
        bound = bind_pair(self.sites, self._site_family, tf, self.family(tf, motif), cell,
                          traits, openness, self.seed)
        return sort_bed(bound)
