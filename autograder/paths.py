"""Where things are: the one definition of the repository root and of the hidden graders' folder.

In a checkout the package sits at ``<repo>/autograder``, next to ``assignments/`` (the nbgrader course root)
and ``solutions/`` (answer keys). An installed grader has only ``GRADERS_DIR``; the others then do not exist,
and the commands that need them say so.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
GRADERS_DIR = PACKAGE_DIR / "graders"  # autograder/graders/<assignment>/{manifest.toml,test_*.py}
REPO_ROOT = PACKAGE_DIR.parent
COURSE_ROOT = REPO_ROOT / "assignments"  # nbgrader_config.py, source/<id>/, release/<id>/
SOLUTIONS_DIR = REPO_ROOT / "solutions"  # answer keys, generated from the sources
