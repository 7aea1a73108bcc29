"""Read a household file (JSON): accounts with lots and cash, and the tax profile.

Every problem is reported with the path of the field, e.g. ``accounts[0].lots[2].shares: ...``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from contracts import AccountSnapshot, Lot, TaxProfile
from services.portfolio.domain.models import MODELS, target_for
from services.portfolio.domain.state import AccountState, HouseholdState, ModelState
from shared.errors import InvalidInputError
from shared.fields import date_field, decimal_field, required
from shared.paths import DEMO_HOUSEHOLD_FILE

__all__ = [
    "DEFAULT_HOUSEHOLD_FILE",
    "Book",
    "Models",
    "identifier",
    "load_book",
    "load_household",
    "parse_account",
    "parse_book",
    "parse_household",
    "parse_profile",
    "parse_tenant",
]

Book = list[tuple[HouseholdState, list[AccountState]]]
"""Households, each with its accounts (a file of one household is a book of one)."""

DEFAULT_HOUSEHOLD_FILE = DEMO_HOUSEHOLD_FILE
ACCOUNT_TYPES = ("taxable", "traditional_ira", "roth_ira")
LOT_METHODS = ("fifo", "lifo", "hifo", "min_tax", "specific")


def _lot(raw: Any, where: str) -> Lot:
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{where}: expected an object")
    symbol = str(required(raw, "symbol", where)).strip().upper()
    if not symbol:
        raise InvalidInputError(f"{where}.symbol: empty")
    acquired = date_field(required(raw, "acquired", where), f"{where}.acquired")
    return Lot(
        lot_id=str(required(raw, "lot_id", where)),
        symbol=symbol,
        shares=decimal_field(required(raw, "shares", where), f"{where}.shares", positive=True),
        cost_basis=decimal_field(required(raw, "cost_basis", where), f"{where}.cost_basis", non_negative=True),
        acquired=acquired,
        holding_period_start=date_field(raw["holding_period_start"], f"{where}.holding_period_start")
        if raw.get("holding_period_start")
        else None,
    )


def _tenant(data: dict[str, Any]) -> str:
    """The household's tenant (``default`` when absent): only that tenant's API keys see its accounts."""
    tenant = data.get("tenant", "default")
    if not isinstance(tenant, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", tenant):
        raise InvalidInputError("household.tenant: 1 to 64 letters, digits, '-' or '_'")
    return tenant


Models = Mapping[str, ModelState]
"""The tenant's stored models by name (an account's ``model`` may name one, or a built-in model)."""
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def identifier(raw: dict[str, Any], key: str, where: str) -> str:
    """An account or household id: it names KV keys and subjects (1 to 128 letters, digits, '-' or '_')."""
    value = required(raw, key, where)
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not _ID.fullmatch(str(value)):
        raise InvalidInputError(f"{where}.{key}: 1 to 128 letters, digits, '-' or '_'")
    return str(value)


def _model_target(
    raw: dict[str, Any], where: str, models: Models | None
) -> tuple[str | None, dict[str, Decimal] | None, ModelState | None]:
    """The account's ``model``: a built-in (its name and target) or a stored model; ``None`` when absent or
    ``custom`` (a ``target`` of its own)."""
    name = raw.get("model")
    if name is None or name == "custom":
        return None, None, None
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"{where}.model: expected a model's name")
    if raw.get("target") is not None:
        raise InvalidInputError(f"{where}.model: give a model or a target, not both")
    if name in MODELS:
        return name, target_for(name), None
    stored = (models or {}).get(name)
    if stored is None:
        known = sorted({*MODELS, *(models or {})})
        raise InvalidInputError(f"{where}.model: unknown model {name!r} (one of {', '.join(known)})")
    return name, dict(stored.targets), stored


def _account(
    raw: Any,
    where: str,
    household_id: str,
    profile: TaxProfile,
    tenant: str = "default",
    models: Models | None = None,
) -> AccountState:
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{where}: expected an object")
    account_id = identifier(raw, "account_id", where)
    account_type = str(raw.get("account_type", "taxable"))
    if account_type not in ACCOUNT_TYPES:
        raise InvalidInputError(f"{where}.account_type: {account_type!r} is not one of {', '.join(ACCOUNT_TYPES)}")
    risk = str(raw.get("risk_tolerance", "moderate"))
    if risk not in MODELS:
        raise InvalidInputError(f"{where}.risk_tolerance: {risk!r} is not one of {', '.join(MODELS)}")
    method = str(raw.get("lot_method", "fifo"))
    if method not in LOT_METHODS:
        raise InvalidInputError(f"{where}.lot_method: {method!r} is not one of {', '.join(LOT_METHODS)}")
    lots_raw = raw.get("lots", [])
    if not isinstance(lots_raw, list):
        raise InvalidInputError(f"{where}.lots: expected a list")
    lots = [_lot(item, f"{where}.lots[{i}]") for i, item in enumerate(lots_raw)]
    ids = [lot.lot_id for lot in lots]
    if len(set(ids)) != len(ids):
        raise InvalidInputError(f"{where}.lots: duplicate lot_id")
    model_name, model_target, stored_model = _model_target(raw, where, models)
    if model_name in MODELS and "risk_tolerance" not in raw:
        risk = str(model_name)
    custom = raw.get("target")
    target = model_target if model_target is not None else target_for(risk)
    if custom is not None:
        if not isinstance(custom, dict) or not custom:
            raise InvalidInputError(f"{where}.target: expected an object of asset class to percent")
        target = {str(k): decimal_field(v, f"{where}.target.{k}", non_negative=True) for k, v in custom.items()}
        if sum(target.values(), Decimal(0)) != 100:
            raise InvalidInputError(f"{where}.target: percentages add up to {sum(target.values())}, not 100")
    last = raw.get("last_rebalanced")
    snapshot = AccountSnapshot(
        account_id=account_id,
        household_id=household_id,
        name=str(raw.get("name", "")),
        account_type=account_type,  # type: ignore[arg-type]
        risk_tolerance=risk,  # type: ignore[arg-type]
        rebalance_threshold=decimal_field(
            raw.get("rebalance_threshold", "5"), f"{where}.rebalance_threshold", positive=True
        ),
        cash=decimal_field(raw.get("cash", "0"), f"{where}.cash", non_negative=True),
        cash_reserve=decimal_field(raw.get("cash_reserve", "0"), f"{where}.cash_reserve", non_negative=True),
        fractional=bool(raw.get("fractional", False)),
        lot_method=method,
        reinvest_dividends=bool(raw.get("reinvest_dividends", False)),
        last_rebalanced=date_field(last, f"{where}.last_rebalanced") if last else None,
        lots=sorted(lots, key=lambda lot: (lot.symbol, lot.acquired, lot.lot_id)),
        target=target,
        model=model_name or (risk if custom is None else "custom"),
        tax_profile=profile,
        tenant=tenant,
        **_planning_settings(raw, where),
        **_model_securities(stored_model),
    )
    custom_target = {k: str(v) for k, v in target.items()} if custom is not None else None
    return AccountState(account=snapshot, custom_target=custom_target, initial_lots=list(snapshot.lots))


def _model_securities(model: ModelState | None) -> dict[str, Any]:
    """A stored model's security-level targets and substitutes, as the account's snapshot carries them."""
    if model is None:
        return {}
    return {
        "security_targets": {s.symbol: s.percent for s in model.securities},
        "substitutes": {s.symbol: list(s.substitutes) for s in model.securities if s.substitutes},
    }


def _planning_settings(raw: dict[str, Any], where: str) -> dict[str, Any]:
    """The account's optional planning settings, each checked (see contracts.AccountSnapshot)."""
    settings: dict[str, Any] = {}
    if raw.get("band_relative") is not None:
        settings["band_relative"] = decimal_field(raw["band_relative"], f"{where}.band_relative", positive=True)
    if raw.get("rebalance_to") is not None:
        if raw["rebalance_to"] not in ("target", "band-edge"):
            raise InvalidInputError(f"{where}.rebalance_to: {raw['rebalance_to']!r} is not target or band-edge")
        settings["rebalance_to"] = raw["rebalance_to"]
    if raw.get("min_trade") is not None:
        settings["min_trade"] = decimal_field(raw["min_trade"], f"{where}.min_trade", non_negative=True)
    if raw.get("turnover_cap") is not None:
        settings["turnover_cap"] = decimal_field(raw["turnover_cap"], f"{where}.turnover_cap", positive=True)
    for key in ("max_realized_gain", "max_estimated_tax"):
        if raw.get(key) is not None:
            settings[key] = decimal_field(raw[key], f"{where}.{key}", non_negative=True)
    restricted = raw.get("restricted_symbols", [])
    if not isinstance(restricted, list) or not all(isinstance(s, str) and s.strip() for s in restricted):
        raise InvalidInputError(f"{where}.restricted_symbols: expected a list of symbols")
    settings["restricted_symbols"] = sorted({s.strip().upper() for s in restricted})
    broker_account = raw.get("broker_account", "")
    if not isinstance(broker_account, str) or not _BROKER_ACCOUNT.fullmatch(broker_account):
        raise InvalidInputError(f"{where}.broker_account: expected letters, digits, '-' or '_' (or none)")
    settings["broker_account"] = broker_account
    return settings


