"""The answers of ``POST /api/accounts/import`` as OpenAPI response models (camelCase; amounts are decimal
strings, dates ISO)."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["ImportAnswer", "ImportProblems", "ImportedAccountChange", "ImportedLotChange"]


class ImportedLotChange(BaseModel):
    lotId: str
    symbol: str
    shares: str
    costBasis: str = Field(description="the lot's total cost")
    acquired: str
    beforeShares: str | None = Field(None, description="a changed lot: its shares before the import")
    beforeCostBasis: str | None = None
    beforeAcquired: str | None = None


class ImportedAccountChange(BaseModel):
    accountId: str
    householdId: str
    newAccount: bool
    newHousehold: bool
    lotsAdded: list[ImportedLotChange]
    lotsRemoved: list[ImportedLotChange] = Field(description="held now, absent from the file")
    lotsChanged: list[ImportedLotChange] = Field(description="the same lot id with other shares, cost or date")
    lotsUnchanged: int
    cashBefore: str
    cashAfter: str = Field(description="the file's cash rows added up; the cash before when it has none")
    historyArchived: bool = Field(description="the lots differ: the fills recorded before stop being replayed")


class ImportAnswer(BaseModel):
    success: bool
    importId: str = Field(description="the import's id (from the Idempotency-Key when one is sent)")
    format: str = Field(description="generic, schwab or ibkr")
    dryRun: bool
    applied: bool
    alreadyApplied: bool = Field(description="this import was applied before: nothing more changed")
    accounts: list[ImportedAccountChange]


class ImportProblems(BaseModel):
    success: bool = False
    error: str = Field(description="how many problems; nothing was applied")
    errors: list[str] = Field(description="every problem with its line: `line 14: shares: not a number ('12,5x')`")
    format: str | None = None
