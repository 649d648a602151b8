"""The Huawei Cloud Vehicle License OCR client: one pooled session, any auth kind, retries, typed results."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from .... import __version__
from ...backoff import RetryPolicy
from ...connection import ConnectionSettings
from ...errors import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ThrottledError,
    TokenExpiredError,
    TransportError,
)
from ...images import check_image, encode_image, upright
from ...models import OcrResponse, RecognizeOptions, VehicleLicenseResult, request_body
from ...ratelimit import RateLimiter
from ..base import prepare_call
from ..factory import EngineContext
from .auth import VlocrAuth, build_auth
from .endpoints import vehicle_license_path
from .http import JSON_CONTENT_TYPE, environment_settings, error_from_response, json_body, transport_error

if TYPE_CHECKING:
    from ...batch.budget import CallBudget
    from ...batch.cache import ResultCache

log = logging.getLogger(__name__)
USER_AGENT = f"airflow-provider-vlocr/{__version__}"


def make_session(pool_size: int) -> requests.Session:
    """A session whose connection pool fits ``pool_size`` concurrent calls; requests' own retries off; the
    environment (proxies, CA bundle) is read once per endpoint by the client, not by requests on every call."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(1, pool_size), max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


@dataclass(frozen=True)
class Call:
    """One HTTP call to send: what, where, with which auth; ``what`` names it in errors and logs."""

    method: str
    url: str
    body: bytes | None
    headers: dict[str, str]
    auth: VlocrAuth
    what: str
    limited: bool = False