_BROKER_ACCOUNT = re.compile(r"[A-Za-z0-9_-]{0,64}")


def parse_account(
    raw: Any, where: str, household_id: str, profile: TaxProfile, tenant: str, models: Models | None = None
) -> AccountState:
    """One account object of the household file (its problems named under ``where``)."""
    return _account(raw, where, household_id, profile, tenant, models)


def parse_profile(raw: Any) -> TaxProfile:
    """A household's ``tax_profile`` object (absent: the defaults)."""
    return _profile(raw)


def parse_tenant(data: dict[str, Any]) -> str:
    return _tenant(data)


def _profile(raw: Any) -> TaxProfile:
    if raw is None:
        return TaxProfile()
    if not isinstance(raw, dict):
        raise InvalidInputError("tax_profile: expected an object")
    status = str(raw.get("filing_status", "single"))
    if status not in ("single", "mfj", "mfs", "hoh"):
        raise InvalidInputError(f"tax_profile.filing_status: {status!r} is not one of single, mfj, mfs, hoh")

    def optional_rate(key: str) -> Decimal | None:
        return decimal_field(raw[key], f"tax_profile.{key}", non_negative=True) if raw.get(key) is not None else None

    return TaxProfile(
        filing_status=status,  # type: ignore[arg-type]
        taxable_income=decimal_field(raw.get("taxable_income", "0"), "tax_profile.taxable_income", non_negative=True),
        magi=decimal_field(raw.get("magi", raw.get("taxable_income", "0")), "tax_profile.magi", non_negative=True),
        state_rate=decimal_field(raw.get("state_rate", "0"), "tax_profile.state_rate", non_negative=True),
        federal_short_term_rate=optional_rate("federal_short_term_rate"),
        federal_long_term_rate=optional_rate("federal_long_term_rate"),
    )


