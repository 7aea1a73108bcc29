"""deploy/nats: every config passes ``nats-server -t``, and the users match the code's topology."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from contracts import subjects
from shared.bus.topology import buckets, consumers, durable_name
from shared.testing.system import SERVICE_NAMES
from shared.testing.tls import Pki, make_pki
from tests.unit.deploy.nats_fixture import NATS_DIR, config_test, dev_env, tls_env

CONFIGS = [
    NATS_DIR / "single.conf",
    NATS_DIR / "cluster" / "n1.conf",
    NATS_DIR / "cluster" / "n2.conf",
    NATS_DIR / "cluster" / "n3.conf",
    NATS_DIR / "k8s.conf",
]
USERS = ("sys", "provisioner", "gateway", *SERVICE_NAMES)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: str(p.relative_to(NATS_DIR)))
def test_config_is_valid(config: Path, pki: Pki) -> None:
    result = config_test(config, {**os.environ, **dev_env(), **tls_env(pki), "POD_NAME": "nats-0"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_missing_password_stops_the_server(pki: Pki) -> None:
    env = {k: v for k, v in {**os.environ, **dev_env(), **tls_env(pki)}.items() if k != "NATS_PORTFOLIO_PASSWORD"}
    result = config_test(NATS_DIR / "single.conf", env)
    assert result.returncode != 0
    assert "NATS_PORTFOLIO_PASSWORD" in result.stdout + result.stderr


def test_every_config_requires_tls_for_clients_and_routes() -> None:
    client = (
        "tls {\n  cert_file: $NATS_SERVER_TLS_CERT\n  key_file: $NATS_SERVER_TLS_KEY\n  ca_file: $NATS_SERVER_TLS_CA"
    )
    for config in CONFIGS:
        text = config.read_text()
        assert client in text, config
        if "cluster {" in text:
            cluster = text[text.index("cluster {") :]
            assert "  tls {" in cluster and "verify: true" in cluster, config


def test_every_config_sets_the_payload_limit_and_monitoring() -> None:
    for config in CONFIGS:
        text = config.read_text()
        assert re.search(r"^max_payload: 8MB$", text, re.M), config
        assert re.search(r"^http_port: 8222$", text, re.M), config


def test_cluster_nodes_are_distinct() -> None:
    names, stores = set(), set()
    for n in (1, 2, 3):
        text = (NATS_DIR / "cluster" / f"n{n}.conf").read_text()
        names.add(re.search(r"^server_name: (\S+)", text, re.M).group(1))  # type: ignore[union-attr]
        stores.add(re.search(r'store_dir: "([^"]+)"', text).group(1))  # type: ignore[union-attr]
        assert "name: rebalancer" in text and "routes:" in text
    assert len(names) == 3 and len(stores) == 3


def _user_blocks() -> dict[str, str]:
    """The text of each user's block in accounts.conf (from its ``user:`` line to the next one)."""
    text = (NATS_DIR / "accounts.conf").read_text()
    starts = [(m.group(1), m.start()) for m in re.finditer(r"^\s*\{?\s*user: (\w+)", text, re.M)]
    ends = [start for _, start in starts[1:]] + [len(text)]
    return {name: text[start:end] for (name, start), end in zip(starts, ends, strict=True)}


def test_one_user_per_service_with_an_env_password() -> None:
    blocks = _user_blocks()
    assert sorted(blocks) == sorted(USERS)
    for user, block in blocks.items():
        assert f"password: $NATS_{user.upper()}_PASSWORD" in block
        assert f"NATS_{user.upper()}_PASSWORD" in dev_env()


def test_service_users_match_the_topology() -> None:
    """Each command's durable consumer is pullable by exactly the service that handles it."""
    blocks = _user_blocks()
    for subject in (*subjects.COMMAND_SUBJECTS, *subjects.BUNDLE_SUBJECTS):
        owner = subject.split(".")[0]
        pull = f'"$JS.API.CONSUMER.MSG.NEXT.{subjects.STREAM_CMD}.{durable_name(subject)}"'
        holders = [user for user, block in blocks.items() if pull in block]
        assert holders == [owner], subject
        assert f'"{owner}.v1.evt.>"' in blocks[owner]
    coordinator_durables = {c.durable for c in consumers() if c.durable.startswith("coordinator_")}
    for durable in coordinator_durables:
        assert f".{durable}" in blocks["coordinator"]
    known = {b.name for b in buckets()}
    for user, block in blocks.items():
        for bucket in re.findall(r'"\$KV\.(\w+)\.>"', block):
            assert bucket in known, (user, bucket)
    assert '"$KV.runs.>"' in blocks["coordinator"] and '"$KV.runs.>"' not in blocks["gateway"]
