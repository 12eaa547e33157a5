"""Fixtures of the stock-take report tests: the two-cycle data set, built through the unit of work."""

from __future__ import annotations

import pytest

from db.unit_of_work import SqlUnitOfWork
from domain.stocktake import StockTake
from tests.support import CURRENT, build_two_cycles
from tests.support import STOCKTAKE_TODAY as TODAY
from workflows.services.stocktake import build_stocktake


@pytest.fixture
def ids(uow: SqlUnitOfWork) -> dict[str, int]:
    """The two-cycle data set in the test's database (both backends); code -> recommendation id."""
    return build_two_cycles(uow)


@pytest.fixture
def stocktake(uow: SqlUnitOfWork, ids: dict[str, int]) -> StockTake:
    """The HLCP 28 stock-take as of the fixture's day."""
    with uow:
        return build_stocktake(uow, CURRENT, today=TODAY)
