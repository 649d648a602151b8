"""Emulator configuration (the JSON file given with ``--config``), with demo defaults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.fetch.download import LOOPBACK_HOSTS

DEMO_PROJECT_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
DEMO_DOMAIN = "demo-account"
DEMO_USER = "demo-user"
DEMO_PASSWORD = "demo-password-Vlocr1"
DEMO_AK = "DEMOAKVLOCR000000001"
DEMO_SK = "DemoSecretKeyVlocr0000000000000000000001"
DEMO_TEMP_AK = "DEMOTEMPAKVLOCR00001"
DEMO_TEMP_SK = "DemoTempSecretKeyVlocr000000000000000001"
DEMO_SECURITY_TOKEN = "DEMO-SECURITY-TOKEN-VLOCR-0000000000000000000000000001"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectConfig(_Strict):
    id: str = DEMO_PROJECT_ID
    name: str = "cn-north-4"


class DomainConfig(_Strict):
    id: str = "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0"
    name: str = DEMO_DOMAIN


class UserConfig(_Strict):
    domain: str = DEMO_DOMAIN
    name: str = DEMO_USER
    password: str = DEMO_PASSWORD


class AccessKeyConfig(_Strict):
    ak: str
    sk: str
    security_token: str | None = None


class FaultConfig(_Strict):
    """Random faults on OCR calls; each rate is a probability per request."""

    rate_429: float = Field(0.0, ge=0, le=1)
    rate_500: float = Field(0.0, ge=0, le=1)
    rate_504: float = Field(0.0, ge=0, le=1)
    rate_reset: float = Field(0.0, ge=0, le=1)
    rate_slow: float = Field(0.0, ge=0, le=1)
    slow_ms: int = Field(3000, ge=0)


class EmulatorConfig(_Strict):
    """Everything the emulator can be told. All fields are optional; the defaults make a ready demo."""

    project: ProjectConfig = Field(default_factory=ProjectConfig)
    domain: DomainConfig = Field(default_factory=DomainConfig)
    users: list[UserConfig] = Field(default_factory=lambda: [UserConfig()])
    access_keys: list[AccessKeyConfig] = Field(
        default_factory=lambda: [
            AccessKeyConfig(ak=DEMO_AK, sk=DEMO_SK),
            AccessKeyConfig(ak=DEMO_TEMP_AK, sk=DEMO_TEMP_SK, security_token=DEMO_SECURITY_TOKEN),
        ]
    )
    token_lifetime_seconds: float = Field(86400.0, gt=0)
    engine: Literal["auto", "local", "answers"] = "auto"
    answers_file: str | None = None
    answers: dict[str, Any] = Field(default_factory=dict)
    latency_ms: int = Field(0, ge=0)
    qps_limit: float | None = Field(None, gt=0)
    # Huawei's account quota: a fixed window per user ("limit:300,time:1 minute" in APIG.0308's message).
    quota_per_window: int | None = Field(None, gt=0)
    quota_window_seconds: float = Field(60.0, gt=0)
    # False: 429s for qps_limit and the window quota do not say the limit (a gateway policy that keeps it to itself)
    state_limits: bool = True
    retry_after_seconds: float | None = Field(None, ge=0, description="Retry-After sent with 429s (none if unset)")
    faults: FaultConfig = Field(default_factory=FaultConfig)
    seed: int = 0
    url_allowed_hosts: list[str] = Field(default_factory=lambda: list(LOOPBACK_HOSTS))
    max_clock_skew_seconds: int = 900
    max_aksk_body_bytes: int = 12 * 1024 * 1024
    max_pixels_side: int = 8192
    ak_lockout_failures: int = 5
    ak_lockout_seconds: float = 300.0

    @property
    def region(self) -> str:
        return self.project.name

    @classmethod
    def from_file(cls, path: str | Path) -> EmulatorConfig:
        return cls.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))


class SettingsPatch(_Strict):
    """What ``POST /_emulator/settings`` may change while the emulator runs."""

    latency_ms: int | None = Field(None, ge=0)
    qps_limit: float | None = Field(None, ge=0)
    quota_per_window: int | None = Field(None, ge=0)
    quota_window_seconds: float | None = Field(None, gt=0)
    state_limits: bool | None = None
    retry_after_seconds: float | None = Field(None, ge=0)
    faults: FaultConfig | None = None
    token_lifetime_seconds: float | None = Field(None, gt=0)
    seed: int | None = None
    url_allowed_hosts: list[str] | None = None
