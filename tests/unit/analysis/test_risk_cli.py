"""``rebalance risk`` through typer's CliRunner on ``cli.main.app``."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from cli.main import app

from . import reference as ref


def _invoke(*args: str):  # type: ignore[no-untyped-def]
    # With a single registered command and no callback, typer runs it as the root command.
    grouped = len(app.registered_commands) + len(app.registered_groups) > 1 or app.registered_callback
    argv = ["risk", *args] if grouped else list(args)
    return CliRunner().invoke(app, argv)


def test_json_output_matches_reference() -> None:
    result = _invoke("--weights", "VTI=0.6,BND=0.4", "--start", "2010-01-04", "--end", "2024-12-31", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {
        "volatility", "max_drawdown", "var_95", "cvar_95", "parametric_var_95",
        "sharpe", "sortino", "beta", "start", "end", "observations",
    }  # fmt: skip
    dates, rets = ref.portfolio_returns({"VTI": 0.6, "BND": 0.4}, dt.date(2010, 1, 4), dt.date(2024, 12, 31))
    _, bench = ref.portfolio_returns({"VTI": 1.0}, dt.date(2010, 1, 4), dt.date(2024, 12, 31))
    expected = ref.all_metrics(rets, ref.rf_daily(dates), bench)
    for key, value in expected.items():
        assert out[key] == pytest.approx(value, rel=1e-9), key
    assert (out["start"], out["end"], out["observations"]) == ("2010-01-05", "2024-12-31", len(rets))


def test_default_window_is_the_common_history() -> None:
    result = _invoke("--weights", "vti=0.5, bnd=0.5", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    # BND starts 2007-04-10, so its first return is on 2007-04-11; prices end 2026-05-01
    assert (out["start"], out["end"]) == ("2007-04-11", "2026-05-01")
    assert 0.3 < out["beta"] < 0.8  # half VTI, half bonds


def test_table_output() -> None:
    result = _invoke("--weights", "SPY=1", "--start", "2020-01-02", "--end", "2020-12-31", "--benchmark", "SPY")
    assert result.exit_code == 0, result.stderr
    assert "max drawdown" in result.stdout and "beta vs SPY" in result.stdout
    assert "1.000" in result.stdout  # beta of SPY against itself


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--weights", "VTI=0.6,XYZ=0.4"], "unknown symbol 'XYZ'"),
        (["--weights", "VTI=0.6,BND=0.3"], "sum to 0.9"),
        (["--weights", "VTI:1"], "bad weight 'VTI:1'"),
        (["--weights", "VTI=abc"], "'abc' is not a number"),
        (["--weights", "VTI=0.5,VTI=0.5"], "given twice"),
        (["--weights", "VTI=1", "--start", "2021-01-05", "--end", "2021-01-01"], "after --end"),
        (["--weights", "VTI=1", "--start", "2004-06-01"], "outside the common history"),
        (["--weights", "VTI=1", "--end", "2026-06-01"], "2026-06-01"),
        (["--weights", "VTI=1", "--start", "2021-02-30"], "not an ISO date"),
        (["--weights", "VTI=1", "--benchmark", "NOPE"], "NOPE"),
        (["--weights", "VTI=1", "--start", "2021-01-04", "--end", "2021-01-05"], "need at least 3"),
    ],
)
def test_bad_input_exits_2_with_message_on_stderr(args: list[str], message: str) -> None:
    result = _invoke(*args, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
