"""``llmcourse similarity`` on A1: the mutants plus two planted copies, then timing on synthetic classes.

1. The A1 class: the solution, each mutant of ``autograder/graders/a1_ngrams/mutants`` (small patches of the
   solution: every pair of them should be flagged), and two planted copies: ``planted_course_lib`` (the n-gram
   model cell replaced by course_lib's ``NGramLM``, renamed and reformatted) and ``planted_classmate`` (the
   solution with every name renamed and every line reformatted). Prints the flags involving the planted
   students and the counts.
2. ``--students N`` (default 500) synthetic submissions: each solution cell of each student is, at random, the
   solution, a mutant's version of it, or the untouched stub, disguised (renamed, reformatted) per student;
   prints the wall time of one ``check_similarity`` run.

    .venv/bin/python bench/bench_similarity.py [--students 500]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.authoring.mutants import apply_mutant
from autograder.authoring.nbmeta import cell_by_grade_id, grade_id
from autograder.authoring.samples import clear_solutions, disguise, solutions, write_submissions
from autograder.graders.a1_ngrams.mutants.mutants import MUTANTS
from autograder.paths import COURSE_ROOT, REPO_ROOT
from autograder.review.similarity import check_similarity

A1 = "a1_ngrams"


def a1_notebooks() -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """The solution (the instructor notebook: its solution markers are comments, which do not count) and the
    release. The mutants patch the instructor notebook, as tests/a1/test_a1_mutation.py does."""
    source = nbformat.read(COURSE_ROOT / "source" / A1 / f"{A1}.ipynb", as_version=4)
    return source, clear_solutions(source)


def course_lib_ngram_class() -> str:
    text = (REPO_ROOT / "course_lib" / "ngram.py").read_text()
    return text[text.index("class NGramLM") : text.index("\ndef _tables")]


def mutants_class() -> dict[str, nbformat.NotebookNode]:
    solution, _ = a1_notebooks()
    notebooks = {"solution": solution}
    notebooks.update({f"m_{m.name}": apply_mutant(solution, m) for m in MUTANTS})
    planted = nbformat.from_dict(solution)
    cell_by_grade_id(planted, "ngram_fit").source = disguise(course_lib_ngram_class(), "lm")
    notebooks["planted_course_lib"] = planted
    classmate = nbformat.from_dict(solution)
    for cell in classmate.cells:
        if cell.cell_type == "code" and grade_id(cell):
            cell.source = disguise(cell.source, "x")
    notebooks["planted_classmate"] = classmate
    return notebooks


def synthetic_class(n_students: int, seed: int = 0) -> dict[str, nbformat.NotebookNode]:
    solution, release = a1_notebooks()
    variants = [solution, release] + [apply_mutant(solution, m) for m in MUTANTS]
    ids = [grade_id(c) for c in solution.cells if c.cell_type == "code" and grade_id(c) in solutions(solution)]
    rng = random.Random(seed)
    notebooks = {}
    for i in range(n_students):
        nb = nbformat.from_dict(release)
        for cell_id in ids:
            code = cell_by_grade_id(rng.choice(variants), cell_id).source
            try:
                code = disguise(code, f"s{i}_")
            except SyntaxError:
                pass
            cell_by_grade_id(nb, cell_id).source = code
        notebooks[f"student{i:03d}"] = nb
    return notebooks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        submitted = Path(scratch) / "mutants"
        write_submissions(submitted, A1, mutants_class())
        started = time.perf_counter()
        report = check_similarity(A1, submitted, Path(scratch) / "out-mutants")
        elapsed = time.perf_counter() - started
        n = len(report.students)
        pairs = [m for m in report.matches if m.kind == "pair"]
        print(f"A1 mutants class: {n} submissions, {len(report.references)} course_lib files, {elapsed:.1f} s")
        print(f"  flagged student pairs: {len(pairs)} of {n * (n - 1) // 2}")
        print(f"  {'a':<22} {'b':<28} {'units':<34} share a  share b")
        shown = [m for m in report.matches if m.kind == "reference"]
        shown += [m for m in report.matches if m.kind == "pair" and "planted" in m.a + m.b]
        for m in shown[:40]:
            units = f"{m.unit_a} / {m.unit_b}"
            print(f"  {m.a:<22} {m.b:<28} {units:<34} {m.similarity_a:6.0%} {m.similarity_b:7.0%}")
        print(f"  ({len(shown)} rows involve course_lib or a planted student)")

        submitted = Path(scratch) / "synthetic"
        write_submissions(submitted, A1, synthetic_class(args.students))
        load = os.getloadavg()[0]
        started = time.perf_counter()
        report = check_similarity(A1, submitted, Path(scratch) / "out-synthetic")
        elapsed = time.perf_counter() - started
        print(
            f"{args.students} synthetic submissions: {elapsed:.1f} s wall ({report.compared} unit pairs compared in "
            f"detail, {len(report.matches)} flagged; load average {load:.1f} on {os.cpu_count()} cores)"
        )


if __name__ == "__main__":
    main()
