"""``VehicleLicenseOcrOperator``: batch OCR of licence images into JSON-serialisable XCom results."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, BaseOperator

from ..core.arguments import parse_choice, parse_flag, parse_number
from ..core.errors import ConfigurationError
from ..core.retry import RetryPolicy
from ..hooks.vehicle_license_ocr import VehicleLicenseOcrHook
from ..licence.schema import BODY_OPTIONS, ON_ERROR_MODES, REDACTION_MODES, URL_MODES
from ..policies.failures import batch_failure
from ..policies.retry import ocr_retry_policy, retry_policies_supported
from .lineage import SourceFolders

if TYPE_CHECKING:  # the batch machinery and the records load when a task runs, not when a DAG file is parsed
    from ..core.batch.items import Item
    from ..core.batch.pipeline import BatchRun
    from ..core.batch.shaping import ItemShaper


class VehicleLicenseOcrOperator(BaseOperator):
    """Recognise a batch of vehicle-licence images; push one JSON item per image to XCom, or stream JSON Lines to
    ``output_path`` and push a summary. The README's "Operator" and "Security" sections describe every argument.

    :param images: URLs, object-storage URIs, local paths or ``file://`` URIs, bytes, or dicts ``{"url"|"path",
        "side", "id"}``; one item, a list or an XComArg; an item ending in ``/`` or holding ``*``/``?`` expands to
        the image files it names. Untrusted: fetched only as the allow-lists permit.
    :param side: and ``return_issuing_authority`` (default True), ``return_text_location``,
        ``recognize_electronic_license``, ``alarm``: the API's options; booleans may be rendered strings.
    :param url_mode: ``auto``, ``remote`` or ``download``: who fetches URLs (the worker only under the allow-lists
        ``download_allowed_hosts`` and ``allowed_local_roots``). ``retry``: a plain dict (``{"max_attempts": 5}``).
    :param on_error: ``fail`` or ``continue`` (failing above ``max_error_ratio``); ``output_path``: JSON Lines.
    :param records: a validated ``record`` per ok item; ``merge_pages``: one merged record per vehicle.
    :param redact_pii: ``none``/``mask``/``hash`` (``hash`` salted by the connection's secret ``pii_salt``).
    :param retry_policy: Airflow 3.3+: by default :func:`~airflow_provider_vlocr.policies.retry.ocr_retry_policy`
        (a spent quota waits for its window, bad credentials fail at once, outages retry); ignored before 3.3.
    """

    template_fields: Sequence[str] = (
        "images", "vlocr_conn_id", *BODY_OPTIONS, "url_mode", "output_path", "engine", "on_error",
        "max_error_ratio", "redact_pii", "retry", "records", "merge_pages", "cache_path", "max_billed_calls",
    )  # fmt: skip
    template_fields_renderers: ClassVar[dict[str, str]] = {"images": "json", "retry": "json"}

    def __init__(
        self,
        *,
        images: Any,
        vlocr_conn_id: str = VehicleLicenseOcrHook.default_conn_name,
        side: str | None = None,
        return_issuing_authority: bool | str = True,
        return_text_location: bool | str = False,
        recognize_electronic_license: bool | str = False,
        alarm: bool | str = False,
        url_mode: str = "auto",
        download_allowed_hosts: list[str] | None = None,
        allowed_local_roots: list[str] | None = None,
        download_timeout: float | None = None,
        engine: str | None = None,
        max_concurrency: int | None = None,
        max_requests_per_second: float | None = None,
        retry: dict[str, Any] | None = None,
        on_error: str = "continue",
        max_error_ratio: float | str = 0.1,
        output_path: str | None = None,
        cache_path: str | None = None,
        max_billed_calls: int | None = None,
        progress_interval: float = 5.0,
        records: bool | str = False,
        merge_pages: bool | str = False,
        redact_pii: str = "none",
        retry_policy: Any = None,
        **kwargs: Any,
    ) -> None:
        if retry_policies_supported():
            kwargs["retry_policy"] = retry_policy if retry_policy is not None else ocr_retry_policy()
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
        self.cache_path = cache_path
        self.max_billed_calls = max_billed_calls
        self.progress_interval = progress_interval
        self.records = records
        self.merge_pages = merge_pages
        self.redact_pii = redact_pii
        self._sources = SourceFolders()  # the source folders of this run, for OpenLineage
        if not any(isinstance(getattr(self, n), str) and "{{" in getattr(self, n) for n in self.template_fields):
            self._check_arguments()  # literal arguments fail at DAG parse time

    def _check_arguments(self) -> None:
        """Check and normalise the arguments (again once templates are rendered)."""
        flags = ("records", "merge_pages")
        self._records, self._merge = (bool(parse_flag(getattr(self, n), n, allow_none=False)) for n in flags)
        self.url_mode = parse_choice(self.url_mode, "url_mode", URL_MODES)
        self.on_error = parse_choice(self.on_error, "on_error", ON_ERROR_MODES)
        self.redact_pii = parse_choice(self.redact_pii, "redact_pii", REDACTION_MODES)
        self.max_error_ratio = parse_number(self.max_error_ratio, "max_error_ratio", minimum=0, maximum=1)
        self.progress_interval = parse_number(self.progress_interval, "progress_interval", minimum=0.01)
        for name, low in (("max_concurrency", 1), ("max_billed_calls", 0), ("max_requests_per_second", 0.001),
                          ("download_timeout", 0.001)):  # fmt: skip
            if getattr(self, name) is not None:  # None: derived (concurrency, pacing), unlimited, or the default
                value = parse_number(getattr(self, name), name, minimum=low, integer=low in (0, 1))
                setattr(self, name, int(value) if low in (0, 1) else value)
        if self.engine is not None and not isinstance(self.engine, str):
            raise ConfigurationError(f"argument 'engine' must be a string, got {type(self.engine).__name__}")
        self._options = VehicleLicenseOcrHook.options(**{name: getattr(self, name) for name in BODY_OPTIONS})
        self._retry_policy = RetryPolicy.from_dict(self.retry)
        from ..core.batch.loading import ImageLoader

        ImageLoader.build(  # checks the allow-lists
            url_mode=self.url_mode, allowed_hosts=self.download_allowed_hosts, local_roots=self.allowed_local_roots
        )

    def make_hook(self) -> VehicleLicenseOcrHook:
        return VehicleLicenseOcrHook(
            self.vlocr_conn_id,
            max_concurrency=None if self.max_concurrency is None else int(self.max_concurrency),
            retry=self._retry_policy,
            engine=self.engine or None,
            max_requests_per_second=self.max_requests_per_second,
        )

    def execute(self, context: Any) -> Any:
        from ..core.batch.shaping import ItemShaper
        from .assets import record_asset_events
        from .object_storage import ObjectStorage

        self._sources = SourceFolders()
        try:
            self._check_arguments()
            hook = self.make_hook()
            salt = hook.pii_salt_for(self.redact_pii)
            shaper = ItemShaper.for_task(context, self._records, self._merge, self.redact_pii, salt)
        except ConfigurationError as error:
            raise AirflowFailException(f"bad operator argument: {error}") from None
        with ExitStack() as stack:
            stack.callback(hook.close)
            run, items, manifest = self._recognize(hook, shaper, context, stack)
        summary = run.summary(output_path=self.output_path or None, **manifest)
        if self._merge:
            vehicles = shaper.vehicles()
            summary.update(vehicles=len(vehicles), vehicles_invalid=sum(not v["record"]["valid"] for v in vehicles))
            if self.output_path:
                summary["vehicles_path"] = ObjectStorage().write_vehicles(self.output_path, vehicles)
            else:
                context["ti"].xcom_push(key="vehicles", value=vehicles)
        self.log.info("OCR summary: %s", summary)
        context["ti"].xcom_push(key="summary", value=summary)
        filled = record_asset_events(context, self.outlets, summary)
        if filled:
            self.log.info("asset events carry the manifest: %s", ", ".join(filled))
        verdict = run.failure_verdict(self.on_error, float(self.max_error_ratio))
        if verdict is not None:
            p = run.progress
            raise batch_failure(verdict, throttled=p.throttled_errors, transient=p.retryable_errors)
        return {"summary": summary, "output_path": self.output_path} if self.output_path else items

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage (``openlineage`` extra): one input dataset per source folder or prefix, the results file as
        the output (none in XCom mode)."""
        from .lineage import batch_lineage

        return batch_lineage(self._sources.folders, self.output_path or None)

    def on_kill(self) -> None:
        """SIGTERM (mark failed, timeout, scale-down): send nothing more; what was answered is recorded."""
        if getattr(self, "_run", None) is not None:
            self._run.stop()

    def _recognize(
        self, hook: VehicleLicenseOcrHook, shaper: ItemShaper, context: Any, stack: ExitStack
    ) -> tuple[BatchRun, list[Item], dict[str, Any]]:
        """Run the batch: records go durably to the journal (``output_path``) or are collected for XCom."""
        from ..core.batch.scheduler import BatchStopped, FatalBatchError
        from .batch_io import BatchState
        from .object_storage import list_storage, read_storage

        state = BatchState.open(
            context, stack, output_path=self.output_path, cache_path=self.cache_path, max_billed=self.max_billed_calls
        )
        run = hook.recognize_batch(
            self.images,
            options=self._options,
            url_mode=self.url_mode,
            download_allowed_hosts=self.download_allowed_hosts,
            allowed_local_roots=self.allowed_local_roots,
            download_timeout=self.download_timeout,
            progress_interval=self.progress_interval,
            storage_reader=partial(read_storage, obs_conn_id=self.vlocr_conn_id),  # obs:// with this connection
            storage_lister=partial(list_storage, obs_conn_id=self.vlocr_conn_id),
            previous=state.previous,
            cache=state.cache,
            budget=state.budget,
            report=lambda progress: self.log.info("OCR progress: %s", progress.line()),
        )
        self._run = run
        try:
            items, counts = state.write(self._sources.note(shaper.shape(item)) for item in run)
        except FatalBatchError as fatal:
            raise AirflowFailException(f"OCR batch stopped: {type(fatal.cause).__name__}: {fatal.cause}") from None
        except BatchStopped:
            raise AirflowException("OCR batch stopped on request; answered images are recorded") from None
        return run, items, state.finish(counts)
