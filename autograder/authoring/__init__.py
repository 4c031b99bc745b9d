"""Tools for the people who write assignments: answer keys from the nbgrader sources (:mod:`.answer_key`),
nbgrader metadata in one place (:mod:`.nbmeta`), sample submissions (:mod:`.samples`) and ``make demo``
(:mod:`.demo`)."""
