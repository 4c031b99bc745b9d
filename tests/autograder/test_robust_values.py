"""Awkward but legal submissions and replies: the trusted side normalises or refuses them before any hidden test
sees them, and never turns them into a grader error (fast, no worker)."""

from __future__ import annotations

import io
import math

import ag_notebooks as nbs
import numpy as np
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from autograder import checks
from autograder.engine.manifest import Limits, load_manifest
from autograder.engine.notebook import neutralise_ipython, read_notebook
from autograder.engine.report import write_atomic
from autograder.engine.scan import ForbiddenRules, scan_cells
from autograder.engine.session import StudentCodeError, WorkerSession, readable
from autograder.sandbox import protocol


def over_the_wire(value):
    """What the trusted side decodes from a worker that encoded ``value`` (an honest worker)."""
    tree, arrays = protocol.encode(value)
    header, got = protocol.unpack(io.BytesIO(protocol.pack({"value": tree}, arrays)).read, 2**30)
    return protocol.decode(header["value"], got)


def test_numpy_scalars_inside_containers_become_python_numbers():
    got = over_the_wire([np.int64(3), {"p": np.float32(0.5)}, (np.bool_(True),)])
    assert got == [3, {"p": 0.5}, (True,)]
    assert [type(got[0]), type(got[1]["p"]), type(got[2][0])] == [int, float, bool]
    assert {got[0]} == {3}  # hashable, so a test can count or look it up
    assert type(over_the_wire(np.float64(1.5))) is np.ndarray  # at the top level it stays an array
    rows = over_the_wire((np.zeros((2, 3)), np.ones(2)))
    assert [type(r) for r in rows] == [np.ndarray, np.ndarray]


def test_integers_beyond_64_bits_are_refused_with_a_reason_on_both_sides():
    with pytest.raises(protocol.EncodeError, match="fit in 64 bits"):
        protocol.encode([1, 10**5000])
    frame = b'{"value":[' + b"9" * 5000 + b'],"n_arrays":0}'
    data = protocol.MAGIC + len(frame).to_bytes(4, "big") + frame
    with pytest.raises(protocol.ProtocolError):  # a lying worker: garbage, never a ValueError in a test
        protocol.unpack(io.BytesIO(data).read, 2**20)
    with pytest.raises(protocol.ProtocolError, match="64 bits"):
        protocol.decode([2**70], [])
    assert over_the_wire([-(2**63), 2**64 - 1]) == [-(2**63), 2**64 - 1]


def session() -> WorkerSession:
    return WorkerSession(server=None, limits=Limits(), deadline=0.0)  # type: ignore[arg-type]


def test_object_references_only_answer_new_requests():
    ref = {"$object": 7, "type": "NGramLM"}
    reply = {"id": 1, "ok": True, "value": ref, "grads": None, "n_arrays": 0}
    made = session()._check_reply(reply, [], 1, "x", lambda r: ("object", r.id), "new")[0]
    assert made == ("object", 7)
    for op, value in [("call", ref), ("method", [1, ref]), ("getattr", {"$dict": {"a": ref}}), ("new", [ref])]:
        with pytest.raises(protocol.ProtocolError):
            session()._check_reply({**reply, "value": value}, [], 1, "x", lambda r: r, op)


def test_text_with_lone_surrogates_is_written_escaped(tmp_path):
    message = "ValueError: bad byte \udcff"
    reply = {"id": 1, "ok": False, "kind": "raised", "message": message, "n_arrays": 0}
    with pytest.raises(StudentCodeError) as caught:
        session()._check_reply(reply, [], 1, "f(...)", None, "call")
    assert str(caught.value) == readable(message) == "ValueError: bad byte \\udcff"
    write_atomic(tmp_path / "feedback.md", f"**{message}**")  # the last line of defence
    assert "\\udcff" in (tmp_path / "feedback.md").read_text(encoding="utf-8")


def test_nan_and_inf_fail_the_checks_and_probabilities_are_checked_whole():
    assert checks.check_finite(3, "p") == 3.0
    for bad in (math.nan, math.inf, -math.inf, "0.5", True, None):
        with pytest.raises(AssertionError):
            checks.check_finite(bad, "p")
    checks.check_probabilities([0.25, 0.25, 0.5], "P")
    for bad in ([math.nan, 1.0], [0.5, 0.5, math.nan], [1.5, -0.5], [0.5, 0.4], [0.5, [0.5]]):
        with pytest.raises(AssertionError):
            checks.check_probabilities(bad, "P")
    assert checks.check_list_of(["a", "b"], str, "generate") == ["a", "b"]
    for bad in (("a",), ["a", ["b"]], ["a", 1]):
        with pytest.raises(AssertionError, match="generate"):
            checks.check_list_of(bad, str, "generate")


def test_a_very_long_expression_is_scanned_not_a_grader_error():
    source = "total = " + " + ".join(["1"] * 3000) + "\nimport course_lib.ngram\n"
    result = scan_cells([(0, source)], ["total"], ForbiddenRules(modules=frozenset({"course_lib.ngram"})))
    assert result.syntax_errors == [] and "total" in result.flagged


def test_the_scan_forbids_the_grading_engine_itself():
    result = scan_cells(
        [(0, "from autograder import notebook\ndef f():\n    return notebook\n")], ["f"], ForbiddenRules()
    )
    assert "autograder" in result.reason("f")


def test_shell_lines_are_rewritten_in_linear_time_and_ipythons_transformer_is_bounded(tmp_path, monkeypatch):
    seen: list[int] = []
    original = TransformerManager.transform_cell
    monkeypatch.setattr(
        TransformerManager, "transform_cell", lambda self, cell: seen.append(len(cell)) or original(self, cell)
    )
    shell = "".join(f"!echo line {i} of a long shell script\n" for i in range(2500))  # ~95 KB
    nb = nbs.submission(extra=[shell, "x = !ls\ny = 5 % 2\n" * 500, "%%bash\necho hi\n"])
    manifest = load_manifest("a0_warmup")
    path = nbs.write(nb, tmp_path)
    cells = read_notebook(path, manifest).cells
    assert sum(seen) <= 64 * 1024  # IPython's superlinear transformer sees at most the budget
    for cell in cells:
        if "echo line" in cell.source or "bash" in cell.source:
            compile(cell.source, "cell", "exec")
    assert neutralise_ipython("if x:\n    !ls -l\n") == "if x:\n    get_ipython().system('ls -l')\n"
    assert "!not a command" in neutralise_ipython('s = """\n!not a command\n"""\n')  # inside a string: kept
