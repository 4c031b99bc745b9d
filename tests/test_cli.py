"""The `llmcourse` command: help everywhere, doctor's report and exit codes."""

from __future__ import annotations

import json
import os
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
