"""docker-compose.yml, Dockerfile and deploy/k8s, checked statically (no docker or cluster here)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from shared.testing.system import SERVICE_NAMES
from tests.unit.deploy.nats_fixture import DEPLOY, dev_env
from tests.unit.deploy.yaml_subset import load_all

ROOT = DEPLOY.parent
K8S = DEPLOY / "k8s"
APPS = ("gateway", *SERVICE_NAMES)
TLS_ENV = ("NATS_SERVER_TLS_CERT", "NATS_SERVER_TLS_KEY", "NATS_SERVER_TLS_CA")


def _compose() -> dict[str, Any]:
    [compose] = load_all(ROOT / "docker-compose.yml")
    return compose


def _k8s() -> list[dict[str, Any]]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in load_all(path)]


def _kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in _k8s() if doc["kind"] == kind}


def _nats_version(image: str) -> tuple[int, int]:
    match = re.fullmatch(r"nats:(\d+)\.(\d+)[\w.-]*", image)
    assert match, image
    return int(match.group(1)), int(match.group(2))


@pytest.mark.parametrize("name", APPS)
def test_compose_runs_each_service_in_its_own_scalable_container(name: str) -> None:
    service = _compose()["services"][name]
    assert service["command"] == ["python", "-m", f"services.{name}"]
    assert service["build"] == "."
    env = service["environment"]
    assert env["NATS_URL"] == "nats://nats:4222"
    assert env["NATS_TLS_CA"] == "/etc/nats/tls/ca.pem"  # every connection is TLS
    assert "./deploy/nats/tls/ca.pem:/etc/nats/tls/ca.pem:ro" in service["volumes"]
    assert env["NATS_USER"] == name
    assert env["NATS_PASSWORD"] == f"${{NATS_{name.upper()}_PASSWORD:-{dev_env()[f'NATS_{name.upper()}_PASSWORD']}}}"
    assert "nats" in service["depends_on"]
    assert service["depends_on"]["provision"]["condition"] == "service_completed_successfully"
    assert "container_name" not in service
    if name == "gateway":
        assert service["ports"] == ["8000:8000"]
        assert env["GATEWAY_HOST"] == "0.0.0.0"
    else:
        assert "ports" not in service, "a fixed host port would stop --scale"


def test_compose_nats_and_provisioning() -> None:
    services = _compose()["services"]
    nats = services["nats"]
    assert _nats_version(nats["image"]) >= (2, 12)
    assert nats["command"] == ["-c", "/etc/nats/rebalancer/single.conf"]
    assert "./deploy/nats:/etc/nats/rebalancer:ro" in nats["volumes"]
    assert "ports" not in nats and "container_name" not in nats
    assert "./deploy/nats/tls:/etc/nats/tls:ro" in nats["volumes"]
    assert set(nats["environment"]) == set(dev_env()) | set(TLS_ENV)
    provision = services["provision"]
    assert provision["command"] == ["python", "deploy/provision.py"]
    assert provision["environment"]["NATS_USER"] == "provisioner"
    assert provision["environment"]["NATS_TLS_CA"] == "/etc/nats/tls/ca.pem"
    assert set(services) == {"nats", "provision", *APPS}


@pytest.mark.parametrize("name", APPS)
def test_k8s_deployment_per_service(name: str) -> None:
    deployment = _kind("Deployment")[name.replace("_", "-")]
    assert deployment["metadata"]["namespace"] == "rebalancer"
    assert int(deployment["spec"]["replicas"]) >= 2
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", f"services.{name}"]
    assert container["envFrom"] == [{"configMapRef": {"name": "rebalancer-env"}}]
    env = {item["name"]: item for item in container["env"]}
    assert env["NATS_USER"]["value"] == name
    secret = env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert secret == {"name": "nats-passwords", "key": f"NATS_{name.upper()}_PASSWORD"}
    assert set(container["resources"]) == {"requests", "limits"}
    assert {"name": "nats-tls", "mountPath": "/etc/nats-tls", "readOnly": True} in container["volumeMounts"]
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["nats-tls"]["secret"]["secretName"] == "nats-tls"
    if name == "gateway":
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["path"] == "/health"
        assert _kind("Service")["gateway"]["spec"]["selector"] == {"app.kubernetes.io/name": "gateway"}


def test_k8s_nats_cluster_config_and_secrets() -> None:
    nats = _kind("StatefulSet")["nats"]
    assert int(nats["spec"]["replicas"]) == 3
    assert nats["spec"]["serviceName"] == "nats-headless"
    [container] = nats["spec"]["template"]["spec"]["containers"]
    assert _nats_version(container["image"]) >= (2, 12)
    assert _kind("Service")["nats-headless"]["spec"]["clusterIP"] == "None"
    routes = (DEPLOY / "nats" / "k8s.conf").read_text()
    for i in range(3):
        assert f"nats-{i}.nats-headless.rebalancer.svc.cluster.local:6222" in routes
    config = _kind("ConfigMap")["rebalancer-env"]["data"]
    assert config["NATS_TLS_CA"] == "/etc/nats-tls/ca.crt"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert {k: env[k] for k in TLS_ENV} == {
        "NATS_SERVER_TLS_CERT": "/etc/nats-tls/tls.crt",
        "NATS_SERVER_TLS_KEY": "/etc/nats-tls/tls.key",
        "NATS_SERVER_TLS_CA": "/etc/nats-tls/ca.crt",
    }
    assert set(_kind("Secret")["nats-tls"]["stringData"]) == {"tls.crt", "tls.key", "ca.crt"}
    assert config["STREAM_REPLICAS"] == "3"
    assert config["NATS_URL"].count("nats-headless.rebalancer") == 3
    secret = _kind("Secret")["nats-passwords"]["stringData"]
    assert set(secret) == set(dev_env())
    job = _kind("Job")["provision"]["spec"]["template"]["spec"]["containers"][0]
    assert job["command"] == ["python", "deploy/provision.py"]
    assert {e["name"]: e.get("value") for e in job["env"]}["NATS_USER"] == "provisioner"


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    [kustomization] = load_all(DEPLOY / "kustomization.yaml")
    listed = set(kustomization["resources"])
    present = {f"k8s/{p.name}" for p in K8S.glob("*.yaml")} - {"k8s/secret.template.yaml"}
    assert listed == present
    [generator] = kustomization["configMapGenerator"]
    assert generator["name"] == "nats-config"
    assert set(generator["files"]) == {"nats/k8s.conf", "nats/accounts.conf"}


def test_dockerfile_and_dockerignore() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert "pip install ." in dockerfile
    user = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^CMD \[", dockerfile, re.M)
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", "var", ".git", ".env", ".pytest_cache", ".mypy_cache", ".ruff_cache"} <= ignored
    assert "deploy" not in ignored, "the image runs deploy/provision.py"
