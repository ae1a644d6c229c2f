"""The task registry: which handler runs each job kind, with its options, and the context a handler gets.

A feature adds a job kind by writing a handler and registering it from its own ``tasks.py`` (listed in
``FEATURE_TASKS``, or named by ``HUBSTEAD_JOBS__TASK_MODULES`` for plug-ins):

    def register(registry: TaskRegistry) -> None:
        registry.add(Task("datasets.convert", convert_dataset, max_attempts=3, timeout_seconds=3600))

Handlers must be idempotent: a job whose worker died is run again from the start, and a cancelled or timed-out
one stops half-way. Work that is only made visible by the handler's last transaction is safe to abandon."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from hubstead.config import Settings
from hubstead.gitstore import GitStore
from hubstead.storage import BlobStore

DEFAULT_POOL = "default"
FEATURE_TASKS = (
    "hubstead.xet.tasks",
    "hubstead.scanning.tasks",
    "hubstead.datasets.tasks",
    "hubstead.training.tasks",
)  # modules with a register(registry) function, registered in every hub


@dataclass(frozen=True)
class Adapters:
    """What a handler may use of the hub: its settings, database sessions (one short unit of work at a time),
    blobs and git repos."""

    settings: Settings
    sessions: sessionmaker[Session]
    blobs: BlobStore
    git: GitStore


class JobContext(Protocol):
    """What a handler gets. ``progress`` and ``log`` are written in their own short transactions (a few times
    a second at most); ``cancelled()`` turns true when an admin cancels the job, its timeout passes, its worker
    is stopping or another worker took it over: the handler should then stop (``check_cancelled`` raises)."""

    @property
    def adapters(self) -> Adapters: ...

    @property
    def job_id(self) -> int: ...

    @property
    def kind(self) -> str: ...

    @property
    def payload(self) -> dict[str, Any]: ...

    @property
    def attempt(self) -> int: ...

    def progress(self, fraction: float, message: str = "") -> None: ...

    def log(self, line: str) -> None: ...

    def cancelled(self) -> bool: ...

    def check_cancelled(self) -> None:
        """Raise ``JobCancelledError`` if the job should stop."""


Handler = Callable[[JobContext], None]


@dataclass(frozen=True)
class Task:
    """A job kind. ``pool``: workers run the kinds of the pools they are started with (``hubstead worker
    --kinds train``; the default pool when none is named). ``max_per_worker``: at most this many jobs of the kind
    at once in one worker, whatever its concurrency (e.g. 1 for training). ``timeout_seconds``: after this long
    the handler is told to stop and the attempt counts as failed."""

    kind: str
    handler: Handler
    max_attempts: int | None = None  # None: HUBSTEAD_JOBS__MAX_ATTEMPTS
    timeout_seconds: float | None = None
    pool: str = DEFAULT_POOL
    priority: int = 0
    max_per_worker: int | None = None

    def __post_init__(self) -> None:
        if not self.kind or len(self.kind) > 64:
            raise ValueError(f"A job kind is 1 to 64 characters: {self.kind!r}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"{self.kind}: max_attempts must be at least 1")
        if self.max_per_worker is not None and self.max_per_worker < 1:
            raise ValueError(f"{self.kind}: max_per_worker must be at least 1")


class TaskRegistry:
    """The job kinds one process knows. Built by ``build_registry`` (no import-time global state)."""

    def __init__(self, tasks: Iterable[Task] = ()) -> None:
        self._tasks: dict[str, Task] = {}
        for task in tasks:
            self.add(task)

    def add(self, task: Task) -> None:
        if task.kind in self._tasks:
            raise ValueError(f"Job kind {task.kind!r} is registered twice")
        self._tasks[task.kind] = task

    def find(self, kind: str) -> Task | None:
        return self._tasks.get(kind)

    def get(self, kind: str) -> Task:
        task = self._tasks.get(kind)
        if task is None:
            raise ValueError(f"Unknown job kind {kind!r}; known: {', '.join(sorted(self._tasks)) or 'none'}")
        return task

    def __contains__(self, kind: object) -> bool:
        return kind in self._tasks

    @property
    def kinds(self) -> list[str]:
        return sorted(self._tasks)

    @property
    def pools(self) -> list[str]:
        return sorted({t.pool for t in self._tasks.values()})

    def select(self, names: Sequence[str] | None) -> list[str]:
        """The job kinds a worker started with ``names`` runs: each name a pool (all its kinds) or a kind;
        none: the default pool."""
        if not names:
            return sorted(k for k, t in self._tasks.items() if t.pool == DEFAULT_POOL)
        selected: set[str] = set()
        for name in names:
            in_pool = {k for k, t in self._tasks.items() if t.pool == name}
            if not in_pool and name not in self._tasks:
                raise ValueError(
                    f"{name!r} is neither a pool ({', '.join(self.pools)}) nor a job kind ({', '.join(self.kinds)})"
                )
            selected |= in_pool or {name}
        return sorted(selected)


def build_registry(extra_modules: Sequence[str] = ()) -> TaskRegistry:
    """Every feature's job kinds, and those of ``extra_modules`` (each with a ``register(registry)``)."""
    registry = TaskRegistry()
    for name in (*FEATURE_TASKS, *extra_modules):
        module = importlib.import_module(name)
        register: Callable[[TaskRegistry], None] | None = getattr(module, "register", None)
        if register is None:
            raise ValueError(f"Task module {name} has no register(registry) function")
        register(registry)
    return registry
