"""Which library code a rule's job runs, as one digest for the rule's params.

Snakemake reruns a job when its script changes, but the work is done by this package,
which no rerun trigger sees. Each rule's params carry the digest of the modules of this
package that its script reaches through its imports (followed transitively, lazy imports
inside functions included), so a change in them reruns exactly the jobs that run it.

Each module is hashed on its syntax tree with the docstrings (and ``__version__``) removed,
written back as source: a comment, a docstring, a reformat or a release number changes
nothing; a changed default, a new
metric or a new layer changes the digest. Modules loaded by name at run time (a family's
module, see :mod:`restorebench.models.families`) are not imports: the caller names them.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path

PACKAGE = __name__.partition(".")[0]
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def _module_file(module: str) -> Path | None:
    """The source file of a module of this package, or None (not ours, or no such module)."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _with_parents(module: str) -> list[str]:
    """``a.b.c`` -> ``a``, ``a.b``, ``a.b.c``: importing a module runs its packages first."""
    parts = module.split(".")
    return [".".join(parts[: end + 1]) for end in range(len(parts))]


def _imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Names of the modules of this package that ``tree`` imports, wherever in the file."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = ".".join(filter(None, [anchor, node.module or ""]))
            else:
                base = node.module or ""
            found.add(base)
            # `from package import module` imports the module too
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {
        parent
        for name in found
        for parent in _with_parents(name)
        if _module_file(parent) is not None
    }


def reached_modules(script: Path, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The modules of this package that ``script`` runs, with ``extra`` and what they import."""
    tree = ast.parse(Path(script).read_text(), filename=str(script))
    pending = _imported(tree, "__main__", is_package=False)
    for name in extra:
        if _module_file(name) is None:
            raise ValueError(f"{name}: not a module of {PACKAGE}")
        pending.update(_with_parents(name))
    reached: set[str] = set()
    while pending:
        module = pending.pop()
        if module in reached:
            continue
        reached.add(module)
        path = _module_file(module)
        pending |= _imported(_tree(path), module, path.name == "__init__.py") - reached
    return tuple(sorted(reached))


def _is_version(node: ast.stmt) -> bool:
    return isinstance(node, ast.Assign) and any(
        isinstance(target, ast.Name) and target.id == "__version__" for target in node.targets
    )


def _without_docs(tree: ast.Module) -> ast.Module:
    """The tree less its docstrings and its ``__version__`` (a release alone reruns nothing)."""
    tree.body = [node for node in tree.body if not _is_version(node)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


@cache
def _normalized_source(path: Path, modified_ns: int) -> str:
    """The module's code as Python writes it back: no comments, docstrings or layout."""
    return ast.unparse(_without_docs(_tree(path)))


def code_digest(script: Path, extra: Iterable[str] = ()) -> str:
    """A short digest of the library code ``script`` runs (see the module docstring)."""
    digest = hashlib.sha256()
    for module in reached_modules(script, extra):
        path = _module_file(module)
        digest.update(f"{module}\n".encode())
        digest.update(_normalized_source(path, path.stat().st_mtime_ns).encode())
    return digest.hexdigest()[:16]
