"""The securities master: asset class, category and "substantially identical" groups.

Loaded from ``shared/data/securities.csv`` (or another file of the same columns). "Substantially
identical" is configuration, never inference: two symbols are identical for the wash-sale rule only
when they share an ``identical_group`` (funds tracking the same index). A symbol is always identical
to itself, also when the file does not list it. ``category`` groups funds with similar exposure; a
harvest replacement comes from the same category and asset class but a different identical group.
``collectible`` marks grantor trusts of bullion whose long-term gains are taxed at up to 28%.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from shared.errors import NotFoundError

__all__ = [
    "ASSET_CLASSES",
    "DEFAULT_BY_CLASS",
    "DEFAULT_SECURITIES_FILE",
    "Security",
    "SecurityMaster",
    "UnknownSecurityError",
    "default_securities",
]

DEFAULT_SECURITIES_FILE = Path(__file__).parent / "data" / "securities.csv"
ASSET_CLASSES = ("equity", "bond", "reit", "commodity", "cash")
# The security bought for an asset class the account does not hold yet.
DEFAULT_BY_CLASS: Mapping[str, str] = {"equity": "VTI", "bond": "BND", "reit": "VNQ", "commodity": "GLD"}
_COLUMNS = ("symbol", "name", "asset_class", "category", "identical_group")


class UnknownSecurityError(NotFoundError, KeyError):
    """A symbol that the securities master does not list."""

    def __init__(self, symbol: str) -> None:
        super().__init__(symbol)
        self.symbol = symbol

    def __str__(self) -> str:
        return f"unknown security {self.symbol!r}: not in the securities master"


@dataclass(frozen=True, slots=True, kw_only=True)
class Security:
    symbol: str
    name: str
    asset_class: str
    category: str
    identical_group: str
    tracks: str = ""
    collectible: bool = False


class SecurityMaster(Mapping[str, Security]):
    """Read-only lookup of securities by symbol."""

    def __init__(self, securities: Iterable[Security]) -> None:
        self._by_symbol: dict[str, Security] = {}
        for sec in securities:
            if sec.symbol in self._by_symbol:
                raise ValueError(f"securities master lists {sec.symbol!r} twice")
            if sec.asset_class not in ASSET_CLASSES:
                raise ValueError(f"{sec.symbol}: unknown asset class {sec.asset_class!r}")
            self._by_symbol[sec.symbol] = sec
        self._by_class: dict[str, tuple[str, ...]] | None = None

    @classmethod
    def from_csv(cls, path: Path | str) -> SecurityMaster:
        path = Path(path)
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
            rows = []
            for line, row in enumerate(reader, start=2):
                symbol = (row["symbol"] or "").strip().upper()
                if not symbol:
                    raise ValueError(f"{path}:{line}: empty symbol")
                rows.append(
                    Security(
                        symbol=symbol,
                        name=row["name"].strip(),
                        asset_class=row["asset_class"].strip(),
                        category=row["category"].strip(),
                        identical_group=row["identical_group"].strip() or symbol,
                        tracks=(row.get("tracks") or "").strip(),
                        collectible=(row.get("collectible") or "").strip().lower() == "true",
                    )
                )
        return cls(rows)

    def __getitem__(self, symbol: str) -> Security:
        try:
            return self._by_symbol[symbol]
        except KeyError:
            raise UnknownSecurityError(symbol) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_symbol)

    def __len__(self) -> int:
        return len(self._by_symbol)

    def asset_class(self, symbol: str) -> str:
        return self[symbol].asset_class

    def of_class(self, asset_class: str) -> tuple[str, ...]:
        """The symbols of ``asset_class``, in file order (indexed once per master)."""
        if self._by_class is None:
            by_class: dict[str, list[str]] = {}
            for sec in self._by_symbol.values():
                by_class.setdefault(sec.asset_class, []).append(sec.symbol)
            self._by_class = {c: tuple(v) for c, v in by_class.items()}
        return self._by_class.get(asset_class, ())

    def identical_group(self, symbol: str) -> str:
        """The wash-sale group of ``symbol``; an unlisted symbol is a group of its own."""
        sec = self._by_symbol.get(symbol)
        return sec.identical_group if sec else f"symbol:{symbol}"

    def substantially_identical(self, a: str, b: str) -> bool:
        return a == b or self.identical_group(a) == self.identical_group(b)

    def replacements(self, symbol: str) -> list[Security]:
        """Candidates to hold instead of ``symbol`` after a harvest: same category and asset class,
        a different identical group; in file order."""
        sec = self[symbol]
        return [
            other
            for other in self._by_symbol.values()
            if other.category == sec.category
            and other.asset_class == sec.asset_class
            and other.identical_group != sec.identical_group
        ]


@cache
def default_securities() -> SecurityMaster:
    """The securities master shipped with the project."""
    return SecurityMaster.from_csv(DEFAULT_SECURITIES_FILE)
