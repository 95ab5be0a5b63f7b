"""The source reads as a book: imports flow one way, in the reading order the package docstring gives.

Every import is found by parsing the source (function-local ones included), so a cycle cannot
hide inside a function."""

import ast
import re
from pathlib import Path

import tinygrad_edu

PACKAGE = Path(tinygrad_edu.__file__).parent
# A subpackage (viz/) is one module, named by its folder.
MODULES = sorted([p.stem for p in PACKAGE.glob("*.py")] + [p.parent.name for p in PACKAGE.glob("*/__init__.py")])
HELPERS = {"domains", "arguments", "registry", "files", "tables", "testing", "methods", "modes", "checks", "follow"}


def imports_of(module: str) -> set[str]:
    """The tinygrad_edu modules ``module`` imports anywhere in its source ("__init__" for names of the package)."""
    files = [PACKAGE / f"{module}.py"] if (PACKAGE / f"{module}.py").exists() else (PACKAGE / module).glob("*.py")
    trees = [ast.parse(f.read_text()) for f in files]
    for block in (b for tree in trees for b in ast.walk(tree)):  # imports for type hints only (``if
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING":  # TYPE_CHECKING:``)
            block.body = []  # never run: not a link
    found = set()
    for node in (n for tree in trees for n in ast.walk(tree)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "tinygrad_edu":
                    found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tinygrad_edu":
            parts = node.module.split(".")
            if len(parts) > 1:
                found.add(parts[1])
            else:  # from tinygrad_edu import x: a module, or a name the package itself defines
                found |= {a.name if a.name in MODULES else "__init__" for a in node.names}
    found.discard(module)
    return found


GRAPH = {m: imports_of(m) for m in MODULES}


def test_no_import_cycle_among_the_modules():
    done, on_path = set(), []

    def visit(m):
        if m in on_path:
            cycle = on_path[on_path.index(m) :] + [m]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if m in done:
            return
        on_path.append(m)
        for dep in sorted(GRAPH[m] - {"__init__"} if m == "__init__" else GRAPH[m]):
            visit(dep)
        on_path.pop()
        done.add(m)

    for m in MODULES:
        visit(m)


def test_no_module_imports_the_package_itself():
    offenders = sorted(m for m in MODULES if m not in ("__init__", "__main__") and "__init__" in GRAPH[m])
    assert offenders == [], f"these import names from tinygrad_edu/__init__ (import the module instead): {offenders}"


def reading_order() -> list[str]:
    """The modules in the order the package docstring lists them (its numbered lines)."""
    numbered = [line for line in tinygrad_edu.__doc__.splitlines() if re.match(r"\d+\. ", line)]
    return [name for line in numbered for name in re.findall(r"``(\w+)``", line) if name in MODULES]


def test_the_reading_order_names_every_module():
    listed = reading_order() + sorted(HELPERS)
    assert sorted(set(listed)) == sorted(set(MODULES) - {"__init__", "__main__"})


def test_each_module_imports_only_modules_above_it_in_the_reading_order():
    order = reading_order()
    for i, m in enumerate(order):
        later = (GRAPH[m] - HELPERS) & set(order[i + 1 :])
        assert not later, f"{m} imports {sorted(later)}, which the reading order puts after it"


def test_the_helpers_import_no_chapter_that_imports_them_back():
    for helper in HELPERS:
        for dep in GRAPH[helper] - HELPERS:
            assert helper not in GRAPH[dep], f"{helper} <-> {dep}"
