"""``VehicleLicenseOcrOperator``: batch OCR of licence images into JSON-serialisable XCom items or JSON Lines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import AirflowFailException, BaseOperator

from ..core.errors import ConfigurationError
from ..hooks.vehicle_license_ocr import VehicleLicenseOcrHook
from ..licence.schema import BODY_OPTIONS
from ..policies.retry import ocr_retry_policy, retry_policies_supported
from .arguments import OcrArguments

if TYPE_CHECKING:  # the batch machinery loads when a task runs, not when a DAG file is parsed
    from .batch_task import BatchTask


class VehicleLicenseOcrOperator(BaseOperator):
    """Recognise a batch of vehicle-licence images; push one JSON item per image to XCom, or stream JSON Lines to
    ``output_path`` and push a summary. The README's "Operator" and "Security" sections say more of each argument.

    :param images: URLs, object-storage URIs, local paths or ``file://`` URIs, bytes, or dicts ``{"url"|"path",
        "side", "id"}``; one item, a list or an XComArg. An item ending in ``/`` or holding ``*``/``?`` expands to
        the image files it names. Untrusted: fetched only as the allow-lists permit.
    :param vlocr_conn_id: the ``vlocr`` connection (credentials, region, engine).
    :param side: ``front``, ``back`` or ``double_side`` for items that do not say. ``None``: the offline and hybrid
        engines detect the page (the hybrid engine asks the cloud about the page it saw); the cloud engine reads a
        front page, the API's default.
    :param return_issuing_authority: ask for the issuing authority (default True); booleans may be rendered strings.
    :param return_text_location: ask for the text locations.
    :param recognize_electronic_license: ask for electronic licences too.
    :param alarm: ask for the tampering alarm.
    :param url_mode: ``auto``, ``remote`` or ``download``: who fetches URLs.
    :param download_allowed_hosts: private hosts the worker may download from (not templated).
    :param allowed_local_roots: directories local paths must resolve into (not templated).
    :param download_timeout: seconds for a whole download.
    :param engine: ``huaweicloud``, ``local`` or ``hybrid``; ``None``: the connection's.
    :param max_concurrency: images in flight; ``None``: from the pacer.
    :param max_requests_per_second: client-side limit on OCR calls, retries included.
    :param retry: in-batch retries of retryable errors, a plain dict (``{"max_attempts": 5}``).
    :param on_error: ``fail`` on any failed image, or ``continue`` (failing above ``max_error_ratio``).
    :param max_error_ratio: the share of failed images that still passes with ``continue`` (default 0.5: a bad photo
        is a row to review, not a reason to hold back the good rows; most images failing says the batch is wrong).
    :param fail_on_empty: fail (Airflow's retries apply) when the input names no image; else a warning.
    :param output_path: JSON Lines output, which is also the journal a retry resumes from; XCom gets the summary.
    :param cache_path: a folder of results by image and options: one photo is paid for once.
    :param max_billed_calls: at most this many billed calls, across retries.
    :param progress_interval: seconds between progress lines in the log.
    :param records: add a validated ``record`` to every ok item.
    :param merge_pages: pair pages into one validated record per vehicle.
    :param redact_pii: ``none``, ``mask`` or ``hash`` (salted by the connection's secret ``pii_salt``).
    :param retry_policy: Airflow 3.3+: by default :func:`~airflow_provider_vlocr.policies.retry.ocr_retry_policy`
        (a spent quota waits for its window, bad credentials fail at once, outages retry); ignored before 3.3.
    """

    template_fields: Sequence[str] = (
        "images", "vlocr_conn_id", *BODY_OPTIONS, "url_mode", "output_path", "engine", "on_error",
        "max_error_ratio", "redact_pii", "retry", "records", "merge_pages", "cache_path", "max_billed_calls",
        "fail_on_empty",
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
        max_error_ratio: float | str = 0.5,
        fail_on_empty: bool | str = False,
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
        arguments = {name: value for name, value in locals().items() if name in OcrArguments.NAMES}
        if retry_policies_supported():
            kwargs["retry_policy"] = retry_policy if retry_policy is not None else ocr_retry_policy()
        super().__init__(**kwargs)
        self.images = images
        for name, value in arguments.items():  # as given: template fields are rendered in place before execute
            setattr(self, name, value)
        self._task: BatchTask | None = None
        OcrArguments.of(self, literals_only=True)  # a bad literal fails when the DAG file is parsed

    def execute(self, context: Any) -> Any:
        from .assets import record_asset_events
        from .batch_task import BatchTask

        try:
            arguments = OcrArguments.of(self)
            self._task = task = BatchTask.start(arguments, context, self.log)
        except ConfigurationError as error:
            raise AirflowFailException(f"bad operator argument: {error}") from None
        with ExitStack() as stack:
            stack.callback(task.hook.close)
            items, manifest = task.recognize(self.images, stack)
        summary = task.summarize(manifest)
        self.log.info("OCR summary: %s", json.dumps(summary, ensure_ascii=False, default=str))
        context["ti"].xcom_push(key="summary", value=summary)
        filled = record_asset_events(context, self.outlets, summary)
        if filled:
            self.log.info("asset events carry the manifest: %s", ", ".join(filled))
        task.raise_on_failure()
        return {"summary": summary, "output_path": arguments.output_path} if arguments.output_path else items

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage (``openlineage`` extra): one input dataset per source folder or prefix, the results file as
        the output (none in XCom mode)."""
        from .lineage import batch_lineage

        task = self._task
        return batch_lineage(task.sources.folders if task else {}, task.arguments.output_path if task else None)

    def on_kill(self) -> None:
        """SIGTERM (mark failed, timeout, scale-down): send nothing more; what was answered is recorded."""
        if self._task is not None and self._task.run is not None:
            self._task.run.stop()
