"""``llmcourse sweep``: one row per finished run with N, D, C = 6ND and final losses; reruns skip or resume."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from course_lib import cli
from course_lib.data import load_corpus
from course_lib.errors import CourseError
from course_lib.evaluation import fit_isoflop, fit_scaling_law
from course_lib.evaluation.scaling import group_budgets
from course_lib.models.gpt import GPT, GPTConfig
from course_lib.tokenizers.simple import CharTokenizer
from course_lib.training import sweep
from course_lib.training.checkpoint import load_checkpoint
from course_lib.training.presets import get_preset


@pytest.mark.slow  # trains 4 small runs twice over: ~10 s on a busy 2-core machine
def test_smoke_grid_rows_resume_and_csv(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert cli.main(["sweep", "--grid", "smoke", "--out", str(out), "--no-progress", "--threads", "1"]) == 0
    rows = sweep.read_rows(out)
    grid = sweep.PRESET_GRIDS["smoke"]
    assert [r["run"] for r in rows] == [name for name, _, _ in sweep.grid_points(grid)]
    for row in rows:
        state = load_checkpoint(out / row["run"])
        model = GPT(GPTConfig.from_dict(state["meta"]["model_config"]))
        # N: every parameter except the position table (the token table is tied to the lm_head, a matmul)
        assert row["N"] == sum(p.numel() for p in model.parameters()) - model.pos_emb.weight.numel()
        assert row["D"] == state["step"] * row["tokens_per_step"] >= int(row["run"].rsplit("-", 1)[1])
        assert row["C"] == 6 * row["N"] * row["D"]
        assert row["val_loss"] == state["evals"][-1]["val_loss"] and row["train_loss"] > 0 and row["wall_s"] > 0
    with open(out / "results.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [r["run"] for r in table] == [r["run"] for r in rows] and list(table[0]) == list(sweep.ROW_FIELDS)

    # a crash after the last run's checkpoint but before its row: the rerun adds the row without training
    lines = (out / "results.jsonl").read_text().splitlines()
    (out / "results.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    before = (out / rows[-1]["run"] / "checkpoint.pt").stat().st_mtime_ns
    assert cli.main(["sweep", "--grid", "smoke", "--out", str(out), "--no-progress", "--threads", "1"]) == 0
    assert sweep.read_rows(out) == rows  # the same row again, wall time included: nothing was retrained
    assert (out / rows[-1]["run"] / "checkpoint.pt").stat().st_mtime_ns == before


def test_grid_file_errors(tmp_path, capsys):
    bad = tmp_path / "grid.json"
    bad.write_text(json.dumps({"models": {}, "tokens": [100]}))
    assert cli.main(["sweep", "--grid", str(bad), "--out", str(tmp_path)]) == 2
    assert "needs a non-empty 'models'" in capsys.readouterr().err
    assert cli.main(["sweep", "--grid", "nope", "--out", str(tmp_path)]) == 2
    assert "no such file or built-in grid" in capsys.readouterr().err
    with pytest.raises(KeyError):
        sweep.PRESET_GRIDS["nope"]


def test_grid_needs_tokens_or_flops(tmp_path, capsys):
    spec = {"models": {"xs": {"d_model": 16}}, "tokens": [100], "flops": [1e9]}
    for bad in (spec, {"models": spec["models"]}):
        path = tmp_path / "grid.json"
        path.write_text(json.dumps(bad))
        assert cli.main(["sweep", "--grid", str(path), "--out", str(tmp_path)]) == 2
        assert "needs a non-empty 'tokens' or 'flops' (one of them)" in capsys.readouterr().err


def test_flops_grid_points_share_each_budget():
    grid = {"models": {"a": {}, "b": {}, "c": {}}, "flops": [3e11, 1.5e12]}
    points = sweep.grid_points(grid, {"a": 1000, "b": 3000, "c": 7000})
    # budget by budget; D = C / 6N, rounded to a whole token
    assert [(name, tokens) for name, _, tokens in points] == [
        ("a-3e11", 50_000_000),
        ("b-3e11", 16_666_667),
        ("c-3e11", 7_142_857),
        ("a-1.5e12", 250_000_000),
        ("b-1.5e12", 83_333_333),
        ("c-1.5e12", 35_714_286),
    ]
    with pytest.raises(CourseError, match="parameter counts"):
        sweep.grid_points(grid)


def test_published_isoflop_sweep_is_what_its_grid_describes():
    """The sweep lecture 11 plots (course_lib/training/sweeps/cpu-isoflop.csv) was run with today's
    ``cpu-isoflop`` grid: every point once, with the sizes and token counts the grid gives (N recomputed here from
    a GPT built with each size's fields)."""
    rows, about = sweep.published_results("cpu-isoflop")
    grid = sweep.PRESET_GRIDS["cpu-isoflop"]
    assert about["grid"] == json.loads(json.dumps(grid)), "the grid changed: rerun the command in the .json"
    assert about["command"].startswith("llmcourse sweep --grid cpu-isoflop")
    preset = get_preset(grid["preset"])
    tokens_per_step = grid["train"]["batch_size"] * grid["train"]["block_size"]
    vocab_size = CharTokenizer.train(load_corpus(grid["corpus"])).vocab_size
    want = {}
    for flops in grid["flops"]:
        for name, fields in grid["models"].items():
            model = GPT(GPTConfig(vocab_size=vocab_size, **{**preset.model, **fields}))
            n = sum(p.numel() for p in model.parameters()) - model.pos_emb.weight.numel()
            steps = math.ceil(round(flops / (6 * n)) / tokens_per_step)
            want[f"{name}-{flops:.0e}".replace("e+", "e")] = (name, fields, n, steps, flops)
    # every point once (a sweep that was extended and rerun appends the new points after the old ones)
    assert sorted(row["run"] for row in rows) == sorted(want)
    for row in rows:
        name, fields, n, steps, flops = want[row["run"]]
        assert row["model"] == name and (row["n_layers"], row["n_heads"], row["d_model"]) == (
            fields["n_layers"],
            fields["n_heads"],
            fields["d_model"],
        )
        assert (row["N"], row["steps"], row["tokens_per_step"]) == (n, steps, tokens_per_step)
        assert row["D"] == steps * tokens_per_step and row["C"] == 6 * row["N"] * row["D"]
        assert row["C"] == pytest.approx(flops, rel=0.02)
        assert 0 < row["val_loss"] < math.log(vocab_size) and row["wall_s"] > 0


@pytest.mark.slow  # an Approach-3 fit: about 5 s
def test_published_isoflop_sweep_gives_the_lectures_fits():
    rows, _ = sweep.published_results("cpu-isoflop")
    N, D, L, C = (np.array([row[key] for row in rows], dtype=np.float64) for key in ("N", "D", "val_loss", "C"))
    iso = fit_isoflop(N, L, C, rel_tol=0.05)  # raises unless every profile is U-shaped
    labels = group_budgets(C, 0.05)
    assert len(iso.budgets) == len(sweep.PRESET_GRIDS["cpu-isoflop"]["flops"]) and (np.diff(iso.n_opt) > 0).all()
    assert all(N[labels == g].min() < n < N[labels == g].max() for g, n in enumerate(iso.n_opt))  # inside the sizes
    assert fit_scaling_law(N, D, L).E > 0.5  # a positive irreducible loss (a fit with E = 0 explains nothing)
