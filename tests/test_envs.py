"""The conda route and the pip route agree: workflow/envs/*.yaml against pyproject.toml, and
every rule of the workflow runs in one of the environments."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
ENV_DIR = ROOT / "workflow" / "envs"
ENV_NAMES = {"acquisition", "data", "motifs", "meme", "torch", "plots"}
# conda-forge/bioconda package -> the PyPI distribution it provides
CONDA_TO_PYPI = {"pybigwig": "pybigwig", "pytorch": "torch", "matplotlib-base": "matplotlib"}
# Conda packages that are programs, not Python dependencies of the package.
BINARIES = {"python", "pip", "bedtools", "meme"}
# Needed only where snakemake itself runs, never inside a rule's environment (Snakemake puts its
# own modules on the path of `script:` jobs).
WHERE_SNAKEMAKE_RUNS = {"snakemake"}


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def package_requirements() -> dict[str, SpecifierSet]:
    """The package's runtime dependencies: canonical name -> version bounds."""
    reqs = [Requirement(r) for r in pyproject()["project"]["dependencies"]]
    return {canonicalize_name(r.name): r.specifier for r in reqs}


def parse_env(path: Path) -> tuple[dict[str, SpecifierSet], list[str]]:
    """Packages of one env file (conda and pip sections): canonical PyPI-side name -> bounds;
    and the pip lines that install a local path (``-e ../..``)."""
    env = yaml.safe_load(path.read_text())
    packages: dict[str, SpecifierSet] = {}
    local: list[str] = []

    def add(line: str, conda: bool) -> None:
        name, _, spec = line.strip().partition(" ")
        name = name.lower()
        if conda:
            name = CONDA_TO_PYPI.get(name, name)
        key = canonicalize_name(name)
        assert key not in packages, f"{path.name}: {name} listed twice"
        packages[key] = SpecifierSet(spec.replace(" ", ""))

    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                if line.startswith("-e "):
                    local.append(line[3:].strip())
                else:
                    add(line, conda=False)
        else:
            add(dep, conda=True)
    return packages, local


ENV_FILES = sorted(ENV_DIR.glob("*.yaml"))


def test_the_six_environments_exist():
    assert {p.stem for p in ENV_FILES} == ENV_NAMES


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.stem)
def test_env_packages_are_declared_by_the_package_with_the_same_bounds(path):
    declared = package_requirements()
    packages, _ = parse_env(path)
    for name, spec in packages.items():
        if name in BINARIES:
            continue
        assert name in declared, f"{path.name}: {name} is not a dependency in pyproject.toml"
        assert spec == declared[name], (
            f"{path.name}: {name} {spec} but pyproject.toml says {declared[name]}"
        )


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.stem)
def test_env_versions_are_bounded_and_python_matches(path):
    packages, local = parse_env(path)
    requires_python = SpecifierSet(pyproject()["project"]["requires-python"])
    for name, spec in packages.items():
        if name == "pip":
            continue
        operators = {s.operator for s in spec}
        assert ">=" in operators and "<" in operators, f"{path.name}: {name} unbounded: {spec!r}"
    lower = {s.version for s in packages["python"] if s.operator == ">="}
    assert lower == {s.version for s in requires_python if s.operator == ">="}
    # The package itself, installed from the checkout (paths are relative to the env file).
    assert [(path.parent / p).resolve() for p in local] == [ROOT]


def test_every_package_dependency_is_in_some_environment():
    covered: set[str] = set()
    for path in ENV_FILES:
        covered |= set(parse_env(path)[0])
    missing = set(package_requirements()) - covered - WHERE_SNAKEMAKE_RUNS
    assert not missing, f"dependencies of the package in no workflow/envs file: {sorted(missing)}"


def test_slurm_plugin_pin_is_documented():
    """The plugin is needed where snakemake runs, not in rule envs; the docs give its pin."""
    (pin,) = pyproject()["project"]["optional-dependencies"]["slurm"]
    docs = (ROOT / "docs" / "cluster.md").read_text()
    assert pin.replace(" ", "") in docs.replace(" ", ""), f"docs/cluster.md does not give {pin}"


def workflow_rules():
    """Rules of the workflow as Snakemake parses them (default configuration)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (
        ConfigSettings,
        DeploymentSettings,
        OutputSettings,
        ResourceSettings,
        StorageSettings,
        WorkflowSettings,
    )

    with SnakemakeApi(OutputSettings()) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(configfiles=[ROOT / "config" / "config.yaml"]),
            storage_settings=StorageSettings(),
            workflow_settings=WorkflowSettings(),
            deployment_settings=DeploymentSettings(),
            snakefile=ROOT / "workflow" / "Snakefile",
            workdir=ROOT,
        )
        # The public API runs workflows; the parsed rules are only reachable here.
        return list(workflow_api._workflow.rules)


def test_every_rule_runs_in_a_workflow_environment():
    rules = workflow_rules()
    assert rules, "no rules parsed"
    problems = []
    for rule in rules:
        if rule.norun:  # target rules such as `all` run nothing
            continue
        if rule.is_run:
            problems.append(f"{rule.name}: `run:` cannot use a conda env; use `script:`")
            continue
        if not rule.conda_env:
            problems.append(f"{rule.name}: no conda directive")
            continue
        env = (Path(rule.snakefile).parent / str(rule.conda_env)).resolve()
        if env.parent != ENV_DIR or env.stem not in ENV_NAMES or not env.is_file():
            problems.append(f"{rule.name}: conda env {rule.conda_env} is not one of {ENV_DIR}")
    assert not problems, "\n".join(problems)
