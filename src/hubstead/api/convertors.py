"""Path convertors for repo types in URLs (``/api/models/...``, ``/datasets/...``)."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

from hubstead.repos.models import RepoType

PLURAL = {"models": RepoType.MODEL, "datasets": RepoType.DATASET, "spaces": RepoType.SPACE}
PREFIX = {"datasets": RepoType.DATASET, "spaces": RepoType.SPACE}


class RepoTypesConvertor(Convertor[RepoType]):
    regex = "models|datasets|spaces"

    def convert(self, value: str) -> RepoType:
        return PLURAL[value]

    def to_string(self, value: RepoType) -> str:
        return f"{value.value}s"


class RepoPrefixConvertor(Convertor[RepoType]):
    regex = "datasets|spaces"

    def convert(self, value: str) -> RepoType:
        return PREFIX[value]

    def to_string(self, value: RepoType) -> str:
        return f"{value.value}s"


class NamespaceConvertor(Convertor[str]):
    """A path segment other than ``api``: lets download routes be matched first without taking ``/api/`` URLs."""

    regex = "(?!api/)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


def register() -> None:
    register_url_convertor("repotypes", RepoTypesConvertor())
    register_url_convertor("repoprefix", RepoPrefixConvertor())
    register_url_convertor("namespace", NamespaceConvertor())
