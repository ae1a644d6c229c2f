"""What a unit of work does outside the database once it knows how it ended.

Git refs and files cannot join a database transaction. A service that moves a ref inside a unit of work says how
to move it back (:func:`on_rollback`), and one that removes files the database still names removes them only
once the database has forgotten them (:func:`after_commit`). :func:`install` hooks both into a session factory;
a crash between the two stores is what start-up reconciliation repairs (``hubstead.repos.reconcile``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

log = logging.getLogger(__name__)

AFTER_COMMIT = "hubstead.after_commit"
ON_ROLLBACK = "hubstead.on_rollback"

Action = Callable[[], None]


def after_commit(session: Session, action: Action) -> None:
    """Run ``action`` once the unit of work has committed (never if it rolls back)."""
    session.info.setdefault(AFTER_COMMIT, []).append(action)


def on_rollback(session: Session, action: Action) -> None:
    """Run ``action`` if the unit of work rolls back, its commit included (never once it has committed)."""
    session.info.setdefault(ON_ROLLBACK, []).append(action)


def install(factory: sessionmaker[Session]) -> None:
    event.listen(factory, "after_commit", _committed)
    event.listen(factory, "after_rollback", _rolled_back)
    event.listen(factory, "after_transaction_end", _ended)


def _committed(session: Session) -> None:
    session.info.pop(ON_ROLLBACK, None)
    _run(session.info.pop(AFTER_COMMIT, []))


def _rolled_back(session: Session) -> None:
    session.info.pop(AFTER_COMMIT, None)
    _run(reversed(session.info.pop(ON_ROLLBACK, [])))  # undone in the reverse order of what they undo


def _ended(session: Session, transaction: SessionTransaction) -> None:
    # a session closed without committing or rolling back only read the database: what it did outside stands
    if transaction.parent is None:
        session.info.pop(ON_ROLLBACK, None)
        session.info.pop(AFTER_COMMIT, None)


def _run(actions: Iterable[Action]) -> None:
    for action in actions:
        try:
            action()
        except Exception:  # one failed clean-up must not stop the others; reconciliation repairs what it left
            log.exception("unit-of-work follow-up failed")
