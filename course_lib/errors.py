"""The one exception type for problems a user can fix (bad input, missing data, wrong option).

The ``llmcourse`` command prints these as a single line and exits non-zero; anything else is a bug and
keeps its traceback.
"""


class CourseError(Exception):
    """A problem with the user's input or environment, explained in one line."""
