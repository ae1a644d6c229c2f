"""Access control as the official client sees it: RepositoryNotFoundError for private repos, GatedRepoError
before an access request is accepted and a download after, the access-request API of ``HfApi``, and a
revoked token refused at once."""

from __future__ import annotations

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

from tests.api._support import auth
from tests.conftest import make_user


@pytest.fixture
def api(live_server: str, user) -> HfApi:
    return HfApi(endpoint=live_server, token=user.token)


def download(live_server: str, repo_id: str, token: str | bool, cache_dir) -> str:
    return hf_hub_download(repo_id, ".gitattributes", token=token, endpoint=live_server, cache_dir=cache_dir)


def test_a_private_repo_is_not_found_for_outsiders(api, live_server, other_user, tmp_path):
    api.create_repo("secret", private=True)
    outsider = HfApi(endpoint=live_server, token=other_user.token)

    with pytest.raises(RepositoryNotFoundError):
        outsider.model_info("alice/secret")
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=live_server, token=False).list_repo_files("alice/secret")
    for token in (other_user.token, False):
        with pytest.raises(RepositoryNotFoundError) as raised:
            download(live_server, "alice/secret", token, tmp_path)
        assert not isinstance(raised.value, GatedRepoError)
    assert api.model_info("alice/secret").private is True


def test_gated_files_need_an_accepted_request_and_metadata_stays_readable(api, live_server, other_user, tmp_path):
    repo_id = api.create_repo("gated").repo_id
    api.update_repo_settings(repo_id, gated="manual")
    bob = HfApi(endpoint=live_server, token=other_user.token)

    assert bob.model_info(repo_id).gated == "manual"
    assert ".gitattributes" in bob.list_repo_files(repo_id)
    with pytest.raises(GatedRepoError, match=r"Access to model alice/gated is restricted and you are not in the"):
        download(live_server, repo_id, other_user.token, tmp_path / "a")
    with pytest.raises(GatedRepoError):
        download(live_server, repo_id, False, tmp_path / "b")

    asked = httpx.post(f"{live_server}/api/models/{repo_id}/ask-access", headers=auth(other_user.token))
    assert asked.json() == {"status": "pending"}
    assert [r.username for r in api.list_pending_access_requests(repo_id)] == ["bob"]
    with pytest.raises(GatedRepoError):
        download(live_server, repo_id, other_user.token, tmp_path / "c")

    api.accept_access_request(repo_id, "bob")

    assert download(live_server, repo_id, other_user.token, tmp_path / "d")
    assert [r.username for r in api.list_accepted_access_requests(repo_id)] == ["bob"]

    api.reject_access_request(repo_id, "bob", rejection_reason="not this time")

    with pytest.raises(GatedRepoError):
        download(live_server, repo_id, other_user.token, tmp_path / "e")
    rejected = api.list_rejected_access_requests(repo_id)
    assert [(r.username, r.status, r.email) for r in rejected] == [("bob", "rejected", "bob@example.org")]

    api.cancel_access_request(repo_id, "bob")
    assert [r.username for r in api.list_pending_access_requests(repo_id)] == ["bob"]


def test_an_auto_gate_accepts_at_once_and_grants_need_no_request(api, live_server, hub, other_user, tmp_path):
    repo_id = api.create_repo("auto").repo_id
    api.update_repo_settings(repo_id, gated="auto")
    carol = make_user(hub, "carol")

    asked = httpx.post(f"{live_server}/api/models/{repo_id}/ask-access", headers=auth(other_user.token))

    assert asked.json() == {"status": "accepted"}
    assert download(live_server, repo_id, other_user.token, tmp_path / "bob")
    with pytest.raises(GatedRepoError):
        download(live_server, repo_id, carol.token, tmp_path / "carol-before")
    api.grant_access(repo_id, "carol")
    assert download(live_server, repo_id, carol.token, tmp_path / "carol")
    with pytest.raises(HfHubHTTPError) as again:
        api.grant_access(repo_id, "carol")
    assert again.value.response.status_code == 400


def test_only_managers_with_a_full_credential_handle_access_requests(api, live_server, user, other_user):
    repo_id = api.create_repo("managed").repo_id
    api.update_repo_settings(repo_id, gated="manual")

    for token, call in [
        (other_user.token, lambda a: a.grant_access(repo_id, "bob")),
        (other_user.token, lambda a: list(a.list_pending_access_requests(repo_id))),
        (user.read_token, lambda a: a.grant_access(repo_id, "bob")),
        (user.read_token, lambda a: list(a.list_pending_access_requests(repo_id))),
    ]:
        with pytest.raises(HfHubHTTPError) as refused:
            call(HfApi(endpoint=live_server, token=token))
        assert refused.value.response.status_code == 403
    with pytest.raises(RepositoryNotFoundError):
        list(api.list_pending_access_requests("alice/missing"))


def test_a_revoked_token_is_refused_at_once(api, live_server, user):
    created = httpx.post(
        f"{live_server}/api/hubstead/tokens",
        json={"displayName": "short-lived", "role": "write"},
        headers=auth(user.token),
    ).json()
    short_lived = HfApi(endpoint=live_server, token=created["token"])
    assert short_lived.whoami()["auth"]["accessToken"]["displayName"] == "short-lived"

    httpx.delete(f"{live_server}/api/hubstead/tokens/{created['id']}", headers=auth(user.token))

    with pytest.raises(HfHubHTTPError) as refused:
        short_lived.whoami()
    assert refused.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError):
        short_lived.create_repo("never")
