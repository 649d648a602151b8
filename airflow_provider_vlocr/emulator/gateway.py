"""API Gateway behaviour: who is calling (token or AK/SK signature), checked as Huawei's gateway does."""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

from ..core.engines.huaweicloud.signing import parse_authorization, parse_sdk_date, verify_signature
from .config import EmulatorConfig
from .state import AkLockout, EmulatorError, IssuedToken, TokenStore


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: by token (with its project) or by AK."""

    kind: str
    project_id: str | None
    access_key: str | None = None


@dataclass(frozen=True)
class RawRequest:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # lower-cased names
    body: bytes


def _apig(status: int, code: str, message: str) -> EmulatorError:
    return EmulatorError(status, code, message)


class Gateway:
    """Checks ``X-Auth-Token`` or an ``SDK-HMAC-SHA256`` signature on every API call."""

    def __init__(self, config: EmulatorConfig, tokens: TokenStore, lockout: AkLockout) -> None:
        self.config = config
        self.tokens = tokens
        self.lockout = lockout

    def authenticate(self, request: RawRequest, *, require_project: bool) -> Caller:
        token = request.headers.get("x-auth-token")
        authorization = request.headers.get("authorization")
        if token:
            return self._token_caller(token, require_project)
        if authorization:
            return self._signed_caller(request, authorization)
        raise _apig(401, "APIG.0301", "Incorrect IAM authentication information: x-auth-token not found")

    def _token_caller(self, value: str, require_project: bool) -> Caller:
        issued: IssuedToken | None = self.tokens.get(value)
        if issued is None:
            raise _apig(401, "APIG.0301", "Incorrect IAM authentication information: decrypt token fail")
        if issued.expires_at <= time.time():
            raise _apig(401, "APIG.0307", "The token must be updated.")
        if require_project and not issued.project_id:
            raise EmulatorError(401, "ModelArts.0212", "Invalid Token header. The Token not contain project item.")
        return Caller("token", issued.project_id)

    def _signed_caller(self, request: RawRequest, authorization: str) -> Caller:
        parsed = parse_authorization(authorization)
        if parsed is None:
            raise _apig(401, "APIG.0301", "Incorrect IAM authentication information: unsupported authorization")
        key = next((k for k in self.config.access_keys if k.ak == parsed.access_key), None)
        if key is None:
            raise _apig(401, "APIG.0301", f"Incorrect IAM authentication information: ak {parsed.access_key} not exist")
        if self.lockout.locked(key.ak):
            raise _apig(
                401,
                "APIG.0301",
                "Incorrect IAM authentication information: AK access failed to reach the limit,forbidden",
            )
        if "x-sdk-date" not in parsed.signed_headers or "x-sdk-date" not in request.headers:
            raise _apig(401, "APIG.0303", "Incorrect app authentication information: x-sdk-date not signed")
        try:
            skew = abs(time.time() - parse_sdk_date(request.headers["x-sdk-date"]).timestamp())
        except ValueError:
            raise _apig(401, "APIG.0303", "Incorrect app authentication information: bad x-sdk-date") from None
        if skew > self.config.max_clock_skew_seconds:
            raise _apig(401, "APIG.0303", "Incorrect app authentication information: signature expired")
        if len(request.body) > self.config.max_aksk_body_bytes:
            raise _apig(413, "APIG.0201", "Request entity too large")
        if not verify_signature(
            key.sk, request.method, request.path, request.query, request.headers, request.body, parsed
        ):
            self.lockout.failure(key.ak)
            raise _apig(401, "APIG.0301", "Incorrect IAM authentication information: verify aksk signature fail")
        if key.security_token is not None:
            sent = request.headers.get("x-security-token", "")
            if "x-security-token" not in parsed.signed_headers or not hmac.compare_digest(sent, key.security_token):
                self.lockout.failure(key.ak)
                raise _apig(401, "APIG.0301", "Incorrect IAM authentication information: invalid security token")
        self.lockout.success(key.ak)
        return Caller("aksk", request.headers.get("x-project-id"), access_key=key.ak)
