"""``VehicleLicenseOcrHook``: the Airflow connection ``vlocr`` turned into a ready recognition engine."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.providers.common.compat.sdk import BaseHook, mask_secret

from ..core.backoff import RetryPolicy
from ..core.checks import parse_flag, parse_side
from ..core.connection import ConnectionSettings
from ..core.engines.factory import EngineContext, build_engine
from ..core.engines.registry import engine_spec
from ..core.errors import FATAL_ERRORS, ConfigurationError, VlocrError
from ..core.models import OcrResponse, RecognizeOptions, Side
from ..core.pacestore import PaceStore
from ..core.ratelimit import HEADROOM, INITIAL_RATE, MAX_AUTO_CONCURRENCY, AdaptivePacer

if TYPE_CHECKING:
    from ..core.batch.budget import CallBudget
    from ..core.batch.cache import ResultCache
    from ..core.batch.expand import StorageLister
    from ..core.batch.items import Item
    from ..core.batch.loading import ImageLoader, StorageReader
    from ..core.batch.pipeline import BatchRun
    from ..core.batch.progress import Progress
    from ..core.engines.base import RecognitionEngine
    from ..core.engines.huaweicloud.client import VehicleLicenseOcrClient


class VehicleLicenseOcrHook(BaseHook):
    """Recognise Chinese vehicle licences through Huawei Cloud OCR (or the offline engine).

    Does no I/O in ``__init__``: the connection is read and the client built on first use, then shared by
    every thread of this hook (one session, one token).

    :param vlocr_conn_id: the ``vlocr`` connection to use.
    :param max_concurrency: calls in flight in a batch; ``None``: derived from the request rate and the observed
        latency (Little's law).
    :param retry: how retryable errors (429, 5xx, resets, timeouts) are retried.
    :param refresh_margin_seconds: refresh an IAM token this long before ``expires_at``.
    :param engine: override the connection's ``engine`` extra (``huaweicloud``, ``local`` or ``hybrid``).
    :param max_requests_per_second: client-side limit on OCR calls (retries included) across all threads.
    """

    conn_name_attr = "vlocr_conn_id"
    default_conn_name = "vlocr_default"
    conn_type = "vlocr"
    hook_name = "Vehicle License OCR (Huawei Cloud)"

    def __init__(
        self,
        vlocr_conn_id: str = default_conn_name,
        *,
        max_concurrency: int | None = None,
        retry: RetryPolicy | None = None,
        refresh_margin_seconds: float = 600.0,
        engine: str | None = None,
        max_requests_per_second: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_requests_per_second = max_requests_per_second
        self.vlocr_conn_id = vlocr_conn_id
        self.max_concurrency = max_concurrency
        self.retry = retry
        self.refresh_margin_seconds = refresh_margin_seconds
        self.engine_override = engine
        self._lock = threading.RLock()  # the engine is built under it and reads the settings under it
        self._settings: ConnectionSettings | None = None
        self._engine: RecognitionEngine | None = None
        self._pacer: AdaptivePacer | None = None

    # -- lazy state ------------------------------------------------------------------------------------
    @property
    def settings(self) -> ConnectionSettings:
        """The connection as :class:`ConnectionSettings` (read once; secrets registered for masking)."""
        with self._lock:
            if self._settings is None:
                conn = self.get_connection(self.vlocr_conn_id)
                settings = ConnectionSettings.from_parts(
                    login=conn.login, password=conn.password, extras=conn.extra_dejson
                )
                for secret in settings.secrets:
                    mask_secret(secret)
                self._settings = settings
            return self._settings

    @property
    def pacer(self) -> AdaptivePacer:
        """One pacer per hook, shared by all its threads: the request rate (adapting to limits) and the concurrency.
        With the connection extra ``shared_pacer`` its state lives in Redis, shared by every worker of the account."""
        with self._lock:
            if self._pacer is None:
                self._pacer = AdaptivePacer(
                    self.max_requests_per_second, max_concurrency=self.max_concurrency, store=self._shared_store()
                )
            return self._pacer

    def _shared_store(self) -> PaceStore | None:
        """The account's shared pace store when the connection asks for one (cloud engines only)."""
        if not engine_spec(self.engine_name).needs_connection or not self.settings.shared_pacer:
            return None
        from ..core.redis_pacing import RedisPaceStore, account_key

        target = self.settings.shared_pacer
        url = target if "://" in target else redis_url(self.get_connection(target))
        s = self.settings
        key = account_key(s.resolved_ocr_endpoint, s.project_id or s.region, s.access_key_id or s.login or "token")
        rate = self.max_requests_per_second * HEADROOM if self.max_requests_per_second else INITIAL_RATE
        return RedisPaceStore.from_url(url, key, rate=rate)

    @property
    def engine_name(self) -> str:
        """The engine argument, else the connection's ``engine`` extra (the connection is read only then)."""
        return self.engine_override or self.settings.engine

    @property
    def engine(self) -> RecognitionEngine:
        """The recognition engine, built on first use and shared by all threads (see the engine registry)."""
        name = self.engine_name
        with self._lock:
            if self._engine is None:
                self._engine = self._build_engine(name)
            return self._engine

    def _build_engine(self, name: str) -> RecognitionEngine:
        spec = engine_spec(name, "engine")
        context = EngineContext(
            settings=self.settings if spec.needs_connection else None,
            on_secret=mask_secret,
            retry=self.retry,
            pool_size=self.max_concurrency or MAX_AUTO_CONCURRENCY,
            refresh_margin_seconds=self.refresh_margin_seconds,
            rate_limiter=self.pacer,
        )
        return build_engine(spec, context)

    @property
    def client(self) -> VehicleLicenseOcrClient:
        """The Huawei Cloud client (only for the ``huaweicloud`` engine)."""
        engine = self.engine
        if engine.name != "huaweicloud":
            raise ConfigurationError(f"connection {self.vlocr_conn_id!r} uses engine {engine.name!r}, not huaweicloud")
        return engine  # type: ignore[return-value]

    def get_conn(self) -> RecognitionEngine:
        """Airflow's conventional accessor: the recognition engine."""
        return self.engine

    # -- API -------------------------------------------------------------------------------------------
    @staticmethod
    def options(
        *,
        side: Any = None,
        return_issuing_authority: Any = None,
        return_text_location: Any = None,
        recognize_electronic_license: Any = None,
        alarm: Any = None,
        enterprise_project_id: Any = None,
    ) -> RecognizeOptions:
        """The API options, checked: ``ConfigurationError`` naming a bad argument and its value."""
        flags = {
            "return_issuing_authority": return_issuing_authority,
            "return_text_location": return_text_location,
            "recognize_electronic_license": recognize_electronic_license,
            "alarm": alarm,
        }
        if enterprise_project_id is not None and not isinstance(enterprise_project_id, str):
            raise ConfigurationError("argument 'enterprise_project_id' must be a string")
        return RecognizeOptions(
            side=parse_side(side),
            enterprise_project_id=enterprise_project_id or None,
            **{name: parse_flag(value, name) for name, value in flags.items()},
        )

    def recognize(
        self,
        *,
        image: bytes | None = None,
        url: str | None = None,
        side: Side | None = None,
        return_issuing_authority: bool | None = None,
        return_text_location: bool | None = None,
        recognize_electronic_license: bool | None = None,
        alarm: bool | None = None,
        enterprise_project_id: str | None = None,
        image_name: str | None = None,
    ) -> OcrResponse:
        """Recognise one licence image (bytes, or a URL Huawei downloads) and return the typed result.

        Any bad argument raises a :class:`VlocrError` subclass (``ConfigurationError`` for options,
        ``ImageValidationError`` for the image or URL) naming the argument and the rule.
        """
        options = self.options(
            side=side,
            return_issuing_authority=return_issuing_authority,
            return_text_location=return_text_location,
            recognize_electronic_license=recognize_electronic_license,
            alarm=alarm,
            enterprise_project_id=enterprise_project_id,
        )
        return self.engine.recognize(image=image, url=url, options=options, image_name=image_name)

    def loader(
        self,
        *,
        url_mode: str = "auto",
        allowed_hosts: Iterable[str] | None = None,
        local_roots: Iterable[str] | None = None,
        download_timeout: float | None = None,
        storage_reader: StorageReader | None = None,
        storage_lister: StorageLister | None = None,
    ) -> ImageLoader:
        """The fetch rules as an :class:`ImageLoader` for this hook's engine: URLs an engine fetches itself stay
        URLs (under ``url_mode``), downloads use the connection's timeouts; local files only under
        ``local_roots``; object stores through ``storage_reader``/``storage_lister``."""
        from ..core.batch.loading import ImageLoader

        return ImageLoader.build(
            url_mode=url_mode,
            allowed_hosts=allowed_hosts,
            local_roots=local_roots,
            storage_reader=storage_reader,
            storage_lister=storage_lister,
            engine_fetches_urls=self.engine.accepts_urls,
            timeout=self.settings.timeout if engine_spec(self.engine_name).needs_connection else None,
            deadline_seconds=download_timeout,
        )

    def recognize_batch(
        self,
        images: Any,
        *,
        loader: ImageLoader | None = None,
        options: RecognizeOptions | None = None,
        previous: Mapping[str, Item] | None = None,
        progress_interval: float = 5.0,
        report: Callable[[Progress], None] | None = None,
        cache: ResultCache | None = None,
        budget: CallBudget | None = None,
        before_send: Callable[[], None] | None = None,
    ) -> BatchRun:
        """Recognise a batch (URLs, paths, object-storage URIs, bytes, dicts) with this hook's engine.

        Iterate the returned :class:`BatchRun` for one plain-JSON item per input, in input order; bad inputs end
        as error items naming the input and the rule. A credential or configuration failure stops the batch
        with :class:`FatalBatchError`. ``loader`` holds the fetch rules (:meth:`loader`; by default public URLs
        only, no local files); folder, prefix and glob items expand to their image files; ``previous`` holds items
        of an earlier try by key, which are not sent again; ``cache`` answers photos seen before without a call;
        ``budget`` caps the billed calls; ``before_send`` runs before each round of new sends (a journal's
        flush).
        """
        from ..core.batch.pipeline import BatchSettings, recognize_batch

        engine, spec = self.engine, engine_spec(self.engine_name)
        concurrency: int | Callable[[], int] = self.pacer.concurrency  # cloud calls follow the pacer
        if spec.concurrency is not None:  # engines on the worker's CPU: a fixed number in flight
            concurrency = self.max_concurrency or spec.concurrency
        settings = BatchSettings(
            options=options or RecognizeOptions(),
            concurrency=concurrency,
            retry=self.retry or RetryPolicy(),
            progress_interval=progress_interval,
            fatal_errors=FATAL_ERRORS,
            before_send=before_send,
        )
        return recognize_batch(
            images, engine, loader or self.loader(), settings, previous=previous, report=report, cache=cache,
            budget=budget,
        )  # fmt: skip

    def pii_salt_for(self, mode: str) -> str:
        """The salt for ``redact_pii=mode``: the connection's secret ``pii_salt`` extra for ``hash``, else ``""``."""
        if mode != "hash":
            return ""
        if not self.settings.pii_salt:
            raise ConfigurationError("redact_pii='hash' needs the secret extra 'pii_salt' on the vlocr connection")
        return self.settings.pii_salt

    def test_connection(self) -> tuple[bool, str]:
        """Obtain a token / sign a project lookup; never an OCR call, never a secret in the message."""
        try:
            spec = engine_spec(self.engine_name)
            hint = spec.install_hint()
            if hint:
                return False, hint
            if spec.needs_connection:  # the cloud engine, or the hybrid engine's cloud part
                from ..core.engines.huaweicloud.client import VehicleLicenseOcrClient

                engine = self.engine
                client = engine if engine.name == "huaweicloud" else getattr(engine, "cloud", None)
                if isinstance(client, VehicleLicenseOcrClient):
                    project_id = client.check_credentials()
                    return True, (
                        f"Engine {spec.name!r}: authenticated with {client.auth.kind} auth; project {project_id} "
                        f"in region {client.settings.region}"
                    )
            return True, f"Engine {spec.name!r} is installed ({spec.description})"
        except VlocrError as error:
            return False, f"{type(error).__name__}: {error}"
        except Exception as error:  # the UI needs a message, not a traceback
            return False, f"{type(error).__name__}: {error}"

    def close(self) -> None:
        """Release the HTTP session (or the engine)."""
        with self._lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None


def redis_url(conn: Any) -> str:
    """The ``redis://`` URL of an Airflow Redis connection (host, port, login, password, extras ``db``, ``ssl``);
    its password is masked in logs."""
    extra = conn.extra_dejson
    scheme = "rediss" if str(extra.get("ssl", "")).lower() in ("1", "true", "yes") else "redis"
    auth = ""
    if conn.password:
        mask_secret(conn.password)
        auth = f"{quote(conn.login or '', safe='')}:{quote(conn.password, safe='')}@"
    return f"{scheme}://{auth}{conn.host or '127.0.0.1'}:{conn.port or 6379}/{int(extra.get('db') or 0)}"
