"""Large objects (LFS and Xet files) by sha256, and which repo may read which: the one way to their bytes."""

from hubstead.objects.models import LfsObject, RepoLfsObject
from hubstead.objects.services import ClaimedObjects, RepoObjects, blob_key

__all__ = ["ClaimedObjects", "LfsObject", "RepoLfsObject", "RepoObjects", "blob_key"]
