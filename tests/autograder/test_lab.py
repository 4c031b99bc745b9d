"""`make lab` brings JupyterLab up with a working formgrader: started headless on a free port, polled with its
token, asked for the course's assignments and students through formgrader's HTTP API, stopped."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def api(port: int, token: str, path: str):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def test_make_lab_as_root_says_what_to_do() -> None:
    # LAB_UID=0 stands for running as root, whoever runs the tests; nothing is started
    venv = Path(sys.prefix)
    command = ["make", "-s", "-o", f"{venv}/.installed", "lab", f"VENV={venv}", "LAB_UID=0", "LAB_ARGS=--no-browser"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "make lab LAB_ARGS=--allow-root" in done.stderr, done.stderr


@pytest.mark.slow
def test_make_lab_serves_jupyterlab_with_formgrader(tmp_path: Path) -> None:
    port, token = free_port(), secrets.token_hex(16)
    venv = Path(sys.prefix)
    lab_args = (
        f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token} "
        "--ServerApp.port_retries=0 --allow-root"
    )
    # -o: treat the install stamp as up to date, so the running interpreter's environment serves the lab
    command = ["make", "-s", "-o", f"{venv}/.installed", "lab", f"VENV={venv}", f"LAB_ARGS={lab_args}"]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "HOME": os.environ.get("HOME", "/")}
    log = open(tmp_path / "lab.log", "w")
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        status = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/status", headers={"Authorization": f"token {token}"}
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    status = json.load(response)
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        assert status is not None, (tmp_path / "lab.log").read_text()[-3000:]
        assert "started" in status and "kernels" in status
        # the token is required: without it the API refuses
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5)
        assert refused.value.code == 403
        # the lab page itself is served
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10) as response:
            assert b"JupyterLab" in response.read()
        # formgrader finds the course root (nbgrader_config.py) and its gradebook (alembic on PATH)
        assignments = api(port, token, "/formgrader/api/assignments")
        assert {"a0_warmup", "a1_ngrams"} <= {a["name"] for a in assignments}, assignments
        assert isinstance(api(port, token, "/formgrader/api/students"), list)
        assert not (ROOT / "gradebook.db").exists(), "a stray gradebook at the repository root"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
