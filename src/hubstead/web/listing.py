"""What the search pages offer: facets (task, library, language, licence, author), sorts, and turning a page's
query string into a ``RepoQuery`` for the same SearchService the API uses."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import QueryParams

from hubstead.repos.models import RepoType
from hubstead.repos.search import RepoQuery

PAGE_SIZE = 30
MAX_SEARCH_LENGTH = 200

# the web's sort names (huggingface.co's) -> SearchService's
SORTS = {
    "trending": ("trending", "Trending"),
    "downloads": ("downloads", "Most downloads"),
    "likes": ("likes", "Most likes"),
    "modified": ("lastModified", "Recently updated"),
    "created": ("createdAt", "Recently created"),
}
MODEL_TASKS = [
    "text-generation",
    "text-classification",
    "token-classification",
    "question-answering",
    "fill-mask",
    "summarization",
    "translation",
    "text2text-generation",
    "sentence-similarity",
    "feature-extraction",
    "zero-shot-classification",
    "image-classification",
    "object-detection",
    "text-to-image",
    "automatic-speech-recognition",
    "audio-classification",
]
LIBRARIES = [
    "transformers",
    "sentence-transformers",
    "diffusers",
    "peft",
    "timm",
    "safetensors",
    "gguf",
    "onnx",
    "pytorch",
    "sklearn",
]
LANGUAGES = ["en", "fr", "de", "es", "zh", "ja", "ar", "ru", "pt", "it", "hi", "ko", "multilingual"]
LICENSES = ["apache-2.0", "mit", "cc-by-4.0", "cc-by-sa-4.0", "openrail", "bsd-3-clause", "gpl-3.0", "other"]
SPACE_SDKS = ["gradio", "streamlit", "docker", "static"]


@dataclass(frozen=True)
class Facet:
    key: str  # query parameter
    title: str
    values: list[str]
    selected: str | None


@dataclass(frozen=True)
class Listing:
    """A search page's state, read from its query string."""

    repo_type: RepoType
    search: str
    sort: str
    author: str | None
    task: str | None
    library: str | None
    language: str | None
    license: str | None
    sdk: str | None
    cursor: str | None

    @classmethod
    def from_params(cls, repo_type: RepoType, params: QueryParams) -> Listing:
        def one(name: str) -> str | None:
            value = (params.get(name) or "").strip()
            return value[:MAX_SEARCH_LENGTH] or None

        sort = params.get("sort") or "trending"
        license_value = one("license")
        return cls(
            repo_type=repo_type,
            search=(params.get("search") or "").strip()[:MAX_SEARCH_LENGTH],
            sort=sort if sort in SORTS else "trending",
            author=one("author"),
            task=one("pipeline_tag") or one("task_categories"),
            library=one("library"),
            language=one("language"),
            license=license_value.removeprefix("license:") if license_value else None,
            sdk=one("sdk"),
            cursor=one("cursor"),
        )

    @property
    def task_key(self) -> str:
        return "pipeline_tag" if self.repo_type is RepoType.MODEL else "task_categories"

    def params(self) -> dict[str, str | None]:
        """The query string that shows this listing again (without its page cursor)."""
        return {
            "search": self.search or None,
            self.task_key: self.task,
            "library": self.library,
            "language": self.language,
            "license": self.license,
            "sdk": self.sdk,
            "author": self.author,
            "sort": None if self.sort == "trending" else self.sort,
        }

    def query(self, limit: int = PAGE_SIZE) -> RepoQuery:
        tags: list[str] = []
        if self.repo_type is not RepoType.MODEL and self.task:
            tags.append(f"task_categories:{self.task}")
        if self.library:
            tags.append(self.library)
        if self.language:
            tags.append(f"language:{self.language}")
        if self.license:
            tags.append(f"license:{self.license}")
        if self.sdk:
            tags.append(self.sdk)
        return RepoQuery(
            repo_type=self.repo_type,
            search=[self.search] if self.search else [],
            author=self.author,
            tags=tags,
            pipeline_tag=self.task if self.repo_type is RepoType.MODEL else None,
            sort=SORTS[self.sort][0],
            limit=limit,
            cursor=self.cursor,
        )

    def facets(self) -> list[Facet]:
        facets = []
        if self.repo_type is RepoType.SPACE:
            facets.append(Facet("sdk", "SDK", SPACE_SDKS, self.sdk))
        else:
            facets.append(Facet(self.task_key, "Tasks", MODEL_TASKS, self.task))
        if self.repo_type is RepoType.MODEL:
            facets.append(Facet("library", "Libraries", LIBRARIES, self.library))
        facets.append(Facet("language", "Languages", LANGUAGES, self.language))
        facets.append(Facet("license", "Licenses", LICENSES, self.license))
        return facets
