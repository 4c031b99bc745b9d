"""The two wheels, installed without extras into a fresh venv, grade a submission: what Gradescope's setup.sh does.

Offline and fast: the wheels' declared runtime dependencies (and theirs, recursively) are taken from this
environment through a folder of links that the new venv reads (a ``.pth`` file), and nothing else is. So a
package the grader imports without declaring it (pytest, IPython, markdown-it-py were such) is missing there
and the grading fails, as it would on Gradescope.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import Parser
from pathlib import Path

import ag_notebooks as nbs
import pytest
from packaging.requirements import Requirement

from autograder.bridges.gradescope import build_wheels


def requirements_of(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as zf:
        metadata = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(zf.read(metadata).decode())
    return [Requirement(r) for r in message.get_all("Requires-Dist") or []]


def runtime_closure(requirements: list[Requirement], provided: set[str]) -> dict[str, importlib.metadata.Distribution]:
    """The installed distributions the requirements need (no extras), recursively; ``provided`` are skipped."""
    found: dict[str, importlib.metadata.Distribution] = {}
    seen: set[tuple[str, str]] = set()  # (distribution, extra) already expanded
    pending = [r for r in requirements if r.marker is None or r.marker.evaluate({"extra": ""})]
    while pending:
        requirement = pending.pop()
        name = requirement.name.lower().replace("_", "-")
        if name in provided:
            continue
        dist = found.get(name) or importlib.metadata.distribution(requirement.name)  # missing: cannot grade
        found[name] = dist
        for extra in {"", *requirement.extras} - {e for n, e in seen if n == name}:  # jsonschema[format-nongpl]
            seen.add((name, extra))
            for text in dist.requires or []:
                child = Requirement(text)
                if child.marker is None or child.marker.evaluate({"extra": extra}):
                    pending.append(child)
    return found


def link_distributions(dists: dict[str, importlib.metadata.Distribution], site: Path) -> None:
    """``site/<top-level name>`` -> that file or folder of each distribution, dist-info included."""
    site.mkdir()
    for dist in dists.values():
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in sorted(tops):
            target = Path(str(dist.locate_file(top)))
            if target.exists() and not (site / top).exists() and not top.endswith(".pth"):
                (site / top).symlink_to(target)


@pytest.mark.slow
def test_wheels_install_without_extras_into_a_fresh_venv_and_grade(tmp_path):
    wheels = build_wheels(tmp_path / "wheels")
    requirements = [r for wheel in wheels for r in requirements_of(wheel)]
    link_distributions(runtime_closure(requirements, provided={"llm-course", "llm-course-grader"}), tmp_path / "site")

    venv = tmp_path / "venv"
    # no pip or setuptools of its own (ensurepip's setuptools is older than torch allows): this environment's
    # pip installs into it
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "course-deps.pth").write_text(str(tmp_path / "site") + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-index",
            "--find-links",
            str(tmp_path / "wheels"),
            "llm-course-grader",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]

    # the installed command knows the grader's commands (entry points of the installed grader)
    help_text = subprocess.run(
        [str(venv / "bin" / "llmcourse"), "--help"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert help_text.returncode == 0 and "gradescope-zip" in help_text.stdout, help_text.stderr
    where = subprocess.run(
        [str(python), "-c", "import autograder, course_lib; print(autograder.__file__, course_lib.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert where.stdout.count(purelib) == 2, where  # not the checkout's
    # the course's JupyterLab settings come with it (they disable jupyterlab-mathjax3, see pyproject's data-files)
    assert (venv / "etc" / "jupyter" / "labconfig" / "page_config.d" / "llm-course.json").is_file()

    root = tmp_path / "autograder_root"
    nbs.write(nbs.solution(), root / "submission")
    graded = subprocess.run(
        [str(python), "-m", "autograder.bridges.gradescope", "a0_warmup"],
        capture_output=True,
        text=True,
        env={**env, "AUTOGRADER_ROOT": str(root)},
        cwd=tmp_path,
        timeout=900,
    )
    assert graded.returncode == 0, graded.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 20, results["output"]
    assert sysconfig.get_path("purelib") != purelib
