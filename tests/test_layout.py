"""The source reads as a book: imports flow one way, in the reading order the package docstring gives.

A subpackage (``torch/``, a folder with ``__init__.py``) is one module of the reading order, named by its
folder: its imports are the union of its files' imports. Every import is found by parsing the source
(function-local ones included), so a cycle cannot hide inside a function. A module that sets an attribute
on a name it imported from another module (``Value.x = ...``) links back to it without an import: that is
reported too."""

import ast
import re
from pathlib import Path

import pytest

import tinygrad_edu

PACKAGE = Path(tinygrad_edu.__file__).parent
HELPERS = {"domains", "arguments", "registry", "files", "tables", "testing", "methods", "modes", "checks", "follow"}


def modules_in(package: Path) -> dict[str, list[Path]]:
    """Each module of the package and its files: ``x.py`` is module x, a subpackage ``x/`` module x (all its files)."""
    found = {p.stem: [p] for p in package.glob("*.py")}
    for init in package.glob("*/__init__.py"):
        found[init.parent.name] = sorted(init.parent.rglob("*.py"))
    return dict(sorted(found.items()))


def absolute(node: ast.ImportFrom, path: Path, package: Path) -> str:
    """The dotted module an ``ImportFrom`` names, with ``from . import x`` resolved from the file's folder."""
    if not node.level:
        return node.module or ""
    folder = path.parent
    for _ in range(node.level - 1):
        folder = folder.parent
    parts = [package.name, *folder.relative_to(package).parts] + ([node.module] if node.module else [])
    return ".".join(parts)


def package_imports(tree: ast.AST, path: Path, package: Path, modules) -> list[tuple[str, str]]:
    """(name the import binds, the package's module it names) for every import of the package in the file,
    function-local ones included ("__init__" for names the package itself defines)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == package.name:
                    found.append((alias.asname or parts[0], parts[1] if len(parts) > 1 else "__init__"))
        elif isinstance(node, ast.ImportFrom):
            parts = absolute(node, path, package).split(".")
            if parts[0] == package.name:
                for alias in node.names:  # from tinygrad_edu import x: a module, or a name of the package itself
                    module = parts[1] if len(parts) > 1 else alias.name if alias.name in modules else "__init__"
                    found.append((alias.asname or alias.name, module))
    return found


def parsed(path: Path) -> ast.AST:
    """A file's syntax tree without its ``if TYPE_CHECKING:`` blocks: imports for type hints only never run."""
    tree = ast.parse(path.read_text())
    for block in ast.walk(tree):
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING":
            block.body = []
    return tree


def imports_of_file(path: Path, package: Path, modules) -> set[str]:
    """The package's modules one file imports anywhere in its source."""
    return {module for _, module in package_imports(parsed(path), path, package, modules)}


MODULES = modules_in(PACKAGE)
FILE_GRAPH = {m: {p: imports_of_file(p, PACKAGE, MODULES) - {m} for p in files} for m, files in MODULES.items()}
GRAPH = {m: set().union(*by_file.values()) for m, by_file in FILE_GRAPH.items()}


def test_subpackages_are_modules_of_their_own():
    assert "torch" in MODULES and len(MODULES["torch"]) > 1, sorted(MODULES)
    assert {"engine", "nn"} <= GRAPH["torch"]  # torch/nn/__init__.py imports the core nn


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


def later_imports(order: list[str], file_graph: dict, helpers: set[str], package: Path = PACKAGE) -> list[str]:
    """Each file that imports a module the reading order puts after the file's own module (within it is fine)."""
    found = []
    for i, m in enumerate(order):
        for path, deps in file_graph[m].items():
            later = (deps - helpers) & set(order[i + 1 :])
            if later:
                found.append(f"{path.relative_to(package.parent)}: {m} imports {sorted(later)}")
    return found


def test_each_module_imports_only_modules_above_it_in_the_reading_order():
    bad = later_imports(reading_order(), FILE_GRAPH, HELPERS)
    assert not bad, "imports of modules the reading order puts later:\n" + "\n".join(bad)


def test_a_file_of_a_subpackage_that_imports_a_later_module_is_named(tmp_path):
    package = tmp_path / "tinygrad_edu"
    (package / "sub" / "inner").mkdir(parents=True)
    (package / "early.py").write_text("import numpy\n")
    (package / "late.py").write_text("from tinygrad_edu import early\n")
    (package / "sub" / "__init__.py").write_text("from tinygrad_edu.early import x\nfrom . import inner\n")
    (package / "sub" / "inner" / "__init__.py").write_text("def f():\n    from ... import late\n")
    modules = modules_in(package)
    assert sorted(modules) == ["early", "late", "sub"]
    graph = {m: {p: imports_of_file(p, package, modules) - {m} for p in files} for m, files in modules.items()}
    bad = later_imports(["early", "sub", "late"], graph, set(), package)
    assert bad == ["tinygrad_edu/sub/inner/__init__.py: sub imports ['late']"]
    assert later_imports(["early", "late", "sub"], graph, set(), package) == []


