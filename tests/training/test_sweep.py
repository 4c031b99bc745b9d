"""``llmcourse sweep``: one row per finished run with N, D, C = 6ND and final losses; reruns skip or resume."""

from __future__ import annotations

import csv
import json

import pytest

from course_lib import cli
from course_lib.models.gpt import GPT, GPTConfig
from course_lib.training import sweep
from course_lib.training.checkpoint import load_checkpoint


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
