"""``llmcourse doctor``: is this machine ready for the course?

Prints versions, the compute device, the nbgrader extension state, the JupyterLab extensions (an enabled one built
for another JupyterLab is a problem) and the datasets it can see. Exits 0 when the course is usable, else 1 with one
``problem:`` line per thing to fix.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

KEY_PACKAGES = ("torch", "numpy", "jupyterlab", "nbgrader", "ipywidgets", "matplotlib", "nbformat", "nbclient")
MIN_PYTHON = (3, 11)  # the pinned releases of numpy, nbgrader, matplotlib and ipython need 3.11
NBGRADER_LABEXTENSION = "@jupyter/nbgrader"
NBGRADER_SERVER_EXTENSION = "nbgrader.server_extensions.formgrader"
# a line of `jupyter labextension list`: "  @jupyter/nbgrader v0.9.6 enabled OK (python, nbgrader)"; X: incompatible
LABEXTENSION_LINE = re.compile(r"^\s+(?P<name>\S+) v(?P<version>\S+) (?P<state>enabled|disabled)\s+(?P<check>OK|X)\b")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check this machine: versions, device, bf16, nbgrader and lab extensions, datasets",
        description="Check that this machine is ready for the course. Exit 0 when usable, 1 with one line per "
        "problem otherwise.",
    )
    parser.set_defaults(func=run)


def package_versions() -> dict[str, str | None]:
    """Installed version of each key package, or None when it is missing."""
    versions: dict[str, str | None] = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def nbgrader_extension_state() -> dict[str, bool]:
    """Whether nbgrader's JupyterLab extension is installed and not disabled, and its server part enabled."""
    from jupyter_core.paths import jupyter_config_path, jupyter_path
    from jupyter_server.extension.config import ExtensionConfigManager

    installed = any((Path(p) / NBGRADER_LABEXTENSION).is_dir() for p in jupyter_path("labextensions"))
    disabled = False
    for folder in jupyter_config_path():  # where `jupyter labextension disable` records its choice
        page_config = Path(folder) / "labconfig" / "page_config.json"
        if page_config.is_file():
            try:
                disabled |= bool(
                    json.loads(page_config.read_text()).get("disabledExtensions", {}).get(NBGRADER_LABEXTENSION)
                )
            except (json.JSONDecodeError, AttributeError):
                pass
    servers = ExtensionConfigManager(read_config_path=jupyter_config_path()).get_jpserver_extensions()
    return {"lab": installed and not disabled, "server": bool(servers.get(NBGRADER_SERVER_EXTENSION))}


def run(args: argparse.Namespace) -> int:
    problems: list[str] = []
    print(
        f"llm-course {importlib.metadata.version('llm-course')} on Python {platform.python_version()} "
        f"({platform.system()} {platform.machine()})"
    )
    if sys.version_info < MIN_PYTHON:
        problems.append(f"Python {'.'.join(map(str, MIN_PYTHON))} or newer is required")

    print("\npackages")
    versions = package_versions()
    for name, version in versions.items():
        print(f"  {name:<12} {version or 'MISSING'}")
        if version is None:
            problems.append(f"package {name} is not installed: run `make install`")

    if versions["torch"]:
        problems += report_device()
    if versions["nbgrader"] and versions["jupyterlab"]:
        problems += report_nbgrader()
    if versions["jupyterlab"]:
        problems += report_lab_extensions(versions["jupyterlab"])
    report_data()

    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    if not problems:
        print("\nready.")
    return 1 if problems else 0


def report_device() -> list[str]:
    from course_lib.device import DEVICE_ENV, describe, get_device

    print("\ndevice")
    try:
        device = get_device()
    except ValueError as err:
        print(f"  {DEVICE_ENV}={os.environ.get(DEVICE_ENV)!r} cannot be used")
        return [f"{err} (fix or unset ${DEVICE_ENV})"]
    info = describe(device)
    if device.type == "cuda":
        peak = f", peak bf16 {info['peak_bf16_tflops']:.0f} TFLOP/s" if info["peak_bf16_tflops"] else ""
        print(f"  {device}: {info['name']}, {info['memory_gib']} GiB{peak}")
    elif device.type == "mps":
        print(f"  {device}: {info['name']}")
    else:
        print(f"  cpu: {info['threads']} torch threads on {info['cores']} cores (no GPU found; lectures scale down)")
    print(f"  bf16 autocast: {'yes' if info['bf16'] else 'no'}")
    return []


def report_nbgrader() -> list[str]:
    state = nbgrader_extension_state()
    print("\nnbgrader")
    print(f"  lab extension {NBGRADER_LABEXTENSION}: {'enabled' if state['lab'] else 'NOT enabled'}")
    print(f"  formgrader server extension: {'enabled' if state['server'] else 'NOT enabled'}")
    problems = []
    if not state["lab"]:
        problems.append(f"nbgrader's lab extension is not enabled: jupyter labextension enable {NBGRADER_LABEXTENSION}")
    if not state["server"]:
        problems.append(
            f"nbgrader's server extension is not enabled: "
            f"jupyter server extension enable --sys-prefix {NBGRADER_SERVER_EXTENSION}"
        )
    return problems


def lab_extensions() -> list[dict[str, str]]:
    """JupyterLab's extensions as ``jupyter labextension list`` reports them: name, version, state, check."""
    done = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True, text=True, timeout=120
    )
    listing = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # without its colours
    return [match.groupdict() for line in listing.splitlines() if (match := LABEXTENSION_LINE.match(line))]


def report_lab_extensions(jupyterlab: str) -> list[str]:
    """One line per extension; an enabled extension that JupyterLab finds incompatible is a problem (it may break
    the lab or, as jupyterlab-mathjax3 would, shadow what JupyterLab now does itself)."""
    print("\nJupyterLab extensions")
    problems = []
    for ext in lab_extensions():
        compatible = ext["check"] == "OK"
        print(f"  {ext['name']} {ext['version']}: {ext['state']}{'' if compatible else ', INCOMPATIBLE'}")
        if ext["state"] == "enabled" and not compatible:
            problems.append(
                f"the lab extension {ext['name']} {ext['version']} is incompatible with JupyterLab {jupyterlab}: "
                f"jupyter labextension disable {ext['name']}"
            )
    return problems


def report_data() -> None:
    from course_lib.data import cache_dir, list_corpora, staged_dirs
    from course_lib.data.corpora import availability

    print("\ndata")
    staged = staged_dirs()
    print(f"  COURSE_DATA_DIR: {os.pathsep.join(map(str, staged)) if staged else 'unset'}")
    print(f"  cache: {cache_dir()}")
    for corpus in list_corpora():
        print(f"  {corpus['name']:<16} {availability(corpus)}")