def test_the_helpers_import_no_chapter_that_imports_them_back():
    for helper in HELPERS:
        for dep in GRAPH[helper] - HELPERS:
            assert helper not in GRAPH[dep], f"{helper} <-> {dep}"


# ---------------------------------------------------------------- links made by assignment, not by import


def links_by_assignment(source: str, module: str, path: Path = PACKAGE / "x.py") -> list[tuple[int, str, str]]:
    """(line, target, module it patches) for each ``name.attr = ...`` / ``+=`` / ``setattr(name, ...)`` where
    name was imported from another of the package's modules: a link the imports do not show."""
    tree = ast.parse(source)
    imported = {name: origin for name, origin in package_imports(tree, path, PACKAGE, MODULES) if origin != module}

    def root(node):
        while isinstance(node, ast.Attribute):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
            if node.args and root(node.args[0]) in imported:
                found.append((node.lineno, f"setattr({ast.unparse(node.args[0])}, ...)", imported[root(node.args[0])]))
            continue
        flat = []
        for target in targets:
            flat += target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
        for target in flat:
            if isinstance(target, ast.Attribute) and root(target) in imported:
                found.append((target.lineno, ast.unparse(target), imported[root(target)]))
    return sorted(found)


# The links by assignment the package allows, each with its reason (delete the entry if the assignment goes).
# engine's hooks for methods.py (``Value._apply = ...``) are none: Value is engine's own.
KNOWN_LINKS = {
    ("viz", "Value._repr_mimebundle_"): "viz gives every Value its notebook display (its graph): the engine comes "
    "before pictures in the reading order, so the pictures add it, in one commented line of viz/__init__.py",
    ("watch", "train.watcher"): "watch gives train.fit(live=True) its view (frames of a run): training comes before "
    "the view, which draws with examples' graph_for_input, so the view adds it, in one commented line of watch.py",
}


def all_links() -> dict[tuple[str, str], str]:
    """{(module, target): "file:line: target = ... sets an attribute of a name from <module>"} over the package."""
    found = {}
    for module, files in MODULES.items():
        for path in files:
            for line, target, origin in links_by_assignment(path.read_text(), module, path):
                where = f"{path.relative_to(PACKAGE.parent)}:{line}"
                found[(module, target)] = f"{where}: {target} = ... sets an attribute of a name from {origin}"
    return found


def test_no_module_sets_attributes_on_another_modules_names():
    new = [message for key, message in all_links().items() if key not in KNOWN_LINKS]
    assert not new, "import the module that needs it, or define it there, instead:\n" + "\n".join(new)


@pytest.mark.parametrize(
    "key",
    [pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=f"known: {why}")) for k, why in KNOWN_LINKS.items()],
    ids=[f"{module}:{target}" for module, target in KNOWN_LINKS],
)
def test_a_known_link_by_assignment_is_gone(key):
    """Fails while the link is there (an expected failure); passes, so fails strictly, once it is gone: then delete
    its KNOWN_LINKS entry."""
    links = all_links()
    assert key not in links, links[key]


def test_a_planted_link_by_assignment_is_flagged():
    planted = (
        "import tinygrad_edu.engine as eng\n"
        "from tinygrad_edu import ops\n"
        "from tinygrad_edu.engine import Value\n"
        "from tinygrad_edu.viz import draw\n"
        "class Local:\n"
        "    pass\n"
        "Local.x = 1\n"  # its own class: fine
        "v = Value(1.0)\n"
        "v.label = 'a'\n"  # an instance made here: fine
        "draw.style = 2\n"  # from its own module (this is viz): fine
        "Value._math = object\n"
        "eng.Value.count += 1\n"
        "ops.Add.name, y = 'plus', 0\n"
        "setattr(Value, 'shape', None)\n"
    )
    assert links_by_assignment(planted, "viz") == [
        (11, "Value._math", "engine"),
        (12, "eng.Value.count", "engine"),
        (13, "ops.Add.name", "ops"),
        (14, "setattr(Value, ...)", "engine"),
    ]


def test_the_readmes_reading_table_names_every_module():
    """README's table of modules (``| # | module | what it holds |``) lists each module of the package, and only
    those: a file added, moved or removed shows up here."""
    readme = (PACKAGE.parent / "README.md").read_text()
    table = readme[readme.index("| # | module | what it holds |") :].split("\n\n")[0]
    named = {
        m for cell in re.findall(r"^\|[^|]*\|([^|]*)\|", table, re.M) for m in re.findall(r"(\w+)(?:\.py|/)", cell)
    }
    named -= {"tinygrad_edu"}
    assert named == set(MODULES) - {"__init__", "__main__"}, sorted(named ^ (set(MODULES) - {"__init__", "__main__"}))
