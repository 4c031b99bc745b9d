"""The untrusted side of grading: the clean process workers descend from (:mod:`.zygote`), the fork server that
starts workers in isolation (:mod:`.forkserver`: namespaces, own uid, rlimits, killing everything) in a private
root (:mod:`.view`), the worker that runs the student's notebook and answers calls (:mod:`.worker`), and the
plain-data protocol between them and the trusted process (:mod:`.protocol`)."""
