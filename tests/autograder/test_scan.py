"""The static scan finds forbidden APIs however spelled, and flags exactly the graded names using them."""

from __future__ import annotations

import pytest

from autograder.engine.manifest import load_manifest
from autograder.engine.notebook import neutralise_ipython
from autograder.engine.scan import ForbiddenRules, scan_cells

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
            "from torch.nn import functional\ndef softmax(x, dim=-1):\n    return functional.log_softmax(x, dim).exp()",
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


def test_local_names_shadow_globals_so_functions_sharing_a_local_name_stay_independent():
    uses_vocab = (
        "def build_vocab(s):\n    from course_lib.data import Vocab\n"
        "    counts = Vocab.build(s).token_to_id\n    return counts\n"
    )
    other = "def f(p):\n    counts = sum(p)\n    return counts\n"
    rules = ForbiddenRules(apis=frozenset({"course_lib.data.Vocab"}))
    result = scan_cells([(0, uses_vocab), (1, other)], ["build_vocab", "f"], rules)
    assert set(result.flagged) == {"build_vocab"}, result.flagged


@pytest.mark.parametrize(
    "helper",
    [
        # parameters, for-targets, comprehension variables, with/except targets and local imports are local
        "def helper(z):\n    for z in range(3):\n        pass\n    return z",
        "def helper(x):\n    ys = [z for z in x]\n    return ys",
        "def helper(p):\n    try:\n        pass\n    except ValueError as z:\n        pass\n"
        "    with open(p) as z:\n        return z",
        "def helper():\n    import math as z\n    return z.pi",
        "def helper(x):\n    return (lambda z: z * 2)(x)",
        # a method's locals and a class attribute named z are not the module-level z
        "class Helper:\n    z = 1\n    def run(self, z):\n        return z\ndef helper(x):\n    return Helper().run(x)",
    ],
)
def test_a_local_z_is_not_the_forbidden_global_z(helper):
    bad = "z = torch.softmax\n"
    found = flagged(bad, helper, "def softmax(x, dim=-1):\n    return helper(x)\n", CE_OK)
    assert found == {}, found


@pytest.mark.parametrize(
    "helper",
    [
        "def helper(x):\n    return z(x, -1)",  # a free name resolves to the module's z
        "def helper(x):\n    def inner():\n        return z(x, -1)\n    return inner()",
        "def helper(x):\n    global z\n    return z(x, -1)",
        "def helper(x):\n    return [z(r, -1) for r in x]",
    ],
)
def test_free_names_still_resolve_to_module_level_definitions(helper):
    bad = "z = torch.softmax\n"
    found = flagged(bad, helper, "def softmax(x, dim=-1):\n    return helper(x)\n", CE_OK)
    assert list(found) == ["softmax"] and "torch.softmax" in found["softmax"], found


def test_a_local_import_does_not_leak_into_other_functions():
    code = (
        "def helper(x):\n    import torch.nn.functional as F\n    return F.relu(x)\n"
        "def g(x):\n    return F.relu(x)\n"  # this F is a (missing) global, not helper's local import
    )
    rules = ForbiddenRules(apis=frozenset({"torch.nn.functional"}))
    result = scan_cells([(0, code)], ["helper", "g"], rules)
    assert set(result.flagged) == {"helper"}, result.flagged


@pytest.mark.parametrize(
    "patch",
    [
        "Model.forward = cheat",
        "setattr(Model, 'forward', cheat)",
        "Model.table['forward'] = cheat",
    ],
)
def test_attaching_a_function_to_a_class_makes_the_class_depend_on_it(patch):
    code = (
        "def cheat(self, x):\n    return torch.softmax(x, -1)\n"
        "class Model:\n    table = {}\n    def forward(self, x):\n        return x\n"
        f"{patch}\n"
    )
    result = scan_cells(enumerate(["import torch\n", code]), ["Model"], RULES)
    assert [f.what for f in result.flagged.get("Model", [])] == ["torch.softmax"], result.flagged
