"""The CAS over HTTP with hand-built xorbs and shards: what is valid is stored and served, anything else is
refused with a clear 4xx and leaves nothing behind."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from hubstead.repos.models import Repo
from hubstead.xet import hashing
from hubstead.xet.models import XetFile, XetRepoFile, XetXorb
from hubstead.xet.services import CasService
from hubstead.xet.shard import FileEntry, FileTerm, XorbInfo, build_shard, parse_shard
from hubstead.xet.xorb import build_xorb
from tests.api._support import auth, ndjson

CAS = "/api/hubstead/xet"


@pytest.fixture
def client(live_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=30) as c:
        yield c


@dataclass
class Upload:
    """A file cut into chunks, packed in one xorb, and the shard that registers it."""

    payloads: list[bytes]
    xorb: bytes
    xorb_hex: str
    chunk_hashes: list[bytes]
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def file_hash(self) -> bytes:
        return hashing.file_hash([(h, len(p)) for h, p in zip(self.chunk_hashes, self.payloads, strict=True)])

    def entry(self, start: int = 0, end: int | None = None, *, verification: bytes | None = None) -> FileEntry:
        end = len(self.payloads) if end is None else end
        hashes = self.chunk_hashes[start:end]
        term = FileTerm(hashing.hex_to_hash(self.xorb_hex), sum(len(p) for p in self.payloads[start:end]), start, end)
        leaves = [(h, len(p)) for h, p in zip(hashes, self.payloads[start:end], strict=True)]
        data = b"".join(self.payloads[start:end])
        return FileEntry(
            file_hash=hashing.file_hash(leaves),
            terms=(term,),
            verification=(verification or hashing.verification_hash(hashes),),
            sha256=hashlib.sha256(data).hexdigest(),
        )

    def shard(self, *entries: FileEntry) -> bytes:
        position, chunks = 0, []
        for h, p in zip(self.chunk_hashes, self.payloads, strict=True):
            chunks.append((h, position, len(p)))
            position += len(p)
        info = XorbInfo(hashing.hex_to_hash(self.xorb_hex), tuple(chunks), position)
        return build_shard(list(entries) or [self.entry()], [info], with_footer=False)


def make_upload(chunks: int = 5, size: int = 20_000, seed: bytes = b"") -> Upload:
    payloads = [hashlib.sha256(seed + bytes([i])).digest() * (size // 32) for i in range(chunks)]
    xorb, parsed = build_xorb(payloads, compress=True)
    return Upload(
        payloads=payloads,
        xorb=xorb,
        xorb_hex=hashing.hash_to_hex(parsed.hash),
        chunk_hashes=[c.hash for c in parsed.chunks],
        data=b"".join(payloads),
    )


def write_token(client: httpx.Client, token: str, repo_id: str = "alice/cas") -> str:
    response = client.get(f"/api/models/{repo_id}/xet-write-token/main", headers=auth(token))
    assert response.status_code == 200, response.text
    return str(response.json()["accessToken"])


def read_token(client: httpx.Client, token: str | None, repo_id: str = "alice/cas") -> str:
    response = client.get(f"/api/models/{repo_id}/xet-read-token/main", headers=auth(token))
    assert response.status_code == 200, response.text
    return str(response.json()["accessToken"])


@pytest.fixture
def repo(client: httpx.Client, user: Any) -> str:
    response = client.post("/api/repos/create", json={"name": "cas", "type": "model"}, headers=auth(user.token))
    assert response.status_code == 200, response.text
    return "alice/cas"


@pytest.fixture
def cas_token(client: httpx.Client, user: Any, repo: str) -> str:
    return write_token(client, user.token, repo)


def put_xorb(client: httpx.Client, token: str, upload: Upload, body: bytes | None = None) -> httpx.Response:
    return client.post(f"{CAS}/v1/xorbs/default/{upload.xorb_hex}", content=body or upload.xorb, headers=auth(token))


def put_shard(client: httpx.Client, token: str, shard: bytes, version: int = 1) -> httpx.Response:
    return client.post(f"{CAS}/v{version}/shards", content=shard, headers=auth(token))


def count(hub: Any, model: Any) -> int:
    with hub.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def stored_xorb_files(hub: Any) -> list[str]:
    return [str(p) for p in (hub.settings.data_dir / "blobs").rglob("*") if p.is_file() and "xorbs" in str(p)]


def assert_refused(response: httpx.Response, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert fragment.lower() in response.json()["error"].lower()


# --- tokens -----------------------------------------------------------------------------------------


def test_token_routes_answer_json_and_headers(client: httpx.Client, user: Any, repo: str) -> None:
    response = client.get(f"/api/models/{repo}/xet-write-token/main", headers=auth(user.token))
    body = response.json()
    assert body["casUrl"] == f"{client.base_url}{CAS}".rstrip("/")
    assert isinstance(body["exp"], int)
    assert body["exp"] > time.time() + 60
    assert response.headers["x-xet-cas-url"] == body["casUrl"]
    assert response.headers["x-xet-access-token"] == body["accessToken"]
    assert response.headers["x-xet-token-expiration"] == str(body["exp"])
    # the client asks for 'None' when it opens a pull request
    assert (
        client.get(f"/api/models/{repo}/xet-write-token/None?create_pr=1", headers=auth(user.token)).status_code == 200
    )


def test_anonymous_reads_public_repos_but_never_writes(client: httpx.Client, repo: str) -> None:
    assert client.get(f"/api/models/{repo}/xet-read-token/main").status_code == 200
    assert client.get(f"/api/models/{repo}/xet-write-token/main").status_code == 401


def test_private_repo_tokens_look_like_a_missing_repo(client: httpx.Client, user: Any, other_user: Any) -> None:
    client.post("/api/repos/create", json={"name": "secret", "private": True}, headers=auth(user.token))
    for kind in ("read", "write"):
        response = client.get(f"/api/models/alice/secret/xet-{kind}-token/main", headers=auth(other_user.token))
        assert response.status_code == 404
        assert response.headers["x-error-code"] == "RepoNotFound"


def test_read_only_hub_token_gets_no_write_token(client: httpx.Client, user: Any, repo: str) -> None:
    assert client.get(f"/api/models/{repo}/xet-write-token/main", headers=auth(user.read_token)).status_code == 403


def test_cas_refuses_missing_forged_expired_and_read_only_tokens(client: httpx.Client, hub: Any, repo: str) -> None:
    upload = make_upload()
    assert put_xorb(client, "", upload).status_code == 401
    assert_refused(put_xorb(client, "xet_abc.def", upload), 401, "invalid")
    with hub.sessions() as session:
        row = session.execute(select(Repo.id, Repo.uid).where(Repo.name == "cas")).one()
    expired = hub.cas_tokens.issue(row.id, row.uid, write=True, account_id=None, now=time.time() - 7200)
    assert_refused(put_xorb(client, hub.cas_tokens.encode(expired), upload), 401, "expired")
    stranger = hub.cas_tokens.issue(row.id, "f" * 32, write=True, account_id=None)  # another repo's uid
    assert_refused(put_xorb(client, hub.cas_tokens.encode(stranger), upload), 401, "no longer exists")
    reader = read_token(client, None, repo)
    assert_refused(put_xorb(client, reader, upload), 403, "only reads")
    assert count(hub, XetXorb) == 0


# --- xorbs ------------------------------------------------------------------------------------------


def test_xorb_upload_is_checked_stored_once_and_idempotent(client: httpx.Client, hub: Any, cas_token: str) -> None:
    upload = make_upload()
    first = put_xorb(client, cas_token, upload)
    assert first.status_code == 200, first.text
    assert first.json() == {"was_inserted": True}
    assert put_xorb(client, cas_token, upload).json() == {"was_inserted": False}
    assert count(hub, XetXorb) == 1


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (lambda x: x[:-7], "truncat"),
        (lambda x: x[:20], ""),
        (lambda x: b"\x07" + x[1:], "version"),
        (lambda x: x[:4] + b"\x09" + x[5:], "scheme"),
        (lambda x: x[:8] + bytes(b ^ 0xFF for b in x[8:40]) + x[40:], ""),
        (lambda x: x + b"\x00" * 5, ""),
    ],
    ids=["truncated", "cut-in-first-chunk", "bad-version", "bad-scheme", "corrupt-payload", "trailing-garbage"],
)
def test_damaged_xorbs_are_refused_and_leave_nothing(
    client: httpx.Client, hub: Any, cas_token: str, damage: Any, fragment: str
) -> None:
    upload = make_upload()
    response = put_xorb(client, cas_token, upload, damage(upload.xorb))
    assert response.status_code == 400, response.text
    assert fragment.lower() in response.json()["error"].lower()
    assert count(hub, XetXorb) == 0
    assert stored_xorb_files(hub) == []


def test_xorb_under_the_wrong_hash_is_refused(client: httpx.Client, hub: Any, cas_token: str) -> None:
    upload, other = make_upload(), make_upload(seed=b"x")
    response = client.post(f"{CAS}/v1/xorbs/default/{other.xorb_hex}", content=upload.xorb, headers=auth(cas_token))
    assert_refused(response, 400, "hash mismatch")
    assert (
        client.post(f"{CAS}/v1/xorbs/default/nothex", content=upload.xorb, headers=auth(cas_token)).status_code == 400
    )
    assert (
        client.post(f"{CAS}/v1/xorbs/other/{upload.xorb_hex}", content=upload.xorb, headers=auth(cas_token)).status_code
        == 404
    )
    assert count(hub, XetXorb) == 0


def test_xorb_upload_grants(client: httpx.Client, hub: Any, cas_token: str) -> None:
    upload = make_upload()
    crc = hashing.crc64nvme(upload.xorb)
    grant = client.post(
        f"{CAS}/v1/xorb-grants/default/{upload.xorb_hex}",
        json={"length": len(upload.xorb), "checksum": {"algo": "crc64nvme", "value": str(crc)}},
        headers=auth(cas_token),
    )
    assert grant.status_code == 201, grant.text
    target = grant.json()
    assert target["method"] == "PUT"
    assert (
        client.put(target["url"], content=upload.xorb[:-1] + bytes([upload.xorb[-1] ^ 1])).status_code == 400
    )  # wrong checksum
    assert client.put(target["url"] + "0", content=upload.xorb).status_code == 403  # tampered signature
    assert client.put(target["url"], content=upload.xorb).status_code == 200
    committed = client.post(
        f"{CAS}/v1/xorb-commits/default/{upload.xorb_hex}/grant/{target['id']}", headers=auth(cas_token)
    )
    assert committed.json() == {"was_inserted": True}
    again = client.post(
        f"{CAS}/v1/xorb-commits/default/{upload.xorb_hex}/grant/{target['id']}", headers=auth(cas_token)
    )
    assert again.status_code == 404  # the grant's bytes are used up
    existing = client.post(
        f"{CAS}/v1/xorb-grants/default/{upload.xorb_hex}",
        json={"length": len(upload.xorb), "checksum": {"algo": "crc64nvme", "value": str(crc)}},
        headers=auth(cas_token),
    )
    assert existing.status_code == 200  # already stored: nothing to upload


# --- shards -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_valid_shard_registers_the_file_for_the_uploading_repo(
    client: httpx.Client, hub: Any, cas_token: str, version: int
) -> None:
    upload = make_upload()
    put_xorb(client, cas_token, upload)
    response = put_shard(client, cas_token, upload.shard(), version)
    assert response.status_code == 200, response.text
    if version == 1:
        assert response.json() == {"result": 1}
    else:
        assert response.text.splitlines()[-1] == '{"type": "result", "result": 1}'
    with hub.sessions() as session:
        row = session.scalars(select(XetRepoFile)).one()
    assert row.sha256 == upload.sha256
    assert row.file_hash == hashing.hash_to_hex(upload.file_hash)
    assert row.size == len(upload.data)


def _corrupt_shard(upload: Upload, how: str) -> bytes:
    if how == "missing-xorb":
        other = make_upload(seed=b"never uploaded")
        return other.shard()
    if how == "wrong-verification":
        return upload.shard(upload.entry(verification=os.urandom(32)))
    if how == "wrong-file-hash":
        entry = upload.entry()
        return upload.shard(FileEntry(os.urandom(32), entry.terms, entry.verification, entry.sha256))
    if how == "range-outside-xorb":
        entry = upload.entry()
        term = entry.terms[0]
        bad = FileTerm(term.xorb_hash, term.unpacked_bytes, 0, len(upload.payloads) + 3)
        return upload.shard(FileEntry(entry.file_hash, (bad,), entry.verification, entry.sha256))
    if how == "wrong-length":
        entry = upload.entry()
        term = entry.terms[0]
        bad = FileTerm(term.xorb_hash, term.unpacked_bytes + 1, term.chunk_start, term.chunk_end)
        return upload.shard(FileEntry(entry.file_hash, (bad,), entry.verification, entry.sha256))
    if how == "no-verification":
        entry = upload.entry()
        return upload.shard(FileEntry(entry.file_hash, entry.terms, None, entry.sha256))
    if how == "truncated":
        return upload.shard()[:-30]
    if how == "bad-tag":
        return b"X" + upload.shard()[1:]
    raise AssertionError(how)


@pytest.mark.parametrize(
    "how",
    [
        "missing-xorb",
        "wrong-verification",
        "wrong-file-hash",
        "range-outside-xorb",
        "wrong-length",
        "no-verification",
        "truncated",
        "bad-tag",
    ],
)
def test_bad_shards_are_refused_and_record_nothing(client: httpx.Client, hub: Any, cas_token: str, how: str) -> None:
    upload = make_upload()
    put_xorb(client, cas_token, upload)
    response = put_shard(client, cas_token, _corrupt_shard(upload, how))
    assert response.status_code == 400, response.text
    assert response.json()["error"]
    assert count(hub, XetFile) == 0
    assert count(hub, XetRepoFile) == 0


def test_a_shard_cannot_claim_other_bytes_for_a_stored_sha256(
    client: httpx.Client, hub: Any, cas_token: str, user: Any, live_server: str
) -> None:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=live_server, token=user.token)
    real = b"\x00real weights" * 100
    api.upload_file(path_or_fileobj=real, path_in_repo="w.bin", repo_id="alice/cas")
    upload = make_upload()
    put_xorb(client, cas_token, upload)
    entry = upload.entry()
    lie = FileEntry(entry.file_hash, entry.terms, entry.verification, hashlib.sha256(real).hexdigest())
    assert_refused(put_shard(client, cas_token, upload.shard(lie)), 400, "another size")


# --- who may use what -------------------------------------------------------------------------------


def test_a_file_uploaded_for_one_repo_cannot_be_committed_or_read_through_another(
    client: httpx.Client, hub: Any, cas_token: str, user: Any, other_user: Any
) -> None:
    upload = make_upload()
    put_xorb(client, cas_token, upload)
    assert put_shard(client, cas_token, upload.shard()).status_code == 200
    client.post("/api/repos/create", json={"name": "theirs"}, headers=auth(other_user.token))
    lfs_file = {"path": "x.bin", "algo": "sha256", "oid": upload.sha256, "size": len(upload.data)}
    body = ndjson({"key": "header", "value": {"summary": "steal"}}, {"key": "lfsFile", "value": lfs_file})
    response = client.post(
        "/api/models/bob/theirs/commit/main",
        content=body,
        headers=auth(other_user.token) | {"content-type": "application/x-ndjson"},
    )
    assert response.status_code == 422, response.text
    theirs = read_token(client, other_user.token, "bob/theirs")
    name = hashing.hash_to_hex(upload.file_hash)
    assert client.get(f"{CAS}/v1/reconstructions/{name}", headers=auth(theirs)).status_code == 404
    mine = read_token(client, user.token, "alice/cas")
    assert client.get(f"{CAS}/v1/reconstructions/{name}", headers=auth(mine)).status_code == 200


def test_chunks_of_a_private_repo_cannot_be_referenced_without_knowing_them(
    client: httpx.Client, hub: Any, user: Any, other_user: Any
) -> None:
    client.post("/api/repos/create", json={"name": "secret", "private": True}, headers=auth(user.token))
    secret = make_upload(seed=b"secret")
    alice = write_token(client, user.token, "alice/secret")
    put_xorb(client, alice, secret)
    assert put_shard(client, alice, secret.shard()).status_code == 200
    client.post("/api/repos/create", json={"name": "thief"}, headers=auth(other_user.token))
    bob = write_token(client, other_user.token, "bob/thief")
    # bob knows the xorb hash (say, from a leak) but not the chunks: his verification hashes are guesses
    guess = secret.entry(verification=hashing.verification_hash([os.urandom(32) for _ in secret.payloads]))
    assert_refused(put_shard(client, bob, secret.shard(guess)), 400, "verification")
    assert count(hub, XetRepoFile) == 1


# --- reconstructions and bytes ----------------------------------------------------------------------


def _registered(client: httpx.Client, token: str, chunks: int = 8) -> Upload:
    upload = make_upload(chunks=chunks, size=70_000)
    put_xorb(client, token, upload)
    assert put_shard(client, token, upload.shard()).status_code == 200
    return upload


def _rebuild(client: httpx.Client, body: dict[str, Any], version: int) -> bytes:
    from hubstead.xet.xorb import decode_chunks

    out = b""
    for term in body["terms"]:
        if version == 1:
            fetch = next(
                f
                for f in body["fetch_info"][term["hash"]]
                if f["range"]["start"] <= term["range"]["start"] and term["range"]["end"] <= f["range"]["end"]
            )
            url, first_chunk, (start, end) = fetch["url"], fetch["range"]["start"], fetch["url_range"].values()
        else:
            entry = body["xorbs"][term["hash"]][0]
            part = next(
                r
                for r in entry["ranges"]
                if r["chunks"]["start"] <= term["range"]["start"] and term["range"]["end"] <= r["chunks"]["end"]
            )
            url, first_chunk, (start, end) = entry["url"], part["chunks"]["start"], part["bytes"].values()
        data = httpx.get(url, headers={"range": f"bytes={start}-{end}"}).content
        payloads = list(decode_chunks(data))
        lo, hi = term["range"]["start"] - first_chunk, term["range"]["end"] - first_chunk
        piece = b"".join(payloads[lo:hi])
        assert len(piece) == term["unpacked_length"]
        out += piece
    return out[body["offset_into_first_range"] :]


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("byte_range", [None, (0, 0), (69_999, 70_000), (100_000, 300_000), (559_000, 10**9)])
def test_reconstructions_rebuild_any_range(
    client: httpx.Client, cas_token: str, version: int, byte_range: tuple[int, int] | None
) -> None:
    upload = _registered(client, cas_token)
    name = hashing.hash_to_hex(upload.file_hash)
    headers = auth(cas_token) | ({"range": f"bytes={byte_range[0]}-{byte_range[1]}"} if byte_range else {})
    response = client.get(f"{CAS}/v{version}/reconstructions/{name}", headers=headers)
    assert response.status_code == 200, response.text
    rebuilt = _rebuild(client, response.json(), version)
    start, end = byte_range or (0, len(upload.data) - 1)
    assert rebuilt[: end - start + 1] == upload.data[start : end + 1]


def test_reconstruction_errors(client: httpx.Client, cas_token: str) -> None:
    upload = _registered(client, cas_token)
    name = hashing.hash_to_hex(upload.file_hash)
    past = client.get(f"{CAS}/v1/reconstructions/{name}", headers=auth(cas_token) | {"range": "bytes=999999999-"})
    assert past.status_code == 416
    assert client.get(f"{CAS}/v1/reconstructions/{'0' * 64}", headers=auth(cas_token)).status_code == 404
    assert client.get(f"{CAS}/v1/reconstructions/xyz", headers=auth(cas_token)).status_code == 400
    body = client.get(f"{CAS}/v2/reconstructions/{name}", headers=auth(cas_token)).json()
    url = next(iter(body["xorbs"].values()))[0]["url"]
    assert httpx.get(url.replace("sig=", "sig=0")).status_code == 403


@pytest.mark.parametrize("version", [1, 2])
def test_a_xorb_url_reads_only_the_chunks_of_the_file_it_was_issued_for(
    client: httpx.Client, cas_token: str, version: int
) -> None:
    """A xorb may hold other files' chunks (another repo's, through global dedup): a reconstruction's URL reads
    the byte ranges of its own file's chunks, one range per request, and nothing else of the xorb."""
    upload = make_upload(chunks=6, size=20_000)
    put_xorb(client, cas_token, upload)
    assert put_shard(client, cas_token, upload.shard(upload.entry(1, 3))).status_code == 200
    name = hashing.hash_to_hex(upload.entry(1, 3).file_hash)
    body = client.get(f"{CAS}/v{version}/reconstructions/{name}", headers=auth(cas_token)).json()
    if version == 1:
        (fetch,) = body["fetch_info"][upload.xorb_hex]
        url, (start, end) = fetch["url"], fetch["url_range"].values()
    else:
        ((entry,),) = [body["xorbs"][upload.xorb_hex]]
        url, (start, end) = entry["url"], entry["ranges"][0]["bytes"].values()
    assert start > 0  # chunk 0 belongs to no file of this repo

    assert httpx.get(url, headers={"range": f"bytes={start}-{end}"}).status_code == 206
    assert httpx.get(url, headers={"range": f"bytes={start + 1}-{end - 1}"}).status_code == 206
    for outside in ["bytes=0-10", f"bytes={start}-{end + 1}", f"bytes={end + 1}-", f"bytes=0-1,{start}-{end}", None]:
        response = httpx.get(url, headers={"range": outside} if outside else {})
        assert response.status_code == 403, outside
        assert upload.payloads[0] not in response.content
    widened = url.replace(f"ranges={start}-{end}", f"ranges=0-{end}")
    assert widened != url
    assert httpx.get(widened, headers={"range": f"bytes=0-{end}"}).status_code == 403


