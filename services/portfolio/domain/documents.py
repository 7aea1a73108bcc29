"""Accounts, households and models as documents of the household file (snake_case), and back.

A document written by :func:`account_document` parses back (:func:`~.household.parse_account`) to the same
account, so a GET followed by a PUT of the same body changes nothing. camelCase keys are accepted as well
(:func:`snake_keys`); a key given in both spellings is refused.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from contracts import Lot, TaxProfile, to_builtins
from services.portfolio.domain.household import identifier
from services.portfolio.domain.models import MODELS
from services.portfolio.domain.state import AccountState, HouseholdState, ModelSecurity, ModelState
from shared.errors import InvalidInputError
from shared.fields import decimal_field
from shared.securities import ASSET_CLASSES, SecurityMaster

__all__ = [
    "account_document",
    "household_document",
    "model_document",
    "parse_model",
    "snake_keys",
]

_CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
_UPPER = re.compile(r"(?<=[a-z0-9])([A-Z])")
_FREE_KEYS = frozenset({"target", "targets", "security_targets", "do_not_buy", "substitutes"})
"""Objects whose keys are data (asset classes, symbols), never field names: left as they are."""


def _snake(key: str) -> str:
    return _UPPER.sub(r"_\1", key).lower() if _CAMEL.match(key) else key


def snake_keys(value: Any, where: str = "") -> Any:
    """``value`` with every field name in snake_case (``costBasis`` -> ``cost_basis``), recursively; the keys
    of data objects (targets by asset class) are kept. A field given twice (``costBasis`` and ``cost_basis``)
    is refused, naming it."""
    if isinstance(value, list):
        return [snake_keys(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = _snake(key) if isinstance(key, str) else key
        path = f"{where}.{name}" if where else str(name)
        if name in out:
            raise InvalidInputError(f"{path}: given twice (camelCase and snake_case)")
        out[name] = item if name in _FREE_KEYS else snake_keys(item, path)
    return out


def _text(value: Decimal) -> str:
    return f"{value:f}"


def _lot(lot: Lot) -> dict[str, Any]:
    out: dict[str, Any] = {
        "lot_id": lot.lot_id,
        "symbol": lot.symbol,
        "shares": _text(lot.shares),
        "cost_basis": _text(lot.cost_basis - lot.wash_sale_adjustment),
        "acquired": lot.acquired.isoformat(),
    }
    if lot.holding_period_start is not None:
        out["holding_period_start"] = lot.holding_period_start.isoformat()
    return out


def account_document(state: AccountState) -> dict[str, Any]:
    """The account as an object of the household file, with ``household_id`` and ``tenant``. ``lots`` are the
    positions as stored (cost before wash-sale adjustments: the adjusted view is ``/api/portfolio/{id}/lots``)."""
    a = state.account
    doc: dict[str, Any] = {
        "account_id": a.account_id,
        "household_id": a.household_id,
        "tenant": a.tenant,
        "name": a.name,
        "account_type": a.account_type,
        "risk_tolerance": a.risk_tolerance,
        "rebalance_threshold": _text(a.rebalance_threshold),
        "cash": _text(a.cash),
        "cash_reserve": _text(a.cash_reserve),
        "fractional": a.fractional,
        "lot_method": a.lot_method,
        "reinvest_dividends": a.reinvest_dividends,
        "last_rebalanced": a.last_rebalanced.isoformat() if a.last_rebalanced else None,
        "lots": [_lot(lot) for lot in a.lots],
    }
    if state.custom_target is not None:
        doc["target"] = dict(state.custom_target)
    else:
        doc["model"] = a.model or a.risk_tolerance
    doc["rebalance_to"] = a.rebalance_to
    doc["min_trade"] = _text(a.min_trade)
    for key in ("band_relative", "turnover_cap", "max_realized_gain", "max_estimated_tax"):
        value = getattr(a, key)
        doc[key] = _text(value) if value is not None else None
    doc["restricted_symbols"] = list(a.restricted_symbols)
    doc["broker_account"] = a.broker_account
    return doc


def _profile_document(profile: TaxProfile) -> dict[str, Any]:
    out: dict[str, Any] = to_builtins(profile)
    return out


def household_document(household: HouseholdState) -> dict[str, Any]:
    return {
        "household_id": household.household_id,
        "tenant": household.tenant,
        "tax_profile": _profile_document(household.tax_profile),
        "account_ids": list(household.account_ids),
    }


def model_document(model: ModelState) -> dict[str, Any]:
    return {
        "name": model.name,
        "tenant": model.tenant,
        "targets": {k: _text(v) for k, v in model.targets.items()},
        "securities": [
            {"symbol": s.symbol, "percent": _text(s.percent), "substitutes": list(s.substitutes)}
            for s in model.securities
        ],
    }


def builtin_model(name: str) -> ModelState:
    return ModelState(name=name, tenant="", targets=dict(MODELS[name]))


def _symbol(raw: Any, where: str, securities: SecurityMaster) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInputError(f"{where}: expected a symbol")
    symbol = raw.strip().upper()
    if symbol not in securities:
        raise InvalidInputError(f"{where}: unknown security {symbol!r} (not in the securities master)")
    return symbol


def parse_model(raw: Any, name: str, tenant: str, securities: SecurityMaster) -> ModelState:
    """A model document: ``targets`` by asset class (percent, summing to 100) and ``securities``: each a
    ``symbol`` of a class the model targets, its ``percent`` of the account (a class's securities add up to at
    most its target) and ``substitutes`` (symbols of the same asset class, bought instead when it cannot be)."""
    if not isinstance(raw, dict):
        raise InvalidInputError("model: expected an object")
    if raw.get("name") not in (None, name):
        raise InvalidInputError(f"name: {raw.get('name')!r} is not the model of the path, {name!r}")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
        raise InvalidInputError("name: 1 to 64 letters, digits, '-' or '_'")
    targets_raw = raw.get("targets")
    if not isinstance(targets_raw, dict) or not targets_raw:
        raise InvalidInputError("targets: expected an object of asset class to percent")
    targets: dict[str, Decimal] = {}
    for cls, value in targets_raw.items():
        if cls not in ASSET_CLASSES:
            raise InvalidInputError(f"targets.{cls}: not an asset class (one of {', '.join(ASSET_CLASSES)})")
        targets[cls] = decimal_field(value, f"targets.{cls}", non_negative=True)
    total = sum(targets.values(), Decimal(0))
    if total != 100:
        raise InvalidInputError(f"targets: percentages add up to {total}, not 100")
    listed = raw.get("securities", [])
    if not isinstance(listed, list):
        raise InvalidInputError("securities: expected a list")
    out: list[ModelSecurity] = []
    by_class: dict[str, Decimal] = {}
    seen: set[str] = set()
    for i, item in enumerate(listed):
        where = f"securities[{i}]"
        if not isinstance(item, dict):
            raise InvalidInputError(f"{where}: expected an object")
        symbol = _symbol(item.get("symbol"), f"{where}.symbol", securities)
        if symbol in seen:
            raise InvalidInputError(f"{where}.symbol: {symbol} is listed twice")
        seen.add(symbol)
        cls = securities[symbol].asset_class
        if cls not in targets:
            raise InvalidInputError(f"{where}.symbol: {symbol} is {cls}, a class the model does not target")
        percent = decimal_field(item.get("percent"), f"{where}.percent", positive=True)
        by_class[cls] = by_class.get(cls, Decimal(0)) + percent
        if by_class[cls] > targets[cls]:
            raise InvalidInputError(f"{where}.percent: the {cls} securities add up to more than its {targets[cls]}%")
        subs_raw = item.get("substitutes", [])
        if not isinstance(subs_raw, list):
            raise InvalidInputError(f"{where}.substitutes: expected a list of symbols")
        subs = [_symbol(s, f"{where}.substitutes[{j}]", securities) for j, s in enumerate(subs_raw)]
        for j, sub in enumerate(subs):
            if securities[sub].asset_class != cls or sub == symbol:
                raise InvalidInputError(f"{where}.substitutes[{j}]: {sub} is not another {cls} security")
        out.append(ModelSecurity(symbol=symbol, percent=percent, substitutes=subs))
    return ModelState(name=name, tenant=tenant, targets=targets, securities=out)


def household_id_of(raw: dict[str, Any], where: str) -> str:
    return identifier(raw, "household_id", where)
