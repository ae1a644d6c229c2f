"""What bytes a file is: the name of each content a repo's file may be served as."""

from __future__ import annotations

import hashlib
from typing import Any

from hubstead.accounts.permissions import Actor
from hubstead.accounts.services import AccountService
from hubstead.db.base import utcnow
from hubstead.gitstore import TreeEntry
from hubstead.objects import LfsObject, RepoLfsObject, blob_key
from hubstead.repos.files import RepoEntry
from hubstead.repos.lfs_pointer import LfsPointer
from hubstead.repos.models import RepoType
from hubstead.repos.services import RepoService
from hubstead.scanning.content import ContentKey, content_keys
from hubstead.scanning.models import ContentKind
from hubstead.xet.models import XetFile, XetLfsConversion, XetRepoFile

DATA = b"the real bytes"
SHA = hashlib.sha256(DATA).hexdigest()


def lfs_entry(path: str, oid: str = SHA) -> RepoEntry:
    pointer = LfsPointer(oid, len(DATA))
    return RepoEntry(TreeEntry(path=path, type="file", oid="1" * 40, size=len(pointer.render())), pointer)


def make_repo(hub: Any, session: Any, name: str) -> int:
    accounts = AccountService(session)
    owner = accounts.find_account("alice") or accounts.create_user("alice", password="correct horse battery")
    repo = RepoService(session, hub.git, hub.blobs).create_repo(Actor(account=owner), RepoType.MODEL, name)
    return repo.id


def xet_file(session: Any, name: str) -> None:
    session.add(XetFile(hash=name, size=len(DATA), terms=b"", created_at=utcnow()))
    session.flush()


def test_a_regular_file_is_its_git_blob(hub: Any) -> None:
    entry = RepoEntry(TreeEntry(path="a.pkl", type="file", oid="ab" * 20, size=5))
    with hub.sessions() as session:
        keys = content_keys(session, hub.blobs, 1, [entry])
    assert keys == {"a.pkl": (ContentKey(ContentKind.GIT, "ab" * 20),)}


def test_an_lfs_file_is_its_checked_object_and_its_conversion_adds_nothing(hub: Any) -> None:
    hub.blobs.put(blob_key(SHA), DATA)
    with hub.sessions.begin() as session:
        repo = make_repo(hub, session, "one")
        session.add(LfsObject(oid=SHA, size=len(DATA)))
        session.flush()
        session.add(RepoLfsObject(repo_id=repo, oid=SHA))
        xet_file(session, "c" * 64)
        session.add(XetLfsConversion(sha256=SHA, file_hash="c" * 64))
        session.flush()
        keys = content_keys(session, hub.blobs, repo, [lfs_entry("w.bin")])
    assert keys == {"w.bin": (ContentKey(ContentKind.LFS, SHA),)}


def test_a_xet_upload_is_named_by_its_xet_hash_not_by_the_sha256_it_claims(hub: Any) -> None:
    claimed = "d" * 64  # nobody checked that the Xet file's bytes hash to this
    with hub.sessions.begin() as session:
        repo = make_repo(hub, session, "two")
        xet_file(session, "e" * 64)
        session.add(LfsObject(oid=claimed, size=len(DATA)))
        session.flush()
        session.add(XetRepoFile(repo_id=repo, sha256=claimed, file_hash="e" * 64, size=len(DATA)))
        session.flush()
        keys = content_keys(session, hub.blobs, repo, [lfs_entry("w.bin", claimed), lfs_entry("gone.bin", "f" * 64)])
    assert keys == {"w.bin": (ContentKey(ContentKind.XET, "e" * 64),), "gone.bin": ()}


def test_a_file_served_as_two_contents_has_both_scanned(hub: Any) -> None:
    """The whole object (plain downloads) and a Xet upload that claims its sha256 (Xet clients) may differ."""
    hub.blobs.put(blob_key(SHA), DATA)
    with hub.sessions.begin() as session:
        repo = make_repo(hub, session, "three")
        session.add(LfsObject(oid=SHA, size=len(DATA)))
        session.flush()
        session.add(RepoLfsObject(repo_id=repo, oid=SHA))
        xet_file(session, "9" * 64)
        session.add(XetRepoFile(repo_id=repo, sha256=SHA, file_hash="9" * 64, size=len(DATA)))
        session.flush()
        keys = content_keys(session, hub.blobs, repo, [lfs_entry("w.bin")])
    assert keys == {"w.bin": (ContentKey(ContentKind.LFS, SHA), ContentKey(ContentKind.XET, "9" * 64))}


def test_a_whole_object_uploaded_to_another_repo_is_not_this_repos_content(hub: Any) -> None:
    hub.blobs.put(blob_key(SHA), DATA)
    with hub.sessions.begin() as session:
        repo = make_repo(hub, session, "four")
        session.add(LfsObject(oid=SHA, size=len(DATA)))
        session.flush()
        keys = content_keys(session, hub.blobs, repo, [lfs_entry("w.bin")])
    assert keys == {"w.bin": ()}
