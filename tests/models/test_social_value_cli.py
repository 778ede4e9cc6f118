"""CLI: `python -m models.social_value PATH.yaml` in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLE = ROOT / "data" / "impact_map.example.yaml"


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "models.social_value", *map(str, args)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def test_cli_worked_case():
    proc = _run(FIXTURES / "sroi_worked_case.yaml")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["pv"] == 118988.20
    assert report["npv"] == 18988.20
    assert round(report["ratio"], 3) == 1.190
    assert round(report["net_ratio"], 3) == 0.190
    assert report["payback_months"] == 20.03
    outcomes = {o["id"]: o for o in report["outcomes"]}
    assert [y["impact"] for y in outcomes["A"]["yearly_impacts"]] == [30000.0, 27000.0, 24300.0]
    assert [y["impact"] for y in outcomes["B"]["yearly_impacts"]] == [29925.0, 14962.5]
    assert outcomes["A"]["yearly_impacts"][0]["discount_factor"] == round(1 / 1.035, 6)
    assert "monte_carlo" not in report and "sensitivity" not in report


def test_cli_sensitivity_and_monte_carlo():
    proc = _run(FIXTURES / "sroi_worked_case.yaml", "--sensitivity", "--monte-carlo", "200", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    row = next(r for r in report["sensitivity"] if r["outcome"] == "A" and r["assumption"] == "attribution")
    assert round(row["switching_value"], 1) == 43.7
    assert report["monte_carlo"]["n_draws"] == 200 and report["monte_carlo"]["seed"] == 3


def test_cli_refuses_model_output_quantities_without_outputs():
    proc = _run(EXAMPLE)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "error:" in proc.stderr and "outcome 'fewer_readmissions', field 'quantity'" in proc.stderr
    assert "avoided_readmissions" in proc.stderr and "no results" in proc.stderr


def test_cli_example_with_outputs_and_user_proxies():
    proc = _run(EXAMPLE, "--model-outputs", FIXTURES / "social_value_model_outputs.json",
                "--proxies", FIXTURES / "social_value_illustrative_proxies.csv")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    # the hours are outputs: no time bank has a valued outcome, so neither has a scope of its own (no "£0" row)
    assert [s["scope"] for s in report["scopes"]] == ["overall"]
    # the point-estimate base case (the default); beside it the evidenced case, where A&E (-5 to 75) and well-being
    # (-20 to 100) count 0
    assert report["base_case"] == "point_estimate" and report["ratio"] == report["ratio_point_estimate"] > 1
    assert 0 < report["ratio_evidenced"] < 1


def test_cli_unknown_proxy_without_user_table():
    proc = _run(EXAMPLE, "--model-outputs", FIXTURES / "social_value_model_outputs.json")
    assert proc.returncode == 2
    assert "unknown proxy id 'non_elective_admission'" in proc.stderr


def test_cli_bad_percentage(tmp_path):
    text = (FIXTURES / "sroi_worked_case.yaml").read_text().replace("attribution: 25", "attribution: 0.25")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    proc = _run(path)
    assert proc.returncode == 2
    assert "outcome 'A', field 'attribution'" in proc.stderr and "ambiguous" in proc.stderr
