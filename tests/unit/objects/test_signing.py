"""Signed URLs for clients that send no credentials (LFS uploads and downloads)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from hubstead.errors import PermissionDeniedError
from hubstead.objects.signing import UrlSigner

PATH = "/api/hubstead/lfs/models/alice/gpt2/objects/" + "a" * 64
TTL = 3600


def _split(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return parts.path, query["expires"][0], query["sig"][0]


@pytest.fixture
def signer() -> UrlSigner:
    return UrlSigner("test-secret", TTL)


def test_signed_url_verifies(signer: UrlSigner) -> None:
    path, expires, sig = _split(signer.sign(PATH))

    assert path == PATH
    signer.verify(path, expires, sig)


def test_signed_url_expires_after_the_ttl(signer: UrlSigner) -> None:
    now = time.time()
    _, expires, _ = _split(signer.sign(PATH, now=now))

    assert int(now) + TTL <= int(expires) <= int(now) + TTL + 1


def test_url_signed_longer_ago_than_the_ttl_is_refused(signer: UrlSigner) -> None:
    path, expires, sig = _split(signer.sign(PATH, now=time.time() - TTL - 60))

    with pytest.raises(PermissionDeniedError, match="expired"):
        signer.verify(path, expires, sig)


def test_signature_does_not_cover_another_path(signer: UrlSigner) -> None:
    _, expires, sig = _split(signer.sign(PATH))

    with pytest.raises(PermissionDeniedError, match="signature"):
        signer.verify(PATH.replace("alice", "mallory"), expires, sig)


def test_tampered_signature_is_refused(signer: UrlSigner) -> None:
    path, expires, sig = _split(signer.sign(PATH))
    tampered = ("0" if sig[0] != "0" else "1") + sig[1:]

    with pytest.raises(PermissionDeniedError, match="signature"):
        signer.verify(path, expires, tampered)


def test_extended_expiry_is_refused(signer: UrlSigner) -> None:
    path, expires, sig = _split(signer.sign(PATH))

    with pytest.raises(PermissionDeniedError, match="signature"):
        signer.verify(path, str(int(expires) + 86400), sig)


def test_url_signed_with_another_secret_is_refused(signer: UrlSigner) -> None:
    path, expires, sig = _split(UrlSigner("other-secret", TTL).sign(PATH))

    with pytest.raises(PermissionDeniedError, match="signature"):
        signer.verify(path, expires, sig)


@pytest.mark.parametrize(
    ("expires", "sig"),
    [(None, None), (None, "abc"), ("123", None), ("", "abc"), ("soon", "abc"), ("-1", "abc")],
)
def test_missing_or_malformed_signature_parameters_are_refused(
    signer: UrlSigner, expires: str | None, sig: str | None
) -> None:
    with pytest.raises(PermissionDeniedError, match="not signed"):
        signer.verify(PATH, expires, sig)
