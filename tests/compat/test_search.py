"""Search, filters, sorts, pagination, downloads and likes through the official client and the SDK."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi

from hubstead.config import Settings
from tests.conftest import make_org, make_user


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    # small pages, so the client has to follow several Link headers
    return Settings(data_dir=tmp_path / "hub", database_url=database_url, secret_key="s", list_page_size=3)


def card(**fields: object) -> bytes:
    import yaml

    return f"---\n{yaml.safe_dump(fields)}---\n# Card\n".encode()


@dataclass(frozen=True)
class Corpus:
    url: str
    alice: HfApi
    bob: HfApi
    anon: HfApi


MODELS = {
    "alice/bert-sentiment": {
        "pipeline_tag": "text-classification",
        "library_name": "transformers",
        "language": "en",
        "license": "mit",
        "datasets": ["imdb"],
        "tags": ["sentiment"],
    },
    "alice/bert-ner": {
        "pipeline_tag": "token-classification",
        "library_name": "transformers",
        "language": "en",
        "license": "apache-2.0",
    },
    "acme/roberta-fr": {
        "pipeline_tag": "text-classification",
        "library_name": "transformers",
        "language": ["fr", "en"],
        "license": "other",
        "license_name": "acme-licence",
    },
    "acme/gpt-tiny": {
        "pipeline_tag": "text-generation",
        "library_name": "transformers",
        "language": ["en", "de"],
        "license": "mit",
        "base_model": "alice/bert-sentiment",
    },
    "bob/sk-model": {"library_name": "sklearn", "pipeline_tag": "tabular-classification", "license": "bsd-3-clause"},
    "bob/private-classifier": {"pipeline_tag": "text-classification", "library_name": "transformers"},
}
DOWNLOADS = {"alice/bert-sentiment": 3, "acme/roberta-fr": 5, "acme/gpt-tiny": 7, "bob/private-classifier": 9}
DATASETS = {
    "alice/imdb-mini": {
        "task_categories": ["text-classification"],
        "task_ids": ["sentiment-classification"],
        "language": ["en"],
        "size_categories": ["n<1K"],
        "multilinguality": ["monolingual"],
        "language_creators": ["found"],
        "license": "mit",
        "benchmark": "glue",
    },
    "acme/wiki-fr": {"task_categories": ["text-generation"], "language": ["fr"], "size_categories": ["1K<n<10K"]},
}


@pytest.fixture
def corpus(live_server: str, hub, user) -> Corpus:
    bob = make_user(hub, "bob")
    make_org(hub, "acme", {"alice": "admin"})
    alice = HfApi(endpoint=live_server, token=user.token)
    bob_api = HfApi(endpoint=live_server, token=bob.token)
    for repo_id, fields in MODELS.items():
        api = bob_api if repo_id.startswith("bob/") else alice
        api.create_repo(repo_id, private=repo_id == "bob/private-classifier")
        api.create_commit(
            repo_id,
            commit_message="card",
            operations=[
                CommitOperationAdd("README.md", card(**fields)),
                CommitOperationAdd("config.json", b'{"model_type": "bert"}'),
            ],
        )
    for repo_id, fields in DATASETS.items():
        alice.create_repo(repo_id, repo_type="dataset")
        alice.upload_file(
            path_or_fileobj=card(**fields), path_in_repo="README.md", repo_id=repo_id, repo_type="dataset"
        )
    alice.create_repo("alice/demo", repo_type="space", space_sdk="gradio")
    alice.create_repo("acme/app", repo_type="space", space_sdk="streamlit")
    for repo_id, count in DOWNLOADS.items():
        token = bob.token if repo_id.startswith("bob/") else user.token
        for _ in range(count):
            response = httpx.get(
                f"{live_server}/{repo_id}/resolve/main/config.json", headers={"authorization": f"Bearer {token}"}
            )
            assert response.status_code == 200
    return Corpus(url=live_server, alice=alice, bob=bob_api, anon=HfApi(endpoint=live_server, token=False))


def ids(items) -> list[str]:
    return [i.id for i in items]


def test_the_seed_snippet_prints_the_most_downloaded_text_classification_model(corpus: Corpus) -> None:
    snippet = (
        "from hubstead import HfApi, ModelFilter\n"
        "api = HfApi()\n"
        'models = api.list_models(filter=ModelFilter(task="text-classification"), sort="downloads", '
        "direction=-1, limit=1)\n"
        "modelList = list(models)\n"
        "print(modelList[0].modelId)\n"
    )
    env = {"HUBSTEAD_ENDPOINT": corpus.url, "PATH": "/usr/bin:/bin", "HF_HUB_DISABLE_TELEMETRY": "1"}
    result = subprocess.run(
        [sys.executable, "-c", snippet], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    # bob's private classifier has more downloads, but an anonymous caller must not see it
    assert result.stdout.strip() == "acme/roberta-fr"


def test_filters_alone(corpus: Corpus) -> None:
    anon = corpus.anon
    assert set(ids(anon.list_models(filter="text-classification"))) == {"alice/bert-sentiment", "acme/roberta-fr"}
    assert set(ids(anon.list_models(pipeline_tag="token-classification"))) == {"alice/bert-ner"}
    assert set(ids(anon.list_models(author="acme"))) == {"acme/roberta-fr", "acme/gpt-tiny"}
    assert set(ids(anon.list_models(author="ACME"))) == {"acme/roberta-fr", "acme/gpt-tiny"}
    assert set(ids(anon.list_models(search="BERT"))) == {"alice/bert-sentiment", "alice/bert-ner", "acme/roberta-fr"}
    assert set(ids(anon.list_models(search="ny"))) == {"acme/gpt-tiny"}  # short terms scan instead of FTS
    assert set(ids(anon.list_models(filter="license:mit"))) == {"alice/bert-sentiment", "acme/gpt-tiny"}
    assert set(ids(anon.list_models(filter="license:other"))) == {"acme/roberta-fr"}
    assert set(ids(anon.list_models(filter="sklearn"))) == {"bob/sk-model"}
    assert set(ids(anon.list_models(filter="de"))) == {"acme/gpt-tiny"}
    assert set(ids(anon.list_models(trained_dataset="imdb"))) == {"alice/bert-sentiment"}
    assert set(ids(anon.list_models(filter="base_model:alice/bert-sentiment"))) == {"acme/gpt-tiny"}
    assert set(ids(anon.list_models(filter="sentiment"))) == {"alice/bert-sentiment"}
    assert ids(anon.list_models(filter="no-such-tag")) == []
    assert set(ids(anon.list_datasets(language="fr"))) == {"acme/wiki-fr"}
    assert set(ids(anon.list_datasets(task_categories="text-classification"))) == {"alice/imdb-mini"}
    assert set(ids(anon.list_datasets(search="imdb"))) == {"alice/imdb-mini"}
    assert set(ids(anon.list_spaces(author="acme"))) == {"acme/app"}
    assert set(ids(anon.list_spaces(filter="gradio"))) == {"alice/demo"}


def test_filters_combined(corpus: Corpus) -> None:
    anon = corpus.anon
    got = anon.list_models(filter=["text-classification", "en"], author="acme", search="roberta")
    assert ids(got) == ["acme/roberta-fr"]
    assert ids(anon.list_models(filter=["text-classification", "de"])) == []
    got = anon.list_models(filter=["transformers", "license:mit"], pipeline_tag="text-generation")
    assert ids(got) == ["acme/gpt-tiny"]
    assert ids(anon.list_datasets(language="en", size_categories="n<1K", author="alice")) == ["alice/imdb-mini"]


def test_every_sort_is_descending(corpus: Corpus) -> None:
    anon = corpus.anon
    by_downloads = list(anon.list_models(sort="downloads"))
    assert ids(by_downloads)[:3] == ["acme/gpt-tiny", "acme/roberta-fr", "alice/bert-sentiment"]
    assert [m.downloads for m in by_downloads] == sorted((m.downloads for m in by_downloads), reverse=True)
    httpx.post(
        f"{corpus.url}/api/models/alice/bert-ner/like", headers={"authorization": f"Bearer {corpus.alice.token}"}
    ).raise_for_status()
    assert ids(anon.list_models(sort="likes"))[0] == "alice/bert-ner"
    assert ids(anon.list_models(sort="trending_score"))[0] == "alice/bert-ner"  # 10 per like beats 7 downloads
    created = ids(anon.list_models(sort="created_at"))
    assert created[0] == "bob/sk-model"  # the public model created last
    assert created[-1] == "alice/bert-sentiment"
    corpus.alice.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/bert-sentiment")
    assert ids(anon.list_models(sort="last_modified"))[0] == "alice/bert-sentiment"
    assert ids(anon.list_datasets(sort="created_at")) == ["acme/wiki-fr", "alice/imdb-mini"]
    assert ids(anon.list_spaces(sort="created_at")) == ["acme/app", "alice/demo"]


def test_pagination_follows_links_over_several_pages_for_every_sort(corpus: Corpus) -> None:
    # one corpus for all sorts (building it is the slow part); page size 3: five public models, six for bob
    for sort in ("downloads", "likes", "created_at", "last_modified", "trending_score", None):
        all_anon = ids(corpus.anon.list_models(sort=sort))
        assert len(all_anon) == 5, sort
        assert len(set(all_anon)) == 5, sort
        all_bob = ids(corpus.bob.list_models(sort=sort))
        assert set(all_bob) == set(all_anon) | {"bob/private-classifier"}, sort
    first = httpx.get(f"{corpus.url}/api/models", params={"sort": "downloads"})
    assert first.headers["link"].startswith(f"<{corpus.url}/api/models?")
    assert len(first.json()) == 3


def test_private_repos_appear_only_to_readers(corpus: Corpus, hub, live_server: str) -> None:
    assert "bob/private-classifier" not in ids(corpus.anon.list_models())
    assert "bob/private-classifier" not in ids(corpus.alice.list_models(search="private"))
    assert ids(corpus.bob.list_models(search="private")) == ["bob/private-classifier"]
    corpus.alice.create_repo("acme/secret-data", repo_type="dataset", private=True)
    carol = make_user(hub, "carol")
    carol_api = HfApi(endpoint=live_server, token=carol.token)
    assert ids(carol_api.list_datasets(author="acme")) == ["acme/wiki-fr"]
    assert set(ids(corpus.alice.list_datasets(author="acme"))) == {"acme/wiki-fr", "acme/secret-data"}


def test_list_payloads_carry_what_the_client_reads(corpus: Corpus) -> None:
    model = next(iter(corpus.anon.list_models(search="roberta", full=True, cardData=True)))
    assert model.pipeline_tag == "text-classification"
    assert model.library_name == "transformers"
    assert model.downloads == 5
    assert {"transformers", "bert", "text-classification", "license:other", "fr", "en"} <= set(model.tags)
    assert model.card_data["license_name"] == "acme-licence"
    assert [s.rfilename for s in model.siblings] == [".gitattributes", "README.md", "config.json"]
    assert model.sha is not None
    expanded = next(iter(corpus.anon.list_models(search="roberta", expand=["downloads", "likes"])))
    assert expanded.downloads == 5
    assert expanded.pipeline_tag is None  # only what was asked for
    with pytest.raises(Exception, match="Invalid expand"):
        list(corpus.anon.list_models(expand=["not-a-field"]))
    info = corpus.anon.model_info("acme/roberta-fr")
    assert info.downloads == 5
    assert info.downloads_all_time == 5


def test_heads_and_range_requests_are_not_downloads(corpus: Corpus) -> None:
    url = f"{corpus.url}/alice/bert-ner/resolve/main/config.json"
    httpx.head(url)
    httpx.get(url, headers={"range": "bytes=5-"})
    httpx.get(f"{corpus.url}/alice/bert-ner/resolve/main/README.md")
    assert corpus.anon.model_info("alice/bert-ner").downloads == 0
    httpx.get(url, headers={"range": "bytes=0-"})
    assert corpus.anon.model_info("alice/bert-ner").downloads == 1


def test_likes_round_trip(corpus: Corpus, live_server: str) -> None:
    from hubstead import HfApi as HubsteadApi

    sdk = HubsteadApi(endpoint=live_server, token=corpus.alice.token)
    sdk.like("acme/gpt-tiny")
    sdk.like("acme/gpt-tiny")  # idempotent
    sdk.like("alice/imdb-mini", repo_type="dataset")
    assert corpus.anon.model_info("acme/gpt-tiny").likes == 1
    liked = corpus.anon.list_liked_repos("alice")
    assert liked.models == ["acme/gpt-tiny"]
    assert liked.datasets == ["alice/imdb-mini"]
    assert liked.spaces == []
    assert [u.username for u in corpus.anon.list_repo_likers("acme/gpt-tiny")] == ["alice"]
    corpus.alice.unlike("acme/gpt-tiny")
    assert corpus.anon.model_info("acme/gpt-tiny").likes == 0
    assert list(corpus.anon.list_repo_likers("acme/gpt-tiny")) == []


def test_files_tell_model_type_and_parameter_counts(live_server: str, user, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    api = HfApi(endpoint=live_server, token=user.token)
    api.create_repo("weights")
    save_file({"a": torch.zeros(10, 20), "b": torch.zeros(5, dtype=torch.bfloat16)}, tmp_path / "model.safetensors")
    api.create_commit(
        "alice/weights",
        commit_message="weights",
        operations=[
            CommitOperationAdd("model.safetensors", tmp_path / "model.safetensors"),
            CommitOperationAdd("config.json", b'{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}'),
        ],
    )
    info = api.model_info("alice/weights", expand=["safetensors", "config", "pipeline_tag", "library_name", "tags"])
    assert info.safetensors.parameters == {"F32": 200, "BF16": 5}
    assert info.safetensors.total == 205
    assert info.config["model_type"] == "gpt2"
    assert info.pipeline_tag == "text-generation"
    assert info.library_name == "transformers"
    assert {"gpt2", "safetensors", "transformers", "text-generation"} <= set(info.tags)
    assert [m.id for m in api.list_models(filter="gpt2")] == ["alice/weights"]
