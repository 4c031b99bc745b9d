"""Adversarial submissions: each tries to cheat or to hurt the grader; each has an expected bound.

All attacks are graded in one batch (two at a time), with short time limits. They are safe for this machine
even if the sandbox failed: the fork bomb stops at RLIMIT_NPROC and the memory bomb at RLIMIT_AS, both set
before any student code runs (for root, the worker runs as its own uid so RLIMIT_NPROC applies), every loop
is stopped by the trusted side's timers, and the batch as a whole by the runner's backstop.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import ag_notebooks as nbs
import pytest

from autograder.engine.runner import grade_batch
from autograder.results import GRADED

SM_OK, CE_OK, WRONG_SM, WRONG_CE = nbs.SOFTMAX_OK, nbs.CE_OK, nbs.SOFTMAX_WRONG, nbs.CE_WRONG
CHEAT_CELL_MARK = "# attack"


def attacks(ctx: dict) -> dict[str, dict]:
    """name -> dict(softmax=..., cross_entropy=..., extra=[...], extra_before=[...]) for nbs.submission."""
    paths = [str(p) for p in ctx["secret_files"]]
    return {
        # --- cheating the comparison ---------------------------------------------------------------------
        "monkeypatch_testing": dict(
            softmax=WRONG_SM,
            cross_entropy=WRONG_CE,
            extra_before=[
                "import numpy.testing, torch.testing\n"
                "numpy.testing.assert_allclose = lambda *a, **k: None\n"
                "torch.testing.assert_close = lambda *a, **k: None\n"
                "torch.allclose = lambda *a, **k: True\n"
                "torch.isclose = lambda a, b, **k: torch.ones_like(a, dtype=torch.bool)\n"
                "torch.Tensor.__eq__ = lambda self, other: True\n"
            ],
        ),
        "eq_override_subclass": dict(
            softmax="class Liar(torch.Tensor):\n    def __eq__(self, other):\n        return True\n"
            "    def __torch_function__(self, *a, **k):\n        return True\n"
            "def softmax(x, dim=-1):\n    return torch.zeros_like(x).as_subclass(Liar)\n",
            cross_entropy="def cross_entropy(logits, targets):\n    return torch.tensor(0.).as_subclass(Liar)\n",
        ),
        "ndarray_subclass": dict(
            softmax="import numpy as np\nclass Arr(np.ndarray):\n    def __eq__(self, other):\n        return True\n"
            "def softmax(x, dim=-1):\n    return np.zeros(tuple(x.shape), dtype=np.float32).view(Arr)\n",
            cross_entropy="def cross_entropy(logits, targets):\n    return np.float64(0.0).view(Arr)\n",
        ),
        "object_with_behaviour": dict(
            softmax="class Anything:\n    def __eq__(self, other):\n        return True\n"
            "    def __array__(self, *a, **k):\n        raise SystemExit\n"
            "def softmax(x, dim=-1):\n    return Anything()\n",
            cross_entropy="def cross_entropy(logits, targets):\n    return Anything()\n",
        ),
        "float_subclass": dict(
            softmax=WRONG_SM,
            cross_entropy=(
                "class F(float):\n    def __eq__(self, o):\n        return True\n"
                "def cross_entropy(logits, targets):\n    return F(0.0)\n"
            ),
        ),
        "ipython_input_transformer": dict(
            softmax=WRONG_SM,
            cross_entropy=WRONG_CE,
            extra_before=[
                "ip = get_ipython()\nip.input_transformers_cleanup.append(lambda lines: [])\n"
                "ip.input_transformers_post.append(lambda lines: [])\n"
            ],
        ),
        "patch_worker_protocol": dict(
            softmax=WRONG_SM,
            cross_entropy=WRONG_CE,
            extra=[
                "import sys, numpy as np\nfor name, mod in list(sys.modules.items()):\n"
                "    if name.endswith('protocol') and hasattr(mod, 'encode'):\n"
                "        mod.encode = lambda v, **k: ({'$array': 0}, [np.zeros(1)])\n"
            ],
        ),
        "hardcode_public_examples": dict(
            softmax="def softmax(x, dim=-1):\n    if x.shape == (3,):\n        return torch.tensor([1/6, 2/6, 3/6])\n"
            "    if x.shape == (2, 2):\n        return torch.tensor([[0.5, 0.5], [0.25, 0.75]])\n"
            "    return torch.full_like(x, 0.25)\n",
            cross_entropy="import math\ndef cross_entropy(logits, targets):\n"
            "    return torch.tensor(math.log(logits.shape[-1]))\n",
        ),
        "garbage_on_protocol_socket": dict(
            cross_entropy=CE_OK,
            softmax=(
                "import os\ndef softmax(x, dim=-1):\n"
                "    for fd in os.listdir('/proc/self/fd'):\n"
                "        try:\n            if os.readlink(f'/proc/self/fd/{fd}').startswith('socket:'):\n"
                "                os.write(int(fd), b'AGv1\\xff\\xff\\xff\\xffgarbage' * 100)\n"
                "        except OSError:\n            pass\n"
                "    return x.exp() / x.exp().sum(dim, keepdim=True)\n"
            ),
        ),
        # --- forbidden APIs ------------------------------------------------------------------------------
        "forbidden_alias": dict(
            cross_entropy=CE_OK,
            softmax=("import torch.nn.functional as Fn\ndef softmax(x, dim=-1):\n    return Fn.softmax(x, dim=dim)\n"),
        ),
        "forbidden_getattr": dict(
            cross_entropy=CE_OK,
            softmax=("def softmax(x, dim=-1):\n    return getattr(torch, 'soft' + 'max')(x, dim)\n"),
        ),
        "forbidden_tensor_method_in_helper": dict(
            cross_entropy=CE_OK,
            softmax=(
                "def _helper(x, d):\n    return x.softmax(d)\ndef softmax(x, dim=-1):\n    return _helper(x, dim)\n"
            ),
        ),
        "forbidden_course_lib": dict(softmax=SM_OK, cross_entropy=CE_OK, extra=["import course_lib\n"]),
        "forbidden_exec": dict(
            softmax=None,
            cross_entropy=CE_OK,
            extra=["exec('def softmax(x, dim=-1):\\n    return torch.softmax(x, dim)')\n"],
        ),
        # --- escaping the process ------------------------------------------------------------------------
        "os_exit_in_cell": dict(extra=["import os\nos._exit(0)\n"]),
        "os_exit_in_call": dict(cross_entropy=CE_OK, softmax="import os\ndef softmax(x, dim=-1):\n    os._exit(3)\n"),
        "sys_exit": dict(
            extra=["import sys\nsys.exit(0)\n"],
            cross_entropy=("def cross_entropy(logits, targets):\n    raise SystemExit(0)\n"),
        ),
        "kill_everything": dict(
            cross_entropy=CE_OK,
            softmax=(
                "import os, signal\ndef softmax(x, dim=-1):\n"
                "    try:\n        os.kill(os.getppid(), signal.SIGKILL)\n    except OSError:\n        pass\n"
                "    os.kill(-1, signal.SIGKILL)\n"
            ),
        ),
        "infinite_loop_cell": dict(extra=["while True:\n    pass\n"]),
        "infinite_loop_call": dict(
            cross_entropy=CE_OK, softmax="def softmax(x, dim=-1):\n    while True:\n        pass\n"
        ),
        "sleep_in_call": dict(
            softmax=SM_OK,
            cross_entropy=("import time\ndef cross_entropy(logits, targets):\n    time.sleep(1000)\n"),
        ),
        "ignore_sigterm": dict(
            cross_entropy=CE_OK,
            softmax=(
                "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"  # noqa: E501
                "def softmax(x, dim=-1):\n    while True:\n        pass\n"
            ),
        ),
        # --- resources -----------------------------------------------------------------------------------
        "memory_bomb": dict(
            extra=[
                "hog = []\nwhile True:\n    hog.append(bytearray(2**27))\n",
                "blob = bytearray(64 * 2**30)\n",
            ]
        ),
        "fork_bomb": dict(extra=["import os\nwhile True:\n    os.fork()\n"]),
        "raise_own_limits": dict(
            extra=["import resource\nresource.setrlimit(resource.RLIMIT_NPROC, (10**6, 10**6))\n"]
        ),
        "detached_background_process": dict(
            extra=[
                "import os, ctypes, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                f"        ctypes.CDLL(None).prctl(15, b'{ctx['detach_name']}', 0, 0, 0)\n        time.sleep(600)\n"
                "    os._exit(0)\n"
            ]
        ),
        "huge_output": dict(extra=["for i in range(200_000):\n    print('spam' * 50)\n"]),
        # --- reaching outside ----------------------------------------------------------------------------
        "read_hidden_files": dict(
            extra=[
                f"import glob, os\nfound = []\nfor p in {paths!r} + [f'/proc/{{os.getppid()}}/environ',\n"
                "                                  f'/proc/{os.getppid()}/mem']:\n"
                "    try:\n        found.append(open(p, errors='replace').read(100000))\n"
                "    except OSError as e:\n        print('blocked', type(e).__name__)\n"
                f"print('listing', glob.glob({str(ctx['graders'])!r} + '/**', recursive=True),\n"
                f"      os.listdir({str(ctx['submitted'])!r}) if os.path.isdir({str(ctx['submitted'])!r}) else [])\n"
                "print('LEAKED' if any('def test_' in f or 'BEGIN SOLUTION' in f for f in found) else 'nothing read')\n"
            ]
        ),
        "write_outside": dict(
            extra=[
                f"for p in {[str(p) for p in ctx['forbidden_writes']]!r}:\n"
                "    try:\n        open(p, 'w').write('pwned')\n        print('WROTE', p)\n"
                "    except OSError as e:\n        print('blocked', type(e).__name__)\n"
            ]
        ),
        "fake_result_files": dict(
            softmax=WRONG_SM,
            cross_entropy=WRONG_CE,
            extra=[
                "import json, os\nfake = json.dumps({'score': 100, 'tests': []})\n"
                f"for p in {[str(p) for p in ctx['result_targets']]!r}:\n"
                "    try:\n        os.makedirs(os.path.dirname(p), exist_ok=True)\n        open(p, 'w').write(fake)\n"
                "    except OSError as e:\n        print('blocked', type(e).__name__)\n"
            ],
        ),
        "network_access": dict(
            extra=[
                f"import socket\nfor addr in [('127.0.0.1', {ctx['port']}), ('1.1.1.1', 53)]:\n"
                "    try:\n        socket.create_connection(addr, timeout=1).sendall(b'exfiltrate')\n"
                "        print('CONNECTED', addr)\n    except OSError as e:\n        print('blocked', type(e).__name__)\n"  # noqa: E501
            ]
        ),
    }


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("attacks")
    graders = nbs.fast_graders(tmp / "graders")
    submitted, out = tmp / "submitted", tmp / "out"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    ctx = {
        "graders": graders,
        "submitted": submitted,
        "port": listener.getsockname()[1],
        "detach_name": f"agdet{os.getpid() % 10000}",
        "secret_files": [
            graders / "a0_warmup" / "test_softmax.py",
            nbs.GRADERS / "a0_warmup" / "test_softmax.py",
            nbs.SOURCE,
            submitted / "honest" / "a0_warmup" / "a0_warmup.ipynb",
        ],
        "forbidden_writes": [
            nbs.ROOT / "PWNED.txt",
            submitted / "honest" / "PWNED.txt",
            out / "PWNED.txt",
            graders / "PWNED.txt",
            Path("/etc/PWNED.txt"),
            Path.home() / "PWNED.txt",
        ],
        "result_targets": [
            out / "fake_result_files" / "results.json",
            out / "honest" / "grading.json",
            out / "grades.csv",
            Path("/autograder/results/results.json"),
        ],
    }
    specs = attacks(ctx)
    for name, spec in specs.items():
        nbs.write(nbs.submission(**spec), submitted / name / "a0_warmup")
    nbs.write(nbs.solution(), submitted / "honest" / "a0_warmup")
    batch = grade_batch("a0_warmup", submitted, out, jobs=2, graders_root=graders)
    try:
        connection = listener.accept()
    except BlockingIOError:
        connection = None
    listener.close()
    return {
        "results": {r.student_id: r for r in batch.results},
        "ctx": ctx,
        "out": out,
        "connection": connection,
        "names": list(specs),
    }


def by_prefix(result, prefix: str) -> list:
    return [t for t in result.tests if t.name.startswith(prefix)]


def score_of(result, prefix: str) -> float:
    return sum(t.score for t in by_prefix(result, prefix))


def messages(result, prefix: str = "") -> str:
    return " | ".join(t.message for t in by_prefix(result, prefix))


# expected bound per attack: a function of the result that must hold
def zero(r):
    assert r.status == GRADED and r.score == 0, (r.score, messages(r))


def full(r):
    assert r.status == GRADED and r.score == 20, (r.score, r.notes, r.cell_errors, messages(r))


def softmax_lost_ce_kept(*words):
    def check(r):
        assert score_of(r, "softmax::") == 0 and score_of(r, "cross_entropy::") == 10, messages(r)
        text = messages(r, "softmax::")
        assert any(w in text for w in words), text

    return check


def ce_lost(*words):  # ... and softmax kept: one broken function does not use up the restarts
    def check(r):
        assert score_of(r, "cross_entropy::") == 0 and score_of(r, "softmax::") == 10, messages(r)
        assert any(w in messages(r, "cross_entropy::") for w in words), messages(r)

    return check


def zero_saying(word, prefix=""):
    def check(r):
        zero(r)
        assert word in messages(r, prefix), messages(r, prefix)

    return check


EXPECTED = {
    "monkeypatch_testing": zero,
    "eq_override_subclass": zero_saying("subclass of torch.Tensor"),
    "ndarray_subclass": zero_saying("subclass of ndarray"),
    "object_with_behaviour": zero_saying("Anything object"),
    "float_subclass": zero_saying("subclass of float", "cross_entropy::"),
    "ipython_input_transformer": zero,
    "patch_worker_protocol": zero,
    "hardcode_public_examples": zero,
    "garbage_on_protocol_socket": softmax_lost_ce_kept("not valid", "not run"),
    "forbidden_alias": softmax_lost_ce_kept("torch.nn.functional.softmax"),
    "forbidden_getattr": softmax_lost_ce_kept("computed name"),
    "forbidden_tensor_method_in_helper": softmax_lost_ce_kept(".softmax()"),
    "forbidden_course_lib": zero_saying("course_lib"),
    "forbidden_exec": zero,
    "os_exit_in_cell": full,
    "os_exit_in_call": softmax_lost_ce_kept("exited with code 3"),
    "sys_exit": ce_lost("SystemExit"),
    # kill(-1) spares the caller itself; in its own PID namespace the worker finds nobody else to kill
    "kill_everything": softmax_lost_ce_kept("NoneType", "SIGKILL", "No such process"),
    "infinite_loop_cell": full,
    "infinite_loop_call": softmax_lost_ce_kept("did not return within"),
    "sleep_in_call": ce_lost("did not return within"),
    "ignore_sigterm": softmax_lost_ce_kept("did not return within"),
    "memory_bomb": full,
    "fork_bomb": full,
    "raise_own_limits": full,
    "detached_background_process": full,
    "huge_output": full,
    "read_hidden_files": full,
    "write_outside": full,
    "fake_result_files": zero,
    "network_access": full,
}


def test_every_attack_has_an_expected_bound():
    names = list(
        attacks(
            {
                "secret_files": [],
                "graders": "",
                "submitted": "",
                "forbidden_writes": [],
                "result_targets": [],
                "port": 1,
                "detach_name": "x",
            }
        )
    )
    assert sorted(names) == sorted(EXPECTED) and len(names) >= 20


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_attack_is_bounded(attacked, name):
    result = attacked["results"][name]
    EXPECTED[name](result)
    assert all(t.score in (0, t.max_score) for t in result.tests)


@pytest.mark.slow
def test_honest_student_in_the_same_batch_is_unaffected(attacked):
    honest = attacked["results"]["honest"]
    assert (honest.status, honest.score) == (GRADED, 20)
    assert (all(honest.isolation.values()) and len(honest.isolation) == 6) or os.geteuid() != 0


@pytest.mark.slow
def test_cells_that_hang_or_exit_are_skipped_and_explained(attacked):
    r = attacked["results"]
    assert any("did not finish" in n for n in r["infinite_loop_cell"].notes)
    assert "timeout" in r["infinite_loop_cell"].flags
    assert any("exited with code 0" in n for n in r["os_exit_in_cell"].notes)
    assert any("MemoryError" in e for e in r["memory_bomb"].cell_errors)
    assert any("SystemExit" in e for e in r["sys_exit"].cell_errors)


@pytest.mark.slow
def test_nothing_the_submissions_started_survives(attacked):
    assert not nbs.running_with_name(attacked["ctx"]["detach_name"])


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="hiding files and cutting the network need root (namespaces)")
def test_no_secret_was_read_and_no_connection_made(attacked):
    output = attacked["results"]["read_hidden_files"].output
    assert "nothing read" in output and "LEAKED" not in output and "test_softmax.py" not in output
    assert "honest" not in output.split("listing", 1)[1]
    assert attacked["connection"] is None
    assert "CONNECTED" not in attacked["results"]["network_access"].output


@pytest.mark.slow
def test_no_file_was_written_outside_and_no_result_was_faked(attacked):
    ctx, out = attacked["ctx"], attacked["out"]
    assert not [p for p in ctx["forbidden_writes"] if p.exists()]
    assert "WROTE" not in attacked["results"]["write_outside"].output
    import json

    assert json.loads((out / "fake_result_files" / "results.json").read_text())["score"] == 0
    assert json.loads((out / "honest" / "grading.json").read_text())["score"] == 20
    assert not Path("/autograder/results/results.json").exists()


@pytest.mark.slow
def test_output_is_captured_and_capped(attacked):
    r = attacked["results"]["huge_output"]
    assert len(r.output) <= 64 * 1024 + 100
    assert "more bytes of output not kept" in r.output and "spam" in r.output
