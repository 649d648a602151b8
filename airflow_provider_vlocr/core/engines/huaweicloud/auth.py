"""Authentication as ``requests.auth.AuthBase`` subclasses, so HTTP code never branches on the auth kind.

* :class:`PasswordTokenAuth`: IAM password token, fetched lazily, cached until shortly before
  ``expires_at``, shared by every thread, refreshed once when the gateway says it expired.
* :class:`StaticTokenAuth`: a ready-made IAM token.
* :class:`AkSkAuth`: ``SDK-HMAC-SHA256`` signing with permanent or temporary (security-token) AK/SK.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests
from requests.auth import AuthBase

from ...errors import AuthenticationError, TransportError

if TYPE_CHECKING:
    from ...connection import ConnectionSettings
from .http import TRANSPORT_HEADERS, SecretSink, dumps, environment_settings, error_from_response, transport_error
from .signing import sign_request

TOKEN_HEADER = "X-Auth-Token"
SUBJECT_TOKEN_HEADER = "X-Subject-Token"
IAM_EXPIRES_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _noop_sink(_: str) -> None:
    return None


class VlocrAuth(AuthBase):
    """Base of every auth kind. Subclasses never show a secret in ``repr``."""

    kind = "base"

    def for_project(self, project_id: str) -> VlocrAuth:
        """The auth to use on OCR calls of ``project_id`` (AK/SK adds ``X-Project-Id``)."""
        return self

    def known_project_id(self) -> str | None:
        """A project id the credentials already reveal (a project-scoped token's), else ``None``."""
        return None

    def handle_token_expired(self, request: requests.PreparedRequest) -> bool:
        """Forget an expired token; ``True`` when a retry with fresh credentials makes sense."""
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class StaticTokenAuth(VlocrAuth):
    """A ready-made IAM token from the connection; it cannot be refreshed."""

    kind = "token"

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers[TOKEN_HEADER] = self._token
        return r


class AkSkAuth(VlocrAuth):
    """``SDK-HMAC-SHA256`` signing; with ``security_token`` for temporary credentials."""

    kind = "aksk"

    def __init__(
        self,
        access_key_id: str,
        secret_access_key: str,
        security_token: str | None = None,
        project_id: str | None = None,
    ) -> None:
        self.access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self._security_token = security_token
        self.project_id = project_id
        if security_token:
            self.kind = "temporary-aksk"

    def for_project(self, project_id: str) -> AkSkAuth:
        return AkSkAuth(self.access_key_id, self._secret_access_key, self._security_token, project_id)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        headers: dict[str, str] = dict(r.headers)
        if self.project_id:
            headers["X-Project-Id"] = self.project_id
        if self._security_token:
            headers["X-Security-Token"] = self._security_token
        body = r.body.encode("utf-8") if isinstance(r.body, str) else (r.body or b"")
        sign_request(
            self.access_key_id,
            self._secret_access_key,
            r.method or "GET",
            r.url or "",
            headers,
            body,
            exclude_headers=TRANSPORT_HEADERS,
        )
        r.headers.update(headers)
        return r

    def __repr__(self) -> str:
        return f"<AkSkAuth access_key_id={self.access_key_id!r} temporary={bool(self._security_token)}>"


@dataclass(frozen=True)
class IamToken:
    """A fetched IAM token and what its body said."""

    value: str
    expires_at: datetime
    issued_at: datetime | None
    project_id: str | None
    project_name: str | None

    def __repr__(self) -> str:
        return f"<IamToken project={self.project_name!r} expires_at={self.expires_at.isoformat()}>"


def parse_iam_time(value: str) -> datetime:
    """IAM's ``expires_at``/``issued_at`` (``%Y-%m-%dT%H:%M:%S.%fZ``, UTC)."""
    try:
        return datetime.strptime(value, IAM_EXPIRES_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


class PasswordTokenAuth(VlocrAuth):
    """IAM password tokens (``POST {iam}/v3/auth/tokens``), project-scoped, cached and thread-safe."""

    kind = "password"

    def __init__(
        self,
        *,
        iam_endpoint: str,
        domain_name: str,
        user_name: str,
        password: str,
        region: str,
        project_id: str | None,
        session: requests.Session,
        timeout: tuple[float, float],
        verify: bool,
        refresh_margin_seconds: float = 600.0,
        on_secret: SecretSink = _noop_sink,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.iam_endpoint = iam_endpoint.rstrip("/")
        self.domain_name = domain_name
        self.user_name = user_name
        self._password = password
        self.region = region
        self.project_id = project_id
        self._session = session
        self._timeout = timeout
        self._verify = verify
        self.refresh_margin_seconds = refresh_margin_seconds
        self._on_secret = on_secret
        self._clock = clock
        self._lock = threading.Lock()
        self._token: IamToken | None = None
        self._refresh_after = 0.0
        self.fetch_count = 0

    def __repr__(self) -> str:
        return f"<PasswordTokenAuth user={self.user_name!r} domain={self.domain_name!r} region={self.region!r}>"

    def _scope(self) -> dict[str, Any]:
        if self.project_id:
            return {"project": {"id": self.project_id}}
        return {"project": {"name": self.region}}

    def _fetch(self) -> IamToken:
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "domain": {"name": self.domain_name},
                            "name": self.user_name,
                            "password": self._password,
                        }
                    },
                },
                "scope": self._scope(),
            }
        }
        url = f"{self.iam_endpoint}/v3/auth/tokens?nocatalog=true"
        try:
            response = self._session.post(
                url,
                data=dumps(body),
                headers={"Content-Type": "application/json;charset=utf8"},
                timeout=self._timeout,
                **environment_settings(url, self._verify),  # the session does not read it per request
            )
        except requests.RequestException as exc:
            raise transport_error(exc, "IAM token request") from None
        if response.status_code != 201:
            error = error_from_response(response)
            if response.status_code in (400, 401, 403):
                raise AuthenticationError(
                    f"IAM refused the password token for user {self.user_name!r} of account "
                    f"{self.domain_name!r}: {error.error_msg}",
                    status=response.status_code,
                    error_code=error.error_code,
                    request_id=error.request_id,
                )
            raise error
        value = response.headers.get(SUBJECT_TOKEN_HEADER)
        if not value:
            raise TransportError("IAM answered 201 without an X-Subject-Token header")
        self._on_secret(value)
        token_body = response.json().get("token", {}) if response.content else {}
        project = token_body.get("project") or {}
        if not token_body.get("expires_at"):
            raise TransportError("IAM token body has no expires_at")
        return IamToken(
            value=value,
            expires_at=parse_iam_time(token_body["expires_at"]),
            issued_at=parse_iam_time(token_body["issued_at"]) if token_body.get("issued_at") else None,
            project_id=project.get("id"),
            project_name=project.get("name"),
        )

    def _margin(self, token: IamToken) -> float:
        if token.issued_at is None:
            return self.refresh_margin_seconds
        lifetime = (token.expires_at - token.issued_at).total_seconds()
        return min(self.refresh_margin_seconds, max(lifetime * 0.1, 0.0))

    def token(self) -> IamToken:
        """The cached token, fetched when absent or within the refresh margin of ``expires_at``."""
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_after:
                token = self._fetch()
                self.fetch_count += 1
                self._token = token
                self._refresh_after = token.expires_at.timestamp() - self._margin(token)
            return self._token

    def known_project_id(self) -> str | None:
        return self.project_id or self.token().project_id

    def handle_token_expired(self, request: requests.PreparedRequest) -> bool:
        used = request.headers.get(TOKEN_HEADER)
        with self._lock:
            if self._token is not None and self._token.value == used:
                self._token = None
        return True

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers[TOKEN_HEADER] = self.token().value
        return r


def build_auth(
    settings: ConnectionSettings,
    session: requests.Session,
    on_secret: Callable[[str], None],
    refresh_margin_seconds: float = 600.0,
) -> VlocrAuth:
    """The :class:`VlocrAuth` for the connection's auth mode (every secret handed to ``on_secret`` first)."""
    mode = settings.auth_mode()
    for secret in settings.secrets:
        on_secret(secret)
    if mode == "token":
        assert settings.token
        return StaticTokenAuth(settings.token)
    if mode in ("aksk", "temporary-aksk"):
        assert settings.access_key_id and settings.secret_access_key
        return AkSkAuth(settings.access_key_id, settings.secret_access_key, settings.security_token)
    assert settings.login and settings.password and settings.domain_name
    return PasswordTokenAuth(
        iam_endpoint=settings.resolved_iam_endpoint,
        domain_name=settings.domain_name,
        user_name=settings.login,
        password=settings.password,
        region=settings.region,
        project_id=settings.project_id,
        session=session,
        timeout=settings.timeout,
        verify=settings.verify_ssl,
        refresh_margin_seconds=refresh_margin_seconds,
        on_secret=on_secret,
    )
