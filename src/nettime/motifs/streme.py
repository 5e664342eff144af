"""STREME's files and the choice of discovery engine: the MEME Suite's ``streme`` binary when it
is installed, the STREME-like engine reimplemented here (:mod:`nettime.motifs.discovery`)
otherwise.

- :func:`write_streme_meme` writes discovered motifs in MEME motif format with the fields
  STREME's ``streme.txt`` has (``MOTIF <rank>-<consensus> STREME-<rank>``, ``nsites=`` and
  ``E=``); the header names the engine that made them.
- :func:`read_streme_txt` parses a ``streme.txt`` (the real one or ours): matrices through
  :func:`nettime.motifs.matrices.read_meme`, and the statistics of each ``letter-probability
  matrix`` line. STREME writes ``E=`` (E-value) when it had a hold-out set, ``S=`` (score, the
  training p-value) when not, and older versions ``P=``; each is kept under its own name.
- :func:`run_streme` runs the binary on FASTA files and parses its ``streme.txt``.
- :func:`discover` picks the engine: ``auto`` (the binary if on the PATH, else the
  reimplementation, with the reason logged), ``streme`` or ``builtin``.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from nettime.files import atomic_output
from nettime.motifs.discovery import ENGINE, DiscoveredMotif, streme_like
from nettime.motifs.matrices import ALPHABET, MotifError, read_meme
from nettime.motifs.shuffle import decode, encode_all

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
RULE = "*" * 80
#: Options of :func:`nettime.motifs.discovery.streme_like` that ``streme`` takes as flags.
STREME_FLAGS = {"thresh": "--thresh", "patience": "--patience", "hofract": "--hofract",
                "order": "--order", "nref": "--nref", "niter": "--niter"}
ENGINE_LINE = "Motifs discovered by:"
#: Names of the engines :func:`discover` runs, as motifs and tables report them.
ENGINE_NAMES = {"builtin": ENGINE, "streme": "streme (MEME Suite)"}
_NUMBER = re.compile(r"^([-+]?[0-9]*\.?[0-9]+)(?:[eE]([-+]?[0-9]+))?$")


class StremeError(RuntimeError):
    """The ``streme`` binary is missing, failed, or left no readable ``streme.txt``."""


def mantissa_exponent(log10_value: float) -> tuple[float, int]:
    """The mantissa (rounded to one decimal, in [1, 10)) and the exponent of a finite number
    given by its log10, exact far below 1e-308."""
    exponent = math.floor(log10_value)
    mantissa = round(10.0 ** (log10_value - exponent), 1)
    if mantissa >= 10.0:
        mantissa, exponent = 1.0, exponent + 1
    return mantissa, exponent


def format_log10(log10_value: float) -> str:
    """A value given by its log10 in STREME's style (``1.2e-010``), exact far below 1e-308."""
    if not math.isfinite(log10_value):
        return "0.0e+000" if log10_value < 0 else "inf"
    mantissa, exponent = mantissa_exponent(log10_value)
    return f"{mantissa:.1f}e{exponent:+04d}"


def parse_log10(text: str) -> float:
    """log10 of a number written as ``2.7e-9718`` (exact past the float range); -inf for 0."""
    match = _NUMBER.match(text.strip())
    if match is None:
        raise ValueError(f"not a number: {text!r}")
    mantissa = float(match.group(1))
    if mantissa <= 0:
        return -math.inf
    return math.log10(mantissa) + int(match.group(2) or 0)


def power10(log10_value: float) -> float:
    """10 ** ``log10_value`` as a float: 0.0 below the float range, inf above it."""
    return 10.0 ** log10_value if log10_value < 308 else math.inf


