"""The deployment files parse and agree with the code they point at.

The Helm values are configured only (no cluster here): these checks catch a typo, a path
that does not exist, or a setting that drifted from the team-profile template, not a
cluster that refuses them. docs/deployment.md says what has been run for real.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import dagster as dg
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def load(name: str) -> dict:
    return yaml.safe_load((DEPLOY / name).read_text())


def test_postgres_template_reads_every_connection_setting_from_the_environment():
    template = load("dagster.postgres.yaml")
    db = template["storage"]["postgres"]["postgres_db"]
    assert {k: v for k, v in db.items() if k != "scheme"} == {
        "hostname": {"env": "PGHOST"}, "port": {"env": "PGPORT"}, "username": {"env": "PGUSER"},
        "password": {"env": "PGPASSWORD"}, "db_name": {"env": "PGDATABASE"},
    }
    assert db["scheme"] == "postgresql+psycopg2"
    assert template["concurrency"]["pools"]["default_limit"] == 1


def test_helm_values_agree_with_the_code_and_the_team_template():
    values = load("helm/values.yaml")
    template = load("dagster.postgres.yaml")
    assert values["postgresql"]["postgresqlScheme"] == template["storage"]["postgres"]["postgres_db"]["scheme"]
    assert values["concurrency"]["pools"]["defaultLimit"] == template["concurrency"]["pools"]["default_limit"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"

    [deployment] = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    workdir = Path(args[args.index("--working-directory") + 1])
    code = Path(args[args.index("--python-file") + 1])
    assert (REPO / code.relative_to(workdir)).is_file()
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}

    read_by_code = set(re.findall(r"OUTCOMES_[A-Z_]+", (REPO / "pipelines" / "resources.py").read_text()))
    assert set(deployment["env"]) <= read_by_code
    mounts = {m["mountPath"] for m in deployment["volumeMounts"]}
    assert all(any(path.startswith(m + "/") for m in mounts) for path in deployment["env"].values())


def test_dockerfile_copies_the_code_location():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "WORKDIR /opt/outcomes" in dockerfile and "'.[k8s]'" in dockerfile
    for package in ("pipelines", "models", "schemas", "dashboards", "data", "deploy"):
        assert f"COPY {package} {package}" in dockerfile


def test_k8s_code_location_is_the_project_with_one_pod_per_step():
    import dagster_k8s  # noqa: F401  (in the dev extra, so this runs in CI)
    from pipelines.definitions import defs as local_defs

    k8s_defs = runpy.run_path(str(DEPLOY / "k8s" / "definitions.py"))["defs"]
    dg.Definitions.validate_loadable(k8s_defs)
    job = k8s_defs.resolve_job_def("all_assets_job")
    assert job.executor_def.name == "k8s_step_pods"
    assert set(k8s_defs.resolve_asset_graph().get_all_asset_keys()) == set(local_defs.resolve_asset_graph().get_all_asset_keys())
    assert k8s_defs.resolve_sensor_def("input_files_sensor") is local_defs.resolve_sensor_def("input_files_sensor")


def test_dockerfile_sets_the_pipeline_memory_settings():
    from pipelines.memory import environment

    # the ENV instructions, their continuation lines joined
    instructions = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    env_lines = [line.removeprefix("ENV ") for line in instructions if line.startswith("ENV ")]
    set_there = dict(pair.split("=", 1) for line in env_lines for pair in line.split())
    assert set_there == environment({})
