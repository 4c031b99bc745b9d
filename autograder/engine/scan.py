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
uses ``F.softmax`` is flagged, and so is ``softmax = make_softmax()``. Names resolve as Python resolves
them: a function's own names (parameters, assignments, loop and comprehension variables, imports inside
it) are its locals, so two functions that both use a local ``counts`` do not depend on each other; only
free names that resolve to module-level definitions are followed. ``Cls.method = f`` (or
``setattr(Cls, "method", f)``) at module level makes ``Cls`` depend on ``f``. A forbidden call in a plain
top-level expression (``print(torch.softmax(x, -1))``, a student comparing with the real thing) is noted
but flags nothing.
"""

from __future__ import annotations

import ast
import builtins
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field

DYNAMIC_CALLS = frozenset({"exec", "eval", "compile", "__import__", "vars", "globals", "locals"})
DYNAMIC_ATTRS = frozenset({"__dict__", "__getattribute__", "__builtins__", "modules", "import_module"})
BUILTIN_NAMES = frozenset(dir(builtins))
SCAN_RECURSION_LIMIT = 20_000
ALWAYS_FORBIDDEN = frozenset({"autograder"})  # the grading engine: no submission has any use for it


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
    """Scan (cell index, transformed Python source) pairs; map each graded name to the findings it uses.

    The walk recurses once per level of the syntax tree, so a long expression (``1 + 1 + ...``, a big
    literal table) needs more than Python's default 1000 levels: the limit is raised while scanning (Python
    calls between our own functions do not use the C stack). A cell nested deeper still than that is
    reported as too deep, as ``compile`` would."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, SCAN_RECURSION_LIMIT))
    try:
        return _scan_cells(cells, graded_names, rules)
    finally:
        sys.setrecursionlimit(limit)


def _scan_cells(cells: Iterable[tuple[int, str]], graded_names: Iterable[str], rules: ForbiddenRules) -> ScanResult:
    result = ScanResult()
    statements: list[_Statement] = []
    aliases: dict[str, str] = {}  # local name -> dotted path it was imported as, across cells in order
    for index, source in cells:
        try:
            tree = ast.parse(source)
            statements += [_scan_statement(node, index, aliases, rules) for node in tree.body]
        except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
            result.syntax_errors.append(f"cell {index + 1}: {err.__class__.__name__}: {err}")
            continue
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


@dataclass
class _Scope:
    """A function, lambda, class or comprehension body inside a top-level statement, or the module itself
    (``locals is None``). Names follow Python's rules: a name bound anywhere in a function body is local to
    it, unless declared ``global``; class bodies are not visible from the functions nested in them."""

    kind: str  # "module" | "function" | "class" | "comprehension"
    locals: set[str] | None
    declared_global: set[str] = field(default_factory=set)
    aliases: dict[str, str] = field(default_factory=dict)  # local name -> dotted path it was imported as


