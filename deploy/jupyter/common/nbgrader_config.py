"""nbgrader settings every user of the hub shares: the exchange and the course id (see ../../jupyterhub_config.py).

Instructors also get ``LLMCOURSE_COURSE_ROOT``: their nbgrader commands and formgrader then work on that course
directory, with its own ``nbgrader_config.py`` (gradebook beside it, the solution stubs), wherever they start.
"""

import os

c = get_config()  # noqa: F821 (injected by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = os.environ.get("LLMCOURSE_COURSE_ID", "llm-course")
c.Exchange.root = os.environ.get("LLMCOURSE_EXCHANGE", "/srv/nbgrader/exchange")

course_root = os.environ.get("LLMCOURSE_COURSE_ROOT")
if course_root:
    load_subconfig(os.path.join(course_root, "nbgrader_config.py"))  # noqa: F821 (traitlets)
    c.CourseDirectory.root = course_root
