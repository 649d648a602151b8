"""The engine interface shared by the cloud client, local engines, the hook and the emulator (no engine imported)."""

from __future__ import annotations

import hashlib
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..backoff import RetryPolicy
from ..checks import label_of
from ..errors import ApiError, ConfigurationError, ImageValidationError
from ..images import check_image
from ..models import OcrResponse, RecognizeOptions
from .confidence import DOUBTFUL_BELOW, doubtful, field_confidence
from .reading import LicenseReading, shape_result

if TYPE_CHECKING:
    from ..batch.budget import CallBudget
    from ..batch.cache import ResultCache


def image_label(image: bytes | None, url: str | None, image_name: str | None) -> str:
    """How an image is named in errors and logs."""
    if image_name:
        return image_name
    if url:
        return label_of(url)
    return f"<{len(image or b'')} bytes>"


def prepare_call(
    image: bytes | None, url: str | None, options: RecognizeOptions | None, image_name: str | None
) -> tuple[RecognizeOptions, str]:
    """Check that exactly one of ``image`` (bytes) / ``url`` (an http(s) URL string) is given; the options to use
    and the image's name. Bad arguments raise :class:`ImageValidationError`, never a ``TypeError``."""
    if (image is None) == (url is None):
        raise ConfigurationError("recognize() needs exactly one of image= (bytes) or url=")
    if image is not None and not isinstance(image, bytes | bytearray):
        hint = " (a data: URI? pass the decoded bytes)" if isinstance(image, str) and image[:5] == "data:" else ""
        raise ImageValidationError(
            image_name or "image", "image-type", f"image= must be bytes, got {type(image).__name__}{hint}"
        )
    if url is not None and not (isinstance(url, str) and url[:8].lower().startswith(("http://", "https://"))):
        shown = label_of(url) if isinstance(url, str) else "url"
        raise ImageValidationError(
            image_name or shown, "url-scheme", f"url= must be an http(s) URL string, got {type(url).__name__}"
        )
    if options is not None and not isinstance(options, RecognizeOptions):
        raise ConfigurationError(f"options= must be RecognizeOptions, got {type(options).__name__}")
    return options or RecognizeOptions(), image_label(image, url, image_name)


@runtime_checkable
class RecognitionEngine(Protocol):
    """Anything that turns one licence image into an :class:`OcrResponse`."""

    name: str
    accepts_urls: bool  # fetches URLs itself; else the pipeline downloads them under its policy
    billed: bool  # every answered call is billed

    def recognize(
        self,
        *,
        image: bytes | None = None,
        url: str | None = None,
        options: RecognizeOptions | None = None,
        image_name: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> OcrResponse: ...

    def for_batch(self, *, budget: CallBudget | None, cache: ResultCache | None) -> RecognitionEngine:
        """This engine for one batch. An engine that meters its own billed calls (the hybrid engine: only its
        escalations are billed) binds the batch's budget and cache; any other returns itself, and the pipeline
        meters its calls."""
        ...

    def close(self) -> None: ...


class ReadingEngine(ABC):
    """A local engine: reads a :class:`LicenseReading` from image bytes, then shapes it like the API.

    URLs are downloaded under the same download policy as the operator's download mode: public hosts, plus the
    private hosts, addresses and networks in ``allowed_url_hosts``.
    """

    name = "local"
    accepts_urls = False
    billed = False
    doubtful_below = DOUBTFUL_BELOW

    def __init__(self, *, allowed_url_hosts: Iterable[str] | None = None) -> None:
        self.allowed_url_hosts = None if allowed_url_hosts is None else tuple(allowed_url_hosts)

    @abstractmethod
    def read(self, image: bytes, *, image_name: str, side_hint: str | None) -> LicenseReading:
        """Read everything visible in ``image``; raise ``InvalidRequestError`` (AIS.0104) when unreadable."""

    def recognize(
        self,
        *,
        image: bytes | None = None,
        url: str | None = None,
        options: RecognizeOptions | None = None,
        image_name: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> OcrResponse:
        """Read the image locally (``retry`` is accepted for the interface; nothing here is retried)."""
        options, name = prepare_call(image, url, options, image_name)
        started = time.monotonic()
        try:
            if image is None:
                assert url is not None
                from ..fetch.download import DownloadPolicy, download_image  # only engines that fetch need it

                image = download_image(url, DownloadPolicy.build(self.allowed_url_hosts), name=name)
            check_image(image, name)
            reading = self.read(image, image_name=name, side_hint=options.side)
            if options.side is None:  # a local engine sees which pages are there
                options = options.model_copy(update={"side": detected_side(reading)})
            result = shape_result(reading, options)
        except ApiError as error:
            raise error.with_image(name) from None
        confidence = field_confidence(result, reading, options)
        return OcrResponse(
            result=result,
            request_id=f"{self.name}-{uuid.uuid4().hex}",
            engine=self.name,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
            field_confidence=confidence,
            doubtful_fields=doubtful(confidence, self.doubtful_below),
            image_quality=reading.quality,
            side=options.side,
        )

    def for_batch(self, *, budget: CallBudget | None, cache: ResultCache | None) -> ReadingEngine:
        return self  # nothing billed: no budget or cache of its own

    def close(self) -> None:
        return None


def detected_side(reading: LicenseReading) -> str:
    """``front``, ``back`` or ``double_side`` from the pages a reading holds."""
    if reading.front is not None and reading.back is not None:
        return "double_side"
    return "back" if reading.back is not None else "front"


def image_digest(image: bytes) -> str:
    """The sha256 hex digest that keys answers files."""
    return hashlib.sha256(image).hexdigest()
