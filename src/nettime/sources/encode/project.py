"""Whole-project steps of the ENCODE source, used by the workflow scripts and by
``nettime encode ...``: resolve every file of a project, and acquire one resolved file."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nettime.config import Project, load_project
from nettime.sources.encode.acquired import materialise, remove_stale
from nettime.sources.encode.client import PortalClient
from nettime.sources.encode.lock import (
    LockEntry,
    find_entry,
    read_lock,
    wanted_from_project,
    write_lock,
)
from nettime.sources.encode.selection import resolve_all
from nettime.sources.encode.settings import LOCK_NAME, Settings

log = logging.getLogger(__name__)


def _project(project: Project | Mapping[str, Any]) -> Project:
    # The workflow passes its configuration mapping, already checked (naming its file).
    return project if isinstance(project, Project) else load_project(
        "the workflow's config", config=dict(project))


def open_client(config: Mapping[str, Any], resources: str | os.PathLike[str],
                refresh: bool = False, **overrides: Any) -> PortalClient:
    """A client for the configured portal, caching JSON under ``resources/cache``."""
    settings = Settings.from_config(config, **overrides)
    return PortalClient(settings, cache_dir=Path(resources) / "cache", refresh=refresh)


def resolve_project(project: Project | Mapping[str, Any], resources: str | os.PathLike[str] = "resources/encode",
                    refresh: bool | None = None, out: str | os.PathLike[str] | None = None,
                    **overrides: Any) -> list[LockEntry]:
    """Resolve every file of a project, update ``resources/lock.tsv``, remove stale files.

    Parameters
    ----------
    project
        A :class:`nettime.config.Project`, or the workflow's configuration mapping.
    resources
        The acquisition directory (``resources/encode``).
    refresh
        Resolve afresh instead of reusing the lock table (default: ``encode.refresh``).
    out
        Also write the entries of this project alone to this TSV (the workflow's table).
    """
    project = _project(project)
    if refresh is None:
        refresh = bool(project.config.get("encode", {}).get("refresh", False))
    lock_path = Path(resources) / LOCK_NAME
    with open_client(project.config, resources, refresh=refresh, **overrides) as client:
        entries, changed = resolve_all(client, wanted_from_project(project), lock_path,
                                       refresh=refresh)
        log.info("resolved %d file(s) (%d portal request(s)); lock table %s", len(entries),
                 client.requests_made, lock_path)
    remove_stale(resources, changed)
    if out is not None:
        write_lock(out, entries)
    return entries


def acquire(project: Project | Mapping[str, Any], key: str, role: str,
            resources: str | os.PathLike[str] = "resources/encode",
            table: str | os.PathLike[str] | None = None, **overrides: Any) -> list[Path]:
    """Download (or reuse) the locked file of ``key``/``role`` and write its acquired file(s).

    ``project`` is a :class:`nettime.config.Project` or the workflow's configuration mapping.
    """
    project = _project(project)
    entry = find_entry(read_lock(table or Path(resources) / LOCK_NAME), key, role)
    with open_client(project.config, resources, **overrides) as client:
        return materialise(client, entry, resources, list(project.config["genome"]["chromosomes"]))
