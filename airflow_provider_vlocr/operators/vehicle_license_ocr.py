"""``VehicleLicenseOcrOperator``: batch OCR of licence images into JSON-serialisable XCom results."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from datetime import date, datetime
from typing import IO, Any, ClassVar

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    BaseOperator,
    ObjectStoragePath,
)

from ..core.arguments import parse_choice, parse_flag, parse_number, parse_side
from ..core.batch.inputs import URL_MODES, UrlMode, occurrence_keys, parse_images
from ..core.batch.loading import ImageLoader
from ..core.batch.runner import FatalBatchError, ImageTask, Outcome, Progress, run_batch
from ..core.errors import (
    AuthenticationError,
    ConfigurationError,
    ImageValidationError,
    NotFoundError,
    NotSubscribedError,
    PermissionDeniedError,
)
from ..core.models import OcrResponse, RecognizeOptions
from ..core.retry import RetryPolicy
from ..hooks.vehicle_license_ocr import VehicleLicenseOcrHook
from ..records import pair_pages, redact, to_record
from ..records.pii import MODES as PII_MODES

FATAL_ERRORS = (ConfigurationError, AuthenticationError, PermissionDeniedError, NotSubscribedError, NotFoundError)
ON_ERROR = ("fail", "continue")


def _read_storage(uri: str, max_bytes: int) -> bytes:
    """Read an object-storage URI through ``ObjectStoragePath`` (and the store's connection), at most
    ``max_bytes``; any failure of the store ends as this image's ``readable`` error."""
    try:
        with ObjectStoragePath(uri).open("rb") as handle:
            data: bytes = handle.read(max_bytes + 1)
    except Exception as exc:
        raise ImageValidationError(uri, "readable", f"cannot read the object ({type(exc).__name__})") from None
    if len(data) > max_bytes:
        raise ImageValidationError(uri, "max-size", f"more than the cap of {max_bytes} bytes")
    return data


class VehicleLicenseOcrOperator(BaseOperator):
    """Recognise a batch of vehicle-licence images and push structured results to XCom.

    :param images: one item or a list (or an XComArg): http(s) URLs, object-storage URIs (``s3://``, ``file://``,
        … read through ``ObjectStoragePath``), local paths, raw bytes, or dicts ``{"url"|"path", "side", "id"}``.
    :param vlocr_conn_id: the ``vlocr`` connection.
    :param side: ``front``, ``back`` or ``double_side`` for items that do not say.
    :param return_issuing_authority: ask for 发证机关 (default True).
    :param return_text_location: ask for each field's four corner points.
    :param recognize_electronic_license: accept electronic licences.
    :param alarm: ask for occlusion / border-integrity warnings.
    :param url_mode: ``remote`` (Huawei fetches URLs), ``download`` (we fetch and send base64, for private URLs),
        ``auto`` (we fetch loopback, private and intranet hosts, when ``download_allowed_hosts`` allows them;
        Huawei fetches public ones).
    :param download_allowed_hosts: private host names (``intranet.example``, ``*.corp.example``), addresses and
        networks (``10.1.0.0/16``) the worker may download from; public hosts always may. Link-local (cloud
        metadata) addresses only when listed as that exact address. Default: none.
    :param allowed_local_roots: directories under which local paths and ``file://`` items may be read (after
        resolving symlinks and ``..``). Default: none, so no local file is read.
    :param download_timeout: total seconds one download may take, redirects included (default 60).
    :param engine: ``huaweicloud`` or ``local``; default: the connection's ``engine`` extra.
    :param max_concurrency: images in flight at once.
    :param max_requests_per_second: client-side limit on OCR calls, retries included.
    :param retry: retry policy for retryable errors (429, 5xx, resets, timeouts).
    :param on_error: ``fail`` (any failed image fails the task) or ``continue``.
    :param max_error_ratio: with ``continue``, fail the task when more than this share of images failed.
    :param output_path: ObjectStoragePath URI for JSON Lines; XCom then carries only the summary and the path, and
        a retried task does not send images already recorded as ``ok`` again.
    :param progress_interval: seconds between progress lines in the task log.
    :param records: add a validated ``record`` (typed values and findings) to every ok item.
    :param merge_pages: pair the front and back pages of the same vehicle in the batch (by plate, or a front
        directly followed by a back) and push one merged record per vehicle (XCom key ``vehicles``; with
        ``output_path``, a ``*.vehicles.jsonl`` file beside it). Implies ``records``.
    :param redact_pii: ``none``, ``mask`` or ``hash`` owner name and address in XCom and output files.
    :param pii_salt: salt for ``hash`` (use the same one across runs to join pseudonyms).
    """

    template_fields: Sequence[str] = (
        "images",
        "vlocr_conn_id",
        "side",
        "return_issuing_authority",
        "return_text_location",
        "recognize_electronic_license",
        "alarm",
        "url_mode",
        "output_path",
        "engine",
        "on_error",
        "max_error_ratio",
        "redact_pii",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"images": "json"}
    ui_color = "#e8f1fb"

    def __init__(
        self,
        *,
        images: Any,
        vlocr_conn_id: str = VehicleLicenseOcrHook.default_conn_name,
        side: str | None = None,
        return_issuing_authority: bool = True,
        return_text_location: bool = False,
        recognize_electronic_license: bool = False,
        alarm: bool = False,
        url_mode: UrlMode = "auto",
        download_allowed_hosts: list[str] | None = None,
        allowed_local_roots: list[str] | None = None,
        download_timeout: float | None = None,
        engine: str | None = None,
        max_concurrency: int = 4,
        max_requests_per_second: float | None = None,
        retry: RetryPolicy | None = None,
        on_error: str = "continue",
        max_error_ratio: float | str = 0.1,
        output_path: str | None = None,
        progress_interval: float = 5.0,
        records: bool = False,
        merge_pages: bool = False,
        redact_pii: str = "none",
        pii_salt: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.images = images
        self.vlocr_conn_id = vlocr_conn_id
        self.side = side
        self.return_issuing_authority = return_issuing_authority
        self.return_text_location = return_text_location
        self.recognize_electronic_license = recognize_electronic_license
        self.alarm = alarm
        self.url_mode = url_mode
        self.download_allowed_hosts = download_allowed_hosts
        self.allowed_local_roots = allowed_local_roots
        self.download_timeout = download_timeout
        self.engine = engine
        self.max_concurrency = max_concurrency
        self.max_requests_per_second = max_requests_per_second
        self.retry = retry
        self.on_error = on_error
        self.max_error_ratio = max_error_ratio
        self.output_path = output_path
        self.progress_interval = progress_interval
        self.records = records or merge_pages
        self.merge_pages = merge_pages
        self.redact_pii = redact_pii
        self.pii_salt = pii_salt
        if not any(_is_template(getattr(self, name)) for name in self.template_fields if name != "images"):
            self._validate()  # a bad literal argument fails at DAG parse time

    def _validate(self) -> None:
        """Check and normalise every argument (again after templates are rendered); ``ConfigurationError``
        names the argument and the value."""
        self.side = parse_side(self.side)
        for name in ("return_issuing_authority", "return_text_location", "recognize_electronic_license", "alarm"):
            setattr(self, name, parse_flag(getattr(self, name), name, allow_none=False))
        for name in ("records", "merge_pages"):
            setattr(self, name, parse_flag(getattr(self, name), name, allow_none=False))
        self.records = bool(self.records or self.merge_pages)
        self.url_mode = parse_choice(self.url_mode, "url_mode", URL_MODES)  # type: ignore[assignment]
        self.on_error = parse_choice(self.on_error, "on_error", ON_ERROR)
        self.redact_pii = parse_choice(self.redact_pii, "redact_pii", PII_MODES)
        self.max_error_ratio = parse_number(self.max_error_ratio, "max_error_ratio", minimum=0, maximum=1)
        self.max_concurrency = int(parse_number(self.max_concurrency, "max_concurrency", minimum=1, integer=True))
        self.progress_interval = parse_number(self.progress_interval, "progress_interval", minimum=0.01)
        if self.max_requests_per_second is not None:
            self.max_requests_per_second = parse_number(
                self.max_requests_per_second, "max_requests_per_second", minimum=0.001
            )
        if self.download_timeout is not None:
            self.download_timeout = parse_number(self.download_timeout, "download_timeout", minimum=0.1)
        if self.engine is not None and not isinstance(self.engine, str):
            raise ConfigurationError(f"argument 'engine' must be a string, got {type(self.engine).__name__}")
        self._loader(engine_fetches_urls=False)  # checks download_allowed_hosts and allowed_local_roots

    def _loader(self, *, engine_fetches_urls: bool, timeout: tuple[float, float] | None = None) -> ImageLoader:
        return ImageLoader.build(
            timeout=timeout,
            url_mode=self.url_mode,
            allowed_hosts=self.download_allowed_hosts,
            local_roots=self.allowed_local_roots,
            storage_reader=_read_storage,
            engine_fetches_urls=engine_fetches_urls,
            deadline_seconds=self.download_timeout,
        )

    # -- building blocks -------------------------------------------------------------------------------
    def make_hook(self) -> VehicleLicenseOcrHook:
        return VehicleLicenseOcrHook(
            self.vlocr_conn_id,
            max_concurrency=self.max_concurrency,
            retry=self.retry,
            engine=self.engine or None,
            max_requests_per_second=self.max_requests_per_second,
        )

    def _options(self) -> RecognizeOptions:
        return RecognizeOptions(
            side=self.side or None,
            return_issuing_authority=self.return_issuing_authority,
            return_text_location=self.return_text_location,
            recognize_electronic_license=self.recognize_electronic_license,
            alarm=self.alarm,
        )

    def _processor(self, hook: VehicleLicenseOcrHook, options: RecognizeOptions) -> Any:
        engine = hook.engine
        loader = self._loader(engine_fetches_urls=engine.accepts_urls, timeout=hook.settings.timeout)

        def process(task: ImageTask) -> OcrResponse:
            item_options = options.model_copy(update={"side": task.side}) if task.side else options
            loaded = loader.load(task)
            if isinstance(loaded, str):
                return engine.recognize(url=loaded, options=item_options, image_name=task.source)
            return engine.recognize(image=loaded, options=item_options, image_name=task.source)

        return process

    # -- execution -------------------------------------------------------------------------------------
    def execute(self, context: Any) -> Any:
        try:
            self._validate()
        except ConfigurationError as error:
            raise AirflowFailException(f"bad operator argument: {error}") from None
        started = time.monotonic()
        parsed = list(parse_images(self.images, self.side or None))
        tasks = [t for t in parsed if isinstance(t, ImageTask)]
        keys = {task.index: key for task, key in occurrence_keys(tasks)}
        previous = self._previous_ok_records()
        todo = [task for task in tasks if keys[task.index] not in previous]
        if len(todo) < len(tasks):
            self.log.info("Resuming: %d image(s) already recorded as ok are not sent again", len(tasks) - len(todo))
        duplicate_of = _duplicates(todo)  # the same image twice in a batch is sent (and billed) once
        todo = [task for task in todo if task.index not in duplicate_of]
        firsts: dict[int, tuple[dict[str, Any], BaseException | None]] = {}
        progress = Progress(total=len(parsed))
        hook = self.make_hook()
        try:
            process = self._processor(hook, self._options())
        except FATAL_ERRORS as error:
            raise AirflowFailException(f"OCR cannot start: {type(error).__name__}: {error}") from None
        items: list[dict[str, Any]] = []
        pages: list[tuple[str, str | None, dict[str, Any]]] = []
        as_of = _as_of(context)
        fatal: FatalBatchError | None = None
        with ExitStack() as stack:
            stack.callback(hook.close)
            sink = self._open_output(stack)

            def emit(item: dict[str, Any]) -> None:
                if item.get("status") == "ok" and "result" in item:
                    if self.merge_pages:
                        pages.append((item["source"], item.get("side"), item["result"]))
                    if self.records and "record" not in item:
                        item["record"] = to_record(item["result"], as_of=as_of).model_dump(mode="json")
                item = redact(item, self.redact_pii, salt=self.pii_salt)
                if sink is not None:
                    sink.write(json.dumps(item, ensure_ascii=False) + "\n")
                else:
                    items.append(item)

            outcomes = run_batch(
                todo,
                process,
                total=len(todo),
                max_concurrency=self.max_concurrency,
                is_fatal=lambda e: isinstance(e, FATAL_ERRORS),
                progress=progress,
                progress_interval=self.progress_interval,
                report=lambda p: self.log.info("OCR progress: %s", p.line()),
            )
            try:
                for entry in parsed:  # input order: bad items, resumed records and new outcomes interleaved
                    if isinstance(entry, ImageValidationError):
                        progress.add(entry)
                        placeholder = ImageTask(-1, entry.image, entry.image, "path", "")
                        emit(_outcome_record(Outcome(placeholder, error=entry), None))
                    elif keys[entry.index] in previous:
                        progress.add(skipped=True)
                        emit(previous[keys[entry.index]])
                    elif entry.index in duplicate_of:
                        first, first_error = firsts[duplicate_of[entry.index]]
                        progress.add(first_error)
                        copy = {**json.loads(json.dumps(first)), "source": entry.source, "id": entry.id}
                        emit({**copy, "key": keys[entry.index], "duplicate_of": first["key"]})
                    else:
                        outcome = next(outcomes)
                        record = _outcome_record(outcome, keys[outcome.task.index])
                        if outcome.task.index in duplicate_of.values():
                            firsts[outcome.task.index] = (json.loads(json.dumps(record)), outcome.error)
                        emit(record)
                for _ in outcomes:  # runs the generator to its end (final progress line)
                    pass
            except FatalBatchError as exc:
                fatal = exc
        if fatal is not None:
            raise AirflowFailException(
                f"OCR batch stopped: {type(fatal.cause).__name__}: {fatal.cause} (retrying cannot help)"
            )
        vehicles = self._vehicles(pages, as_of) if self.merge_pages else None
        summary = {
            "total": progress.total,
            "ok": progress.done - progress.errors,
            "error": progress.errors,
            "resumed": progress.skipped,
            "error_codes": dict(progress.error_codes),
            "duration_s": round(time.monotonic() - started, 3),
            "images_per_second": round(progress.rate, 3),
            "engine": hook.engine_name,
            "output_path": self.output_path or None,
        }
        if vehicles is not None:
            summary["vehicles"] = len(vehicles)
            summary["vehicles_invalid"] = sum(1 for v in vehicles if not v["record"]["valid"])
            if self.output_path:
                summary["vehicles_path"] = self._write_vehicles(vehicles)
            else:
                context["ti"].xcom_push(key="vehicles", value=vehicles)
        self.log.info("OCR summary: %s", json.dumps(summary, ensure_ascii=False))
        context["ti"].xcom_push(key="summary", value=summary)
        self._apply_failure_policy(summary, transient=progress.retryable_errors > 0)
        if self.output_path:
            return {"summary": summary, "output_path": self.output_path}
        return items

    def _apply_failure_policy(self, summary: dict[str, Any], *, transient: bool) -> None:
        """Fail per ``on_error``/``max_error_ratio``: a normal exception when transient errors are among the
        failures (Airflow's retries may help), ``AirflowFailException`` when they are all permanent."""
        errors, total = summary["error"], summary["total"]
        if not errors:
            return
        ratio = errors / total if total else 0.0
        if self.on_error == "continue" and ratio <= float(self.max_error_ratio):
            self.log.warning(
                "%d of %d image(s) failed; continuing (max_error_ratio=%s)", errors, total, self.max_error_ratio
            )
            return
        message = (
            f"{errors} of {total} image(s) failed ({ratio:.0%}; on_error={self.on_error!r}, "
            f"max_error_ratio={self.max_error_ratio}): {summary['error_codes']}"
        )
        if transient:
            raise AirflowException(message + "; some were transient, so Airflow's retries may help")
        raise AirflowFailException(message)

    def _vehicles(self, pages: list[tuple[str, str | None, dict[str, Any]]], as_of: date) -> list[dict[str, Any]]:
        """One merged, validated (and redacted) record per vehicle of the batch."""
        out = []
        for vehicle in pair_pages(pages):
            record = to_record(vehicle.combined(), as_of=as_of).model_dump(mode="json")
            entry = {"plate": vehicle.plate, "sources": vehicle.sources, "record": record}
            out.append(redact(entry, self.redact_pii, salt=self.pii_salt))
        return out

    def _write_vehicles(self, vehicles: list[dict[str, Any]]) -> str:
        assert self.output_path
        base = self.output_path[: -len(".jsonl")] if self.output_path.endswith(".jsonl") else self.output_path
        target = f"{base}.vehicles.jsonl"
        with ObjectStoragePath(target).open("w", encoding="utf-8") as handle:
            for vehicle in vehicles:
                handle.write(json.dumps(vehicle, ensure_ascii=False) + "\n")
        return target

    def _open_output(self, stack: ExitStack) -> IO[str] | None:
        if not self.output_path:
            return None
        path = ObjectStoragePath(self.output_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle: IO[str] = stack.enter_context(path.open("w", encoding="utf-8"))
        return handle

    def _previous_ok_records(self) -> dict[str, dict[str, Any]]:
        """Records already ``ok`` in ``output_path`` from an earlier try (resume without a second bill)."""
        if not self.output_path:
            return {}
        path = ObjectStoragePath(self.output_path)
        if not path.exists():
            return {}
        found: dict[str, dict[str, Any]] = {}
        with path.open("r", encoding="utf-8") as handle:
            for line in _lines(handle):
                record = json.loads(line)
                if record.get("status") == "ok" and record.get("key"):
                    found[record["key"]] = record
        return found


def _as_of(context: Any) -> date:
    """The DAG run's logical date (for ``inspection_expired``), else today."""
    for key in ("logical_date", "data_interval_end"):
        value = context.get(key) if hasattr(context, "get") else None
        if isinstance(value, datetime):
            return value.date()
    return date.today()


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _lines(handle: IO[str]) -> Iterator[str]:
    for line in handle:
        if line.strip():
            yield line


def _duplicates(tasks: list[ImageTask]) -> dict[int, int]:
    """Index of each task that repeats an earlier one (same source and side) -> index of that first one."""
    first: dict[tuple[str, str, str | None], int] = {}
    repeats: dict[int, int] = {}
    for task in tasks:
        value = task.value if isinstance(task.value, str) else hashlib.sha256(task.value).hexdigest()
        identity = (task.kind, value, task.side)
        if identity in first:
            repeats[task.index] = first[identity]
        else:
            first[identity] = task.index
    return repeats


def _outcome_record(outcome: Outcome, key: str | None) -> dict[str, Any]:
    task = outcome.task
    if outcome.response is not None:
        response = outcome.response
        return {
            "source": task.source,
            "id": task.id,
            "key": key,
            "side": task.side,
            "status": "ok",
            "result": response.result.to_api_dict(),
            "request_id": response.request_id,
            "engine": response.engine,
            "attempts": response.attempts,
            "elapsed_ms": outcome.elapsed_ms,
        }
    return {
        "source": task.source,
        "id": task.id,
        "key": key,
        "side": task.side,
        "status": "error",
        "error": outcome.error_dict(),
        "request_id": getattr(outcome.error, "request_id", None),
        "elapsed_ms": outcome.elapsed_ms,
    }
