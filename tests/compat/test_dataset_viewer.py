"""The dataset viewer against a live Hubstead: every push to a dataset's main branch is converted to parquet on
refs/convert/parquet (a background job), and the viewer API under /datasets-server/ serves its rows."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest

datasets = pytest.importorskip("datasets")

from huggingface_hub import HfApi  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(settings: Any) -> Any:
    """Shards of 1 MiB, so that a test dataset of a few MB spans several."""
    return settings.model_copy(update={"datasets": settings.datasets.model_copy(update={"shard_bytes": 1024 * 1024})})


TRAIN = {
    "text": ["a good film", "a bad film", "quite fine", "not great"],
    "label": [1, 0, 1, 0],
    "score": [0.9, 0.1, 0.7, 0.3],
}
TEST = {"text": ["lovely", "awful"], "label": [1, 0], "score": [0.8, 0.2]}


def _viewer(live_server: str, path: str, token: str | None = None, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{live_server}/datasets-server/{path}", params=params, headers=headers, timeout=60)


def _upload(api: HfApi, repo_id: str, files: dict[str, bytes]) -> None:
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    from huggingface_hub import CommitOperationAdd

    ops = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=b) for p, b in files.items()]
    api.create_commit(repo_id, ops, commit_message="data", repo_type="dataset")


def test_pushed_dataset_dict_is_converted_and_served(live_server: str, hub: Any, user: Any, tmp_path: Path) -> None:
    repo_id = f"{user.name}/reviews"
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(TRAIN), "test": datasets.Dataset.from_dict(TEST)}
    ).push_to_hub(repo_id, token=user.token)
    hub.wait_for_jobs(300)

    api = HfApi(endpoint=live_server, token=user.token)
    refs = api.list_repo_refs(repo_id, repo_type="dataset")
    assert [c.ref for c in refs.converts] == ["refs/convert/parquet"]
    files = api.list_repo_files(repo_id, repo_type="dataset", revision="refs/convert/parquet")
    assert {"default/train/0000.parquet", "default/test/0000.parquet"} <= set(files)

    loaded = datasets.load_dataset(
        repo_id, revision="refs/convert/parquet", token=user.token, cache_dir=str(tmp_path / "c")
    )
    assert loaded["train"].to_dict() == TRAIN
    assert loaded["test"].to_dict() == TEST

    splits = _viewer(live_server, "splits", user.token, dataset=repo_id).json()
    assert splits["splits"] == [
        {"dataset": repo_id, "config": "default", "split": "train"},
        {"dataset": repo_id, "config": "default", "split": "test"},
    ]
    first = _viewer(live_server, "first-rows", user.token, dataset=repo_id, config="default", split="train").json()
    assert [f["name"] for f in first["features"]] == ["text", "label", "score"]
    assert first["features"][1]["type"] == {"dtype": "int64", "_type": "Value"}
    assert [r["row"] for r in first["rows"]] == [
        {"text": t, "label": label, "score": s}
        for t, label, s in zip(TRAIN["text"], TRAIN["label"], TRAIN["score"], strict=True)
    ]
    assert first["rows"][0]["row_idx"] == 0
    assert first["truncated"] is False

    rows = _viewer(
        live_server, "rows", user.token, dataset=repo_id, config="default", split="train", offset=2, length=2
    ).json()
    assert [r["row_idx"] for r in rows["rows"]] == [2, 3]
    assert rows["num_rows_total"] == 4
    assert rows["num_rows_per_page"] == 100
    assert rows["partial"] is False

    found = _viewer(
        live_server, "search", user.token, dataset=repo_id, config="default", split="train", query="FILM good"
    ).json()
    assert [r["row"]["text"] for r in found["rows"]] == ["a good film"]
    assert found["num_rows_total"] == 1

    filtered = _viewer(
        live_server,
        "filter",
        user.token,
        dataset=repo_id,
        config="default",
        split="train",
        where='"label" = 1 AND "text" LIKE \'%fine%\'',
        orderby='"score" DESC',
    ).json()
    assert [r["row_idx"] for r in filtered["rows"]] == [2]
    assert filtered["num_rows_total"] == 1
    ordered = _viewer(
        live_server, "filter", user.token, dataset=repo_id, config="default", split="train", orderby='"score" DESC'
    ).json()
    assert [r["row_idx"] for r in ordered["rows"]] == [0, 2, 3, 1]

    stats = _viewer(live_server, "statistics", user.token, dataset=repo_id, config="default", split="train").json()
    assert stats["num_examples"] == 4
    by_name = {s["column_name"]: s for s in stats["statistics"]}
    assert by_name["score"]["column_type"] == "float"
    assert by_name["score"]["column_statistics"]["max"] == 0.9
    assert sum(by_name["score"]["column_statistics"]["histogram"]["hist"]) == 4
    assert by_name["text"]["column_type"] == "string_label"

    valid = _viewer(live_server, "is-valid", user.token, dataset=repo_id).json()
    assert valid == {
        "preview": True,
        "viewer": True,
        "search": True,
        "filter": True,
        "statistics": True,
        "partial": False,
    }
    size = _viewer(live_server, "size", user.token, dataset=repo_id).json()["size"]
    assert size["dataset"]["num_rows"] == 6
    info = _viewer(live_server, "info", user.token, dataset=repo_id).json()
    assert info["dataset_info"]["default"]["splits"]["test"]["num_examples"] == 2
    parquet = _viewer(live_server, "parquet", user.token, dataset=repo_id).json()["parquet_files"]
    assert {p["split"] for p in parquet} == {"train", "test"}
    assert parquet[0]["url"].startswith(f"{live_server}/datasets/{repo_id}/resolve/refs%2Fconvert%2Fparquet/")
    listing = httpx.get(
        f"{live_server}/api/datasets/{repo_id}/parquet", headers={"Authorization": f"Bearer {user.token}"}
    ).json()
    assert listing["default"]["train"] == [
        f"{live_server}/datasets/{repo_id}/resolve/refs%2Fconvert%2Fparquet/default/train/0000.parquet"
    ]
    shard = httpx.get(
        listing["default"]["train"][0], headers={"Authorization": f"Bearer {user.token}"}, follow_redirects=True
    )
    assert shard.status_code == 200
    assert shard.content.startswith(b"PAR1")


@pytest.mark.parametrize(
    "where",
    [
        '"label" = 1; DROP TABLE data',
        "\"text\" = read_csv('/etc/passwd')",
        '"label" IN (SELECT 1)',
        "COPY data TO '/tmp/out.csv'",
        '"label" = 1 -- comment',
        '"label" = 1 /* comment */',
        "\"text\" = '/etc/passwd' OR read_text('/etc/passwd') = ''",
        '"missing" = 1',
        '"label" = ',
        '"label" = "score"',
    ],
)
def test_injection_attempts_in_where_answer_400(live_server: str, hub: Any, user: Any, where: str) -> None:
    repo_id = f"{user.name}/tiny"
    _upload(HfApi(endpoint=live_server, token=user.token), repo_id, {"data.csv": b"text,label\nhello,1\nbye,0\n"})
    hub.wait_for_jobs(120)

    answer = _viewer(live_server, "filter", user.token, dataset=repo_id, config="default", split="train", where=where)

    assert answer.status_code == 400, answer.text
    assert answer.headers["X-Error-Code"] == "InvalidParameter"
    assert answer.json()["error"]
    rows = _viewer(live_server, "rows", user.token, dataset=repo_id, config="default", split="train").json()
    assert [r["row"] for r in rows["rows"]] == [{"text": "hello", "label": 1}, {"text": "bye", "label": 0}]


@pytest.mark.parametrize("orderby", ['"label"; DELETE FROM data', "random()", '"label" DESC, (SELECT 1)', "1"])
def test_injection_attempts_in_orderby_answer_400(live_server: str, hub: Any, user: Any, orderby: str) -> None:
    repo_id = f"{user.name}/tiny"
    _upload(HfApi(endpoint=live_server, token=user.token), repo_id, {"data.csv": b"text,label\nhello,1\nbye,0\n"})
    hub.wait_for_jobs(120)

    answer = _viewer(
        live_server, "filter", user.token, dataset=repo_id, config="default", split="train", orderby=orderby
    )

    assert answer.status_code == 400, answer.text
    assert answer.headers["X-Error-Code"] == "InvalidParameter"


def test_csv_jsonl_and_tsv_files_are_converted(live_server: str, hub: Any, user: Any, tmp_path: Path) -> None:
    repo_id = f"{user.name}/mixed"
    api = HfApi(endpoint=live_server, token=user.token)
    card = (
        b"---\nconfigs:\n- config_name: cities\n  data_files: cities/*.csv\n- config_name: notes\n  data_files:\n"
        b"  - split: train\n    path: notes/train.jsonl\n  - split: test\n    path: notes/test.jsonl\n---\n# mixed\n"
    )
    _upload(
        api,
        repo_id,
        {
            "README.md": card,
            "cities/a.csv": b"city,population\nParis,2102650\nLyon,522250\n",
            "cities/b.csv": b"city,population\nTurin,841600\n",
            "notes/train.jsonl": b'{"note": "first", "n": 1}\n{"note": "second", "n": 2}\n',
            "notes/test.jsonl": b'{"note": "third", "n": 3}\n',
        },
    )
    hub.wait_for_jobs(120)

    splits = _viewer(live_server, "splits", user.token, dataset=repo_id).json()["splits"]
    assert [(s["config"], s["split"]) for s in splits] == [("cities", "train"), ("notes", "train"), ("notes", "test")]
    rows = _viewer(live_server, "rows", user.token, dataset=repo_id, config="cities", split="train").json()
    assert [r["row"]["city"] for r in rows["rows"]] == ["Paris", "Lyon", "Turin"]
    loaded = datasets.load_dataset(
        repo_id, "notes", revision="refs/convert/parquet", token=user.token, cache_dir=str(tmp_path / "c")
    )
    assert loaded["train"].to_dict() == {"note": ["first", "second"], "n": [1, 2]}
    assert loaded["test"].to_dict() == {"note": ["third"], "n": [3]}


def test_a_config_that_cannot_be_read_is_reported_and_the_others_convert(live_server: str, hub: Any, user: Any) -> None:
    repo_id = f"{user.name}/broken"
    card = (
        b"---\nconfigs:\n- config_name: good\n  data_files: good.csv\n"
        b"- config_name: bad\n  data_files: bad.jsonl\n---\n"
    )
    _upload(
        HfApi(endpoint=live_server, token=user.token),
        repo_id,
        {"README.md": card, "good.csv": b"a,b\n1,2\n", "bad.jsonl": b'{"a": 1}\nthis is not json\n'},
    )
    hub.wait_for_jobs(120)

    splits = _viewer(live_server, "splits", user.token, dataset=repo_id).json()
    assert splits["splits"] == [{"dataset": repo_id, "config": "good", "split": "train"}]
    assert [f["config"] for f in splits["failed"]] == ["bad"]
    assert "bad.jsonl" in splits["failed"][0]["error"]["error"]


def test_image_folder_is_converted_with_its_labels(live_server: str, hub: Any, user: Any, tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    repo_id = f"{user.name}/pictures"

    def png(color: tuple[int, int, int]) -> bytes:
        out = io.BytesIO()
        pil.new("RGB", (4, 3), color).save(out, format="PNG")
        return out.getvalue()

    colors = {"red": (255, 0, 0), "blue": (0, 0, 255)}
    files = {f"train/{kind}/{i}.png": png((*rgb[:2], rgb[2] - i)) for kind, rgb in colors.items() for i in range(2)}
    _upload(HfApi(endpoint=live_server, token=user.token), repo_id, files)
    hub.wait_for_jobs(120)

    first = _viewer(live_server, "first-rows", user.token, dataset=repo_id, config="default", split="train").json()
    assert [f["type"]["_type"] for f in first["features"]] == ["Image", "ClassLabel"]
    assert first["rows"][0]["row"]["image"]["src"].startswith("data:image/png;base64,")
    loaded = datasets.load_dataset(
        repo_id, revision="refs/convert/parquet", token=user.token, cache_dir=str(tmp_path / "c")
    )
    assert loaded["train"].features["label"].names == ["blue", "red"]
    assert loaded["train"][0]["image"].size == (4, 3)


def test_private_dataset_viewer_is_invisible_to_others(live_server: str, hub: Any, user: Any, other_user: Any) -> None:
    repo_id = f"{user.name}/secret"
    api = HfApi(endpoint=live_server, token=user.token)
    api.create_repo(repo_id, repo_type="dataset", private=True)
    _upload(api, repo_id, {"data.csv": b"text\nclassified\n"})
    hub.wait_for_jobs(120)

    assert _viewer(live_server, "splits", user.token, dataset=repo_id).status_code == 200
    for token in (None, other_user.token):
        for endpoint in ("splits", "first-rows", "rows", "search", "filter", "statistics", "parquet", "is-valid"):
            answer = _viewer(
                live_server, endpoint, token, dataset=repo_id, config="default", split="train", query="classified"
            )
            assert answer.status_code in (401, 404), (endpoint, answer.status_code)
            assert "classified" not in answer.text
        listing = httpx.get(
            f"{live_server}/api/datasets/{repo_id}/parquet",
            headers={"Authorization": f"Bearer {token}"} if token else {},
        )
        assert listing.status_code in (401, 404)


def test_second_push_reconverts_and_old_rows_never_show(live_server: str, hub: Any, user: Any) -> None:
    repo_id = f"{user.name}/changing"
    api = HfApi(endpoint=live_server, token=user.token)
    _upload(api, repo_id, {"data.csv": b"word\nold-one\nold-two\n"})
    hub.wait_for_jobs(120)
    assert _viewer(live_server, "rows", user.token, dataset=repo_id, config="default", split="train").status_code == 200

    _upload(api, repo_id, {"data.csv": b"word\nnew\n"})
    pending = _viewer(live_server, "rows", user.token, dataset=repo_id, config="default", split="train")
    assert pending.status_code == 422
    assert pending.headers["X-Error-Code"] == "ResponseNotReady"
    assert "old" not in pending.text

    hub.wait_for_jobs(120)
    rows = _viewer(live_server, "rows", user.token, dataset=repo_id, config="default", split="train").json()
    assert [r["row"] for r in rows["rows"]] == [{"word": "new"}]
    found = _viewer(live_server, "search", user.token, dataset=repo_id, config="default", split="train", query="old")
    assert found.json()["num_rows_total"] == 0
    files = api.list_repo_files(repo_id, repo_type="dataset", revision="refs/convert/parquet")
    assert "default/train/0000.parquet" in files


LARGE_ROWS = 250_000


def test_search_and_filter_find_a_row_in_the_last_row_group_of_a_large_split(
    live_server: str, hub: Any, user: Any, tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    repo_id = f"{user.name}/large"
    table = pa.table(
        {
            "text": [f"row number {i}" for i in range(LARGE_ROWS - 1)] + ["the needle zebra"],
            "value": list(range(LARGE_ROWS)),
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out)
    _upload(HfApi(endpoint=live_server, token=user.token), repo_id, {"data/train.parquet": out.getvalue()})
    hub.wait_for_jobs(300)

    shards = _viewer(live_server, "parquet", user.token, dataset=repo_id).json()["parquet_files"]
    assert len(shards) > 1  # size-bounded shards (the test hub's shards are small)
    last = LARGE_ROWS - 1
    found = _viewer(
        live_server, "search", user.token, dataset=repo_id, config="default", split="train", query="zebra"
    ).json()
    assert [(r["row_idx"], r["row"]["text"]) for r in found["rows"]] == [(last, "the needle zebra")]
    filtered = _viewer(
        live_server, "filter", user.token, dataset=repo_id, config="default", split="train", where=f'"value" >= {last}'
    ).json()
    assert [r["row_idx"] for r in filtered["rows"]] == [last]
    assert filtered["num_rows_total"] == 1
    end = _viewer(
        live_server, "rows", user.token, dataset=repo_id, config="default", split="train", offset=last - 1, length=5
    ).json()
    assert [r["row"]["value"] for r in end["rows"]] == [last - 1, last]
    loaded = datasets.load_dataset(
        repo_id, revision="refs/convert/parquet", token=user.token, cache_dir=str(tmp_path / "c")
    )
    assert loaded["train"].num_rows == LARGE_ROWS
    assert loaded["train"][last] == {"text": "the needle zebra", "value": last}


def _wav(samples: int) -> bytes:
    import struct

    data = b"\x00\x00" * samples
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(data),
        b"WAVE",
        b"fmt ",
        16,
        1,
        1,
        8000,
        16000,
        2,
        16,
        b"data",
        len(data),
    )
    return header + data


def test_audio_folder_with_metadata_is_converted(live_server: str, hub: Any, user: Any) -> None:
    repo_id = f"{user.name}/sounds"
    files = {
        "data/a.wav": _wav(10),
        "data/b.wav": _wav(20),
        "data/c.wav": _wav(30),
        "data/metadata.csv": b"file_name,transcript\na.wav,hello\nb.wav,world\n",  # c.wav is not described
    }
    _upload(HfApi(endpoint=live_server, token=user.token), repo_id, files)
    hub.wait_for_jobs(120)

    first = _viewer(live_server, "first-rows", user.token, dataset=repo_id, config="default", split="train").json()
    assert [(f["name"], f["type"].get("_type")) for f in first["features"]] == [
        ("audio", "Audio"),
        ("transcript", "Value"),
    ]
    assert [r["row"]["transcript"] for r in first["rows"]] == ["hello", "world"]
    assert first["rows"][0]["row"]["audio"]["src"].startswith("data:audio/wav;base64,UklGR")
    found = _viewer(live_server, "search", user.token, dataset=repo_id, config="default", split="train", query="world")
    assert [r["row_idx"] for r in found.json()["rows"]] == [1]


def test_a_card_with_viewer_false_turns_the_viewer_off(live_server: str, hub: Any, user: Any) -> None:
    repo_id = f"{user.name}/hidden-rows"
    _upload(
        HfApi(endpoint=live_server, token=user.token),
        repo_id,
        {"README.md": b"---\nviewer: false\n---\n", "data.csv": b"a\n1\n"},
    )
    hub.wait_for_jobs(60)

    answer = _viewer(live_server, "splits", user.token, dataset=repo_id)
    assert answer.status_code == 404
    assert answer.headers["X-Error-Code"] == "ResponseNotFound"
    refs = HfApi(endpoint=live_server, token=user.token).list_repo_refs(repo_id, repo_type="dataset")
    assert refs.converts == []
