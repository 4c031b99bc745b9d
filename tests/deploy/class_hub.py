"""A real JupyterHub for the end-to-end class test: Unix users, the shipped config, one private mount namespace.

The hub runs ``deploy/jupyterhub_config.py`` unchanged, as root, with the users' servers started as real Unix users
by ``LocalProcessSpawner``. Two things make this machine look like a deployed image:

- the users' Python environment is a fresh venv of the system's Python holding a *copy* of ``course_lib`` (the
  student distribution) and a path to this checkout's third-party packages (torch, Jupyter, nbgrader), never the
  grader: ``import autograder`` fails for everyone but the instructor, who works in a private clone;
- the hub and everything it starts live in a private mount namespace (``unshare --mount``), where this checkout's
  site-packages is bind-mounted at a path any user may traverse, wherever CI put the checkout. Leaving the
  namespace undoes every mount.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def why_not_here() -> str | None:
    """None when this machine can run the hub test; else the reason to skip it."""
    if sys.platform != "linux" or os.geteuid() != 0:
        return "needs root on Linux (it creates Unix users and a mount namespace)"
    for tool in ("useradd", "userdel", "unshare", "nsenter", "runuser"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    if not system_python():
        return f"needs the system's python{sys.version_info.major}.{sys.version_info.minor} for the users' venv"
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    if probe.returncode:
        return f"cannot create a mount namespace: {probe.stderr.decode().strip()}"
    return None


def system_python() -> str | None:
    """A Python of this minor version that any user may run (a venv under /root is not one)."""
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for folder in ("/usr/bin", "/usr/local/bin"):
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK) and candidate.stat().st_mode & 0o001:
            return str(candidate)
    return None


def run_as(user: str | None, command: list[str], *, namespace_pid: int, timeout: float = 300, **kwargs: Any):
    """Run ``command`` inside the hub's mount namespace, as ``user`` (or root), capturing its output."""
    prefix = ["nsenter", f"--mount=/proc/{namespace_pid}/ns/mnt"]
    if user:
        prefix += ["runuser", "-u", user, "--"]
    return subprocess.run(prefix + command, capture_output=True, text=True, timeout=timeout, **kwargs)