def test_global_dedup_answers_with_a_keyed_shard(client: httpx.Client, cas_token: str) -> None:
    upload = _registered(client, cas_token)
    first = hashing.hash_to_hex(upload.chunk_hashes[0])
    response = client.get(f"{CAS}/v1/chunks/default/{first}", headers=auth(cas_token))
    assert response.status_code == 200
    shard = parse_shard(response.content)
    assert shard.footer is not None
    assert shard.footer.hmac_key is not None
    assert shard.footer.expiry > time.time() + 86400
    (info,) = shard.xorbs
    assert hashing.hash_to_hex(info.xorb_hash) == upload.xorb_hex
    keyed = {hashing.keyed_chunk_hash(shard.footer.hmac_key, h) for h in upload.chunk_hashes}
    assert {c[0] for c in info.chunks} == keyed  # only someone holding the chunks can recognise them
    assert client.get(f"{CAS}/v1/chunks/default/{'1' * 64}", headers=auth(cas_token)).status_code == 404
    assert client.get(f"{CAS}/v1/chunks/default-merkledb/{first}", headers=auth(cas_token)).status_code == 200


def test_unknown_optional_routes_answer_404_never_405(client: httpx.Client, cas_token: str) -> None:
    assert client.post("/v1/telemetry", json={"x": 1}).status_code == 200
    for method, path in [("POST", f"{CAS}/v3/shards"), ("GET", f"{CAS}/v3/reconstructions/{'0' * 64}")]:
        assert client.request(method, path, headers=auth(cas_token)).status_code == 404


