"""The grading engine: hidden pytest graders run in a trusted process against student code in a sandbox.

A submission's score depends only on the values its code returns for inputs it could not predict, compared
in a process it cannot touch (see ``DESIGN.md``, "The grading trust boundary").

Modules, in the order a submission meets them:

- :mod:`autograder.cli` - ``llmcourse grade``: progress bar, summary table;
- :mod:`autograder.runner` - ``grade_batch`` / ``grade_submission``: the warm runner and one supervisor per
  submission (the Python API for the nbgrader and Gradescope bridges);
- :mod:`autograder.manifest` - per-assignment ``manifest.toml``: points, limits, graded names, forbidden APIs;
- :mod:`autograder.notebook` - find, read and check the notebook; pick and neutralise the cells to run;
- :mod:`autograder.scan` - static scan for forbidden APIs;
- :mod:`autograder.sandbox` - fork server, namespaces, own uid, rlimits, killing everything;
- :mod:`autograder.worker` - the untrusted side: runs the cells, answers calls;
- :mod:`autograder.protocol` - JSON plus raw numeric arrays, strictly validated;
- :mod:`autograder.session` - the trusted side of a worker: timing, restarts, reply checks;
- :mod:`autograder.plugin` - the pytest plugin: ``student``, ``rng``, ``seed`` fixtures, ``points`` marker;
- :mod:`autograder.checks` - comparisons whose messages never reveal expected values;
- :mod:`autograder.report` - Gradescope ``results.json``, feedback, ``grades.csv``, atomic writes.

Hidden graders live in ``autograder/graders/<assignment>/``.
"""
