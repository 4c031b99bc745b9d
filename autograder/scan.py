"""Static scan of a submission's code for forbidden APIs, before any of it runs.

The scan reads the code cells the worker will execute (as parsed Python, never run) and reports
:class:`Finding` s, then works out which graded names depend on them:

- an **api** finding is a use of a forbidden name, however it is spelled: ``torch.softmax``,
  ``F.softmax`` after ``import torch.nn.functional as F``, ``from torch.nn.functional import softmax as s``,
  ``x.softmax(-1)`` (a tensor method), ``getattr(torch, "softmax")``;
- a **module** finding is any use of a forbidden module (``course_lib``), including ``importlib`` /
  ``__import__`` with a constant name; it taints every graded name (the rule is "nothing from course_lib");
- a **dynamic** finding is code the scan cannot see through (``exec``, ``eval``, ``compile``, ``__import__``
  or ``importlib`` with a computed name, ``getattr`` with a computed name, ``vars()``, ``__dict__``,
  ``sys.modules``); it taints the names its statement binds, and every graded name at module level.

Dependencies are followed between top-level statements: a graded function that calls a helper whose body
uses ``F.softmax`` is flagged, and so is ``softmax = make_softmax()``. A forbidden call in a plain
top-level expression (``print(torch.softmax(x, -1))``, a student comparing with the real thing) is noted
but flags nothing.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable
from dataclasses import dataclass, field

DYNAMIC_CALLS = frozenset({"exec", "eval", "compile", "__import__", "vars", "globals", "locals"})
DYNAMIC_ATTRS = frozenset({"__dict__", "__getattribute__", "__builtins__", "modules", "import_module"})
BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass(frozen=True)
class Finding:
    kind: str  # "api" | "module" | "dynamic"
    what: str  # e.g. "torch.nn.functional.softmax"
    cell: int  # index of the code cell in the notebook (0-based over all cells)
    line: int

    def describe(self) -> str:
        reason = {
            "api": "uses the forbidden API",
            "module": "uses the forbidden module",
            "dynamic": "uses code the grader cannot check:",
        }[self.kind]
        return f"{reason} {self.what} (cell {self.cell + 1}, line {self.line})"


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    flagged: dict[str, list[Finding]] = field(default_factory=dict)  # graded name -> findings it depends on
    syntax_errors: list[str] = field(default_factory=list)

    def reason(self, name: str) -> str | None:
        found = self.flagged.get(name)
        return None if not found else f"`{name}` " + "; ".join(f.describe() for f in found[:3])


@dataclass(frozen=True)
class ForbiddenRules:
    """What an assignment forbids. ``names``: leaf names forbidden under the ``roots`` packages and as methods
    (``softmax`` forbids ``torch.softmax``, ``torch.nn.functional.softmax`` and ``x.softmax()``);
    ``apis``: dotted names, each with everything under it; ``modules``: packages whose every use is forbidden
    and taints every graded name."""

    names: frozenset[str] = frozenset()
    apis: frozenset[str] = frozenset()
    modules: frozenset[str] = frozenset()
    roots: frozenset[str] = frozenset({"torch"})


def scan_cells(cells: Iterable[tuple[int, str]], graded_names: Iterable[str], rules: ForbiddenRules) -> ScanResult:
    """Scan (cell index, transformed Python source) pairs; map each graded name to the findings it uses."""
    result = ScanResult()
    statements: list[_Statement] = []
    aliases: dict[str, str] = {}  # local name -> dotted path it was imported as, across cells in order
    for index, source in cells:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError) as err:
            result.syntax_errors.append(f"cell {index + 1}: {err.__class__.__name__}: {err}")
            continue
        for node in tree.body:
            statements.append(_scan_statement(node, index, aliases, rules))
    for statement in statements:
        result.findings.extend(statement.findings + statement.notes)
    _propagate(statements, list(graded_names), result)
    return result


@dataclass
class _Statement:
    bound: set[str]
    referenced: set[str]
    findings: list[Finding]
    module_level_taint: bool  # taints every graded name (course_lib, or exec & co. at top level)
    notes: list[Finding]  # forbidden calls in plain top-level expressions: reported, flag nothing


class _Visitor(ast.NodeVisitor):
    def __init__(self, cell: int, aliases: dict[str, str], rules: ForbiddenRules) -> None:
        self.cell, self.aliases, self.rules = cell, aliases, rules
        self.findings: list[Finding] = []
        self.bound: set[str] = set()
        self.referenced: set[str] = set()

    # -- names and bindings
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.referenced.add(node.id)
            self._check_path(self.aliases.get(node.id), node)
        else:
            self.bound.add(node.id)
            self.aliases.pop(node.id, None)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.bound.add(node.name)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_path(alias.name, node, importing=True)
            local = alias.asname or alias.name.split(".")[0]
            self.aliases[local] = alias.name if alias.asname else alias.name.split(".")[0]
            self.bound.add(local)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        self._check_path(module, node, importing=True)
        for alias in node.names:
            full = f"{module}.{alias.name}" if alias.name != "*" else module
            self._check_path(full, node)
            if alias.name == "*" and self._under_root(module):
                self._add("dynamic", f"from {module} import *", node)
            local = alias.asname or alias.name
            self.aliases[local] = full
            self.bound.add(local)

    # -- attribute chains, getattr, dynamic code
    def visit_Attribute(self, node: ast.Attribute) -> None:
        path = self._resolve(node)
        if path is not None:
            self._check_path(path, node)
        elif node.attr in self.rules.names and not _is_self(node.value):
            self._add("api", f".{node.attr}()", node)
        if node.attr in DYNAMIC_ATTRS:
            self._add("dynamic", f".{node.attr}", node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        path = self._resolve(func)
        if name in ("getattr", "setattr", "delattr", "hasattr") and len(node.args) >= 2:
            target, attr = node.args[0], node.args[1]
            if isinstance(attr, ast.Constant) and isinstance(attr.value, str):
                base = self._resolve(target)
                if base is not None:
                    self._check_path(f"{base}.{attr.value}", node)
                elif attr.value in self.rules.names:
                    self._add("api", f"getattr(..., {attr.value!r})", node)
            else:
                self._add("dynamic", f"{name}() with a computed name", node)
        elif (name in DYNAMIC_CALLS and name not in self.aliases) or path in (
            "importlib.import_module",
            "builtins.__import__",
        ):
            first = node.args[0] if node.args else None
            if name in ("__import__",) or (path or "").endswith("import_module"):
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    self._check_path(first.value, node, importing=True)
                    if not self._forbidden_module(first.value):
                        self.generic_visit(node)
                        return
                self._add("dynamic", f"{name or path}()", node)
            else:
                self._add("dynamic", f"{name}()", node)
        self.generic_visit(node)

    # -- helpers
    def _resolve(self, node: ast.AST) -> str | None:
        """Dotted path of ``a.b.c`` when ``a`` is an imported name, else None."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.aliases:
            return ".".join([self.aliases[node.id], *reversed(parts)])
        return None

    def _under_root(self, path: str) -> bool:
        return any(path == r or path.startswith(r + ".") for r in self.rules.roots)

    def _forbidden_module(self, path: str) -> bool:
        return any(path == m or path.startswith(m + ".") for m in self.rules.modules)

    def _check_path(self, path: str | None, node: ast.AST, importing: bool = False) -> None:
        if not path:
            return
        if self._forbidden_module(path):
            self._add("module", path, node)
        elif any(path == api or path.startswith(api + ".") for api in self.rules.apis) or (
            self._under_root(path) and path.rsplit(".", 1)[-1] in self.rules.names
        ):
            self._add("api", path, node)
        elif path in ("sys.modules", "importlib") and not importing:
            self._add("dynamic", path, node)

    def _add(self, kind: str, what: str, node: ast.AST) -> None:
        finding = Finding(kind, what, self.cell, getattr(node, "lineno", 0))
        if finding not in self.findings:
            self.findings.append(finding)


