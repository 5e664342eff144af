"""The package structure: data flows one way through the packages, and no module imports a
private name of another."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
#: Packages in data-flow order; the first entry is the foundation every package may use.
LAYERS = [
    {"nettime", "nettime.config", "nettime.inputs", "nettime.layout", "nettime.files",
     "nettime.cpu_env", "nettime.metrics"},
    {"nettime.motifs"},
    {"nettime.sources"},
    {"nettime.data"},
    {"nettime.models"},
    {"nettime.baselines"},
    {"nettime.calls"},
    {"nettime.evaluation"},
    {"nettime.paper"},
    # The checks of a whole configuration (models, figures, motifs), the run plan and the
    # command line, which reach into every stage.
    {"nettime.cli", "nettime.validate", "nettime.plan"},
]


def layer_of(module: str) -> int:
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            if module == prefix or (index > 0 and module.startswith(prefix + ".")):
                return index
    raise AssertionError(f"{module} belongs to no layer of this test: add it to LAYERS")


def modules():
    for path in sorted(SRC.rglob("*.py")):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        yield name.removesuffix(".__init__"), path


def imports(path: Path):
    """(imported module, imported names, line) of every import, at any depth."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [a.name for a in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno


@pytest.mark.parametrize(("module", "path"), list(modules()), ids=lambda v: str(v))
def test_no_module_reaches_downstream(module, path):
    own = layer_of(module)
    for imported, _, line in imports(path):
        if imported.split(".")[0] != "nettime":
            continue
        target = layer_of(imported)
        assert target == 0 or target <= own, (
            f"{path.relative_to(SRC)}:{line}: {module} (layer {own}) imports {imported} "
            f"(layer {target}), which comes later in the data flow")


@pytest.mark.parametrize(("module", "path"), list(modules()), ids=lambda v: str(v))
def test_no_private_name_is_imported(module, path):
    for imported, names, line in imports(path):
        if imported.split(".")[0] != "nettime":
            continue
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert not private, f"{path.relative_to(SRC)}:{line}: imports private {private}"


def test_library_modules_stay_small():
    """No module over ~500 lines (a larger one has more than one concern to split)."""
    sizes = {path.relative_to(SRC): len(path.read_text().splitlines())
             for _, path in modules()}
    assert {p: n for p, n in sizes.items() if n > 550} == {}
