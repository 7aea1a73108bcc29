"""The securities master: identical groups are configuration; replacements come from another group."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.securities import DEFAULT_BY_CLASS, Security, SecurityMaster, UnknownSecurityError, default_securities


@pytest.fixture(scope="module")
def master() -> SecurityMaster:
    return default_securities()


def test_sp500_funds_are_identical(master: SecurityMaster) -> None:
    for a in ("SPY", "IVV", "VOO"):
        for b in ("SPY", "IVV", "VOO"):
            assert master.substantially_identical(a, b), (a, b)


def test_total_market_funds_tracking_different_indices_are_not(master: SecurityMaster) -> None:
    assert not master.substantially_identical("VTI", "ITOT")
    assert not master.substantially_identical("VTI", "SCHB")
    assert not master.substantially_identical("SPY", "VTI")
    assert master.substantially_identical("VTI", "VTI")
    assert master.substantially_identical("BND", "AGG")  # configured as one group: no replacement
    assert master.replacements("BND") == []


def test_unlisted_symbols_are_identical_only_to_themselves(master: SecurityMaster) -> None:
    assert master.substantially_identical("ZZZZ", "ZZZZ")
    assert not master.substantially_identical("ZZZZ", "VTI")
    assert master.identical_group("ZZZZ") == "symbol:ZZZZ"


@pytest.mark.parametrize("symbol", ["VTI", "SPY", "VEA", "VNQ"])
def test_replacements_come_from_a_different_identical_group(master: SecurityMaster, symbol: str) -> None:
    replacements = master.replacements(symbol)
    assert replacements
    sec = master[symbol]
    for other in replacements:
        assert other.identical_group != sec.identical_group
        assert not master.substantially_identical(symbol, other.symbol)
        assert (other.category, other.asset_class) == (sec.category, sec.asset_class)


def test_sp500_replacements_exclude_every_sp500_fund(master: SecurityMaster) -> None:
    symbols = {s.symbol for s in master.replacements("SPY")}
    assert not symbols & {"SPY", "IVV", "VOO"}
    assert {"SCHX", "RSP"} <= symbols
    assert [s.symbol for s in master.replacements("VTI")][:2] == ["ITOT", "SCHB"]  # file order


def test_unknown_symbol(master: SecurityMaster) -> None:
    with pytest.raises(UnknownSecurityError) as info:
        master["NOPE"]
    assert str(info.value) == "unknown security 'NOPE': not in the securities master"
    assert info.value.symbol == "NOPE"
    assert isinstance(info.value, KeyError)
    with pytest.raises(UnknownSecurityError):
        master.replacements("NOPE")
    with pytest.raises(UnknownSecurityError):
        master.asset_class("NOPE")


def test_asset_classes_and_defaults(master: SecurityMaster) -> None:
    assert master.asset_class("VTI") == "equity"
    assert master.asset_class("BND") == "bond"
    assert master.asset_class("VNQ") == "reit"
    assert master.asset_class("GLD") == "commodity"
    for asset_class, symbol in DEFAULT_BY_CLASS.items():
        assert master.asset_class(symbol) == asset_class


def test_master_validation(tmp_path: Path) -> None:
    sec = Security(symbol="AAA", name="a", asset_class="equity", category="c", identical_group="g")
    with pytest.raises(ValueError, match="lists 'AAA' twice"):
        SecurityMaster([sec, sec])
    with pytest.raises(ValueError, match="unknown asset class 'crypto'"):
        SecurityMaster([Security(symbol="B", name="b", asset_class="crypto", category="c", identical_group="g")])
    bad = tmp_path / "s.csv"
    bad.write_text("symbol,name\nAAA,a\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing column"):
        SecurityMaster.from_csv(bad)
    ok = tmp_path / "ok.csv"
    ok.write_text("symbol,name,asset_class,category,identical_group\n aaa ,A,equity,c,\n", encoding="utf-8")
    loaded = SecurityMaster.from_csv(ok)
    assert loaded["AAA"].identical_group == "AAA"
    assert len(loaded) == 1 and list(loaded) == ["AAA"]
