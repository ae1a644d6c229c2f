"""Git and the database, brought back into agreement after a crash.

An API commit or a push moves the git ref first and records the commit in the database (head, card data, search
tags) in the unit of work that follows; a unit that fails moves the ref back (``RepoService.move_ref``). Only a
crash between the two leaves them apart: git ahead of the database. A deleted repo's directory goes once its row
is gone, so a crash there leaves a directory no row names, which no reader can reach.

:meth:`Reconciler.check` finds both, and repairs the first by recording git's tip as the API commit would have.
``hubstead serve`` runs it before it accepts a connection; ``hubstead admin check`` runs it on demand, and with
``--repair`` also removes unnamed directories older than an hour (a younger one may be a repo being created)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Row, select

from hubstead.gitstore import GitStore
from hubstead.repos.models import Repo, RepoType
from hubstead.repos.naming import RepoRef
from hubstead.repos.services import DEFAULT_BRANCH, RepoService, ref_of

MAIN_REF = f"refs/heads/{DEFAULT_BRANCH}"
ORPHAN_GRACE_SECONDS = 3600
BATCH = 500


@dataclass(frozen=True)
class Finding:
    """One disagreement: the repo (``type/namespace/name``), what is wrong, and whether it was repaired."""

    repo: str
    problem: str
    repaired: bool = False

    def __str__(self) -> str:
        return f"{self.repo}: {self.problem}" + (" (repaired)" if self.repaired else "")


class Reconciler:
    """Compares every repo row with its git repository (see the module's docstring)."""

    def __init__(self, repos: RepoService, git: GitStore) -> None:
        self.repos = repos
        self.session = repos.session
        self.git = git

    def check(self, *, repair: bool, remove_orphans: bool = False) -> list[Finding]:
        """Every disagreement found; with ``repair``, the database follows git, flushed into this unit of work."""
        findings: list[Finding] = []
        named: set[Path] = set()
        missing_git = False
        for row in self._rows():
            ref = RepoRef(row.type, row.namespace, row.name)
            named.add(self.git.path_for(ref.storage_key))
            label = f"{row.type.value}s/{ref.repo_id}"
            if not self.git.exists(ref.storage_key):
                missing_git = True
                findings.append(Finding(label, f"no git repository at {self.git.path_for(ref.storage_key)}"))
                continue
            tip = self.git.open(ref.storage_key).ref_target(MAIN_REF)
            if tip is None or tip == row.head_sha:
                continue
            problem = f"the database lists {row.head_sha}, git's {DEFAULT_BRANCH} is {tip}"
            findings.append(self._follow_git(row.id, label, problem) if repair else Finding(label, problem))
        # a directory next to a row without one may be a move a crash interrupted: then both are left for a person
        remove = repair and remove_orphans and not missing_git
        findings += [self._orphan(path, remove) for path in self._directories() if path not in named]
        return findings

    def _rows(self) -> Iterator[Row[int, RepoType, str, str, str | None]]:
        """What the comparison needs of each repo, in batches: not the rows' card data and facts."""
        columns = (Repo.id, Repo.type, Repo.namespace, Repo.name, Repo.head_sha)
        last = 0
        while True:
            batch = self.session.execute(select(*columns).where(Repo.id > last).order_by(Repo.id).limit(BATCH)).all()
            if not batch:
                return
            yield from batch
            last = batch[-1].id

    def _follow_git(self, repo_pk: int, label: str, problem: str) -> Finding:
        # lock the row first (as a push records itself), then read the tip again: a commit under way elsewhere
        # either finished before (we record its tip) or waits for us and records its own after
        repo = self.session.get(Repo, repo_pk, with_for_update=True)
        if repo is None:  # deleted meanwhile
            return Finding(label, problem)
        tip = self.git.open(ref_of(repo).storage_key).ref_target(MAIN_REF)
        if tip is not None and tip != repo.head_sha:
            self.repos.record_commit(repo, tip)
        return Finding(label, problem, repaired=True)

    def _directories(self) -> Iterator[Path]:
        for repo_type in RepoType:
            folder = self.git.root / f"{repo_type.value}s"
            if folder.is_dir():
                yield from (path for path in folder.glob("*/*.git") if path.is_dir())

    def _orphan(self, path: Path, remove: bool) -> Finding:
        label = str(path.relative_to(self.git.root)).removesuffix(".git")
        age = time.time() - os.stat(path).st_mtime
        if remove and age > ORPHAN_GRACE_SECONDS:
            shutil.rmtree(path, ignore_errors=True)
            return Finding(label, "git repository that no repo names (left by an interrupted delete)", repaired=True)
        return Finding(label, "git repository that no repo names (left by an interrupted delete or move)")