class VehicleLicenseOcrClient:
    """Calls ``POST {endpoint}/v2/{project_id}/ocr/vehicle-license``; thread-safe, one session per client."""

    name = "huaweicloud"
    accepts_urls = True  # Huawei downloads URLs itself
    billed = True  # every answered call costs money

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        on_secret: Callable[[str], None] = lambda _: None,
        retry: RetryPolicy | None = None,
        pool_size: int = 10,
        session: requests.Session | None = None,
        refresh_margin_seconds: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.rate_limiter = rate_limiter
        self.retry = retry or RetryPolicy()
        self.session = session or make_session(pool_size)
        # Read the environment once per endpoint (``_environment``), not on every request.
        self._trust_env, self.session.trust_env = self.session.trust_env, False
        self.auth: VlocrAuth = build_auth(settings, self.session, on_secret, refresh_margin_seconds)
        self._sleep = sleep
        self._project_lock = threading.Lock()
        self._env_cache: dict[str, dict[str, Any]] = {}
        self._project_id = settings.project_id
        # Until one call has passed the gateway's auth check, calls go one at a time, and a refused credential
        # is remembered: a wrong AK/SK must never be sent five times (the gateway would lock the AK).
        self._gate = threading.Lock()
        self._auth_verified = False
        self._auth_failure: AuthenticationError | None = None

    def __repr__(self) -> str:
        return f"<VehicleLicenseOcrClient region={self.settings.region!r} auth={self.auth!r}>"

    def for_batch(self, *, budget: CallBudget | None, cache: ResultCache | None) -> VehicleLicenseOcrClient:
        return self  # every call is billed: the pipeline meters them

    def close(self) -> None:
        self.session.close()

    # -- project ---------------------------------------------------------------------------------------
    @property
    def project_id(self) -> str:
        """The project id: configured, revealed by a project-scoped token, or looked up once and cached."""
        with self._project_lock:
            if not self._project_id:
                self._project_id = self.auth.known_project_id() or self.lookup_project_id()
            return self._project_id

    def lookup_project_id(self) -> str:
        """``GET {iam}/v3/projects?name={region}``; exactly one match or a clear error."""
        region = self.settings.region
        url = f"{self.settings.resolved_iam_endpoint}/v3/projects?name={quote(region, safe='')}"
        response, _ = self.retry.run(
            lambda: self._send(Call("GET", url, None, {}, self.auth, "IAM project lookup")),
            sleep=self._sleep,
            describe="IAM project lookup",
        )
        projects = json_body(response, "IAM project lookup").get("projects") or []
        matches = [p for p in projects if isinstance(p, dict) and p.get("name") == region and p.get("id")]
        if len(matches) != 1:
            found = "no project" if not matches else f"{len(matches)} projects"
            raise ConfigurationError(
                f"IAM project lookup for region {region!r} found {found}; set extra 'project_id' on the connection"
            )
        project_id = str(matches[0]["id"])
        log.info("Resolved project id for region %s", region)
        return project_id

    # -- transport -------------------------------------------------------------------------------------
    def _send(self, call: Call) -> requests.Response:
        """One attempt, gated until the credentials are known good (see ``__init__``)."""
        if not self._auth_verified:
            with self._gate:
                if self._auth_failure is not None:
                    raise self._auth_failure.with_image(None)
                if not self._auth_verified:
                    try:
                        response = self._attempt(call)
                    except AuthenticationError as error:
                        if not isinstance(error, TokenExpiredError):
                            self._auth_failure = error
                        raise
                    except ApiError as error:
                        self._auth_verified = error.status not in (None, 401)
                        raise
                    self._auth_verified = True
                    return response
        return self._attempt(call)

    def _attempt(self, call: Call) -> requests.Response:
        """One attempt, refreshing an expired token and resending exactly once.

        ``limited`` calls wait for the client-side rate limiter first (OCR calls; IAM calls are not limited).
        """
        refreshed = False
        while True:
            pacer = self.rate_limiter if call.limited else None
            if pacer is not None:
                pacer.acquire()
            sent = time.monotonic()
            try:
                response = self.session.send(
                    self._prepare(call),
                    timeout=self.settings.timeout,
                    allow_redirects=False,  # a signed call or a token never follows a redirect elsewhere
                    **self._environment(call.url),
                )
            except requests.RequestException as exc:
                raise transport_error(exc, call.what) from None
            throttled = response.status_code == 429
            if pacer is not None and not throttled:
                pacer.observe(time.monotonic() - sent, throttled=False)
            if response.status_code < 400:
                return response
            error = error_from_response(response)
            if pacer is not None and throttled:
                if isinstance(error, ThrottledError) and error.quota is not None:
                    pacer.learn_quota(*error.quota)  # the account's quota as stated: it paces by itself, no guess
                else:
                    pacer.observe(time.monotonic() - sent, throttled=True)
            if (
                isinstance(error, TokenExpiredError)
                and not refreshed
                and call.auth.handle_token_expired(response.request)
            ):
                log.info("%s: IAM token expired (%s); refreshing once", call.what, error.error_code)
                refreshed = True
                continue
            raise error

    def _prepare(self, call: Call) -> requests.PreparedRequest:
        """The request, signed, without requests' per-call session merging (no cookies, params or hooks are ever
        set on this session; its headers are the only setting, merged here). Redirects are not followed."""
        prepared = requests.PreparedRequest()
        headers = {**self.session.headers, **call.headers}
        prepared.prepare(method=call.method, url=call.url, headers=headers, data=call.body, auth=call.auth)
        return prepared

    def _environment(self, url: str) -> dict[str, Any]:
        """Proxies and CA bundle from the environment (``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``), as
        requests would find them, worked out once per endpoint instead of on every call."""
        key = "/".join(url.split("/", 3)[:3])
        cached = self._env_cache.get(key)
        if cached is None:
            verify = self.settings.verify_ssl
            cached = environment_settings(key, verify) if self._trust_env else {"proxies": {}, "verify": verify}
            self._env_cache[key] = cached
        return cached

    # -- OCR -------------------------------------------------------------------------------------------
    def recognize(
        self,
        *,
        image: bytes | None = None,
        url: str | None = None,
        options: RecognizeOptions | None = None,
        image_name: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> OcrResponse:
        """Recognise one licence image given as bytes or as a URL that Huawei downloads.

        ``retry`` overrides the client's policy for this call (the batch pipeline passes a single attempt and
        schedules retries itself, so a back-off never holds a worker)."""
        options, name = prepare_call(image, url, options, image_name)
        if image is not None:
            check_image(image, name)
            sent = upright(image)  # a photo stored sideways with an EXIF tag goes upright (the caller's cache key
            if sent is not image:  # stays on the original bytes)
                check_image(sent, name)
            body = request_body(image_b64=encode_image(sent), url=None, options=options)
        else:
            assert url is not None
            body = request_body(image_b64=None, url=url, options=options)
        headers = {"Content-Type": JSON_CONTENT_TYPE}
        enterprise = options.enterprise_project_id or self.settings.enterprise_project_id
        if enterprise:
            headers["Enterprise-Project-Id"] = enterprise
        started = time.monotonic()
        try:
            project_id = self.project_id
            target = f"{self.settings.resolved_ocr_endpoint}{vehicle_license_path(project_id)}"
            auth = self.auth.for_project(project_id)
            response, attempts = (retry or self.retry).run(
                lambda: self._send(Call("POST", target, body, headers, auth, f"OCR of {name}", limited=True)),
                sleep=self._sleep,
                describe=f"OCR of {name}",
            )
            result = json_body(response, f"OCR of {name}").get("result")
            if not isinstance(result, dict):
                raise TransportError(f"OCR of {name}: 200 response without a 'result' object")
        except ApiError as error:
            raise error.with_image(name) from None
        return OcrResponse(
            result=VehicleLicenseResult.model_validate(result),
            request_id=response.headers.get("X-Request-Id"),
            engine=self.name,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
            attempts=attempts,
            side=options.side,
        )

    def check_credentials(self) -> str:
        """A cheap authenticated call (token fetch and/or project lookup) for ``test_connection``."""
        project_id = self.lookup_project_id()
        configured = self.settings.project_id
        if configured and configured != project_id:
            raise ConfigurationError(
                f"extra 'project_id' {configured!r} is not the project of region {self.settings.region!r} "
                f"({project_id!r})"
            )
        return project_id


def create_engine(context: EngineContext) -> VehicleLicenseOcrClient:
    """The registry's factory: a client for the connection in ``context``."""
    if context.settings is None:
        raise ConfigurationError("engine 'huaweicloud' needs a vlocr connection with credentials")
    return VehicleLicenseOcrClient(
        context.settings,
        on_secret=context.on_secret,
        retry=context.retry,
        pool_size=context.pool_size,
        refresh_margin_seconds=context.refresh_margin_seconds,
        rate_limiter=context.rate_limiter,
    )
