"""Settings, read from ``HUBSTEAD_*`` environment variables (nested fields with ``__``).

There is no module-level instance: ``create_app(settings)`` and the CLI build their own.
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


class RateLimitSettings(BaseModel):
    """``HUBSTEAD_RATE_LIMIT__<FIELD>``. Requests are counted in fixed windows in two buckets: ``resolvers`` (file
    transfers: resolve, LFS batch, git) and ``api`` (everything else); per token (any Authorization header) or,
    without one, per client IP. Site admins are not limited. Failed sign-ins are always limited.

    The defaults are generous: a CI farm behind one address downloading a 1,000-file repo (one API call, and a
    HEAD and a GET per file) thirty times in five minutes stays under the anonymous budget."""

    enabled: bool = Field(default=True, description="Limit requests per token and per IP (429 past the limit)")
    backend: Literal["memory", "redis"] = Field(
        default="memory", description="memory: per process; redis: shared by every replica (needs redis_url)"
    )
    redis_url: str | None = None
    window_seconds: int = Field(default=300, ge=1)
    token_requests: int = Field(default=10_000, ge=1, description="API requests per window for one token")
    anonymous_requests: int = Field(default=3_000, ge=1, description="API requests per window from one IP, no token")
    token_downloads: int = Field(
        default=150_000, ge=1, description="Transfer requests (resolve, LFS batch, git) per window for one token"
    )
    anonymous_downloads: int = Field(
        default=60_000, ge=1, description="Transfer requests per window from one IP, no token"
    )
    login_failures: int = Field(default=5, ge=1, description="Failed sign-ins per user name and IP per window")
    login_ip_failures: int = Field(default=20, ge=1, description="Failed sign-ins per IP per window")
    login_window_seconds: int = Field(default=300, ge=1)

    @model_validator(mode="after")
    def _redis_needs_a_url(self) -> RateLimitSettings:
        if self.backend == "redis" and not self.redis_url:
            raise ValueError("rate_limit.backend 'redis' needs rate_limit.redis_url")
        return self


class XetSettings(BaseModel):
    """``HUBSTEAD_XET__<FIELD>``: the Xet protocol (chunk-level deduplicated uploads and downloads)."""

    enabled: bool = Field(default=True, description="Advertise Xet on downloads and hand out CAS tokens")
    cas_url: str | None = Field(
        default=None, description="Where clients reach the CAS; default: this server, under /api/hubstead/xet"
    )
    token_ttl_seconds: int = Field(default=3600, ge=90, description="Lifetime of CAS tokens (clients refresh)")
    gc_grace_hours: float = Field(
        default=24, ge=0, description="Garbage collection leaves xorbs used this recently alone (uploads in flight)"
    )
    convert_lfs: bool = Field(
        default=True, description="Chunk files uploaded through plain LFS into xorbs, so they download through Xet"
    )


class ScanningSettings(BaseModel):
    """``HUBSTEAD_SCANNING__<FIELD>``: scanning of uploaded files (pickle imports, safetensors headers).

    Each scan runs in a child process with the memory and time limits below: a hostile file can make the scanner
    fail (reported as ``error``), never the hub."""

    enabled: bool = Field(default=True, description="Scan pickle-based and safetensors files after each commit")
    block_unsafe_downloads: bool = Field(
        default=False,
        description="Refuse (403) every download of a file found unsafe, to everyone, on every path that serves it",
    )
    max_file_size: int = Field(
        default=5 * 1024 * MiB,
        ge=0,
        description="Pickle-based files larger than this are not scanned (reported as unscanned: too large); "
        "safetensors headers are checked whatever the file's size",
    )
    timeout_seconds: float = Field(default=300, gt=0, description="Time one file's scan may take")
    memory_limit: int = Field(
        default=3 * 1024 * MiB, ge=256 * MiB, description="Address space of the scanner's child process"
    )


class ConnectionSettings(BaseModel):
    """``HUBSTEAD_CONNECTIONS__<FIELD>``: what one connection may cost ``hubstead serve`` (each server process counts
    its own). A client that opens connections and sends nothing, or sends its headers a byte at a time, holds a
    file descriptor and some memory each: the timeouts take them back, the caps keep one client from taking them
    all. Clients are told apart by address (IPv6 by /64 network, which one host usually has to itself)."""

    per_client: int = Field(default=256, ge=1, description="Open connections from one client address (or IPv6 /64)")
    total: int = Field(
        default=8192, ge=1, description="Open connections in all; never more than 3/4 of the open-files limit"
    )
    exempt: list[str] = Field(
        default_factory=list,
        description="Addresses or networks not capped per client: a reverse proxy or load balancer in front of the "
        "hub speaks for many clients (JSON list, e.g. '[\"10.0.0.0/8\"]')",
    )
    header_timeout_seconds: float = Field(
        default=20, gt=0, description="From a new connection or a request's first byte to the end of its headers"
    )
    body_timeout_seconds: float = Field(
        default=60, gt=0, description="A request body that stops arriving for this long is dropped"
    )
    keep_alive_seconds: int = Field(
        default=75,
        ge=1,
        description="An idle connection between requests; long, as clients pool connections and huggingface_hub "
        "does not retry a HEAD whose pooled connection the server just closed",
    )
    max_header_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Request line and headers (431, or 414 for the URL alone)"
    )
    max_headers: int = Field(default=100, ge=10, description="Header fields in one request (431 past it)")

    @field_validator("exempt")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)  # a ValueError names the bad entry
        return value


class JobSettings(BaseModel):
    """``HUBSTEAD_JOBS__<FIELD>``: background jobs (see docs/jobs.md). Workers are ``hubstead worker`` processes,
    anywhere that reaches the database and the blob store, and the one ``hubstead serve`` runs by default."""

    in_process_worker: bool = Field(
        default=True, description="hubstead serve runs a worker (serve --no-worker turns it off)"
    )
    kinds: list[str] = Field(
        default_factory=list, description="Pools or job kinds the in-process worker runs; default: the default pool"
    )
    concurrency: int = Field(default=1, ge=1, le=64, description="Jobs one worker runs at once (threads)")
    poll_seconds: float = Field(default=1.0, gt=0, le=60, description="How often an idle worker looks for work")
    lease_seconds: float = Field(
        default=60, ge=1, description="A running job whose worker stops renewing it this long is run again"
    )
    heartbeat_seconds: float = Field(default=10, gt=0, description="How often a worker renews its jobs' leases")
    backoff_base_seconds: float = Field(default=10, ge=0, description="Wait before the first retry; doubles after")
    backoff_max_seconds: float = Field(default=3600, ge=0, description="The longest wait between two attempts")
    max_attempts: int = Field(default=5, ge=1, description="Attempts of a job whose kind does not set its own")
    log_max_bytes: int = Field(default=64 * 1024, ge=1024, description="A job keeps the last this many bytes of log")
    shutdown_grace_seconds: float = Field(
        default=20, ge=0, description="On stop, running jobs get this long to finish before they are handed back"
    )
    retention_days: float = Field(default=14, ge=0, description="Finished jobs are deleted after this long; 0: kept")
    task_modules: list[str] = Field(
        default_factory=list, description="Modules whose register(registry) adds job kinds (plug-ins, tests)"
    )

    @model_validator(mode="after")
    def _heartbeat_within_lease(self) -> JobSettings:
        if self.heartbeat_seconds * 2 > self.lease_seconds:
            raise ValueError("jobs.heartbeat_seconds must be at most half of jobs.lease_seconds")
        return self


class InferenceSettings(BaseModel):
    """``HUBSTEAD_INFERENCE__<FIELD>``: the inference API (docs/inference.md). The hub checks rights and forwards
    calls to an inference worker (``hubstead inference-worker``), which downloads models through the public API."""

    enabled: bool = Field(default=True, description="Serve /models/{id} and /v1/... (503 without a worker)")
    worker_url: str | None = Field(
        default=None, description="Where the hub reaches its inference worker; default: the one serve starts"
    )
    local_worker: bool = Field(default=True, description="hubstead serve starts one inference worker beside it")
    worker_port: int | None = Field(default=None, description="The local worker's port; default: the hub's + 1")
    worker_key: str | None = Field(default=None, description="A shared secret the hub sends to its workers")
    memory_budget_mb: int = Field(default=4096, ge=16, description="Model weights the local worker keeps loaded")
    timeout_seconds: float = Field(default=120, gt=0, description="A call that takes longer answers 504")
    token_ttl_seconds: int = Field(default=600, ge=30, description="Lifetime of the tokens workers download with")
    max_body_bytes: int = Field(default=32 * MiB, ge=1024, description="Largest request body (an image, audio)")


class DatasetViewerSettings(BaseModel):
    """``HUBSTEAD_DATASETS__<FIELD>``: the dataset viewer (see docs/datasets.md): parquet conversion of every
    push to a dataset's main branch, and the DuckDB queries that serve its rows."""

    enabled: bool = Field(default=True, description="Convert dataset pushes to parquet and serve the viewer")
    shard_bytes: int = Field(
        default=256 * MiB, ge=64 * 1024, description="Target size of one parquet shard on refs/convert/parquet"
    )
    duckdb_memory_limit: str = Field(
        default="1GB", pattern=r"^[0-9]+(\.[0-9]+)?\s*[KMGT]?i?B$", description="DuckDB memory_limit of one query"
    )
    duckdb_temp_directory: Path | None = Field(
        default=None, description="Where DuckDB spills past its memory limit; default: data_dir/tmp/duckdb"
    )
    duckdb_threads: int = Field(default=2, ge=1, le=64, description="DuckDB threads of one query or index build")


