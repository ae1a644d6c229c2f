"""``hubstead xet``: storage housekeeping for the Xet CAS (garbage collection, converting LFS objects)."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from hubstead.config import Settings
from hubstead.hub import Hub
from hubstead.objects import LfsObject
from hubstead.xet.convert import convert_lfs_object
from hubstead.xet.models import XetLfsConversion
from hubstead.xet.tasks import GC
from hubstead.xet.tasks import collect_garbage as run_gc


def _hub(args: argparse.Namespace) -> Hub:
    return Hub.from_settings(Settings(**({"data_dir": args.data_dir} if args.data_dir else {})))


def collect_garbage(args: argparse.Namespace) -> int:
    """Remove xorbs and files nothing references any more (repos deleted, uploads never committed); with
    ``--queue``, leave it to a worker (an ``xet.gc`` job)."""
    hub = _hub(args)
    try:
        hours = hub.settings.xet.gc_grace_hours if args.grace_hours is None else args.grace_hours
        if args.queue:
            with hub.sessions.begin() as session:
                job = hub.jobs.enqueue(session, GC, {"grace_hours": hours}, dedup_key=GC)
            print(f"queued job {job.id} ({GC})", file=sys.stderr)
            return 0
        summary = run_gc(hub.sessions, hub.blobs, timedelta(hours=hours))
    finally:
        hub.close()
    print(summary, file=sys.stderr)
    return 0


def convert_lfs(args: argparse.Namespace) -> int:
    """Chunk into xorbs the LFS objects stored before Xet was on (new uploads are converted as they arrive)."""
    hub = _hub(args)
    converted = 0
    try:
        with hub.sessions() as session:
            pending = session.scalars(
                select(LfsObject.oid).where(LfsObject.oid.not_in(select(XetLfsConversion.sha256)))
            ).all()
        for oid in pending:
            if convert_lfs_object(hub.sessions, hub.blobs, oid) is not None:
                converted += 1
    finally:
        hub.close()
    print(f"converted {converted} of {len(pending)} LFS object(s) to Xet", file=sys.stderr)
    return 0


def add_parser(sub: Any) -> None:
    xet = sub.add_parser("xet", help="Xet storage housekeeping")
    commands = xet.add_subparsers(dest="xet_command", required=True)
    gc = commands.add_parser("gc", help="remove xorbs no file references any more")
    gc.add_argument(
        "--grace-hours",
        type=float,
        help="leave alone what was used this recently (default: HUBSTEAD_XET__GC_GRACE_HOURS)",
    )
    gc.add_argument("--queue", action="store_true", help="queue it as a background job (xet.gc) for a worker")
    gc.set_defaults(func=collect_garbage)
    convert = commands.add_parser("convert-lfs", help="chunk LFS objects stored before Xet into xorbs")
    convert.set_defaults(func=convert_lfs)
