"""A Gradescope autograder that runs this same engine: ``llmcourse gradescope-zip a0_warmup -o a0.zip``.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once to build its image, then for
each submission runs ``run_autograder``, which must leave ``/autograder/results/results.json``. Ours:

- ``setup.sh`` makes a venv (``/autograder/venv``) and installs the course and its grader from the bundled wheels,
  pinned by the bundled ``constraints.txt`` (torch from the CPU wheel index: no multi-GB CUDA build);
- ``run_autograder`` calls :func:`run_autograder` below: it copies the submitted notebooks into the engine's
  layout ``<work>/submitted/<student>/<assignment>/``, runs ``llmcourse grade``, and copies the student's
  ``results.json`` (already in Gradescope's schema) to ``results/``.

The Gradescope root (``/autograder``) can be moved with ``$AUTOGRADER_ROOT``, which is how the tests run it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from course_lib.errors import CourseError

from ..paths import GRADERS_DIR, REPO_ROOT

STUDENT = "gradescope_student"  # the one student of a Gradescope run

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope image set-up (runs once, as root): a venv with the course and its grader from the bundled wheels.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-/autograder/venv}"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else
    "the pinned packages need Python >= 3.11: choose the Ubuntu 24.04 base image on Gradescope")'
if ! "$PYTHON" -m venv "$VENV"; then  # Debian/Ubuntu ship venv separately
    apt-get update -qq && apt-get install -y -qq python3-venv && "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --upgrade pip
# the CPU build of torch: Gradescope graders have no GPU, and the default build pulls multi-GB CUDA libraries
TORCH_INDEX_URL="${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}"
"$VENV/bin/python" -m pip install -c constraints.txt --index-url "$TORCH_INDEX_URL" torch
"$VENV/bin/python" -m pip install -c constraints.txt ./*.whl
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this once per submission; see autograder/bridges/gradescope.py in the course package.
set -euo pipefail
exec "${{PYTHON:-/autograder/venv/bin/python}}" -m autograder.bridges.gradescope {assignment}
"""


# ------------------------------------------------------------------------------------------- building


PACKAGE_FILES = (
    "pyproject.toml",
    "README.md",
    "course_lib",
    "jupyter-config",  # the JupyterLab settings pyproject.toml installs as data-files
    "autograder",
    "grader/pyproject.toml",
)


def build_wheels(out_dir: Path) -> list[Path]:
    """Build the course's two wheels into ``out_dir``: ``llm-course`` (course_lib, what students install) and
    ``llm-course-grader`` (the autograder with the hidden graders as package data).

    They are built from a clean copy of the package files, so no stale ``build/`` leftovers get in.
    """
    tree = out_dir / "tree"
    for name in PACKAGE_FILES:
        source, target = REPO_ROOT / name, tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(source, target)
    wheels = [_pip_wheel(tree, out_dir), _pip_wheel(tree / "grader", out_dir)]
    shutil.rmtree(tree)
    return wheels


def _pip_wheel(project: Path, out_dir: Path) -> Path:
    before = set(out_dir.glob("*.whl"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out_dir), "."],
        capture_output=True,
        text=True,
        cwd=project,
    )
    built = sorted(set(out_dir.glob("*.whl")) - before)
    if done.returncode != 0 or len(built) != 1:
        raise CourseError(f"building the wheel of {project.name} failed: {(done.stderr or done.stdout).strip()[-500:]}")
    return built[0]


def build_zip(assignment: str, out: Path) -> Path:
    """Write the Gradescope autograder zip for ``assignment`` to ``out``; return its path."""
    if not (GRADERS_DIR / assignment).is_dir():
        known = (
            sorted(p.name for p in GRADERS_DIR.iterdir() if p.is_dir() and not p.name.startswith("_"))
            if GRADERS_DIR.is_dir()
            else []
        )
        raise CourseError(
            f"no hidden graders for assignment {assignment!r} in {GRADERS_DIR} "
            f"(graded assignments: {', '.join(known) or 'none'})"
        )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="llmcourse-wheel-") as scratch:
        wheels = build_wheels(Path(scratch))
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            _add_executable(zf, "setup.sh", SETUP_SH)
            _add_executable(zf, "run_autograder", RUN_AUTOGRADER.format(assignment=assignment))
            zf.write(REPO_ROOT / "constraints.txt", "constraints.txt")
            for wheel in wheels:
                zf.write(wheel, wheel.name)
    return out


def _add_executable(zf: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFREG | 0o755) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, text)


# -------------------------------------------------------------------------------------------- running


def _fallback_results(message: str) -> dict:
    """What Gradescope shows when the engine produced nothing for the student: zero, and why."""
    return {"score": 0.0, "execution_time": 0.0, "output": message, "tests": [], "visibility": "visible"}


def run_autograder(assignment: str, root: Path) -> dict:
    """Grade ``<root>/submission/*.ipynb`` with ``llmcourse grade``; write ``<root>/results/results.json``."""
    results_dir = root / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="llmcourse-gradescope-") as scratch:
        work = Path(scratch)
        student_dir = work / "submitted" / STUDENT / assignment
        student_dir.mkdir(parents=True)
        # Only regular notebook files at the top of the upload (a zip upload's folders are searched too);
        # symlinks are never followed, so a submission cannot point the grader at other files.
        uploaded = root / "submission"
        notebooks = [p for p in sorted(uploaded.glob("*.ipynb")) if p.is_file() and not p.is_symlink()]
        if not notebooks:
            notebooks = [
                p
                for p in sorted(uploaded.rglob("*.ipynb"))
                if p.is_file() and not p.is_symlink() and ".ipynb_checkpoints" not in p.parts
            ]
        for path in notebooks:
            shutil.copyfile(path, student_dir / path.name)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "autograder.cli",
                "grade",
                assignment,
                str(work / "submitted"),
                "--out",
                str(work / "grades"),
                "--jobs",
                "1",
            ],
            capture_output=True,
            text=True,
        )
        produced = work / "grades" / STUDENT / "results.json"
        if produced.is_file():
            results = json.loads(produced.read_text())
        else:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            results = _fallback_results(
                f"The autograder could not grade this submission ({tail[0]}). Please tell your TA."
            )
    (results_dir / "results.json").write_text(json.dumps(results, indent=2))
    return results


def main(argv: list[str] | None = None) -> int:
    """Entry point of the zip's ``run_autograder``: ``python -m autograder.bridges.gradescope ASSIGNMENT``."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m autograder.bridges.gradescope ASSIGNMENT", file=sys.stderr)
        return 2
    root = Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    results = run_autograder(argv[0], root)
    print(f"score {results.get('score')} -> {root / 'results' / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