class TrainingSettings(BaseModel):
    """``HUBSTEAD_TRAINING__<FIELD>``: training jobs (see docs/training.md). They run on workers started with
    ``hubstead worker --kinds train`` and reach the hub through its public API."""

    hub_url: str | None = Field(
        default=None, description="Address training workers use to reach the hub's API; default: public_url"
    )
    work_dir: Path | None = Field(
        default=None, description="Downloads and checkpoints of training jobs; default: data_dir/training"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUBSTEAD_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Path("hubstead-data")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default: SQLite file inside data_dir")
    public_url: str | None = Field(
        default=None, description="Address clients use; default: the request's own scheme and host"
    )
    host: str = "127.0.0.1"
    port: int = 8080
    secret_key: str | None = Field(default=None, description="Signs upload URLs; default: generated once into data_dir")
    lfs_size_threshold: int = 10 * MiB
    lfs_multipart_threshold: int = Field(
        default=5 * 1024 * MiB,
        description="LFS objects this large upload in parts. A single PUT is hashed while it streams and written "
        "once; parts are joined (read, hashed, written again) after the last one arrives",
    )
    lfs_multipart_chunk_size: int = 64 * MiB
    signed_url_ttl_seconds: int = 3600
    max_commit_body_bytes: int = 1024 * MiB
    tree_page_size: int = 1000
    list_page_size: int = 1000
    commits_page_size: int = 50
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    connections: ConnectionSettings = Field(default_factory=ConnectionSettings)
    xet: XetSettings = Field(default_factory=XetSettings)
    scanning: ScanningSettings = Field(default_factory=ScanningSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    inference: InferenceSettings = Field(default_factory=InferenceSettings)
    datasets: DatasetViewerSettings = Field(default_factory=DatasetViewerSettings)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    signup_enabled: bool = Field(default=True, description="Anyone may create an account on the website (/join)")
    audit_retention_days: int = Field(
        default=365, ge=0, description="Audit events older than this are deleted (at start-up, then daily); 0: kept"
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hubstead.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated on first use and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()
