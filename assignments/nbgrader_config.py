"""nbgrader configuration for the course root ``assignments/``.

Run nbgrader from this directory (``cd assignments && nbgrader generate_assignment a0_warmup``) or use
``llmcourse release a0_warmup``, which loads this same file through nbgrader's Python API.

Layout (nbgrader's defaults, spelled out): ``source/<id>/<id>.ipynb`` is the instructor version with
``### BEGIN SOLUTION`` markers; ``release/<id>/`` the generated student version (built on demand, never
committed); ``submitted/<student>/<id>/`` what ``nbgrader collect`` / ``zip_collect`` gathers;
``gradebook.db`` the gradebook. Grading is done by ``llmcourse grade`` (hidden pytest graders in
``autograder/graders/<id>/``), which writes its scores into this gradebook with ``--nbgrader-db``.
"""

import os

c = get_config()  # noqa: F821 (injected by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "llm-course"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# The gradebook lives beside this file whatever the working directory (nbgrader's default: <cwd>).
HERE = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")

# What a student sees in place of a solution. Students replace the stub; the grader explains an untouched one.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Only notebooks go into a release: no checkpoints, caches or instructor scratch files.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.db"]

# nbgrader's own autograde (the benchmark's peer, a fallback) must not hang on a student's endless loop.
c.ExecutePreprocessor.timeout = 60
