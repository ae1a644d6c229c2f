"""``hubstead xet gc`` and ``hubstead xet convert-lfs``, run as the installed console script."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from hubstead.config import Settings
from hubstead.db.base import utcnow
from hubstead.hub import Hub
from hubstead.repos.lfs_pointer import blob_key
from hubstead.repos.models import LfsObject
from hubstead.xet import hashing
from hubstead.xet.chunking import xet_file_hash_of
from hubstead.xet.models import XetLfsConversion, XetXorb
from hubstead.xet.services import CasService
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
