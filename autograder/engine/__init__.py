"""The trusted side of grading: the warm runner and one supervisor per submission (:mod:`.runner`,
:mod:`.supervisor`), the worker's session (:mod:`.session`), the pytest plugin the hidden graders use
(:mod:`.plugin`), the per-assignment manifest (:mod:`.manifest`), reading the submitted notebook
(:mod:`.notebook`), the static scan for forbidden APIs (:mod:`.scan`), and what grading writes (:mod:`.report`)."""