def _is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def _scan_statement(node: ast.stmt, cell: int, aliases: dict[str, str], rules: ForbiddenRules) -> _Statement:
    visitor = _Visitor(cell, aliases, rules)
    visitor.visit(node)
    binds = bool(visitor.bound) and not isinstance(node, ast.Expr)
    module_taint = any(f.kind == "module" for f in visitor.findings) or (
        any(f.kind == "dynamic" for f in visitor.findings)
        and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    )
    findings = visitor.findings if (binds or module_taint) else []
    noted = [] if findings else visitor.findings
    return _Statement(
        visitor.bound if binds else set(), visitor.referenced - BUILTIN_NAMES, findings, module_taint, noted
    )


def _propagate(statements: list[_Statement], graded: list[str], result: ScanResult) -> None:
    """Taint each bound name with the findings of the statements binding it, transitively over references."""
    direct: dict[str, list[Finding]] = {}
    depends: dict[str, set[str]] = {}
    everywhere: list[Finding] = []
    for st in statements:
        if st.module_level_taint:
            everywhere.extend(st.findings)
        for name in st.bound:
            direct.setdefault(name, []).extend(st.findings)
            depends.setdefault(name, set()).update(st.referenced - {name})
    for name in graded:
        seen, stack, found = set(), [name], list(everywhere)
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            found.extend(f for f in direct.get(current, []) if f not in found)
            stack.extend(depends.get(current, ()))
        if found:
            result.flagged[name] = found