class _Visitor(ast.NodeVisitor):
    """Walks one top-level statement. ``bound``: module-level names it binds (or changes, as in
    ``Cls.method = f`` and ``setattr(Cls, "method", f)``); ``referenced``: module-level names it reads;
    a function's own locals are neither."""

    def __init__(self, cell: int, aliases: dict[str, str], rules: ForbiddenRules) -> None:
        self.cell, self.rules = cell, rules
        self.module = _Scope("module", None, aliases=aliases)
        self.scopes = [self.module]
        self.findings: list[Finding] = []
        self.bound: set[str] = set()
        self.referenced: set[str] = set()

    # -- name resolution
    def _owner(self, name: str) -> _Scope:
        """The scope a name belongs to, seen from the current one."""
        for depth, scope in enumerate(reversed(self.scopes)):
            if scope.kind == "class" and depth > 0:
                continue  # methods do not see their class body's names
            if name in scope.declared_global:
                return self.module
            if scope.locals is not None and name in scope.locals:
                return scope
        return self.module

    def _alias(self, name: str) -> str | None:
        return self._owner(name).aliases.get(name)

    def _bind(self, name: str) -> None:
        owner = self._owner(name)
        owner.aliases.pop(name, None)
        if owner is self.module:
            self.bound.add(name)

    def _in_scope(self, kind: str, local_names: set[str], declared_global: set[str], visit: list) -> None:
        self.scopes.append(_Scope(kind, local_names, declared_global))
        for node in visit:
            self.visit(node)
        self.scopes.pop()

    # -- names and bindings
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            if self._owner(node.id) is self.module:
                self.referenced.add(node.id)
            self._check_path(self._alias(node.id), node)
        else:
            self._bind(node.id)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        args = node.args
        # decorators, defaults and annotations are evaluated where the function is defined
        outside = [*args.defaults, *(d for d in args.kw_defaults if d)]
        body = [node.body] if isinstance(node, ast.Lambda) else node.body
        if not isinstance(node, ast.Lambda):
            outside += [*node.decorator_list, *(a.annotation for a in _all_args(args) if a.annotation)]
            outside += [node.returns] if node.returns else []
        for expr in outside:
            self.visit(expr)
        if not isinstance(node, ast.Lambda):
            self._bind(node.name)
        local_names, declared = _block_bindings(body)
        self._in_scope("function", {a.arg for a in _all_args(args)} | local_names, declared, body)

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expr)
        self._bind(node.name)
        local_names, declared = _block_bindings(node.body)
        self._in_scope("class", local_names, declared, node.body)

    def visit_ListComp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        first, *rest = node.generators
        self.visit(first.iter)  # evaluated in the enclosing scope
        targets = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        parts = [first.target, *first.ifs, *rest] + (
            [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        )
        self._in_scope("comprehension", targets, set(), parts)

    visit_SetComp = visit_GeneratorExp = visit_DictComp = visit_ListComp

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        inner = []  # inside a comprehension, := binds in the enclosing function (or the module)
        while self.scopes[-1].kind == "comprehension":
            inner.append(self.scopes.pop())
        self._bind(node.target.id)
        self.scopes += reversed(inner)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._bind(node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs | ast.MatchStar) -> None:
        if node.name:
            self._bind(node.name)
        self.generic_visit(node)

    visit_MatchStar = visit_MatchAs

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_path(alias.name, node, importing=True)
            local = alias.asname or alias.name.split(".")[0]
            self._bind(local)
            self._owner(local).aliases[local] = alias.name if alias.asname else alias.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        self._check_path(module, node, importing=True)
        for alias in node.names:
            full = f"{module}.{alias.name}" if alias.name != "*" else module
            self._check_path(full, node)
            if alias.name == "*" and self._under_root(module):
                self._add("dynamic", f"from {module} import *", node)
            local = alias.asname or alias.name
            self._bind(local)
            self._owner(local).aliases[local] = full

    def _changes(self, target: ast.AST) -> None:
        """``Cls.method = f``, ``table[k] = f`` or ``setattr(Cls, ...)`` at module level: ``Cls`` now
        depends on whatever this statement reads."""
        while isinstance(target, (ast.Attribute, ast.Subscript)):
            target = target.value
        if len(self.scopes) == 1 and isinstance(target, ast.Name):
            self.bound.add(target.id)

    # -- attribute chains, getattr, dynamic code
    def visit_Attribute(self, node: ast.Attribute) -> None:
        if not isinstance(node.ctx, ast.Load):
            self._changes(node)
        path = self._resolve(node)
        if path is not None:
            self._check_path(path, node)
        elif node.attr in self.rules.names and not _is_self(node.value):
            self._add("api", f".{node.attr}()", node)
        if node.attr in DYNAMIC_ATTRS:
            self._add("dynamic", f".{node.attr}", node)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if not isinstance(node.ctx, ast.Load):
            self._changes(node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        path = self._resolve(func)
        if name in ("getattr", "setattr", "delattr", "hasattr") and len(node.args) >= 2:
            target, attr = node.args[0], node.args[1]
            if name in ("setattr", "delattr"):
                self._changes(target)
            if isinstance(attr, ast.Constant) and isinstance(attr.value, str):
                base = self._resolve(target)
                if base is not None:
                    self._check_path(f"{base}.{attr.value}", node)
                elif attr.value in self.rules.names:
                    self._add("api", f"getattr(..., {attr.value!r})", node)
            else:
                self._add("dynamic", f"{name}() with a computed name", node)
        elif (name in DYNAMIC_CALLS and self._alias(name) is None) or path in (
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
        alias = self._alias(node.id) if isinstance(node, ast.Name) else None
        return ".".join([alias, *reversed(parts)]) if alias else None

    def _under_root(self, path: str) -> bool:
        return any(path == r or path.startswith(r + ".") for r in self.rules.roots)

    def _forbidden_module(self, path: str) -> bool:
        return any(path == m or path.startswith(m + ".") for m in self.rules.modules | ALWAYS_FORBIDDEN)

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


def _all_args(args: ast.arguments) -> list[ast.arg]:
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *filter(None, (args.vararg, args.kwarg))]


def _block_bindings(body: list[ast.AST]) -> tuple[set[str], set[str]]:
    """(names a function or class body binds, names it declares ``global``), not looking inside the
    functions, lambdas, classes and comprehensions it contains (they have their own names)."""
    bound: set[str] = set()
    declared: set[str] = set()
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            continue
        elif isinstance(node, ast.Lambda):
            continue
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            bound.update(n.target.id for n in ast.walk(node) if isinstance(n, ast.NamedExpr))  # `:=` leaks out
            continue
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update(a.asname or a.name.split(".")[0] for a in node.names if a.name != "*")
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
        elif isinstance(node, ast.Global):
            declared.update(node.names)
        stack.extend(ast.iter_child_nodes(node))
    return bound - declared, declared


def _is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def _scan_statement(node: ast.stmt, cell: int, aliases: dict[str, str], rules: ForbiddenRules) -> _Statement:
    visitor = _Visitor(cell, aliases, rules)
    visitor.visit(node)
    binds = bool(visitor.bound)
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
