"""The jobs tests run the hub with the test job kinds (tasks_for_tests) and short leases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hubstead.config import JobSettings, Settings
from tests.unit.jobs.tasks_for_tests import MODULE

JOBS = JobSettings(
    task_modules=[MODULE],
    lease_seconds=2,
    heartbeat_seconds=0.2,
    poll_seconds=0.1,
    backoff_base_seconds=10,
    backoff_max_seconds=300,
    shutdown_grace_seconds=0.5,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"jobs": JOBS})


class FakeClock:
    """The queue's clock, moved by hand: back-off and leases without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