def write_streme_meme(motifs: Sequence[DiscoveredMotif], path: PathLike,
                      background: np.ndarray | None = None, stop_reason: str | None = None,
                      command: str | None = None) -> None:
    """Write discovered motifs as a ``streme.txt``-like MEME file, atomically.

    Each motif's ``letter-probability matrix`` line carries ``nsites=`` and ``E=`` (the
    E-value), or ``S=`` (its score) when it has no E-value, as STREME writes them. The header
    names the engine of the motifs; the trailer why the search stopped and the command.

    Parameters
    ----------
    motifs
        The motifs, in the order to write them.
    background
        float (4,) A, C, G, T frequencies (default uniform).
    """
    engines = sorted({m.engine for m in motifs}) or ["(no motif)"]
    bg = np.full(4, 0.25) if background is None else np.asarray(background, dtype=np.float64)
    lines = [RULE, f"{ENGINE_LINE} {'; '.join(engines)}", RULE, "MEME version 4", "",
             f"ALPHABET= {ALPHABET}", "", "strands: + -", "", "Background letter frequencies",
             " ".join(f"{letter} {value:.3f}" for letter, value in zip(ALPHABET, bg, strict=True))
             + " ", ""]
    for motif in motifs:
        if motif.log10_e_value is not None:
            stat = f" E= {format_log10(motif.log10_e_value)}"
        elif motif.log10_score is not None:
            stat = f" S= {format_log10(motif.log10_score)}"
        elif motif.log10_p_value is not None:
            stat = f" P= {format_log10(motif.log10_p_value)}"
        else:
            stat = ""
        nsites = "" if motif.nsites is None else f" nsites= {motif.nsites}"
        lines.append(f"MOTIF {motif.matrix_id} {motif.name}")
        lines.append(f"letter-probability matrix: alength= 4 w= {motif.width}{nsites}{stat}")
        lines.extend(" " + " ".join(f"{v:.6f}" for v in row) for row in motif.ppm)
        lines.append("")
    lines += [RULE, f"Stopped because {stop_reason}." if stop_reason else "", RULE]
    if command:
        lines += [f"COMMAND:\t{command}", RULE]
    with atomic_output(path, suffix=".txt") as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def read_streme_txt(path: PathLike, engine: str | None = None) -> list[DiscoveredMotif]:
    """Motifs of a ``streme.txt`` (MEME format with STREME's fields), in file order; none for a
    file with the MEME header but no motif (a search that found nothing).

    ``nsites``, and the E-value (``E=``), p-value (``P=``) or score (``S=``) of each motif come
    from its ``letter-probability matrix`` line; the consensus from its name
    (``<rank>-<consensus>``). ``engine`` defaults to ``streme`` and the MEME Suite version of
    the file's ``MEME version`` line. Site counts per set are not in the file: None.

    Raises
    ------
    MotifError
        When the file is missing, has no motif or a malformed number, naming the file and line.
    """
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise MotifError(f"cannot read the STREME file {path}: {error}") from None
    if not any(line.startswith("MOTIF") for line in lines) and any(
            line.startswith("MEME version") for line in lines):
        return []  # a search that found nothing: the header without motifs
    matrices = read_meme(path)
    if engine is None:
        # Files of write_streme_meme name their engine; the real streme.txt names its version.
        engine = next((line.split(":", 1)[1].strip() for line in lines
                       if line.startswith(ENGINE_LINE)), None)
    if engine is None:
        version = next((line.split("version", 1)[1].split("(")[0].strip() for line in lines
                        if line.startswith("MEME version")), "")
        engine = f"streme (MEME Suite {version})" if version else "streme (MEME Suite)"
    fields: list[dict[str, float]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip().startswith("letter-probability matrix"):
            continue
        values: dict[str, float] = {}
        for key, value in re.findall(r"(\w+)=\s*(\S+)", line):
            if key in ("nsites", "E", "P", "S"):
                try:
                    values[key] = float(value) if key == "nsites" else parse_log10(value)
                except ValueError:
                    raise MotifError(f"{path}:{number}: field {key}= is not a number: "
                                     f"{value!r}") from None
        fields.append(values)
    if len(fields) != len(matrices):
        raise MotifError(f"{path}: {len(matrices)} motifs but {len(fields)} "
                         "'letter-probability matrix' lines")
    out = []
    for motif, values in zip(matrices, fields, strict=True):
        name = motif.matrix_id
        stats: dict[str, float | None] = {}
        for key, field in (("E", "e_value"), ("P", "p_value"), ("S", "score")):
            if key in values:
                stats["log10_" + field] = values[key]
                stats[field] = power10(values[key])
        nsites = int(values["nsites"]) if "nsites" in values else None
        out.append(DiscoveredMotif(motif.name, name, motif.ppm,
                                   consensus=name.split("-", 1)[1] if "-" in name else name,
                                   nsites=nsites, engine=engine, **stats))
    return out


def write_fasta(sequences: Iterable[str | np.ndarray], path: PathLike,
                names: Sequence[str] | None = None, width: int = 60) -> None:
    """Write sequences (letters or uint8 codes) as FASTA, atomically; records are named by
    ``names`` or ``seq<i>``; codes 4 are written as N."""
    with atomic_output(path, suffix=".fa") as tmp, open(tmp, "w") as handle:
        for index, sequence in enumerate(sequences):
            text = sequence if isinstance(sequence, str) else decode(sequence)
            handle.write(f">{names[index] if names is not None else f'seq{index}'}\n")
            for start in range(0, len(text), width):
                handle.write(text[start:start + width] + "\n")


def run_streme(primary_fasta: PathLike, outdir: PathLike, control_fasta: PathLike | None = None,
               *, nmotifs: int | None = None, minw: int = 8, maxw: int = 15, seed: int = 0,
               options: dict[str, float] | None = None, executable: str = "streme",
               timeout: float | None = None) -> list[DiscoveredMotif]:
    """Run the MEME Suite's ``streme`` and parse its ``streme.txt``.

    The command is ``streme --p primary --dna [--n control] [--nmotifs N] --minw --maxw --seed
    --oc outdir``, plus a flag for each of ``options`` (:data:`STREME_FLAGS`).

    Raises
    ------
    StremeError
        When the executable is not found, exits with an error (its last stderr lines are in the
        message), or writes no ``streme.txt``.
    """
    program = shutil.which(executable)
    if program is None:
        raise StremeError(f"the MEME Suite's {executable!r} is not on the PATH (install it, "
                          "e.g. from bioconda, or use the builtin engine)")
    command = [program, "--p", str(primary_fasta), "--dna"]
    if control_fasta is not None:
        command += ["--n", str(control_fasta)]
    if nmotifs is not None:
        command += ["--nmotifs", str(nmotifs)]
    command += ["--minw", str(minw), "--maxw", str(maxw), "--seed", str(seed)]
    for key, value in (options or {}).items():
        if key not in STREME_FLAGS:
            raise ValueError(f"no streme flag for option {key!r}; known: "
                             f"{', '.join(STREME_FLAGS)}")
        command += [STREME_FLAGS[key], str(value)]
    command += ["--oc", str(outdir)]
    log.info("running %s", " ".join(command))
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise StremeError(f"{program} did not run: {error}") from None
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise StremeError(f"{program} exited with status {done.returncode}: {tail}")
    result = Path(outdir) / "streme.txt"
    if not result.exists():
        raise StremeError(f"{program} exited without writing {result}")
    return read_streme_txt(result)


def resolve_engine(engine: str = "auto", executable: str = "streme") -> str:
    """``"streme"`` or ``"builtin"``: the engine :func:`discover` uses for ``engine``
    (``"auto"`` takes the binary when it is on the PATH, else logs why it falls back).

    Raises
    ------
    StremeError
        For ``"streme"`` when the binary is not on the PATH.
    """
    if engine not in ENGINE_NAMES and engine != "auto":
        raise ValueError(f"engine must be 'auto', 'streme' or 'builtin', got {engine!r}")
    found = shutil.which(executable) is not None
    if engine == "streme" and not found:
        raise StremeError(f"engine 'streme' asked for, but the MEME Suite's {executable!r} is "
                          "not on the PATH (install it, e.g. from bioconda, or use engine "
                          "'builtin')")
    if engine == "auto":
        if found:
            return "streme"
        log.warning("the MEME Suite's %r is not on the PATH: discovering motifs with the "
                    "STREME-like engine reimplemented in nettime", executable)
        return "builtin"
    return engine


def discover(primary: Iterable[str | np.ndarray] | np.ndarray,
             control: Iterable[str | np.ndarray] | np.ndarray | None = None, *,
             engine: str = "auto", nmotifs: int | None = None, minw: int = 8, maxw: int = 15,
             seed: int = 0, outdir: PathLike | None = None, executable: str = "streme",
             progress: bool = True, **options: float) -> list[DiscoveredMotif]:
    """De novo motifs of ``primary`` against ``control`` (shuffles when None) by an engine.

    Parameters
    ----------
    primary, control
        Sequences as strings, uint8 code arrays or a uint8 (n, L) code matrix.
    engine
        ``"auto"``: the ``streme`` binary when it is on the PATH, else the STREME-like
        reimplementation (the reason is logged as a warning); ``"streme"``: the binary
        (:class:`StremeError` without it); ``"builtin"``: the reimplementation.
    outdir
        Where the binary writes its output (and the FASTA inputs); a temporary folder removed
        afterwards when None.
    options
        ``thresh``, ``patience``, ``hofract``, ``order``, ``nref``, ``niter`` for either engine;
        the builtin engine also takes ``pseudocount``.

    Returns
    -------
    list of DiscoveredMotif
        Ranked as the engine ranks them; each names its engine.
    """
    engine = resolve_engine(engine, executable)
    if engine == "builtin":
        return streme_like(primary, control, minw=minw, maxw=maxw, nmotifs=nmotifs, seed=seed,
                           progress=progress, **options)
    pseudo = {k: v for k, v in options.items() if k not in STREME_FLAGS}
    if pseudo:
        raise ValueError(f"options {sorted(pseudo)} exist only for the builtin engine")
    with tempfile.TemporaryDirectory(prefix="streme.") as scratch:
        folder = Path(outdir) if outdir is not None else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        write_fasta(encode_all(primary, "primary"), folder / "primary.fa")
        control_fasta = None
        if control is not None:
            control_fasta = folder / "control.fa"
            write_fasta(encode_all(control, "control"), control_fasta)
        return run_streme(folder / "primary.fa", folder / "streme_out", control_fasta,
                          nmotifs=nmotifs, minw=minw, maxw=maxw, seed=seed, options=options,
                          executable=executable)
