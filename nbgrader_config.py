"""nbgrader configuration for Jupyter started at the repository root (``make lab``): formgrader's course root
is ``assignments/``, configured by ``assignments/nbgrader_config.py`` (so the gradebook is
``assignments/gradebook.db``, never a stray one here)."""

import os

c = get_config()  # noqa: F821 (injected by traitlets when nbgrader loads this file)
HERE = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = os.path.join(HERE, "assignments")
load_subconfig(os.path.join(HERE, "assignments", "nbgrader_config.py"))  # noqa: F821 (injected by traitlets)
