"""CAS tokens name their repo by id and uid, and nothing in them can be changed without the hub's secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from hubstead.errors import AuthenticationError
from hubstead.xet.tokens import PREFIX, CasTokens

UID = "0123456789abcdef" * 2


@pytest.fixture
def tokens() -> CasTokens:
    return CasTokens("test-secret", 3600)


def _bearer(token: str) -> str:
    return f"Bearer {token}"


def _signed(body: dict[str, object]) -> str:
    """A token the hub would sign, with any body (what a token issued before uids looked like, for one)."""
    key = hashlib.sha256(b"xet-cas|test-secret").digest()
    payload = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=")
    return f"{PREFIX}{payload.decode()}.{hmac.new(key, payload, hashlib.sha256).hexdigest()}"


def test_a_token_carries_the_repo_id_and_uid(tokens: CasTokens) -> None:
    grant = tokens.check(_bearer(tokens.encode(tokens.issue(7, UID, write=True, account_id=3))), write=True)

    assert (grant.repo_id, grant.repo_uid, grant.write, grant.account_id) == (7, UID, True, 3)


def test_a_token_for_another_uid_cannot_be_made_from_one(tokens: CasTokens) -> None:
    token = tokens.encode(tokens.issue(7, UID, write=False, account_id=None))
    payload, _, mac = token[len(PREFIX) :].partition(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["u"] = "f" * 32
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()

    with pytest.raises(AuthenticationError, match="Invalid"):
        tokens.check(_bearer(f"{PREFIX}{forged}.{mac}"), write=False)


@pytest.mark.parametrize("uid", [None, "", 7])
def test_a_token_naming_its_repo_by_id_alone_is_refused(tokens: CasTokens, uid: object) -> None:
    body: dict[str, object] = {"r": 7, "w": 1, "e": 2**40, "a": None}
    if uid is not None:
        body["u"] = uid

    with pytest.raises(AuthenticationError, match="Invalid"):
        tokens.check(_bearer(_signed(body)), write=False)
