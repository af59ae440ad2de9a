from __future__ import annotations

from datetime import datetime, time

import pytest

from clipbot.clock import FixedClock
from clipbot.service import WardService
from clipbot.storage.database import Database
from six_west import LONDON, MONDAY, ORGANISATION, six_west


@pytest.fixture
async def service(database: Database) -> WardService:
    clock = FixedClock(datetime.combine(MONDAY, time(9, 0), tzinfo=LONDON))
    ward_service = WardService(database, clock, ORGANISATION)
    await ward_service.import_roster(six_west())
    await ward_service.add_educator("CE1", "6-west", name="Sam Carter")
    return ward_service
