"""Settings of the ENCODE client (the ``encode:`` section of the configuration), its errors and
the default selection rules."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from nettime import __version__

log = logging.getLogger(__name__)

DEFAULT_PORTAL = "https://www.encodeproject.org"
LOCK_NAME = "lock.tsv"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
HISTONE_ASSAYS = ("H3K4me1", "H3K4me3", "H3K27ac")
ASSAY_TITLES = {"tf": "TF ChIP-seq", "histone": "Histone ChIP-seq", "DNase": "DNase-seq",
                "ATAC": "ATAC-seq"}
# file_format / file_format_type a role's file must have.
ROLE_FORMATS = {"conserved": ("bed", "narrowPeak"), "relaxed": ("bed", "narrowPeak"),
                "peaks": ("bed", "narrowPeak"), "signal": ("bigWig", None),
                "genome": ("fasta", None), "blacklist": ("bed", None)}


class EncodeError(Exception):
    """Any problem with the portal or its files; ``str()`` is one line for the user."""


class ResolutionError(EncodeError):
    """No file (or experiment) satisfies the selection rules."""


class DownloadError(EncodeError):
    """A download failed after its bounded retries, or the server refused it."""


class ChecksumError(DownloadError):
    """The downloaded bytes do not match the portal's md5sum or file_size."""




@dataclass
class Settings:
    """The ``encode:`` section of the configuration (see the config schema for each key).

    ``sleep`` is the function used to wait between retries and for the rate limit; tests pass
    one that records the delays.
    """

    portal: str = DEFAULT_PORTAL
    assembly: str = "GRCh38"
    status: list[str] = field(default_factory=lambda: ["released"])
    requests_per_second: float = 4.0
    retries: int = 6
    md5_retries: int = 1
    backoff: float = 1.0
    max_wait: float = 120.0
    connect_timeout: float = 15.0
    read_timeout: float = 60.0
    chunk_size: int = 1 << 20
    progress_min_bytes: int = 16 << 20
    user_agent: str = ""
    output_types: dict[str, Any] = field(default_factory=dict)
    references: dict[str, dict[str, str]] = field(default_factory=dict)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **overrides: Any) -> Settings:
        """Build from the whole configuration (its ``encode`` section) or the section itself."""
        section = dict(config.get("encode", config))
        timeout = section.pop("timeout", {}) or {}
        section.pop("refresh", None)
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in section.items() if k in known}
        if "connect" in timeout:
            values["connect_timeout"] = float(timeout["connect"])
        if "read" in timeout:
            values["read_timeout"] = float(timeout["read"])
        values.update(overrides)
        return cls(**values)

    def __post_init__(self) -> None:
        self.portal = self.portal.rstrip("/")
        if not self.user_agent:
            self.user_agent = (f"nettime/{__version__} (NetTIME reproduction pipeline; "
                               "python-requests)")
        if not self.output_types:
            self.output_types = default_output_types()
        if not self.references:
            self.references = default_references()

    def role_output_types(self, kind: str, role: str) -> list[str]:
        """Output types accepted for a role, in order of preference."""
        if kind == "tf":
            return list(self.output_types[role])
        group = "histone" if kind in HISTONE_ASSAYS or kind == "histone" else kind
        return list(self.output_types[group][role])


def default_output_types() -> dict[str, Any]:
    """The default selection rules (the module docstring explains the order)."""
    return {
        "conserved": ["conservative IDR thresholded peaks", "IDR thresholded peaks",
                      "replicated peaks"],
        "relaxed": ["optimal IDR thresholded peaks", "IDR thresholded peaks",
                    "pseudoreplicated peaks"],
        "DNase": {"peaks": ["peaks", "replicated peaks", "pseudoreplicated peaks",
                            "IDR thresholded peaks"],
                  "signal": ["read-depth normalized signal"]},
        "ATAC": {"peaks": ["replicated peaks", "pseudoreplicated peaks",
                           "IDR thresholded peaks", "conservative IDR thresholded peaks"],
                 "signal": ["read-depth normalized signal", "fold change over control",
                            "signal p-value"]},
        "histone": {"peaks": ["replicated peaks", "pseudoreplicated peaks"],
                    "signal": ["signal p-value", "fold change over control"]},
    }


def default_references() -> dict[str, dict[str, str]]:
    """Reference files per assembly: portal file accessions (or reference aliases)."""
    return {
        "GRCh38": {"genome": "GRCh38_no_alt_analysis_set_GCA_000001405.15",
                   "blacklist": "ENCFF356LFX"},
        "hg19": {"genome": "male.hg19", "blacklist": "ENCFF001TDO"},
    }
