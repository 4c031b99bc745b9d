"""The grading engine: hidden pytest graders run in a trusted process against student code in a sandbox.

A submission's score depends only on the values its code returns for inputs it could not predict, compared
in a process it cannot touch (see the README's "Grading" section and :mod:`autograder.sandbox`).

The tree shows the trust boundary:

- :mod:`autograder.engine` - trusted: runner and supervisors, session, pytest plugin, manifest, notebook, scan,
  reports;
- :mod:`autograder.sandbox` - untrusted: fork server and isolation, the worker, the plain-data protocol;
- :mod:`autograder.bridges` - nbgrader and Gradescope;
- :mod:`autograder.authoring` - answer keys, nbgrader metadata, sample submissions, the demo;
- :mod:`autograder.results` - what grading produces (``SubmissionResult``, ``TestResult``, statuses);
- :mod:`autograder.checks` - comparisons for hidden graders whose messages never reveal expected values;
- :mod:`autograder.paths` - the repository root and the graders' folder;
- :mod:`autograder.cli` - the grader's ``llmcourse`` commands.

Hidden graders live in ``autograder/graders/<assignment>/`` (see its README to add one).
"""
