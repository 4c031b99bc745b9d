"""Language models built from ``course_lib.nn``."""
