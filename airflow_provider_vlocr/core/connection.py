"""Connection settings as plain values, and the choice of auth mode from what they hold.

This module knows nothing of Airflow: the hook turns an Airflow ``Connection`` into
:class:`ConnectionSettings` with :meth:`ConnectionSettings.from_parts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..licence.schema import HYBRID_THRESHOLD
from .checks import parse_flag, parse_number
from .engines.huaweicloud.endpoints import DEFAULT_REGION, iam_endpoint, ocr_endpoint
from .engines.registry import engine_spec
from .errors import ConfigurationError

SECRET_FIELDS = ("password", "secret_access_key", "security_token", "token", "pii_salt")
DEFAULT_TIMEOUT = (10.0, 60.0)


def parse_bool(value: Any, name: str) -> bool:
    """A boolean extra: JSON ``true``/``false`` or the words :func:`parse_flag` accepts (empty: false)."""
    if value is None or value == "":
        return False
    return bool(parse_flag(value, name, allow_none=False, kind="connection extra"))


def parse_timeout(value: Any) -> tuple[float, float]:
    """``timeout``: one number for both, ``"connect,read"`` or ``[connect, read]`` in seconds."""
    if value is None or value == "":
        return DEFAULT_TIMEOUT
    try:
        if isinstance(value, int | float):
            return float(value), float(value)
        parts = value.split(",") if isinstance(value, str) else list(value)
        numbers = [float(p) for p in parts]
    except (TypeError, ValueError):
        raise ConfigurationError(f"connection extra 'timeout' must be seconds or 'connect,read': {value!r}") from None
    if len(numbers) == 1:
        numbers *= 2
    if len(numbers) != 2 or min(numbers) <= 0:
        raise ConfigurationError(f"connection extra 'timeout' must be two positive numbers: {value!r}")
    return numbers[0], numbers[1]


def parse_threshold(value: Any) -> float:
    """The hybrid engine's confidence threshold (connection extra ``hybrid_threshold``), in [0.01, 1]."""
    return parse_number(value, "hybrid_threshold", minimum=0.01, maximum=1.0)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


TEXT_FIELDS = ("login", "domain_name", "access_key_id", "secret_access_key", "security_token", "token", "project_id",
               "ocr_endpoint", "iam_endpoint", "obs_endpoint", "enterprise_project_id", "pii_salt",
               "shared_pacer")  # fmt: skip


class ConnectionSettings(BaseModel):
    """Everything a connection can hold, checked; secrets are excluded from ``repr``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    login: str | None = None
    password: str | None = Field(default=None, repr=False)
    domain_name: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = Field(default=None, repr=False)
    security_token: str | None = Field(default=None, repr=False)
    token: str | None = Field(default=None, repr=False)
    region: str = DEFAULT_REGION
    project_id: str | None = None
    ocr_endpoint: str | None = None
    iam_endpoint: str | None = None
    obs_endpoint: str | None = None
    enterprise_project_id: str | None = None
    verify_ssl: bool = True
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    engine: str = "huaweicloud"
    hybrid_threshold: float = HYBRID_THRESHOLD
    pii_salt: str | None = Field(default=None, repr=False)
    # the account's pace shared by every worker: a redis:// URL or the id of an Airflow Redis connection
    shared_pacer: str | None = Field(default=None, repr=False)

    @classmethod
    def from_parts(cls, *, login: str | None, password: str | None, extras: Mapping[str, Any]) -> ConnectionSettings:
        """Build from a connection's login, password and extras (unknown extras are refused by name)."""
        known = set(cls.model_fields) - {"login", "password"}
        # Airflow 2 forms stored extras as extra__<type>__<name>; accept both spellings.
        clean = {(key.split("__")[-1] if key.startswith("extra__") else key): value for key, value in extras.items()}
        unknown = sorted(set(clean) - known)
        if unknown:
            raise ConfigurationError(f"unknown connection extra(s) {unknown}; known: {sorted(known)}")
        return cls.model_validate({**clean, "login": login, "password": password})

    @field_validator(*TEXT_FIELDS, mode="before")
    @classmethod
    def _text(cls, value: Any) -> str | None:
        return _text(value)

    @field_validator("password", mode="before")
    @classmethod
    def _password(cls, value: Any) -> str | None:
        return value or None  # a password is kept as typed (spaces included)

    @field_validator("region", mode="before")
    @classmethod
    def _region(cls, value: Any) -> str:
        return _text(value) or DEFAULT_REGION

    @field_validator("verify_ssl", mode="before")
    @classmethod
    def _verify_ssl(cls, value: Any) -> bool:
        return parse_bool(value, "verify_ssl")

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> tuple[float, float]:
        return parse_timeout(value)

    @field_validator("engine", mode="before")
    @classmethod
    def _engine(cls, value: Any) -> str:
        engine = (_text(value) or "huaweicloud").lower()
        engine_spec(engine, "connection extra 'engine'")
        return engine

    @field_validator("hybrid_threshold", mode="before")
    @classmethod
    def _threshold(cls, value: Any) -> float:
        return parse_threshold(value)

    @property
    def secrets(self) -> list[str]:
        """Every secret value present (to hand to ``mask_secret``)."""
        found = [v for v in (getattr(self, name) for name in SECRET_FIELDS) if v]
        if self.shared_pacer and "://" in self.shared_pacer:  # a Redis URL may carry a password
            password = urlsplit(self.shared_pacer).password
            found += [password, quote(password, safe="")] if password else []
        return found

    @property
    def resolved_ocr_endpoint(self) -> str:
        return (self.ocr_endpoint or ocr_endpoint(self.region)).rstrip("/")

    @property
    def resolved_iam_endpoint(self) -> str:
        return (self.iam_endpoint or iam_endpoint(self.region)).rstrip("/")

    def auth_mode(self) -> str:
        """Pick the auth mode from what is present; refuse incomplete or ambiguous connections."""
        has_password = bool(self.login or self.password or self.domain_name)
        has_aksk = bool(self.access_key_id or self.secret_access_key)
        has_token = bool(self.token)
        present = [
            name for name, flag in (("password", has_password), ("aksk", has_aksk), ("token", has_token)) if flag
        ]
        if not present:
            raise ConfigurationError(
                "connection holds no credentials: set login + password + extra 'domain_name' (IAM password), "
                "extras 'access_key_id' + 'secret_access_key' (AK/SK), or extra 'token'"
            )
        if len(present) > 1:
            raise ConfigurationError(
                f"connection is ambiguous: it holds credentials for {' and '.join(present)}; keep one kind"
            )
        mode = present[0]
        if mode == "password":
            missing = [
                label
                for label, value in (
                    ("login (IAM user name)", self.login),
                    ("password (IAM password)", self.password),
                    ("extra 'domain_name' (account name)", self.domain_name),
                )
                if not value
            ]
            if missing:
                raise ConfigurationError(f"IAM password auth is incomplete: missing {', '.join(missing)}")
        if mode == "aksk":
            if not (self.access_key_id and self.secret_access_key):
                which = "secret_access_key" if self.access_key_id else "access_key_id"
                raise ConfigurationError(f"AK/SK auth is incomplete: missing extra {which!r}")
            return "temporary-aksk" if self.security_token else "aksk"
        if self.security_token:
            raise ConfigurationError(
                "extra 'security_token' is only valid with 'access_key_id' and 'secret_access_key'"
            )
        return mode
