"""Settings from the environment and a ``.env`` file, under the product's names.

A wrong value is one clear line (``ConfigurationError``), never a traceback.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args
from urllib.parse import quote

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gello_queue.core.encryption import Keyring
from gello_queue.core.errors import ConfigurationError
from gello_queue.core.thresholds import RateThresholds, WaitThresholds

SUPERVISED_METRICS_ENV = "GELLO_METRICS_SUPERVISED"
"""Set by a ``--processes`` supervisor for its children: it serves their metrics."""
SUPERVISED_HEALTH_ENV = "GELLO_HEALTH_DIR"
"""Set by a ``--processes`` supervisor for its children: the directory where each writes
its status; the supervisor serves the probes."""

CONTAINER_MARKERS = ("/.dockerenv", "/run/.containerenv")
"""Files Docker and Podman put in every container they start."""


def in_container() -> bool:
    """Whether this process runs in a container: Docker's or Podman's marker file, or a
    Kubernetes pod (``KUBERNETES_SERVICE_HOST``, set in every pod's environment). Other
    runtimes are not detected: set ``QUEUE_METRICS_HOST`` / ``QUEUE_HEALTH_HOST`` there."""
    return "KUBERNETES_SERVICE_HOST" in os.environ or any(
        os.path.exists(marker) for marker in CONTAINER_MARKERS
    )


def default_bind_host() -> str:
    """Where the metrics and health endpoints listen unless told: loopback on a host, so
    nothing is exposed by default; every interface in a container, whose loopback no
    published port or kubelet probe can reach (its network is the isolation)."""
    return "0.0.0.0" if in_container() else "127.0.0.1"


DriverName = Literal["database", "sqlite", "redis", "memory", "sync", "rabbitmq", "sqs", "failover"]


class Settings(BaseSettings):
    """Every setting gello reads; ``.env.example`` lists them with comments."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        # ``QUEUE_METRICS_PORT=`` (as .env.example ships it) means "not set": every
        # setting then takes its default instead of failing to parse an empty string.
        env_ignore_empty=True,
    )

    queue_url: str | None = Field(default=None, validation_alias="QUEUE_URL")
    """A full connection URL; when set it wins over QUEUE_DRIVER and the driver URLs."""
    queue_driver: DriverName = Field(default="database", validation_alias="QUEUE_DRIVER")
    """Which backend: database (SQLite or PostgreSQL by DATABASE_URL), redis, memory, sync."""
    database_url: str = Field(default="sqlite:///gello.db", validation_alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    redis_host: str = Field(default="127.0.0.1", validation_alias="REDIS_HOST")
    redis_port: int = Field(default=6379, validation_alias="REDIS_PORT", ge=1, le=65535)
    redis_password: str | None = Field(default=None, validation_alias="REDIS_PASSWORD")
    redis_db: int = Field(default=0, validation_alias="REDIS_DB", ge=0)
    queue_prefix: str = Field(default="gello:", validation_alias="QUEUE_PREFIX")
    queue_failover: str = Field(default="redis,database", validation_alias="QUEUE_FAILOVER")
    """With QUEUE_DRIVER=failover: the connections to try, in order (redis, database...)."""
    rabbitmq_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672/", validation_alias="RABBITMQ_URL"
    )
    """The RabbitMQ driver's URL (``amqp://`` or ``amqps://`` for TLS)."""
    queue_broker_store: str = Field(
        default="sqlite:///gello.db",
        validation_alias=AliasChoices("QUEUE_BROKER_STORE", "QUEUE_FAILED_STORE"),
    )
    """Brokers (RabbitMQ, SQS) keep what a broker cannot hold in this database (SQLite file
    or PostgreSQL): failed jobs, results, heartbeats, pause flags, counters and unique
    claims. ``QUEUE_FAILED_STORE``, its name before it held more than failed jobs, still
    works."""
    aws_access_key_id: str | None = Field(default=None, validation_alias="AWS_ACCESS_KEY_ID")
    aws_secret_access_key: str | None = Field(
        default=None, validation_alias="AWS_SECRET_ACCESS_KEY"
    )
    aws_default_region: str = Field(default="us-east-1", validation_alias="AWS_DEFAULT_REGION")
    sqs_prefix: str | None = Field(default=None, validation_alias="SQS_PREFIX")
    """The queue URL prefix (``https://sqs.us-east-1.amazonaws.com/123456789012``)."""
    sqs_suffix: str = Field(default="", validation_alias="SQS_SUFFIX")
    sqs_endpoint_url: str | None = Field(default=None, validation_alias="SQS_ENDPOINT_URL")
    """An SQS-compatible server (ElasticMQ, LocalStack, moto)."""
    sqs_create_queues: bool = Field(default=True, validation_alias="SQS_CREATE_QUEUES")
    """Create queues that do not exist yet on first use (off for locked-down accounts)."""
    sqs_priorities: str = Field(default="", validation_alias="SQS_PRIORITIES")
    """Priority levels with an SQS queue of their own (``5,3``: ``{name}-5``, ``{name}-3``)."""
    queue_default: str = Field(default="default", validation_alias="QUEUE_DEFAULT", min_length=1)
    queue_retry_after: float = Field(default=60.0, validation_alias="QUEUE_RETRY_AFTER", ge=0)
    """Seconds before a failed job is retried when the job declares no backoff."""
    queue_max_tries: int = Field(default=3, validation_alias="QUEUE_MAX_TRIES", ge=1)
    queue_timeout: float = Field(default=60.0, validation_alias="QUEUE_TIMEOUT", gt=0)
    queue_lease: float = Field(default=30.0, validation_alias="QUEUE_LEASE", gt=0)
    """Seconds a reservation lasts without a heartbeat; renewed while a job runs."""
    queue_max_payload_bytes: int = Field(
        default=262144, validation_alias="QUEUE_MAX_PAYLOAD_BYTES", gt=0
    )
    queue_keep_results: int = Field(default=0, validation_alias="QUEUE_KEEP_RESULTS", ge=0)
    """Seconds a job's result is kept for jobs whose class sets no ``keep_result``
    (0: results are not kept)."""
    queue_max_result_bytes: int = Field(
        default=1048576, validation_alias="QUEUE_MAX_RESULT_BYTES", gt=0
    )
    """The largest result, as JSON, a job may keep; a bigger one fails the attempt."""
    queue_keep_completed: int = Field(default=1000, validation_alias="QUEUE_KEEP_COMPLETED", ge=0)
    """Completed jobs kept per queue in the history (``queue:recent``); 0 keeps none."""
    queue_keep_completed_hours: float = Field(
        default=24.0, validation_alias="QUEUE_KEEP_COMPLETED_HOURS", ge=0
    )
    """Hours a completed job stays in the history (0: no age limit, only the count)."""
    queue_keep_monitored_hours: float = Field(
        default=168.0, validation_alias="QUEUE_KEEP_MONITORED_HOURS", gt=0
    )
    """Hours a completed job that carried a monitored tag stays in the history, past
    ``QUEUE_KEEP_COMPLETED`` (as Horizon's monitored tags: a week)."""
    queue_keep_completed_payloads: bool = Field(
        default=False, validation_alias="QUEUE_KEEP_COMPLETED_PAYLOADS"
    )
    """Whether the history keeps each completed job's payload too."""
    queue_pool_min: int | None = Field(default=None, validation_alias="QUEUE_POOL_MIN", ge=0)
    """Connections a PostgreSQL pool keeps open when idle (unset: 2)."""
    queue_pool_max: int | None = Field(default=None, validation_alias="QUEUE_POOL_MAX", ge=1)
    """Connections one driver opens at most for its commands (unset: PostgreSQL 10, Redis
    50); a PostgreSQL worker adds one to LISTEN. A process holds one driver per event
    loop that dispatches; its blocking calls share one of them (docs/deploy.md)."""
    queue_pool_timeout: float | None = Field(
        default=None, validation_alias="QUEUE_POOL_TIMEOUT", gt=0
    )
    """Seconds a call waits for a free pool connection before it fails with
    ``DriverUnavailableError`` saying the pool is exhausted (unset: 20)."""
    queue_metrics_port: int | None = Field(default=None, validation_alias="QUEUE_METRICS_PORT")
    queue_health_port: int | None = Field(default=None, validation_alias="QUEUE_HEALTH_PORT")
    queue_metrics_host: str = Field(
        default_factory=default_bind_host, validation_alias="QUEUE_METRICS_HOST"
    )
    """The address ``/metrics`` listens on (see ``default_bind_host``)."""
    queue_health_host: str = Field(
        default_factory=default_bind_host, validation_alias="QUEUE_HEALTH_HOST"
    )
    """The address the health probes listen on (see ``default_bind_host``)."""
    queue_health_detail: bool = Field(default=False, validation_alias="QUEUE_HEALTH_DETAIL")
    """Probe bodies name the workers and queues (and count failed jobs) only when true:
    by default they say healthy or not, and which part failed."""
    queue_tracing: bool = Field(default=False, validation_alias="QUEUE_TRACING")
    """OpenTelemetry spans for dispatch and execution (needs ``gello[otel]``)."""
    queue_failed_retention_hours: float = Field(
        default=168.0, validation_alias="QUEUE_FAILED_RETENTION_HOURS", ge=0
    )
    """Failed jobs older than this are pruned by workers (0 keeps them forever)."""
    queue_failed_max: int = Field(default=10000, validation_alias="QUEUE_FAILED_MAX", ge=0)
    """At most this many failed jobs are kept, the newest (0 means no cap)."""
    queue_batch_retention_hours: float = Field(
        default=24.0, validation_alias="QUEUE_BATCH_RETENTION_HOURS", ge=0
    )
    """Batch records finished or cancelled longer ago than this are pruned by workers (0
    keeps them forever), as Laravel's ``queue:prune-batches`` does by default."""
    queue_retention_interval: float = Field(
        default=60.0, validation_alias="QUEUE_RETENTION_INTERVAL", gt=0
    )
    """Seconds between a worker's retention passes."""
    queue_wait_warn: str = Field(default="60", validation_alias="QUEUE_WAIT_WARN")
    """Seconds a queue's oldest job may wait before the dashboard warns (five times that
    is an alarm): one number, or per queue as ``60,emails=10,reports=900``."""
    queue_alert_wait: str | None = Field(default=None, validation_alias="QUEUE_ALERT_WAIT")
    """Seconds a queue's oldest job may wait before workers raise ``LongWaitDetected``:
    one number, or per queue as ``60,emails=10`` (unset: no long-wait alerts)."""
    queue_alert_failure_rate: str | None = Field(
        default=None, validation_alias="QUEUE_ALERT_FAILURE_RATE"
    )
    """Failure rate (failed over ended in the last five minutes) of a job class from which
    workers raise ``FailureRateExceeded``: ``0.5``, or per class as ``0.5,SendInvoice=0.1``
    (unset: no failure-rate alerts)."""
    queue_alert_webhook: SecretStr | None = Field(
        default=None, validation_alias="QUEUE_ALERT_WEBHOOK"
    )
    """URL each alert is POSTed to as JSON (Slack, Teams or any incoming webhook); a
    secret, as such URLs are: never logged nor shown."""
    queue_alert_every: float = Field(default=300.0, validation_alias="QUEUE_ALERT_EVERY", gt=0)
    """Seconds before the same alert (queue or job class) is raised again, across workers."""
    queue_encryption_key: SecretStr | None = Field(
        default=None, validation_alias="QUEUE_ENCRYPTION_KEY"
    )
    """Fernet keys for encrypted payloads, separated by commas: the first encrypts, all
    decrypt (rotation). A secret: shown as ``**********`` by ``repr``."""
    queue_encrypt_all: bool = Field(default=False, validation_alias="QUEUE_ENCRYPT_ALL")
    """Encrypt every job's payload, not only those of classes with ``encrypted = True``."""
    gello_app: str | None = Field(default=None, validation_alias="GELLO_APP")
    """Module the worker imports to register the application's jobs (see ``find_app``)."""

    @field_validator("queue_wait_warn")
    @classmethod
    def _wait_warn_parses(cls, value: str) -> str:
        try:
            WaitThresholds.parse(value)
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("queue_alert_wait")
    @classmethod
    def _alert_wait_parses(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                WaitThresholds.parse(value, "QUEUE_ALERT_WAIT")
            except ConfigurationError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("queue_alert_failure_rate")
    @classmethod
    def _alert_rate_parses(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                RateThresholds.parse(value)
            except ConfigurationError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("queue_encryption_key")
    @classmethod
    def _encryption_keys_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                Keyring(value.get_secret_value())
            except ConfigurationError as exc:
                raise ValueError(str(exc)) from None
        return value

    def keyring(self) -> Keyring | None:
        """The keys of ``QUEUE_ENCRYPTION_KEY``, or None when it is not set."""
        key = self.queue_encryption_key
        return None if key is None else Keyring(key.get_secret_value())

    def wait_thresholds(self) -> WaitThresholds:
        """``QUEUE_WAIT_WARN`` per queue."""
        return WaitThresholds.parse(self.queue_wait_warn)

    def connection_url(self) -> str:
        """The connection URL the configured driver uses."""
        if self.queue_url:
            return self.queue_url
        if self.queue_driver == "failover":
            names = [n.strip() for n in self.queue_failover.split(",") if n.strip()]
            if len(names) < 2 or "failover" in names:
                raise ConfigurationError(
                    "QUEUE_FAILOVER needs two or more other drivers, e.g. redis,database"
                )
            urls = [self.model_copy(update={"queue_driver": n}).connection_url() for n in names]
            return "failover:" + "|".join(urls)
        if self.queue_driver in ("database", "sqlite"):
            return self.database_url
        if self.queue_driver == "redis":
            if self.redis_url:
                return self.redis_url
            auth = f":{quote(self.redis_password, safe='')}@" if self.redis_password else ""
            return f"redis://{auth}{self.redis_host}:{self.redis_port}/{self.redis_db}"
        if self.queue_driver == "rabbitmq":
            return self.rabbitmq_url
        if self.queue_driver == "sqs":
            return sqs_url(self)
        return f"{self.queue_driver}://"


def connection_named(settings: Settings, name: str) -> str:
    """The URL of connection ``name`` (a ``QUEUE_DRIVER`` value, as in ``gello queue:work
    redis``): named on the command line, it wins over ``QUEUE_URL`` and ``QUEUE_DRIVER``.

    Raises:
        ConfigurationError: no driver has that name.
    """
    choices = get_args(DriverName)
    if name not in choices:
        raise ConfigurationError(f"no connection {name!r}: use one of {', '.join(choices)}")
    return settings.model_copy(update={"queue_driver": name, "queue_url": None}).connection_url()


def sqs_url(settings: Settings) -> str:
    """The ``sqs://`` URL of the SQS settings (credentials stay in the settings)."""
    from urllib.parse import urlencode

    params = {"region": settings.aws_default_region}
    if settings.sqs_prefix:
        params["prefix"] = settings.sqs_prefix
    if settings.sqs_suffix:
        params["suffix"] = settings.sqs_suffix
    if settings.sqs_endpoint_url:
        params["endpoint"] = settings.sqs_endpoint_url
    if not settings.sqs_create_queues:
        params["create"] = "0"
    if settings.sqs_priorities:
        params["priorities"] = settings.sqs_priorities
    return f"sqs://?{urlencode(params)}"


def load_settings() -> Settings:
    """Read settings, turning validation errors into one line per problem.

    Raises:
        ConfigurationError: a setting has a wrong value.
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigurationError(f"invalid setting: {problems}") from None


APP_HOWTO = (
    'set app = "myapp.jobs" under [tool.gello] in pyproject.toml, GELLO_APP=myapp.jobs in'
    " .env, or pass --app myapp.jobs"
)
"""How to name the application module, for every message that needs one."""


@dataclass(frozen=True, slots=True)
class AppLocation:
    """Where the application module was found, and where it was looked for."""

    module: str | None
    """The module to import, or None when no place names one."""
    source: str
    """Which place named it: ``--app``, ``GELLO_APP`` or a pyproject.toml path."""
    root: Path
    """The directory the module is imported from."""
    searched: str
    """Every place looked at, in order, for messages such as "no schedules declared"."""


def find_app(explicit: str | None = None, start: Path | None = None) -> AppLocation:
    """Find the application module: ``--app`` (``explicit``) wins, then ``GELLO_APP``
    (environment or ``.env``), then ``app`` under ``[tool.gello]`` in the nearest
    pyproject.toml that has it, from ``start`` (the working directory) up.

    A module named by pyproject.toml is imported from that file's directory, so every
    command finds the same app from any subdirectory of the project.

    Raises:
        ConfigurationError: a pyproject.toml on the way is not valid TOML, or its
            ``[tool.gello] app`` is not a module name.
    """
    cwd = (start or Path.cwd()).resolve()
    found = _pyproject_app(cwd)
    places = ["--app", "GELLO_APP (environment or .env)"]
    places.append(f"[tool.gello] app in {found[1]}" if found else _no_pyproject(cwd))
    searched = ", ".join(places)
    if explicit:
        return AppLocation(explicit, "--app", cwd, searched)
    named = load_settings().gello_app
    if named:
        return AppLocation(named, "GELLO_APP", cwd, searched)
    if found:
        return AppLocation(found[0], str(found[1]), found[1].parent, searched)
    return AppLocation(None, "", cwd, searched)


def _no_pyproject(cwd: Path) -> str:
    return f"[tool.gello] app in a pyproject.toml from {cwd} up (none has it)"


def _pyproject_app(cwd: Path) -> tuple[str, Path] | None:
    """The ``[tool.gello] app`` of the nearest pyproject.toml that declares one."""
    for directory in (cwd, *cwd.parents):
        path = directory / "pyproject.toml"
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"cannot read {path}: {exc}") from None
        app = data.get("tool", {}).get("gello", {}).get("app")
        if app is None:
            continue  # a project without gello settings: keep looking up
        if not isinstance(app, str) or not all(p.isidentifier() for p in app.split(".")):
            raise ConfigurationError(
                f'{path}: [tool.gello] app must be a module name like "myapp.jobs", not {app!r}'
            )
        return app, path
    return None
