"""Credentials per broker account: BROKER_ACCOUNTS_FILE names where each account's keys are (variables or
files, never the keys themselves); a bad file is refused naming the entry and field; a secret is never in a
repr or a log line (base URLs logged redacted)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.execution.brokers import (
    AlpacaBroker,
    PaperBroker,
    broker_accounts_from_settings,
    load_broker_accounts,
)
from services.execution.domain import CostModel
from shared.clock import FixedClock
from shared.errors import InvalidInputError
from shared.redact import redact_url
from shared.settings import Settings

SECRET = "ira-s3cr3t-never-in-a-log-0123456789"
URL = "https://ops:hunter2@paper-api.example.com/base?token=abc"


def _file(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "brokers.json"
    path.write_text(json.dumps(data))
    return path


def test_secrets_come_from_the_variables_or_files_named_and_never_show(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key_file = tmp_path / "ira.key"
    key_file.write_text("PKIRA\n")
    path = _file(
        tmp_path,
        {
            "ira": {"keyIdFile": str(key_file), "secretKeyEnv": "IRA_SECRET", "baseUrl": URL},
            "trust": {"keyIdEnv": "TRUST_KEY", "secretKeyEnv": "TRUST_SECRET", "baseUrl": "http://127.0.0.1:1"},
        },
    )
    env = {"IRA_SECRET": SECRET, "TRUST_KEY": "PKTRUST", "TRUST_SECRET": "trust-secret-xyz"}
    accounts = load_broker_accounts(path, env)
    assert sorted(accounts) == ["ira", "trust"]
    ira = accounts["ira"]
    assert ira.key_id.get_secret_value() == "PKIRA" and ira.secret_key.get_secret_value() == SECRET
    assert SECRET not in repr(ira) and SECRET not in str(ira)
    captured = capsys.readouterr()
    text = captured.out + captured.err + caplog.text
    assert SECRET not in text and "hunter2" not in text and "token=abc" not in text
    assert redact_url(URL) in text  # the base URL, logged redacted


_OK = {"keyIdEnv": "K", "secretKeyEnv": "S", "baseUrl": "http://x"}


@pytest.mark.parametrize(
    ("data", "env", "problem"),
    [
        ([], {}, "must be an object"),
        ({"ira": {"secretKeyEnv": "S", "baseUrl": "http://x"}}, {"S": "s"}, "ira: give keyIdEnv"),
        ({"ira": _OK}, {"K": "k"}, "ira.secretKeyEnv: the variable S is not set"),
        ({"ira": {"keyIdEnv": "K", "secretKeyEnv": "S"}}, {"K": "k", "S": "s"}, "ira.baseUrl"),
        ({"ira": {**_OK, "secret": "x"}}, {}, "unknown field secret"),
        ({"ira": {"keyIdFile": "/nonexistent/k", "secretKeyEnv": "S", "baseUrl": "http://x"}}, {"S": "s"}, "keyIdFile"),
    ],
)  # fmt: skip
def test_a_bad_file_is_refused_naming_the_entry_and_field(
    tmp_path: Path, data: Any, env: dict[str, str], problem: str
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        load_broker_accounts(_file(tmp_path, data), env)
    assert problem in raised.value.message


async def test_alpaca_trades_each_broker_account_through_its_own_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IRA_KEY", "PKIRA")
    monkeypatch.setenv("IRA_SECRET", SECRET)
    path = _file(
        tmp_path, {"ira": {"keyIdEnv": "IRA_KEY", "secretKeyEnv": "IRA_SECRET", "baseUrl": "http://127.0.0.1:9"}}
    )
    settings = Settings(
        broker="alpaca", apca_api_key_id="PKDEFAULT", apca_api_secret_key="d", broker_accounts_file=path
    )
    clock = FixedClock(datetime(2026, 5, 1, tzinfo=UTC))
    accounts = broker_accounts_from_settings(settings, CostModel(), clock)
    assert accounts.names == ["default", "ira"]
    assert isinstance(accounts.get("ira"), AlpacaBroker) and accounts.get("ira") is not accounts.default
    with pytest.raises(InvalidInputError, match="'trust' has no credentials"):
        accounts.get("trust")
    await accounts.aclose()
    without_default = Settings(broker="alpaca", broker_accounts_file=path)
    with pytest.raises(InvalidInputError, match="APCA_API_KEY_ID"):
        broker_accounts_from_settings(without_default, CostModel(), clock)
    paper = broker_accounts_from_settings(Settings(), CostModel(), clock)
    assert isinstance(paper.get("anything"), PaperBroker)  # the paper broker keeps no book: every account
