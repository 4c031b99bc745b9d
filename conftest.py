"""Test configuration shared by tests/, lectures/ and solutions/.

- tests marked ``gpu`` are skipped when CUDA is absent (run them on a GPU machine: ``pytest -m gpu``);
- every nbval notebook cell gets the ``notebook`` mark, so ``make test-fast`` can leave notebooks out;
- every test in a ``tests/<id>/test_<id>_mutation.py`` file gets the ``mutation`` mark: those grade an assignment's
  answer key, release and every mutant with the real engine (minutes each), and run as ``make test-mutants``.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    no_cuda = pytest.mark.skip(reason="needs a CUDA GPU (run on a GPU machine: pytest -m gpu)")
    for item in items:
        if str(item.path).endswith(".ipynb"):
            item.add_marker(pytest.mark.notebook)
        if item.path.name.endswith("_mutation.py"):
            item.add_marker(pytest.mark.mutation)
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(no_cuda)
