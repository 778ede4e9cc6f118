"""The many-machine code location: the project's definitions with one Kubernetes Job per step.

Loaded by the user-code deployment in deploy/helm/values.yaml
(``dagster api grpc --python-file deploy/k8s/definitions.py``); needs the ``[k8s]`` extra.
Everything but the executor is the single-machine ``pipelines.definitions.defs``, so the
assets, checks, jobs, sensor and schedule are the same objects. The warehouse pool still
applies: the instance's pool limit (``concurrency.pools.defaultLimit: 1`` in the Helm
values) lets one step pod at a time open the DuckDB file.
"""

import dagster as dg
from dagster_k8s import k8s_job_executor

from pipelines.definitions import defs as local_defs

step_pods = k8s_job_executor.configured(
    {
        "step_k8s_config": {
            "container_config": {
                "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "8Gi"}},
            },
        },
    },
    name="k8s_step_pods",
)

defs = dg.Definitions(
    assets=local_defs.assets,
    asset_checks=local_defs.asset_checks,
    jobs=local_defs.jobs,
    sensors=local_defs.sensors,
    schedules=local_defs.schedules,
    resources=local_defs.resources,
    loggers=local_defs.loggers,
    executor=step_pods,
)
