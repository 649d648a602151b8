"""Building an engine: what a factory may use (:class:`EngineContext`), and the factory of an engine by name,
imported on first use from the registry's ``"module:function"``."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from .registry import ENGINES, EngineSpec

if TYPE_CHECKING:
    from ..backoff import RetryPolicy
    from ..connection import ConnectionSettings
    from ..ratelimit import RateLimiter
    from .base import RecognitionEngine


@dataclass(frozen=True)
class EngineContext:
    """What a factory may use to build an engine (each engine takes what it needs)."""

    settings: ConnectionSettings | None = None
    on_secret: Callable[[str], None] = lambda _: None
    retry: RetryPolicy | None = None
    pool_size: int = 10
    refresh_margin_seconds: float = 600.0
    rate_limiter: RateLimiter | None = None
    allowed_url_hosts: Iterable[str] | None = None
    answers: dict[str, Any] = field(default_factory=dict)


def build_engine(spec: EngineSpec, context: EngineContext) -> RecognitionEngine:
    """Build the engine ``spec`` describes (``ConfigurationError`` with the pip line when a dependency is
    missing)."""
    hint = spec.install_hint()
    if hint:
        raise ConfigurationError(hint)
    module_name, function = spec.factory.split(":")
    module = importlib.import_module(module_name, __package__)
    engine: RecognitionEngine = getattr(module, function)(context)
    return engine


def create_engine(name: str, context: EngineContext) -> RecognitionEngine:
    """Build engine ``name`` (test-only engines included)."""
    spec = ENGINES.get(name)
    if spec is None:
        raise ConfigurationError(f"unknown engine {name!r}; known: {', '.join(ENGINES)}")
    return build_engine(spec, context)
