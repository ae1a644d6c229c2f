"""The one exception tree of Hubstead. No web imports here; ``api/errors.py`` maps it to HTTP.

HubsteadError
├── NotFoundError
│   ├── RepoNotFoundError            (wire code RepoNotFound; also private repos the actor can't read)
│   ├── RevisionNotFoundError        (RevisionNotFound)
│   ├── EntryNotFoundError           (EntryNotFound)
│   ├── AccountNotFoundError
│   ├── TokenNotFoundError
│   ├── SessionNotFoundError
│   ├── AccessRequestNotFoundError
│   ├── DiscussionNotFoundError
│   ├── JobNotFoundError
│   ├── ViewerResponseNotFoundError  (ResponseNotFound: no such config or split, or the viewer is off for it)
│   └── BlobNotFoundError
├── AuthenticationError              (bad or revoked credentials)
│   ├── CredentialsRequiredError     (anonymous git/git-lfs caller: 401 with a challenge)
│   └── GatedRepoAuthRequiredError   (GatedRepo: anonymous caller wants the files of a gated repo)
├── PermissionDeniedError            (authenticated but not allowed)
│   ├── GatedRepoError               (GatedRepo: no approved access request for a gated repo's files)
│   └── UnsafeFileError              (UnsafeFile: a download of a file the scanner found unsafe, when blocked)
├── RateLimitedError                 (too many requests, or too many failed sign-ins)
├── ConflictError
│   ├── RepoAlreadyExistsError
│   ├── AccountAlreadyExistsError
│   ├── RefAlreadyExistsError
│   ├── ConcurrentUpdateError        (a ref moved under us and we could not retry)
│   └── MergeConflictError           (a pull request that cannot be merged cleanly)
├── PreconditionFailedError
│   └── StaleParentCommitError
├── InvalidInputError
│   ├── InvalidRepoNameError
│   ├── InvalidRevisionError
│   ├── InvalidPathError
│   ├── InvalidCommitError
│   ├── ChecksumMismatchError
│   ├── InvalidViewerParameterError  (InvalidParameter: a bad where/orderby/offset/length of the dataset viewer)
│   ├── XetFormatError           (XetFormatError: a malformed xorb or shard)
│   └── TrainingConfigError      (a training job's configuration: names the field at fault)
├── UnprocessableError
│   ├── LfsObjectMissingError
│   └── ViewerNotReadyError          (ResponseNotReady: the revision's conversion has not finished, or failed)
├── RangeNotSatisfiableError
├── PayloadTooLargeError
└── InferenceError                   (the inference API: workers and the hub's proxy to them)
    ├── ModelLoadingError            (ModelLoading, 503 with estimated_time: the model is being loaded)
    ├── ModelNotRunnableError        (ModelNotRunnable, 422: no weights, unknown architecture, custom code, too big)
    ├── UnsupportedTaskError         (400: a task the model or Hubstead cannot run)
    ├── InferenceUnavailableError    (503: no inference worker is configured or reachable)
    └── InferenceTimeoutError        (504: the model did not answer in time)

JobHandlerError                      (not a HubsteadError: raised inside background jobs, never reaches HTTP)
├── JobCancelledError                (a handler stops at a cancellation check: cancelled, timed out, worker stopping)
└── JobFailedError                   (a job that cannot succeed however often it is tried: failed without retry)
"""

from __future__ import annotations


