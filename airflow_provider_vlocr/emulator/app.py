"""The emulated services, independent of the HTTP server: IAM tokens, project lookup, Vehicle License OCR."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from ..core.engines.answers import AnswersEngine
from ..core.engines.base import ReadingEngine, image_digest
from ..core.engines.reading import LicenseReading, shape_result
from ..core.engines.registry import ENGINES
from ..core.errors import ApiError, DownloadError, ImageValidationError
from ..core.fetch.download import URL_NOT_ALLOWED_RULES, DownloadPolicy, download_image
from ..core.images import MAX_BASE64_BYTES, SIZE_RULES, check_image
from ..core.models import RecognizeOptions
from ..licence.schema import BOOLEAN_OPTIONS, SIDES
from .config import EmulatorConfig, SettingsPatch
from .gateway import Gateway, RawRequest
from .state import AkLockout, Counters, EmulatorError, FixedWindowQuota, IssuedToken, QuotaWindow, TokenStore

log = logging.getLogger(__name__)
OCR_PATH = re.compile(r"^/v2/([^/]+)/ocr/vehicle-license/?$")
IAM_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass
class Reply:
    """What the HTTP layer sends back; ``reset`` asks it to drop the connection with a TCP RST instead."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False


def _iam_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime(IAM_TIME_FORMAT)


def make_engine(config: EmulatorConfig) -> ReadingEngine:
    """The recognition engine: the offline engine when installed (``auto``/``local``), else the answers file."""
    if config.engine in ("auto", "local"):
        hint = ENGINES["local"].install_hint()
        if hint is None:
            from ..core.engines.local import LocalEngine

            return LocalEngine(allowed_url_hosts=config.url_allowed_hosts)
        if config.engine == "local":
            raise RuntimeError(hint)
    engine = (
        AnswersEngine.from_file(config.answers_file, allowed_url_hosts=config.url_allowed_hosts)
        if config.answers_file
        else AnswersEngine(allowed_url_hosts=config.url_allowed_hosts)
    )
    for digest, reading in config.answers.items():
        engine.add(digest, reading)
    return engine