@dataclass
class ClassHub:
    """The machine of a small class: users, folders, the hub process and an admin token for its REST API."""

    base: Path
    instructor: str
    students: list[str]
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(24))
    process: subprocess.Popen | None = None

    # --- layout -------------------------------------------------------------------------------------------------
    @property
    def env(self) -> Path:
        return self.base / "env"

    @property
    def python(self) -> str:
        return str(self.env / "bin" / "python")

    @property
    def exchange(self) -> Path:
        return self.base / "exchange"

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def shared_site(self) -> Path:
        return self.base / "shared-site"

    @property
    def clone(self) -> Path:
        """The instructor's private clone of the course (graders, answer keys, sources, gradebook)."""
        return Path("/home") / self.instructor / "llm-course"

    @property
    def course_root(self) -> Path:
        return self.clone / "assignments"

    def users(self) -> list[str]:
        return [self.instructor, *self.students]

    # --- set up -------------------------------------------------------------------------------------------------
    def create(self) -> None:
        self.remove_users()
        for user in self.users():
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", user], check=True)
            os.chmod(Path("/home") / user, 0o700)
        self.base.mkdir(mode=0o755)
        self.exchange.mkdir()
        os.chmod(self.exchange, 0o1777)  # nbgrader's exchange: everyone writes, the sticky bit keeps files apart
        self.data.mkdir()
        (self.data / "README.md").write_text("The class's read-only data folder.\n")
        self.shared_site.mkdir()
        self._make_environment()
        self._make_instructor_clone()

    def _make_environment(self) -> None:
        """The users' venv: the system Python, the student distribution (course_lib), third-party packages."""
        subprocess.run([system_python(), "-m", "venv", "--without-pip", str(self.env)], check=True)
        site = Path(
            subprocess.run(
                [self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
        )
        shutil.copytree(ROOT / "course_lib", site / "course_lib", ignore=shutil.ignore_patterns("__pycache__"))
        (site / "third_party.pth").write_text(f"{self.shared_site}\n")
        # the console scripts a user (and nbgrader, which runs `alembic`) finds on PATH in an image
        for script, (module, function) in {
            "alembic": ("alembic.config", "main"),
            "llmcourse": ("course_lib.cli", "main"),
        }.items():
            path = self.env / "bin" / script
            path.write_text(f"#!{self.python}\nimport sys\nfrom {module} import {function}\nsys.exit({function}())\n")
            path.chmod(0o755)
        for path in self.env.rglob("*"):
            path.chmod(path.stat().st_mode | 0o044 | (0o011 if path.is_dir() else 0))

    def _make_instructor_clone(self) -> None:
        """What an instructor gets with ``git clone``: tracked files and this tree's changes, nothing generated."""
        files = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout.split(b"\0")
        for name in filter(None, files):
            source = ROOT / os.fsdecode(name)
            if source.is_file():
                target = self.clone / os.fsdecode(name)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        subprocess.run(["chown", "-R", f"{self.instructor}:{self.instructor}", str(self.clone)], check=True)
        os.chmod(self.clone, 0o700)

    def remove_users(self) -> None:
        for user in self.users():
            subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
            subprocess.run(["userdel", "--remove", "--force", user], capture_output=True)

    # --- the hub ------------------------------------------------------------------------------------------------
    def start(self) -> None:
        state = self.base / "hub-state"
        state.mkdir(mode=0o700)
        config = state / "test_config.py"
        config.write_text(
            f"load_subconfig({str(DEPLOY / 'jupyterhub_config.py')!r})\n"
            "c = get_config()\n"
            f"c.JupyterHub.db_url = 'sqlite:///{state}/jupyterhub.sqlite'\n"
            f"c.JupyterHub.cookie_secret_file = '{state}/cookie_secret'\n"
            f"c.ConfigurableHTTPProxy.command = [{str(Path(sys.executable).parent / 'configurable-http-proxy')!r}]\n"
            f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{free_port()}'\n"
            f"c.JupyterHub.hub_port = {free_port()}\n"
            f"c.JupyterHub.services = [{{'name': 'class-test', 'api_token': {self.token!r}}}]\n"
            "c.JupyterHub.load_roles = [{'name': 'admin', 'services': ['class-test']}]\n"
        )
        environment = {
            **os.environ,
            "LLMCOURSE_INSTRUCTORS": self.instructor,
            "LLMCOURSE_STUDENTS": ",".join(self.students),
            "LLMCOURSE_COURSE_ROOT": str(self.course_root),
            "LLMCOURSE_EXCHANGE": str(self.exchange),
            "COURSE_DATA_DIR": str(self.data),
            "LLMCOURSE_PYTHON": self.python,
            "LLMCOURSE_HUB_PORT": str(self.port),
        }
        # this checkout's packages, and its Jupyter data and config (extensions, lab assets, nbconvert templates)
        # where the users' environment prefix has them, as an image would
        mounts = [
            (sysconfig.get_paths()["purelib"], self.shared_site),
            (Path(sys.prefix) / "share" / "jupyter", self.env / "share" / "jupyter"),
            (Path(sys.prefix) / "etc" / "jupyter", self.env / "etc" / "jupyter"),
        ]
        commands = []
        for source, target in mounts:
            Path(target).mkdir(parents=True, exist_ok=True)
            commands += [f"mount --bind {source} {target}", f"mount -o remount,bind,ro {target}"]
        mount_and_run = " && ".join([*commands, f"exec {sys.executable} -m jupyterhub -f {config}"])
        self.log = open(self.base / "hub.log", "w")
        self.process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", mount_and_run],
            cwd=state,
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait(lambda: self.api("GET", "/hub/api/") is not None, "the hub to answer", 120)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            for user in self.users():
                try:
                    self.api("DELETE", f"/hub/api/users/{user}/server")
                except Exception:
                    pass
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()

    def log_tail(self, chars: int = 4000) -> str:
        return (self.base / "hub.log").read_text(errors="replace")[-chars:]

    def _wait(self, ready, what: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the hub exited while waiting for {what}:\n{self.log_tail()}")
            try:
                if ready():
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.log_tail()}")

    # --- REST ---------------------------------------------------------------------------------------------------
    def api(self, method: str, path: str, data: dict | None = None, *, form: bool = False, timeout: float = 120):
        """One request through the hub's proxy with the admin service token; JSON in and out."""
        body, headers = None, {"Authorization": f"token {self.token}"}
        if data is not None and form:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif data is not None:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, headers=headers, method=method
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
        return json.loads(text) if text.strip() else {}

    def start_server(self, user: str) -> None:
        try:
            self.api("POST", f"/hub/api/users/{user}/server")
        except urllib.error.HTTPError as err:
            if err.code != 400:  # 400: already running
                raise
        self._wait(
            lambda: self.api("GET", f"/hub/api/users/{user}")["servers"].get("", {}).get("ready"),
            f"{user}'s server",
            240,
        )

    def server(self, user: str, method: str, path: str, data: dict | None = None, **kwargs):
        """A request to ``user``'s own Jupyter server (contents API, nbgrader's handlers, formgrader's API).

        The proxy answers 502/503 while a server it routes to is still coming up or briefly unresponsive (a
        busy 2-core machine); such answers are retried for a minute, anything else is the answer."""
        deadline = time.monotonic() + 60
        while True:
            try:
                return self.api(method, f"/user/{user}{path}", data, **kwargs)
            except urllib.error.HTTPError as err:
                if err.code not in (502, 503) or time.monotonic() > deadline:
                    raise
                time.sleep(2)

    def run_as(self, user: str | None, command: list[str], **kwargs: Any):
        return run_as(user, command, namespace_pid=self.process.pid, **kwargs)
