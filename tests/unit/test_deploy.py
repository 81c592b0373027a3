"""Deployment files, checked without a container engine: compose, Kubernetes schemas, hadolint."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from airlane.queue.keys import Keys

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ROLES = {"coordinator", "worker", "dag-processor", "api", "callbacks", "triggerer"}


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_compose_has_every_role_redis_with_aof_and_scalable_workers() -> None:
    compose = _docs(DEPLOY / "compose.yaml")[0]
    services = compose["services"]
    commands = {name: (svc.get("command") or [None])[0] for name, svc in services.items()}
    assert set(commands.values()) >= ROLES
    assert services["coordinator"]["deploy"]["replicas"] == 2  # one active, one standby
    assert services["worker"]["deploy"]["replicas"] >= 1
    assert "redis.conf" in " ".join(services["redis"]["command"])
    conf = (DEPLOY / "redis.conf").read_text()
    assert "appendonly yes" in conf
    assert "maxmemory-policy noeviction" in conf
    for name, svc in services.items():
        if name != "redis":
            assert svc["environment"]["AIRLANE_REDIS_URL"] == "redis://redis:6379/0"
            assert "healthcheck" in svc


@pytest.mark.parametrize("manifest", ["redis.yaml", "airlane.yaml"])
def test_kubernetes_manifests_validate_against_the_schemas(manifest: str) -> None:
    for doc in _docs(DEPLOY / "k8s" / manifest):
        kubernetes_validate.validate(doc, "1.30", strict=True)


def test_kubernetes_has_every_role_probes_a_budget_and_autoscaling() -> None:
    docs = _docs(DEPLOY / "k8s" / "airlane.yaml")
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    roles = {
        d["spec"]["template"]["spec"]["containers"][0]["args"][0] for d in deployments.values()
    }
    assert roles == ROLES
    for deployment in deployments.values():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert "readinessProbe" in container
        assert "livenessProbe" in container
    kinds = {d["kind"] for d in docs}
    assert {"PodDisruptionBudget", "HorizontalPodAutoscaler"} <= kinds
    keda = _docs(DEPLOY / "k8s" / "keda-scaledobject.yaml")[0]
    trigger = keda["spec"]["triggers"][0]
    assert (trigger["type"], trigger["metadata"]["consumerGroup"]) == ("redis-streams", "workers")
    assert trigger["metadata"]["stream"] == Keys().queue("default")


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(__file__).parents[2] / ".venv/bin/hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (make install puts it in .venv)")
    done = subprocess.run(
        [hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert "USER 10001" in text
    assert "HEALTHCHECK" in text
    assert text.count("FROM ") == 2  # build stage, slim final stage


def test_compose_redis_runs_as_an_ordinary_process_with_its_image_entrypoint() -> None:
    """No capability and no entrypoint of ours: service/redis_priority.py says why."""
    redis = _docs(DEPLOY / "compose.yaml")[0]["services"]["redis"]
    assert "cap_add" not in redis
    assert "entrypoint" not in redis
    assert redis["command"] == ["redis-server", "/usr/local/etc/redis/redis.conf"]
