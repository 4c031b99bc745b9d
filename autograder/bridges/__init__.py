"""The grader's bridges to the tools TAs already use: nbgrader (release, gradebook; :mod:`.nbgrader`) and
Gradescope (autograder zip and ``run_autograder``; :mod:`.gradescope`)."""
