"""``hubstead xet gc`` and ``hubstead xet convert-lfs``, run as the installed console script."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from hubstead.config import Settings
from hubstead.db.base import utcnow
from hubstead.hub import Hub
from hubstead.jobs.models import Job, JobState
from hubstead.objects import LfsObject, blob_key
from hubstead.xet import hashing
from hubstead.xet.chunking import xet_file_hash_of
from hubstead.xet.models import XetLfsConversion, XetXorb
from hubstead.xet.services import CasService, grant_key, xorb_key
from hubstead.xet.xorb import build_xorb
from tests.unit.cli.test_admin import hubstead


def test_gc_removes_an_old_orphan_xorb_and_its_bytes(tmp_path: Path) -> None:
    data_dir = tmp_path / "hub"
    hub = Hub.from_settings(Settings(data_dir=data_dir))
    data, parsed = build_xorb([os.urandom(10_000), os.urandom(9_000)])
    name = hashing.hash_to_hex(parsed.hash)
    with hub.sessions.begin() as session:
        CasService(session, hub.blobs).store_xorb(name, data, parsed)
        session.execute(update(XetXorb).values(used_at=utcnow() - timedelta(hours=2)))
    hub.close()
    result = hubstead(data_dir, "xet", "gc", "--grace-hours", "1")
    assert result.returncode == 0, result.stderr
    assert "1 xorb(s)" in result.stderr
    hub = Hub.from_settings(Settings(data_dir=data_dir))
    with hub.sessions() as session:
        assert session.scalars(select(XetXorb)).all() == []
    assert not [p for p in (data_dir / "blobs").rglob("*") if p.is_file() and name in p.name]
    hub.close()


def test_gc_queued_for_a_worker_runs_as_a_job(tmp_path: Path) -> None:
    data_dir = tmp_path / "hub"
    hub = Hub.from_settings(Settings(data_dir=data_dir))
    data, parsed = build_xorb([os.urandom(10_000)])
    with hub.sessions.begin() as session:
        CasService(session, hub.blobs).store_xorb(hashing.hash_to_hex(parsed.hash), data, parsed)
        session.execute(update(XetXorb).values(used_at=utcnow() - timedelta(hours=2)))
    hub.close()

    queued = hubstead(data_dir, "xet", "gc", "--grace-hours", "1", "--queue")
    again = hubstead(data_dir, "xet", "gc", "--queue")

    assert queued.returncode == 0, queued.stderr
    assert queued.stderr.strip() == "queued job 1 (xet.gc)"
    assert again.stderr.strip() == "queued job 1 (xet.gc)"  # the same work, still pending
    hub = Hub.from_settings(Settings(data_dir=data_dir))
    try:
        with hub.sessions() as session:
            assert session.scalars(select(XetXorb)).all() != []  # nothing done yet: it waits for a worker
        hub.wait_for_jobs(60)
        with hub.sessions() as session:
            job = session.get(Job, 1)
            assert job is not None
            assert (job.state, job.payload) == (JobState.SUCCEEDED, {"grace_hours": 1.0})
            assert "removed 0 file(s), 1 xorb(s)" in job.log
            assert session.scalars(select(XetXorb)).all() == []
    finally:
        hub.close()


def test_gc_removes_old_bytes_no_row_describes_and_leaves_recent_ones(tmp_path: Path) -> None:
    """What a crash between writing a xorb and recording it leaves behind, an unconfirmed grant marker and an
    upload cut off mid-write: gone once older than the grace period, kept while an upload may be in flight."""
    data_dir = tmp_path / "hub"
    hub = Hub.from_settings(Settings(data_dir=data_dir))
    data, parsed = build_xorb([os.urandom(10_000)])
    name = hashing.hash_to_hex(parsed.hash)
    with hub.sessions.begin() as session:
        CasService(session, hub.blobs).store_xorb(name, data, parsed)  # recorded: kept, however old
    hub.blobs.put(xorb_key(f"{'a' * 64}.000000000001"), b"o" * 5000)  # old orphan
    hub.blobs.put(xorb_key(f"{'b' * 64}.000000000002"), b"r" * 7000)  # recent orphan
    hub.blobs.put(grant_key("c" * 64, "1234"), b"")  # old grant marker
    writer = hub.blobs.open_writer("lfs/aa/bb/cut-off")
    writer.write(b"half an upload")
    blobs = data_dir / "blobs"
    two_hours_ago = time.time() - 7200
    old = [p for p in blobs.rglob("*") if p.is_file() and not p.name.startswith("b" * 64)]
    for path in old:
        os.utime(path, (two_hours_ago, two_hours_ago))
    hub.close()

    result = hubstead(data_dir, "xet", "gc", "--grace-hours", "1")

    assert result.returncode == 0, result.stderr
    assert "0 xorb(s) and 2 orphaned blob(s), 5000 bytes; 1 abandoned upload(s)" in result.stderr
    left = sorted(p.name for p in blobs.rglob("*") if p.is_file())
    assert len(left) == 2
    assert left[0].startswith(name) or left[1].startswith(name)
    assert any(n.startswith("b" * 64) for n in left)
    hub = Hub.from_settings(Settings(data_dir=data_dir))
    with hub.sessions() as session:
        assert b"".join(hub.blobs.read_range(session.scalars(select(XetXorb.storage_key)).one())) == bytes(data)
    hub.close()


def test_convert_lfs_chunks_stored_objects_as_the_xet_client_would(tmp_path: Path) -> None:
    data_dir = tmp_path / "hub"
    hub = Hub.from_settings(Settings(data_dir=data_dir))
    content = os.urandom(300_000) + b"\x00" * 200_000
    oid = hashlib.sha256(content).hexdigest()
    hub.blobs.put(blob_key(oid), content)
    with hub.sessions.begin() as session:
        session.add(LfsObject(oid=oid, size=len(content)))
    hub.close()
    result = hubstead(data_dir, "xet", "convert-lfs")
    assert result.returncode == 0, result.stderr
    assert "converted 1 of 1" in result.stderr
    hub = Hub.from_settings(Settings(data_dir=data_dir))
    with hub.sessions() as session:
        conversion = session.get(XetLfsConversion, oid)
        assert conversion is not None
        assert conversion.file_hash == xet_file_hash_of(content)  # the hash hf_xet computes for these bytes
        assert b"".join(CasService(session, hub.blobs).read_file(conversion.file_hash, 0, len(content))) == content
    hub.close()