def parse_household(data: Any, models: Models | None = None) -> tuple[HouseholdState, list[AccountState]]:
    if not isinstance(data, dict):
        raise InvalidInputError("household: expected a JSON object")
    household_id = identifier(data, "household_id", "household")
    profile = _profile(data.get("tax_profile"))
    accounts_raw = required(data, "accounts", "household")
    if not isinstance(accounts_raw, list) or not accounts_raw:
        raise InvalidInputError("household.accounts: expected a non-empty list")
    tenant = _tenant(data)
    accounts = [
        _account(a, f"accounts[{i}]", household_id, profile, tenant, models) for i, a in enumerate(accounts_raw)
    ]
    ids = [a.account.account_id for a in accounts]
    if len(set(ids)) != len(ids):
        raise InvalidInputError("household.accounts: duplicate account_id")
    return HouseholdState(household_id=household_id, tax_profile=profile, account_ids=ids, tenant=tenant), accounts


def parse_book(data: Any, models: Models | None = None) -> Book:
    """A book ``{"households": [household, ...]}`` (each in the household format) or one household.

    A problem names its household: ``households[3].accounts[0].lots[2].shares: must be positive``; an
    account id or household id used twice in the book is refused."""
    if not isinstance(data, dict) or "households" not in data:
        return [parse_household(data, models)]
    raw = data["households"]
    if not isinstance(raw, list) or not raw:
        raise InvalidInputError("households: expected a non-empty list")
    book: Book = []
    for i, item in enumerate(raw):
        try:
            book.append(parse_household(item, models))
        except InvalidInputError as exc:
            raise InvalidInputError(f"households[{i}].{exc.message.removeprefix('household.')}") from None
    _check_unique([h.household_id for h, _ in book], "household_id")
    _check_unique([a.account.account_id for _, accounts in book for a in accounts], "account_id")
    return book


def _check_unique(ids: list[str], field: str) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise InvalidInputError(f"households: {field} {value!r} appears more than once")
        seen.add(value)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path}: not valid JSON ({exc})") from None


def load_household(path: Path | str = DEFAULT_HOUSEHOLD_FILE) -> tuple[HouseholdState, list[AccountState]]:
    return parse_household(_read_json(Path(path)))


def load_book(path: Path | str = DEFAULT_HOUSEHOLD_FILE) -> Book:
    """The households of a ``HOUSEHOLD_FILE``: a book of many, or one household."""
    return parse_book(_read_json(Path(path)))