class HubsteadError(Exception):
    """Base of every error Hubstead raises on purpose."""

    code: str | None = None

    def __init__(self, message: str, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class NotFoundError(HubsteadError):
    pass


class RepoNotFoundError(NotFoundError):
    code = "RepoNotFound"

    def __init__(self, message: str = "Repository not found", **extra: object) -> None:
        super().__init__(message, **extra)


class RevisionNotFoundError(NotFoundError):
    code = "RevisionNotFound"


class EntryNotFoundError(NotFoundError):
    code = "EntryNotFound"


class AccountNotFoundError(NotFoundError):
    pass


class TokenNotFoundError(NotFoundError):
    pass


class SessionNotFoundError(NotFoundError):
    pass


class AccessRequestNotFoundError(NotFoundError):
    pass


class DiscussionNotFoundError(NotFoundError):
    pass


class JobNotFoundError(NotFoundError):
    pass


class ViewerResponseNotFoundError(NotFoundError):
    code = "ResponseNotFound"


class BlobNotFoundError(NotFoundError):
    pass


class AuthenticationError(HubsteadError):
    pass


class CredentialsRequiredError(AuthenticationError):
    """An anonymous git or git-lfs client must sign in: they send credentials only after a 401 that asks for
    them. For a missing or private repo the wire code stays ``RepoNotFound``, as on huggingface.co."""

    def __init__(self, message: str, *, code: str | None = None, **extra: object) -> None:
        super().__init__(message, **extra)
        self.code = code


class PermissionDeniedError(HubsteadError):
    pass


_GATED_ANONYMOUS = (
    "Access to {type} {repo_id} is restricted. You must have access to it and be authenticated to access it. "
    "Please log in."
)
_GATED_NOT_GRANTED = (
    "Access to {type} {repo_id} is restricted and you are not in the authorized list. Visit {url} to ask for access."
)


class GatedRepoAuthRequiredError(AuthenticationError):
    """An anonymous caller asked for a file of a gated repo (401, as on huggingface.co)."""

    code = "GatedRepo"

    def __init__(self, repo_type: str, repo_id: str) -> None:
        self.repo_type, self.repo_id = repo_type, repo_id
        super().__init__(_GATED_ANONYMOUS.format(type=repo_type, repo_id=repo_id), repo_id=repo_id)


class GatedRepoError(PermissionDeniedError):
    """A signed-in caller without an approved access request asked for a file of a gated repo (403).

    ``web_path`` is the repo's page, where access is asked for; the API layer makes it an absolute URL."""

    code = "GatedRepo"

    def __init__(self, repo_type: str, repo_id: str, web_path: str) -> None:
        self.repo_type, self.repo_id, self.web_path = repo_type, repo_id, web_path
        super().__init__(self.message_for(""), repo_id=repo_id)

    def message_for(self, base_url: str) -> str:
        return _GATED_NOT_GRANTED.format(type=self.repo_type, repo_id=self.repo_id, url=base_url + self.web_path)


class UnsafeFileError(PermissionDeniedError):
    """A download of a file the scanner found unsafe, refused (403) because the hub blocks them
    (``HUBSTEAD_SCANNING__BLOCK_UNSAFE_DOWNLOADS``), to every caller alike."""

    code = "UnsafeFile"


class RateLimitedError(HubsteadError):
    """Too many requests. ``retry_after`` seconds until the window resets; ``limit`` requests per ``window``."""

    def __init__(self, message: str, *, policy: str, limit: int, window: int, retry_after: int) -> None:
        super().__init__(message)
        self.policy, self.limit, self.window, self.retry_after = policy, limit, window, retry_after


class ConflictError(HubsteadError):
    pass


class RepoAlreadyExistsError(ConflictError):
    pass


class AccountAlreadyExistsError(ConflictError):
    pass


class RefAlreadyExistsError(ConflictError):
    pass


class ConcurrentUpdateError(ConflictError):
    pass


class MergeConflictError(ConflictError):
    """Merging a pull request would conflict; ``paths`` are the conflicting files."""

    def __init__(self, message: str, paths: list[str]) -> None:
        super().__init__(message, paths=paths)
        self.paths = paths


class PreconditionFailedError(HubsteadError):
    pass


class StaleParentCommitError(PreconditionFailedError):
    def __init__(
        self,
        message: str = "The branch was updated since you opened this page. Please refresh and try again.",
        **extra: object,
    ) -> None:
        super().__init__(message, **extra)


class InvalidInputError(HubsteadError):
    pass


class TrainingConfigError(InvalidInputError):
    """A training configuration that cannot run; ``field`` names the key at fault (``dataset``, ``text_column``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class InvalidRepoNameError(InvalidInputError):
    pass


class InvalidRevisionError(InvalidInputError):
    pass


class InvalidPathError(InvalidInputError):
    pass


class InvalidCommitError(InvalidInputError):
    pass


class ChecksumMismatchError(InvalidInputError):
    pass


class InvalidViewerParameterError(InvalidInputError):
    code = "InvalidParameter"


class XetFormatError(InvalidInputError):
    """A xorb or shard body that breaks the Xet binary format, its limits or its hashes (400)."""

    code = "XetFormatError"


class UnprocessableError(HubsteadError):
    pass


class LfsObjectMissingError(UnprocessableError):
    pass


class ViewerNotReadyError(UnprocessableError):
    code = "ResponseNotReady"


class RangeNotSatisfiableError(HubsteadError):
    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class PayloadTooLargeError(HubsteadError):
    pass


class InferenceError(HubsteadError):
    pass


class ModelLoadingError(InferenceError):
    """The model is being loaded; ``estimated_time`` (seconds) says how long it should still take."""

    code = "ModelLoading"

    def __init__(self, message: str, estimated_time: float) -> None:
        super().__init__(message)
        self.estimated_time = estimated_time


class ModelNotRunnableError(InferenceError):
    code = "ModelNotRunnable"


class UnsupportedTaskError(InferenceError):
    pass


class InferenceUnavailableError(InferenceError):
    pass


class InferenceTimeoutError(InferenceError):
    pass


class JobHandlerError(Exception):
    """Raised by a background job's handler to tell its worker how it ended; never reaches HTTP."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class JobCancelledError(JobHandlerError):
    """The handler stopped at a cancellation check (``JobContext.check_cancelled``)."""


class JobFailedError(JobHandlerError):
    """The job cannot succeed however often it is tried (a bad payload): it fails at once, without retries."""
