"""RepoService: create, find, move, delete repos and change their settings, with access checks."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, load_only

from hubstead.accounts.models import Account, AccountType
from hubstead.accounts.permissions import Access, Actor, namespace_access, repo_access
from hubstead.accounts.services import AccountService
from hubstead.audit.services import AuditLog
from hubstead.db.base import utcnow
from hubstead.db.outcomes import after_commit, on_rollback
from hubstead.errors import (
    AuthenticationError,
    BlobNotFoundError,
    ConcurrentUpdateError,
    GatedRepoAuthRequiredError,
    GatedRepoError,
    InvalidInputError,
    PermissionDeniedError,
    RefAlreadyExistsError,
    RepoAlreadyExistsError,
    RepoNotFoundError,
)
from hubstead.gitstore import Change, GitRepo, GitStore, TreeEntry
from hubstead.objects import RepoLfsObject
from hubstead.repos.cards import parse_card_data
from hubstead.repos.indexing import derive_facts, parse_config, safetensors_parameters
from hubstead.repos.lfs_pointer import MAX_POINTER_SIZE, parse_pointer
from hubstead.repos.models import AccessRequest, AccessRequestStatus, Repo, RepoTag, RepoType
from hubstead.repos.naming import RepoRef, parse_repo_id, validate_repo_name
from hubstead.repos.search import SearchService
from hubstead.storage import BlobStore
from hubstead.xet.services import repo_objects

DEFAULT_BRANCH = "main"
SPACE_SDKS = frozenset({"gradio", "streamlit", "docker", "static"})
GATED_VALUES = frozenset({"auto", "manual"})
MAX_README_BYTES = 16 * 1024 * 1024  # a README read for its card metadata (the API keeps larger files in LFS)
LFS_PATTERNS = [
    "*.7z",
    "*.arrow",
    "*.bin",
    "*.bz2",
    "*.ckpt",
    "*.ftz",
    "*.gz",
    "*.h5",
    "*.joblib",
    "*.lfs.*",
    "*.mlmodel",
    "*.model",
    "*.msgpack",
    "*.npy",
    "*.npz",
    "*.onnx",
    "*.ot",
    "*.parquet",
    "*.pb",
    "*.pickle",
    "*.pkl",
    "*.pt",
    "*.pth",
    "*.rar",
    "*.safetensors",
    "saved_model/**/*",
    "*.tar.*",
    "*.tar",
    "*.tflite",
    "*.tgz",
    "*.wasm",
    "*.xz",
    "*.zip",
    "*.zst",
    "*tfevents*",
]
MEDIA_PATTERNS = [
    "*.mds",
    "*.pcm",
    "*.sam",
    "*.raw",
    "*.aac",
    "*.flac",
    "*.mp3",
    "*.ogg",
    "*.wav",
    "*.bmp",
    "*.gif",
    "*.png",
    "*.tiff",
    "*.jpg",
    "*.jpeg",
    "*.webp",
    "*.mp4",
    "*.webm",
]


# built once: constructing the statement costs more than running it, and every request looks a repo up
_FIND_REPO = select(Repo).where(Repo.type == bindparam("type"), Repo.id_key == bindparam("id_key"))
# what access checks and downloads read: loading the card, tags and file facts as well (JSON, decoded on every
# load) costs a sixth of a HEAD of a file; any other column still loads when it is first read
_FIND_REPO_LIGHT = _FIND_REPO.options(
    load_only(Repo.id, Repo.type, Repo.namespace, Repo.name, Repo.private, Repo.gated, Repo.owner_id)
)


def default_gitattributes(repo_type: RepoType) -> bytes:
    patterns = LFS_PATTERNS + (MEDIA_PATTERNS if repo_type is RepoType.DATASET else [])
    return "".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in patterns).encode()


SPACE_COLORS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")
SPACE_EMOJI = ("🚀", "🔥", "🌍", "🐢", "🦀", "📊", "🎨", "🧪")


def default_space_card(repo: Repo) -> bytes:
    """The README a new Space starts with: its title, a look for its listing, and its SDK (``static`` if the
    creator named none), in the card fields the Spaces runner and the website read."""
    pick = int(hashlib.sha256(repo.repo_id.encode()).hexdigest(), 16)
    color_from, color_to = SPACE_COLORS[pick % 8], SPACE_COLORS[(pick // 8) % 8]
    lines = [
        "---",
        f"title: {repo.name}",
        f"emoji: {SPACE_EMOJI[(pick // 64) % 8]}",
        f"colorFrom: {color_from}",
        f"colorTo: {color_to}",
        f"sdk: {repo.sdk or 'static'}",
        "pinned: false",
        "---",
        "",
        f"# {repo.name}",
        "",
        "Describe the app here. The fields above set how the Space runs (`sdk`, `app_file`, `sdk_version`,",
        "`python_version`, `app_port`) and how it looks in listings.",
        "",
    ]
    return "\n".join(lines).encode()


def author_email(account: Account) -> str:
    return account.email or f"{account.name}@users.noreply.hubstead"


@dataclass(frozen=True)
class RepoSettings:
    private: bool | None = None
    gated: str | bool | None = None
    protect_main: bool | None = None  # refuse non-fast-forward git pushes to main


class RepoService:
    """Repos as rows plus bare git repos. Raises RepoNotFoundError for anything the actor can't read."""

    def __init__(self, session: Session, git: GitStore, blobs: BlobStore | None = None) -> None:
        self.session = session
        self.git = git
        self.blobs = blobs
        self.accounts = AccountService(session)

    # --- finding ------------------------------------------------------------------------------

    def find_repo(self, repo_type: RepoType, repo_id: str, *, light: bool = False) -> Repo | None:
        """``light``: load only the columns access checks and downloads read (the others load when first read)."""
        if "\x00" in repo_id:  # no repo id holds one, and PostgreSQL refuses NUL in a query parameter
            return None
        statement = _FIND_REPO_LIGHT if light else _FIND_REPO
        return self.session.scalar(statement, {"type": repo_type, "id_key": repo_id.lower()})

    def get_repo(self, repo_type: RepoType, repo_id: str, actor: Actor, *, light: bool = False) -> Repo:
        """The repo if ``actor`` may read it; otherwise RepoNotFoundError, exactly as if it did not exist."""
        repo = self.find_repo(repo_type, repo_id, light=light)
        if repo is None or not access_to(actor, repo).read:
            raise RepoNotFoundError()
        return repo

    def get_repo_for_write(self, repo_type: RepoType, repo_id: str, actor: Actor) -> Repo:
        repo = self.get_repo(repo_type, repo_id, actor)
        self._require_write(actor, repo)
        return repo

    def get_repo_for_contribution(self, repo_type: RepoType, repo_id: str, actor: Actor) -> Repo:
        """The repo if ``actor`` may at least contribute: create branches, commit to other branches than the
        default one, upload LFS objects for such commits."""
        repo = self.get_repo(repo_type, repo_id, actor)
        if not access_to(actor, repo).contribute:
            self._require_write(actor, repo)  # raises with the message of a refused write
        return repo

    def get_repo_for_commit(self, repo_type: RepoType, repo_id: str, actor: Actor, branch: str) -> Repo:
        """The repo if ``actor`` may commit to ``branch``: the default branch needs write access, another
        branch contributor access."""
        if branch.removeprefix("refs/heads/") == DEFAULT_BRANCH:
            return self.get_repo_for_write(repo_type, repo_id, actor)
        return self.get_repo_for_contribution(repo_type, repo_id, actor)

    def get_repo_for_download(self, repo_type: RepoType, repo_id: str, actor: Actor, *, light: bool = False) -> Repo:
        """The repo if ``actor`` may read its files (see ``may_download``): GatedRepoAuthRequiredError for an
        anonymous caller, GatedRepoError for a signed-in one. Metadata (info, tree, refs, commits) stays
        readable through ``get_repo``; every route and page that shows file content goes through here."""
        repo = self.get_repo(repo_type, repo_id, actor, light=light)
        if self.may_download(repo, actor):
            return repo
        if actor.account is None:
            raise GatedRepoAuthRequiredError(repo.type.value, repo.repo_id)
        raise GatedRepoError(repo.type.value, repo.repo_id, f"/{repo.type.url_prefix}{repo.repo_id}")

    def may_download(self, repo: Repo, actor: Actor) -> bool:
        """Whether ``actor``, who may read ``repo``, may also read its files: always for a repo that is not
        gated; for a gated one, owners, members and site admins, or a user whose access request was accepted
        (through a fine-grained token only if it may read gated repos)."""
        if repo.gated is None or access_to(actor, repo).member:
            return True
        if actor.account is None:
            return False
        token_may = actor.scopes is None or actor.scopes.can_read_gated_repos
        return token_may and self._access_granted(repo, actor.account)

    def _access_granted(self, repo: Repo, user: Account) -> bool:
        status = self.session.scalar(
            select(AccessRequest.status).where(AccessRequest.repo_id == repo.id, AccessRequest.user_id == user.id)
        )
        return status == AccessRequestStatus.ACCEPTED

    @staticmethod
    def _require_write(actor: Actor, repo: Repo) -> None:
        if actor.is_anonymous:
            raise AuthenticationError("You must be authenticated to write to a repository")
        if not access_to(actor, repo).write:
            raise PermissionDeniedError(
                f"You don't have write access to {repo.type.value} {repo.repo_id}"
                + (" (read-only token)" if not actor.may_write_at_all else "")
            )

    def open_git(self, repo: Repo) -> GitRepo:
        return self.git.open(ref_of(repo).storage_key)

    def open_git_for_reading(self, repo: Repo) -> GitRepo:
        """The repo's git repository, kept open by this thread between requests: only to read from."""
        return self.git.open_for_reading(ref_of(repo).storage_key)

    # --- creating, moving, deleting -----------------------------------------------------------

    def create_repo(
        self,
        actor: Actor,
        repo_type: RepoType,
        name: str,
        namespace: str | None = None,
        private: bool | None = None,
        sdk: str | None = None,
    ) -> Repo:
        if actor.account is None:
            raise AuthenticationError("You must be authenticated to create a repository")
        namespace = namespace or actor.account.name
        validate_repo_name(name)
        owner = self.accounts.find_account(namespace)
        if owner is None:
            raise PermissionDeniedError(f"You don't have the rights to create a repo under {namespace}")
        if not namespace_access(actor, owner.name).write:
            raise PermissionDeniedError(f"You don't have the rights to create a repo under {owner.name}")
        if repo_type is RepoType.SPACE and sdk is not None and sdk not in SPACE_SDKS:
            raise InvalidInputError(f"Invalid Space SDK {sdk!r}: expected one of {sorted(SPACE_SDKS)}")
        repo_id = f"{owner.name}/{name}"
        if self.find_repo(repo_type, repo_id) is not None:
            raise RepoAlreadyExistsError(f"You already created this {repo_type.value} repo", repo_id=repo_id)
        repo = Repo(
            type=repo_type,
            namespace=owner.name,
            name=name,
            id_key=repo_id.lower(),
            owner_id=owner.id,
            private=bool(private),
            sdk=sdk if repo_type is RepoType.SPACE else None,
        )
        self.session.add(repo)
        try:
            self.session.flush()
        except IntegrityError:
            raise RepoAlreadyExistsError(f"You already created this {repo_type.value} repo", repo_id=repo_id) from None
        self.record_commit(repo, self._init_git(repo, actor.account))
        return repo

    def _init_git(self, repo: Repo, author: Account) -> str:
        key = ref_of(repo).storage_key
        self.git.delete(key)  # a leftover of a failed creation, never a live repo (its row did not exist)
        git = self.git.init(key, DEFAULT_BRANCH)
        files = [Change(".gitattributes", git.write_blob(default_gitattributes(repo.type)))]
        if repo.type is RepoType.SPACE:  # a Space starts with a card, which says what runs it
            files.append(Change("README.md", git.write_blob(default_space_card(repo))))
        tree = git.build_tree(None, files)
        sha = git.write_commit(tree, [], "initial commit", author.name, author_email(author))
        git.update_ref(f"refs/heads/{DEFAULT_BRANCH}", sha, None)
        return sha

    def delete_repo(self, actor: Actor, repo_type: RepoType, repo_id: str) -> None:
        repo = self.get_repo(repo_type, repo_id, actor)
        self._require_admin(actor, repo)
        key = ref_of(repo).storage_key
        AuditLog(self.session).record("repo.delete", actor, repo.type.value, repo.repo_id, private=repo.private)
        self.session.execute(delete(RepoLfsObject).where(RepoLfsObject.repo_id == repo.id))
        self.session.delete(repo)
        self.session.flush()
        # the files go once the row is gone for good: a crash in between leaves an unlisted directory (which
        # `hubstead admin check` reports), never a listed repo without its history
        after_commit(self.session, lambda: self.git.delete(key))

    def _require_admin(self, actor: Actor, repo: Repo) -> None:
        # owners, org writers/admins and site admins may manage a repo; read-only tokens may not
        self._require_write(actor, repo)

    def move_repo(self, actor: Actor, repo_type: RepoType, from_id: str, to_id: str) -> Repo:
        repo = self.get_repo(repo_type, from_id, actor)
        self._require_admin(actor, repo)
        namespace, name = parse_repo_id(to_id)
        owner = self.accounts.find_account(namespace)
        if owner is None or not namespace_access(actor, owner.name).write:
            raise PermissionDeniedError(f"You don't have the rights to create a repo under {namespace}")
        existing = self.find_repo(repo_type, to_id)
        if existing is not None and existing.id != repo.id:
            raise RepoAlreadyExistsError(f"A {repo_type.value} repository called {to_id} already exists")
        old_key = ref_of(repo).storage_key
        from_id = repo.repo_id
        repo.namespace, repo.name, repo.id_key, repo.owner_id = owner.name, name, to_id.lower(), owner.id
        self.session.flush()
        AuditLog(self.session).record("repo.move", actor, repo.type.value, from_id, to=repo.repo_id)
        new_key = ref_of(repo).storage_key
        if new_key != old_key:
            self.git.move(old_key, new_key)
            on_rollback(self.session, lambda: self.git.move(new_key, old_key))
        return repo

    def update_settings(self, actor: Actor, repo_type: RepoType, repo_id: str, settings: RepoSettings) -> Repo:
        repo = self.get_repo(repo_type, repo_id, actor)
        self._require_admin(actor, repo)
        audit = AuditLog(self.session)
        if settings.private is not None and settings.private != repo.private:
            repo.private = settings.private
            audit.record("repo.visibility", actor, repo.type.value, repo.repo_id, private=repo.private)
        if settings.gated is not None:
            if settings.gated is False or settings.gated == "false":
                gated = None
            elif settings.gated in GATED_VALUES:
                gated = str(settings.gated)
            else:
                raise InvalidInputError("gated must be 'auto', 'manual' or false")
            if gated != repo.gated:
                repo.gated = gated
                audit.record("repo.gated", actor, repo.type.value, repo.repo_id, gated=gated or False)
        if settings.protect_main is not None:
            repo.protect_main = settings.protect_main
        self.session.flush()
        return repo

    def move_ref(self, repo: Repo, ref: str, new: str | None, old: str | None) -> None:
        """Create, move or delete (``new`` None) ``ref`` if it is still at ``old`` (None: absent), as part of this
        unit of work: if the unit rolls back, its commit included, the ref goes back to ``old``, unless it has
        moved on since (then what was built on it stays, and the next commit records it)."""
        git = self.open_git(repo)
        if new is None:
            git.delete_ref(ref, old)
        else:
            git.update_ref(ref, new, old)
        key = ref_of(repo).storage_key

        def undo() -> None:  # possibly in another thread: a repository object of its own
            git = self.git.open(key)
            try:
                if old is None:
                    git.delete_ref(ref, new)
                else:
                    git.update_ref(ref, old, new)
            except (ConcurrentUpdateError, RefAlreadyExistsError):
                pass

        on_rollback(self.session, undo)

    def record_commit(self, repo: Repo, sha: str) -> None:
        """Refresh what the DB knows after ``sha`` landed on the default branch (API commit or git push):
        head, last-modified, card data and the search index."""
        git = self.open_git(repo)
        repo.head_sha = sha
        repo.last_modified = utcnow()
        files = {e.path: e for e in git.iter_tree(sha, "", recursive=True) if e.type == "file"}
        readme = files.get("README.md")
        # a README past MAX_README_BYTES (only a git push can bring one) is not read for its metadata
        card = (
            parse_card_data(git.read_blob(readme.oid).decode("utf-8", "replace"))
            if readme and readme.size <= MAX_README_BYTES
            else None
        )
        config_entry = files.get("config.json")
        config = (
            parse_config(git.read_blob(config_entry.oid)) if config_entry and config_entry.size < 1_000_000 else None
        )
        facts = derive_facts(repo.type, card, files, config, repo.sdk)
        parameters = self._safetensors_parameters(
            repo.id, git, [e for p, e in files.items() if p.endswith(".safetensors")]
        )
        if parameters:
            facts.file_facts["safetensors"] = {"parameters": parameters, "total": sum(parameters.values())}
        repo.card_data = card
        repo.pipeline_tag, repo.library_name, repo.model_type = facts.pipeline_tag, facts.library_name, facts.model_type
        repo.tags = facts.tags
        repo.file_facts = facts.file_facts or None
        self.session.execute(delete(RepoTag).where(RepoTag.repo_id == repo.id))
        self.session.add_all(RepoTag(repo_id=repo.id, tag=tag[:200]) for tag in sorted(facts.search_tags))
        SearchService(self.session).reindex_tags(repo.id, {t[:200] for t in facts.search_tags})
        self.session.flush()

    def _safetensors_parameters(self, repo_pk: int, git: GitRepo, entries: list[TreeEntry]) -> dict[str, int] | None:
        totals: dict[str, int] = {}
        for entry in entries:
            counts = safetensors_parameters(self._prefix_reader(repo_pk, git, entry))
            if counts is None:
                return None  # one unreadable shard makes the total meaningless
            for dtype, n in counts.items():
                totals[dtype] = totals.get(dtype, 0) + n
        return totals or None

    def _prefix_reader(self, repo_pk: int, git: GitRepo, entry: TreeEntry) -> Callable[[int], bytes]:
        data = git.read_blob(entry.oid) if entry.size <= MAX_POINTER_SIZE else None
        pointer = parse_pointer(data) if data is not None else None

        def read(n: int) -> bytes:
            if pointer is None:
                return (data if data is not None else git.read_blob(entry.oid))[:n]
            if self.blobs is None:
                return b""
            try:
                return b"".join(repo_objects(self.session, self.blobs).read(repo_pk, pointer.oid, 0, n))
            except BlobNotFoundError:
                return b""

        return read

    def owner_type(self, repo: Repo) -> AccountType:
        owner = self.session.get(Account, repo.owner_id)
        return owner.type if owner else AccountType.USER


def access_to(actor: Actor, repo: Repo) -> Access:
    """What ``actor`` may do with ``repo`` (see accounts/permissions.py)."""
    return repo_access(actor, repo.namespace, repo.private, repo.type.value, repo.name)


def ref_of(repo: Repo) -> RepoRef:
    return RepoRef(type=repo.type, namespace=repo.namespace, name=repo.name)
