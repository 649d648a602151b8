"""The operator's arguments as one checked model: literals are checked when the DAG file is parsed, everything
again once templates are rendered. A bad argument is a :class:`ConfigurationError` naming it and its value."""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from ..core.backoff import RetryPolicy
from ..core.checks import parse_choice, parse_flag, parse_number, shown
from ..core.errors import ConfigurationError
from ..core.models import RecognizeOptions
from ..licence.schema import BODY_OPTIONS, ON_ERROR_MODES, REDACTION_MODES, URL_MODES

NUMBERS = {  # name: (minimum, integer); None always means the default (derived, unlimited)
    "max_concurrency": (1, True), "max_billed_calls": (0, True), "max_requests_per_second": (0.001, False),
    "download_timeout": (0.001, False),
}  # fmt: skip
CHOICES = {"url_mode": URL_MODES, "on_error": ON_ERROR_MODES, "redact_pii": REDACTION_MODES}


@cache
def _jinja() -> Any:
    """One parser for the process (an Environment is costly to make, and DAG files are parsed often)."""
    from jinja2 import Environment

    return Environment()


def is_literal(value: Any) -> bool:
    """Whether a template field holds its final value already: no Jinja in a string, nothing resolved at run time
    (an ``XComArg``) inside a list or dict."""
    if isinstance(value, str):
        if "{" not in value:  # every Jinja delimiter ({{, {%, {#) starts with one: no parse needed
            return True
        from jinja2 import TemplateSyntaxError, nodes

        try:
            body = _jinja().parse(value).body
        except TemplateSyntaxError:  # not a literal: rendering will say what is wrong with it
            return False
        parts = [part for node in body if isinstance(node, nodes.Output) for part in node.nodes]
        text = "".join(part.data for part in parts if isinstance(part, nodes.TemplateData))
        return text == value  # only plain text, all of it kept (a {# comment #} would render to something else)
    if isinstance(value, list | tuple):
        return all(is_literal(item) for item in value)
    if isinstance(value, dict):
        return all(is_literal(item) for item in value.values())
    return value is None or isinstance(value, bool | int | float | bytes)


class OcrArguments(BaseModel):
    """Every argument of ``VehicleLicenseOcrOperator`` but ``images`` (untrusted data, checked item by item)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, extra="forbid")
    NAMES: ClassVar[tuple[str, ...]]  # the operator's attributes it is made of (the API options folded in)

    vlocr_conn_id: str = "vlocr_default"
    options: RecognizeOptions = RecognizeOptions()
    url_mode: str = "auto"
    download_allowed_hosts: list[str] | None = None
    allowed_local_roots: list[str] | None = None
    download_timeout: float | None = None
    engine: str | None = None
    max_concurrency: int | None = None
    max_requests_per_second: float | None = None
    retry: RetryPolicy = RetryPolicy()
    on_error: str = "continue"
    max_error_ratio: float = 0.5
    fail_on_empty: bool = False
    output_path: str | None = None
    cache_path: str | None = None
    max_billed_calls: int | None = None
    progress_interval: float = 5.0
    records: bool = False
    merge_pages: bool = False
    redact_pii: str = "none"

    @classmethod
    def of(cls, operator: Any, *, literals_only: bool = False) -> OcrArguments:
        """The operator's arguments, checked; with ``literals_only``, those still to be rendered are left out
        (they are checked after rendering)."""
        values = {name: getattr(operator, name) for name in cls.NAMES}
        if literals_only:
            values = {name: value for name, value in values.items() if is_literal(value)}
        return cls.model_validate(values)

    @model_validator(mode="before")
    @classmethod
    def _gather_options(cls, values: Any) -> Any:
        """The API's options (``side``, ``return_issuing_authority`` …) as one :class:`RecognizeOptions`."""
        from ..hooks.vehicle_license_ocr import VehicleLicenseOcrHook

        values = dict(values)
        given = {name: values.pop(name) for name in BODY_OPTIONS if name in values}
        values["options"] = VehicleLicenseOcrHook.options(**given)
        return values

    @field_validator(*CHOICES, mode="before")
    @classmethod
    def _choice(cls, value: Any, info: Any) -> str:
        return parse_choice(value, info.field_name, CHOICES[info.field_name])

    @field_validator("records", "merge_pages", "fail_on_empty", mode="before")
    @classmethod
    def _flag(cls, value: Any, info: Any) -> bool:
        return bool(parse_flag(value, info.field_name, allow_none=False))

    @field_validator(*NUMBERS, mode="before")
    @classmethod
    def _optional_number(cls, value: Any, info: Any) -> float | None:
        if value is None:
            return None
        minimum, integer = NUMBERS[info.field_name]
        number = parse_number(value, info.field_name, minimum=minimum, integer=integer)
        return int(number) if integer else number

    @field_validator("max_error_ratio", mode="before")
    @classmethod
    def _ratio(cls, value: Any) -> float:
        return parse_number(value, "max_error_ratio", minimum=0, maximum=1)

    @field_validator("progress_interval", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> float:
        return parse_number(value, "progress_interval", minimum=0.01)

    @field_validator("engine", mode="before")
    @classmethod
    def _engine(cls, value: Any) -> str | None:
        if value is not None and not isinstance(value, str):
            raise ConfigurationError(f"argument 'engine' must be a string, got {type(value).__name__}")
        return value or None

    @field_validator("output_path", "cache_path", mode="before")
    @classmethod
    def _path(cls, value: Any, info: Any) -> str | None:
        if value is not None and not isinstance(value, str):
            raise ConfigurationError(f"argument {info.field_name!r} must be a path or URI, got {shown(value)}")
        return value or None

    @field_validator("retry", mode="before")
    @classmethod
    def _retry(cls, value: Any) -> RetryPolicy:
        return value if isinstance(value, RetryPolicy) else RetryPolicy.from_dict(value)

    @model_validator(mode="after")
    def _fetch_rules(self) -> OcrArguments:
        """The allow-lists are checked here: a host pattern or a root that can never be right fails now."""
        from ..core.fetch.download import DownloadPolicy
        from ..core.fetch.localfiles import parse_roots

        DownloadPolicy.build(self.download_allowed_hosts)
        parse_roots(self.allowed_local_roots)
        return self

    def fetch_rules(self) -> dict[str, Any]:
        """The arguments of :meth:`VehicleLicenseOcrHook.loader`."""
        return {
            "url_mode": self.url_mode,
            "allowed_hosts": self.download_allowed_hosts,
            "local_roots": self.allowed_local_roots,
            "download_timeout": self.download_timeout,
        }


OcrArguments.NAMES = (*(name for name in OcrArguments.model_fields if name != "options"), *BODY_OPTIONS)