# --- garbage collection -----------------------------------------------------------------------------


def test_garbage_collection_keeps_what_files_use_and_recent_uploads(
    client: httpx.Client, hub: Any, cas_token: str, user: Any
) -> None:
    kept = _registered(client, cas_token)
    orphan = make_upload(seed=b"orphan")
    put_xorb(client, cas_token, orphan)

    def collect(grace: timedelta) -> Any:
        with hub.sessions.begin() as session:
            report = CasService(session, hub.blobs).collect_garbage(grace)
        for key in report.keys:
            hub.blobs.delete(key)
        return report

    assert collect(timedelta(hours=1)).xorbs == 0  # the orphan is recent: an upload may still be in flight
    report = collect(timedelta(0))
    assert (report.xorbs, report.files) == (1, 0)
    with hub.sessions() as session:
        assert set(session.scalars(select(XetXorb.hash))) == {kept.xorb_hex}
    name = hashing.hash_to_hex(kept.file_hash)
    assert client.get(f"{CAS}/v1/reconstructions/{name}", headers=auth(cas_token)).status_code == 200

    # once the repo is gone, its file and xorb go too
    assert (
        client.request("DELETE", "/api/repos/delete", json={"name": "cas"}, headers=auth(user.token)).status_code == 200
    )
    report = collect(timedelta(0))
    assert (report.files, report.xorbs, report.orphans) == (1, 1, 0)  # its bytes counted once, not as an orphan too
    assert report.bytes == len(kept.xorb)
    assert count(hub, XetXorb) == 0
    assert stored_xorb_files(hub) == []