class EmulatorApp:
    """Routes a request to IAM, project lookup, OCR or the ``/_emulator`` admin endpoints."""

    def __init__(self, config: EmulatorConfig, engine: ReadingEngine | None = None) -> None:
        self.config = config
        self.engine = engine or make_engine(config)
        self.answers = self.engine if isinstance(self.engine, AnswersEngine) else None
        self.tokens = TokenStore()
        self.counters = Counters()
        self.rate = QuotaWindow(config.qps_limit)
        self.quota = FixedWindowQuota(config.quota_per_window, config.quota_window_seconds)
        self.lockout = AkLockout(config.ak_lockout_failures, config.ak_lockout_seconds)
        self.gateway = Gateway(config, self.tokens, self.lockout)
        self._rng = random.Random(config.seed)
        self._rng_lock = threading.Lock()

    # -- dispatch --------------------------------------------------------------------------------------
    def handle(self, request: RawRequest) -> Reply:
        request_id = uuid.uuid4().hex
        try:
            reply = self._route(request)
        except EmulatorError as error:
            reply = self._error_reply(error, request_id)
        reply.headers.setdefault("X-Request-Id", request_id)
        if not request.path.startswith("/_emulator/"):
            self.counters.count("responses_by_status", str(reply.status))
        return reply

    def _error_reply(self, error: EmulatorError, request_id: str) -> Reply:
        self.counters.count("errors_by_code", error.code)
        if error.keystone:
            body: dict[str, Any] = {"error": {"code": error.status, "message": error.message, "title": error.code}}
        else:
            body = {"error_code": error.code, "error_msg": error.message}
            if error.code.startswith("APIG"):
                body["request_id"] = request_id
        retry_after = self.config.retry_after_seconds
        headers = {"Retry-After": f"{retry_after:g}"} if error.status == 429 and retry_after is not None else {}
        return Reply(error.status, body, headers)

    def _route(self, request: RawRequest) -> Reply:
        path, method = request.path, request.method
        if path.startswith("/_emulator/"):
            return self._admin(request)
        if path.rstrip("/") == "/v3/auth/tokens" and method == "POST":
            return self._issue_token(request)
        if path.rstrip("/") == "/v3/projects" and method == "GET":
            return self._list_projects(request)
        match = OCR_PATH.match(path)
        if match and method == "POST":
            return self._ocr(request, match.group(1))
        raise EmulatorError(404, "APIG.0101", "The API does not exist or has not been published in the environment.")

    # -- IAM -------------------------------------------------------------------------------------------
    def _new_token(
        self, user: str, domain: str, project_id: str | None, project_name: str | None
    ) -> tuple[IssuedToken, str]:
        now = time.time()
        issued = IssuedToken(
            user=user,
            domain=domain,
            project_id=project_id,
            project_name=project_name,
            issued_at=now,
            expires_at=now + self.config.token_lifetime_seconds,
        )
        value = self.tokens.issue(issued)
        self.counters.bump("tokens_issued")
        return issued, value

    def project_token(self) -> str:
        """A project-scoped token for the first configured user (a ready-made-token connection)."""
        user, project = self.config.users[0], self.config.project
        return self._new_token(user.name, user.domain, project.id, project.name)[1]

    def _issue_token(self, request: RawRequest) -> Reply:
        try:
            auth = json.loads(request.body)["auth"]
            identity = auth["identity"]
            user = identity["password"]["user"]
            domain_name = user["domain"].get("name")
            user_name, password = user["name"], user["password"]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise EmulatorError(400, "Bad Request", "The request body is malformed.", keystone=True) from None
        if "password" not in identity.get("methods", []):
            raise EmulatorError(400, "Bad Request", "Only the password method is emulated.", keystone=True)
        known = any(
            u.domain == domain_name and u.name == user_name and u.password == password for u in self.config.users
        )
        if not known:
            self.counters.bump("token_failures")
            raise EmulatorError(401, "Unauthorized", "The username or password is wrong.", keystone=True)
        project = self.config.project
        scope = auth.get("scope") or {}
        project_id = project_name = None
        if "project" in scope:
            wanted = scope["project"] or {}
            if wanted.get("id") not in (None, project.id) or wanted.get("name") not in (None, project.name):
                raise EmulatorError(401, "Unauthorized", "The project in the scope does not exist.", keystone=True)
            project_id, project_name = project.id, project.name
        issued, value = self._new_token(user_name, domain_name, project_id, project_name)
        domain = {"id": self.config.domain.id, "name": self.config.domain.name}
        token: dict[str, Any] = {
            "expires_at": _iam_time(issued.expires_at),
            "issued_at": _iam_time(issued.issued_at),
            "methods": ["password"],
            "catalog": [],
            "domain": domain,
            "roles": [{"id": "0", "name": "op_service"}],
            "user": {
                "id": uuid.uuid5(uuid.NAMESPACE_OID, user_name).hex,
                "name": user_name,
                "password_expires_at": "",
                "domain": domain,
            },
        }
        if project_id:
            token["project"] = {"id": project_id, "name": project_name, "domain": domain}
        return Reply(201, {"token": token}, {"X-Subject-Token": value})

    def _list_projects(self, request: RawRequest) -> Reply:
        self.gateway.authenticate(request, require_project=False)
        self.counters.bump("project_lookups")
        names = parse_qs(request.query).get("name")
        project = self.config.project
        listed = {
            "id": project.id,
            "name": project.name,
            "domain_id": self.config.domain.id,
            "parent_id": self.config.domain.id,
            "enabled": True,
            "is_domain": False,
            "description": "",
            "links": {"self": f"/v3/projects/{project.id}"},
        }
        projects = [listed] if not names or project.name in names else []
        return Reply(200, {"projects": projects, "links": {"self": "/v3/projects", "previous": None, "next": None}})

    # -- OCR -------------------------------------------------------------------------------------------
    def _roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._rng_lock:
            return self._rng.random() < rate

    def _ocr(self, request: RawRequest, project_id: str) -> Reply:
        self.counters.bump("ocr_requests")
        self.counters.arrive()
        caller = self.gateway.authenticate(request, require_project=True)
        if project_id != self.config.project.id:
            if caller.kind == "token":
                raise EmulatorError(401, "APIG.0307", "The token must be updated.")
            raise EmulatorError(403, "APIG.0310", "The project is unavailable.")
        if caller.kind == "token" and caller.project_id != project_id:
            raise EmulatorError(401, "APIG.0307", "The token must be updated.")
        if caller.kind == "aksk" and caller.project_id not in (None, project_id):
            raise EmulatorError(403, "APIG.0310", "The project is unavailable.")
        throttled = "The throttling threshold has been reached: policy user over ratelimit"
        if not self.rate.admit():
            stated = f",limit:{self.rate.limit:g},time:1 second" if self.config.state_limits else ""
            raise EmulatorError(429, "APIG.0308", throttled + stated)
        if not self.quota.admit():
            stated = f",limit:{self.quota.limit},time:{self.quota.describe()}" if self.config.state_limits else ""
            raise EmulatorError(429, "APIG.0308", throttled + stated)
        faults = self.config.faults
        if self._roll(faults.rate_429):
            self.counters.count("faults_injected", "429")
            raise EmulatorError(429, "APIG.0308", "The throttling threshold has been reached: policy ip over ratelimit")
        if self._roll(faults.rate_reset):
            self.counters.count("faults_injected", "reset")
            return Reply(0, reset=True)
        self.counters.enter()
        try:
            delay_ms = self.config.latency_ms
            if self._roll(faults.rate_slow):
                self.counters.count("faults_injected", "slow")
                delay_ms += faults.slow_ms
            if delay_ms:
                time.sleep(delay_ms / 1000)
            if self._roll(faults.rate_500):
                self.counters.count("faults_injected", "500")
                raise EmulatorError(500, "APIG.0601", "Internal server error")
            if self._roll(faults.rate_504):
                self.counters.count("faults_injected", "504")
                raise EmulatorError(504, "APIG.0201", "Backend timeout.")
            image, options = self._parse_ocr_body(request.body)
            try:
                reading = self.engine.read(image, image_name="request", side_hint=options.side)
                result = shape_result(reading, options)
            except ApiError as error:
                raise EmulatorError(error.status or 400, error.error_code or "AIS.0104", error.error_msg) from None
        finally:
            self.counters.leave()
        self.counters.bump("ocr_billed")
        enterprise = request.headers.get("enterprise-project-id")
        if enterprise:  # billing attribution only: never an error, as on the real service
            self.counters.count("enterprise_project_ids", enterprise)
        self.counters.count("billed_by_image", image_digest(image))
        return Reply(200, {"result": result.to_api_dict()})

    def _parse_ocr_body(self, body: bytes) -> tuple[bytes, RecognizeOptions]:
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise EmulatorError(400, "ModelArts.4105", "The JSON format of the input data is incorrect.") from None
        if not isinstance(payload, dict):
            raise EmulatorError(400, "ModelArts.4105", "The JSON format of the input data is incorrect.")
        invalid = EmulatorError(400, "AIS.0101", "The input parameter is invalid.")
        has_image, has_url = payload.get("image") not in (None, ""), payload.get("url") not in (None, "")
        if has_image == has_url:
            raise invalid
        for key in BOOLEAN_OPTIONS:
            if key in payload and not isinstance(payload[key], bool):
                raise invalid
        side = payload.get("side")
        if side not in (None, "", *SIDES):
            raise invalid
        options = RecognizeOptions(side=side or None, **{k: payload[k] for k in BOOLEAN_OPTIONS if k in payload})
        image = self._decode_image(payload["image"]) if has_image else self._fetch_url(payload["url"])
        self._check_image(image)
        return image, options

    def _decode_image(self, value: Any) -> bytes:
        unsupported = EmulatorError(400, "AIS.0102", "The image format is not supported.")
        if not isinstance(value, str) or value.startswith("data:"):
            raise unsupported
        if len(value) > MAX_BASE64_BYTES:
            raise EmulatorError(400, "AIS.0103", "The image size does not meet the requirements.")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise unsupported from None

    def _fetch_url(self, url: Any) -> bytes:
        if not isinstance(url, str):
            raise EmulatorError(400, "AIS.0101", "The input parameter is invalid.")
        try:
            return download_image(url, DownloadPolicy.build(self.config.url_allowed_hosts))
        except DownloadError as error:
            if error.rule in URL_NOT_ALLOWED_RULES:
                raise EmulatorError(400, "ModelArts.4601", "The URL is not allowed.") from None
            raise EmulatorError(400, "ModelArts.4603", "Obtaining the file from the URL failed.") from None

    def _check_image(self, image: bytes) -> None:
        """The core's image checks, answered with the API's codes (the service's side limit is 8192 px)."""
        try:
            check_image(image, "request", max_side=self.config.max_pixels_side)
        except ImageValidationError as error:
            if error.rule in SIZE_RULES:
                raise EmulatorError(400, "AIS.0103", "The image size does not meet the requirements.") from None
            raise EmulatorError(400, "AIS.0102", "The image format is not supported.") from None

    # -- admin -----------------------------------------------------------------------------------------
    def _admin(self, request: RawRequest) -> Reply:
        action = request.path[len("/_emulator/") :].rstrip("/")
        if action == "health" and request.method == "GET":
            return Reply(200, {"status": "ok", "engine": self.engine.name, "project_id": self.config.project.id})
        if action == "counters" and request.method == "GET":
            return Reply(200, self.counters.snapshot())
        if action == "reset" and request.method == "POST":
            self.counters.reset()
            return Reply(200, {"status": "reset"})
        if action == "tokens/expire" and request.method == "POST":
            return Reply(200, {"expired": self.tokens.expire_all()})
        if action == "settings" and request.method == "POST":
            return Reply(200, self._patch_settings(request.body))
        if action == "answers" and request.method == "POST":
            return Reply(200, {"added": self._add_answers(request.body)})
        raise EmulatorError(404, "APIG.0101", "The API does not exist or has not been published in the environment.")

    def _patch_settings(self, body: bytes) -> dict[str, Any]:
        try:
            patch = SettingsPatch.model_validate_json(body or b"{}")
        except ValueError as exc:
            raise EmulatorError(400, "EMU.0001", f"invalid settings: {exc}") from None
        changes = patch.model_dump(exclude_unset=True)
        if "qps_limit" in changes:
            self.rate.limit = patch.qps_limit or None
        if "quota_per_window" in changes or "quota_window_seconds" in changes:
            seconds = patch.quota_window_seconds or self.config.quota_window_seconds
            limit = patch.quota_per_window if "quota_per_window" in changes else self.config.quota_per_window
            self.quota = FixedWindowQuota(limit or None, seconds)
        if "seed" in changes and patch.seed is not None:
            with self._rng_lock:
                self._rng = random.Random(patch.seed)
        update = {k: getattr(patch, k) for k in changes if k not in ("seed",)}
        if "qps_limit" in update:
            update["qps_limit"] = patch.qps_limit or None
        if "quota_per_window" in update:
            update["quota_per_window"] = patch.quota_per_window or None
        for unset_if_none in ("quota_window_seconds", "state_limits"):
            if update.get(unset_if_none) is None:
                update.pop(unset_if_none, None)
        self.config = self.config.model_copy(update=update)
        self.gateway.config = self.config
        if patch.url_allowed_hosts is not None:
            self.engine.allowed_url_hosts = tuple(patch.url_allowed_hosts)
        shown = {"latency_ms", "qps_limit", "quota_per_window", "quota_window_seconds", "retry_after_seconds", "faults",
                 "token_lifetime_seconds"}  # fmt: skip
        shown |= {"url_allowed_hosts", "state_limits"}
        return {"settings": self.config.model_dump(include=shown)}

    def _add_answers(self, body: bytes) -> int:
        if self.answers is None:
            raise EmulatorError(409, "EMU.0002", f"engine {self.engine.name!r} does not take answers")
        try:
            data = json.loads(body)
            for digest, reading in data.items():
                self.answers.add(digest, LicenseReading.model_validate(reading))
        except (ValueError, AttributeError) as exc:
            raise EmulatorError(400, "EMU.0003", f"invalid answers: {exc}") from None
        return len(data)
