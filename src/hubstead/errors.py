"""The one exception tree of Hubstead. No web imports here; ``api/errors.py`` maps it to HTTP.

HubsteadError
├── NotFoundError
│   ├── RepoNotFoundError            (wire code RepoNotFound; also private repos the actor can't read)
│   ├── RevisionNotFoundError        (RevisionNotFound)
│   ├── EntryNotFoundError           (EntryNotFound)
│   ├── AccountNotFoundError
│   └── BlobNotFoundError
├── AuthenticationError              (bad or revoked credentials)
│   └── CredentialsRequiredError     (anonymous git/git-lfs caller: 401 with a challenge)
├── PermissionDeniedError            (authenticated but not allowed)
├── ConflictError
│   ├── RepoAlreadyExistsError
│   ├── AccountAlreadyExistsError
│   ├── RefAlreadyExistsError
│   └── ConcurrentUpdateError        (a ref moved under us and we could not retry)
├── PreconditionFailedError
│   └── StaleParentCommitError
├── InvalidInputError
│   ├── InvalidRepoNameError
│   ├── InvalidRevisionError
│   ├── InvalidPathError
│   ├── InvalidCommitError
│   └── ChecksumMismatchError
├── UnprocessableError
│   └── LfsObjectMissingError
├── RangeNotSatisfiableError
└── PayloadTooLargeError
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


class UnprocessableError(HubsteadError):
    pass


class LfsObjectMissingError(UnprocessableError):
    pass


class RangeNotSatisfiableError(HubsteadError):
    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class PayloadTooLargeError(HubsteadError):
    pass
