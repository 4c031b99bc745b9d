"""The static scan finds forbidden APIs however spelled, and flags exactly the graded names using them."""

from __future__ import annotations

import pytest

from autograder.manifest import load_manifest
from autograder.notebook import neutralise_ipython
from autograder.scan import scan_cells

RULES = load_manifest("a0_warmup").forbidden
GRADED = ("softmax", "cross_entropy")
CE_OK = "def cross_entropy(l, t):\n    return (l.logsumexp(-1) - l.gather(1, t[:, None])[:, 0]).mean()\n"


def flagged(*cells: str) -> dict[str, list[str]]:
    result = scan_cells(enumerate(["import torch\n", *cells]), GRADED, RULES)
    return {name: [f.what for f in found] for name, found in result.flagged.items()}


@pytest.mark.parametrize(
    ("code", "what"),
    [
        ("def softmax(x, dim=-1):\n    return torch.softmax(x, dim)", "torch.softmax"),
        (
            "import torch.nn.functional as F\ndef softmax(x, dim=-1):\n    return F.softmax(x, dim)",
            "torch.nn.functional.softmax",
        ),
        (
            "from torch.nn.functional import softmax as s\ndef softmax(x, dim=-1):\n    return s(x, dim)",
            "torch.nn.functional.softmax",
        ),
        (
            "from torch.nn import functional\ndef softmax(x, dim=-1):\n    return functional.log_softmax(x, dim).exp()",  # noqa: E501
            "torch.nn.functional.log_softmax",
        ),
        (
            "import torch as T\ndef softmax(x, dim=-1):\n    return T.special.softmax(x, dim)",
            "torch.special.softmax",
        ),
        ("def softmax(x, dim=-1):\n    return x.softmax(dim)", ".softmax()"),
        ("def softmax(x, dim=-1):\n    return getattr(torch, 'softmax')(x, dim)", "torch.softmax"),
        (
            "def softmax(x, dim=-1):\n    return getattr(torch, 'soft' + 'max')(x, dim)",
            "getattr() with a computed name",
        ),
        ("def softmax(x, dim=-1):\n    return vars(torch)['softmax'](x, dim)", "vars()"),
        ("def softmax(x, dim=-1):\n    return torch.nn.Softmax(dim)(x)", "torch.nn.Softmax"),
        ("def softmax(x, dim=-1):\n    return torch.ops.aten._softmax(x, dim, False)", "torch.ops"),
        ("sm = torch.softmax\ndef softmax(x, dim=-1):\n    return sm(x, dim)", "torch.softmax"),
        (
            "def _helper(x):\n    return torch.log_softmax(x, -1)\ndef softmax(x, dim=-1):\n    return _helper(x).exp()",  # noqa: E501
            "torch.log_softmax",
        ),
        ("def make():\n    return torch.softmax\nsoftmax = make()", "torch.softmax"),
    ],
)
def test_forbidden_softmax_is_found_and_flags_only_softmax(code, what):
    found = flagged(code, CE_OK)
    assert list(found) == ["softmax"] and what in found["softmax"], found


@pytest.mark.parametrize(
    "code",
    [
        "import course_lib",
        "from course_lib.nn import attention",
        "import importlib\nm = importlib.import_module('course_lib')",
        "m = __import__('course_lib.nn')",
        "exec('import course' + '_lib')",
    ],
)
def test_course_lib_or_unscannable_code_flags_every_graded_name(code):
    found = flagged("def softmax(x, dim=-1):\n    return x.exp() / x.exp().sum(dim, keepdim=True)", CE_OK, code)
    assert set(found) == set(GRADED), found


@pytest.mark.parametrize(
    "code",
    [
        "def softmax(x, dim=-1):\n    z = x - x.amax(dim, keepdim=True)\n    return z.exp() / z.exp().sum(dim, keepdim=True)",  # noqa: E501
        # comparing with the real thing in a scratch cell is allowed
        "def softmax(x, dim=-1):\n    return x.exp() / x.exp().sum(dim, keepdim=True)\n"
        "print(torch.allclose(softmax(torch.ones(3)), torch.softmax(torch.ones(3), -1)))",
        "class Model:\n    def softmax(self, x):\n        return x\n    def forward(self, x):\n        return self.softmax(x)\n"  # noqa: E501
        "def softmax(x, dim=-1):\n    return x.exp() / x.exp().sum(dim, keepdim=True)",
    ],
)
def test_honest_code_is_not_flagged(code):
    result = scan_cells(enumerate(["import torch\n", code, CE_OK]), GRADED, RULES)
    assert result.flagged == {}
    if "print(" in code:
        assert [f.what for f in result.findings] == ["torch.softmax"]  # noted, flags nothing


def test_syntax_errors_are_reported_not_fatal():
    result = scan_cells(
        enumerate(["def broken(:\n", "def softmax(x):\n    return torch.softmax(x, -1)"]), GRADED, RULES
    )
    assert result.syntax_errors and "softmax" in result.flagged


def test_reason_names_the_api_and_the_place():
    result = scan_cells(
        [(0, "import torch"), (4, "x = 1\ndef softmax(x, dim=-1):\n    return torch.softmax(x, dim)")],
        GRADED,
        RULES,
    )
    assert result.reason("softmax") == "`softmax` uses the forbidden API torch.softmax (cell 5, line 3)"
    assert result.reason("cross_entropy") is None


def test_ipython_syntax_becomes_calls_on_a_stub():
    code = neutralise_ipython("%matplotlib inline\n!pip install x\nfiles = !ls\nx = 1\n")
    compile(code, "<cell>", "exec")
    assert "get_ipython()" in code and "x = 1" in code
