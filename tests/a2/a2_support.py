"""Shared by the A2 tests: paths, the mutant catalogue, and the hidden tests' names and points."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "a2_neural_lm"
SOURCE = ROOT / "assignments" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
GRADERS = ROOT / "autograder" / "graders" / ASSIGNMENT


def load_mutants():
    spec = importlib.util.spec_from_file_location("a2_mutants", GRADERS / "mutants" / "mutants.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["a2_mutants"] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


def hidden_tests(engine_names: bool = False) -> dict[str, float]:
    """test function name (or the engine's ``<file stem>::<function>``) -> points, read without importing."""
    tests = {}
    for path in sorted(GRADERS.glob("test_*.py")):
        stem = path.stem.removeprefix("test_")
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                points = [
                    d.args[0].value
                    for d in node.decorator_list
                    if isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "points"
                ]
                tests[f"{stem}::{node.name}" if engine_names else node.name] = float(points[0]) if points else 0.0
    return tests
