"""The engine interface shared by the cloud client, local engines, the hook and the emulator."""

from __future__ import annotations

import hashlib
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from ..errors import ApiError
from ..fetch.download import DownloadPolicy, download_image
from ..images import check_image
from ..models import OcrResponse, RecognizeOptions
from .huaweicloud.client import prepare_call
from .reading import LicenseReading, shape_result


@runtime_checkable
class RecognitionEngine(Protocol):
    """Anything that turns one licence image into an :class:`OcrResponse`."""

    name: str

    def recognize(
        self,
        *,
        image: bytes | None = None,
        url: str | None = None,
        options: RecognizeOptions | None = None,
        image_name: str | None = None,
    ) -> OcrResponse: ...

    def close(self) -> None: ...


class ReadingEngine(ABC):
    """A local engine: reads a :class:`LicenseReading` from image bytes, then shapes it like the API.

    URLs are downloaded under the same download policy as the operator's download mode: public hosts, plus the
    private hosts, addresses and networks in ``allowed_url_hosts``.
    """

    name = "local"

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
    ) -> OcrResponse:
        options, name = prepare_call(image, url, options, image_name)
        started = time.monotonic()
        try:
            if image is None:
                assert url is not None
                image = download_image(url, DownloadPolicy.build(self.allowed_url_hosts), name=name)
            check_image(image, name)
            reading = self.read(image, image_name=name, side_hint=options.side)
            if options.side is None:  # a local engine sees which pages are there
                options = options.model_copy(update={"side": detected_side(reading)})
            result = shape_result(reading, options)
        except ApiError as error:
            raise error.with_image(name) from None
        return OcrResponse(
            result=result,
            request_id=f"{self.name}-{uuid.uuid4().hex}",
            engine=self.name,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
        )

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
