"""The `llmcourse` command: help everywhere, doctor's report and exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.cli import build_parser


def llmcourse(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "course_lib.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


def test_every_subcommand_has_help() -> None:
    assert "doctor" in subcommands()
    for name in subcommands():
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args([name, "--help"])
        assert exit_info.value.code == 0, name


def test_help_imports_nothing_heavy() -> None:
    # `llmcourse --help` must answer at once: torch, nbformat (jsonschema) and nbgrader take seconds to import
    heavy = ("torch", "numpy", "nbformat", "nbgrader", "matplotlib", "pytest")
    code = (
        "import sys; from course_lib.cli import build_parser; build_parser(); "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_unknown_command_exits_non_zero() -> None:
    result = llmcourse("frobnicate")
    assert result.returncode != 0 and "invalid choice" in result.stderr


def test_doctor_reports_versions_device_nbgrader_and_data(tmp_path: Path) -> None:
    result = llmcourse("doctor", env={"COURSE_DEVICE": "cpu", "COURSE_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    import torch

    assert f"torch        {torch.__version__}" in out
    for needle in (
        "nbgrader",
        "ipywidgets",
        "jupyterlab",
        "bf16 autocast: no",
        "threads",
        "lab extension @jupyter/nbgrader: enabled",
        f"COURSE_DATA_DIR: {tmp_path}",
        "pydocs           embedded",
        "ready.",
    ):
        assert needle in out, needle


def test_doctor_exits_non_zero_with_one_line_per_problem(tmp_path: Path) -> None:
    config = tmp_path / "jupyter-config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyter/nbgrader": True}})
    )
    result = llmcourse("doctor", env={"COURSE_DEVICE": "tpu", "JUPYTER_CONFIG_DIR": str(config)})
    assert result.returncode == 1
    problems = [line for line in result.stderr.splitlines() if line.startswith("problem:")]
    assert len(problems) == 2, result.stderr
    assert "unknown device 'tpu'" in problems[0]
    assert "jupyter labextension enable @jupyter/nbgrader" in problems[1]
    assert "Traceback" not in result.stderr


def test_doctor_flags_an_enabled_lab_extension_built_for_another_jupyterlab(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    from course_lib.doctor import report_lab_extensions

    # a federated extension built against JupyterLab 3, as jupyterlab-mathjax3 is, in a data dir of its own
    extension = tmp_path / "labextensions" / "@fake" / "lab3-extension"
    extension.mkdir(parents=True)
    (extension / "package.json").write_text(
        json.dumps(
            {
                "name": "@fake/lab3-extension",
                "version": "1.0.0",
                "dependencies": {"@jupyterlab/application": "^3.2.8"},
                "jupyterlab": {"extension": True, "_build": {"load": "static/remoteEntry.js", "extension": "./ext"}},
            }
        )
    )
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path))  # what `jupyter labextension list` reads
    problems = [p for p in report_lab_extensions("4.x") if "@fake" in p]
    assert "@fake/lab3-extension 1.0.0: enabled, INCOMPATIBLE" in capsys.readouterr().out
    assert len(problems) == 1 and problems[0].endswith("jupyter labextension disable @fake/lab3-extension")


def test_course_lib_never_imports_the_grader() -> None:
    # the library students install must not depend on the grader: no `import autograder...` anywhere in it,
    # not even inside a function (the grader's commands come in through the llmcourse.commands entry points)
    import ast

    package = Path(__file__).resolve().parents[1] / "course_lib"
    offenders = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module",
                "__import__",
            ):  # importlib.import_module("autograder...")
                names = [a.value for a in node.args[:1] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):  # a module name kept for later
                names = [node.value] if re.fullmatch(r"autograder(\.[A-Za-z_]\w*)+", node.value) else []
            offenders += [
                f"{path.relative_to(package.parent)}:{node.lineno} {n}"
                for n in names
                if n.split(".")[0] == "autograder"
            ]
    assert offenders == []


def test_commands_from_entry_points_are_registered(monkeypatch) -> None:
    # course_lib.cli adds whatever an installed package declares under llmcourse.commands, by name order
    import argparse
    import importlib.metadata

    from course_lib import cli

    seen = []

    def register(subparsers: argparse._SubParsersAction) -> None:
        seen.append(True)
        subparsers.add_parser("plugged", help="from a plugin").set_defaults(func=lambda args: 7)

    entry = importlib.metadata.EntryPoint("plug", "tests_plugin:register", cli.ENTRY_POINT_GROUP)
    monkeypatch.setattr(entry.__class__, "load", lambda self: register)
    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda group: [entry] if group == cli.ENTRY_POINT_GROUP else []
    )
    assert cli.main(["plugged"]) == 7 and seen == [True]


def test_a_plugin_that_cannot_be_imported_is_skipped_with_one_warning(tmp_path: Path) -> None:
    # an installed distribution whose llmcourse.commands entry point names a module that is not there
    # (a broken or half-uninstalled package) must not take the other commands down with it
    info = tmp_path / "broken_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[llmcourse.commands]\nbroken = no_such_module_for_llmcourse:register\n")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}

    listed = llmcourse("list", env=env)
    assert listed.returncode == 0, listed.stderr
    warnings = [line for line in listed.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "Traceback" not in listed.stderr, listed.stderr
    assert "broken-plugin" in warnings[0]
    assert "ModuleNotFoundError: No module named 'no_such_module_for_llmcourse'" in warnings[0]
    grader = llmcourse("grade", "--help", env=env)  # the grader's commands come from an entry point too
    assert grader.returncode == 0 and "usage: llmcourse grade" in grader.stdout, grader.stderr


def test_list_shows_lectures_and_assignments() -> None:
    from course_lib.course_map import course_entries

    result = llmcourse("list")
    assert result.returncode == 0, result.stderr
    entries = course_entries()
    root = Path(__file__).resolve().parents[1]
    lectures = sorted(p.stem for p in (root / "lectures").glob("*.ipynb"))
    assignments = sorted(p.name for p in (root / "assignments" / "source").iterdir() if p.is_dir())
    assert [e.name for e in entries if e.kind == "lecture"] == lectures
    assert [e.name for e in entries if e.kind == "assignment"] == assignments
    for e in entries:
        assert e.name in result.stdout and e.title and e.title in result.stdout
    graded = {p.parent.name for p in (root / "autograder" / "graders").glob("*/manifest.toml")}
    assert {e.name for e in entries if e.autograded} == graded & set(assignments)
