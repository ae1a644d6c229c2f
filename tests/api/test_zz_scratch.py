import time, httpx, pytest
from tests.api._support import seed_repo, snapshot, auth

@pytest.mark.parametrize("i", range(10))
def test_empty(live_server, user, i):
    pass

@pytest.mark.parametrize("i", range(10))
def test_seed(live_server, user, i):
    seed_repo(live_server, user.token, "alice/secret", private=True)
