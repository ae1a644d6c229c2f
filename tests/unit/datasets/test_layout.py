"""Configs and splits of a revision: the card's configs: YAML, else huggingface.co's naming rules."""

from __future__ import annotations

from hubstead.datasets.layout import plan_configs, split_by_name


def test_push_to_hub_layout_follows_the_cards_configs() -> None:
    card = {
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": "train", "path": "data/train-*"}, {"split": "test", "path": "data/test-*"}],
            }
        ]
    }
    files = [
        "README.md",
        "data/train-00000-of-00002.parquet",
        "data/train-00001-of-00002.parquet",
        "data/test-0.parquet",
    ]
    [plan] = plan_configs(files, card)
    assert (plan.name, plan.builder, plan.error) == ("default", "parquet", None)
    assert plan.splits == {
        "train": ["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"],
        "test": ["data/test-0.parquet"],
    }


def test_split_names_come_from_file_and_folder_names() -> None:
    assert split_by_name(["dev.csv", "my_train.csv", "test/a.csv", "val-1.csv"]) == {
        "train": ["my_train.csv"],
        "validation": ["dev.csv", "val-1.csv"],
        "test": ["test/a.csv"],
    }
    assert split_by_name(["cities.csv", "more/towns.csv"]) == {"train": ["cities.csv", "more/towns.csv"]}


def test_the_most_frequent_format_wins_and_tsv_is_tab_separated() -> None:
    [plan] = plan_configs(["a.tsv", "b.tsv", "notes.txt", ".hidden/c.tsv"], None)
    assert (plan.builder, plan.options, plan.splits) == ("csv", {"sep": "\t"}, {"train": ["a.tsv", "b.tsv"]})


def test_bad_configs_are_errors_of_their_own_config() -> None:
    plans = plan_configs(
        ["a.csv"],
        {"configs": [{"config_name": "ok", "data_files": "a.csv"}, {"config_name": "no", "data_files": "b/*.csv"}]},
    )
    assert [(p.name, p.error is None) for p in plans] == [("ok", True), ("no", False)]
    assert plan_configs([], None)[0].error
