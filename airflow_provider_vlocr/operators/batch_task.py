"""One run of the operator's batch, Airflow side: the hook for the checked arguments, the loader of its fetch
rules, the journal/cache/budget, the items shaped as they complete, and the summary with merged vehicles."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from ..core.batch.journal import sibling_path
from ..core.batch.resume import reusable, shaped_as
from ..core.batch.scheduler import BatchStopped, FatalBatchError
from ..core.batch.shaping import ItemShaper
from ..core.errors import ConfigurationError
from ..hooks.vehicle_license_ocr import VehicleLicenseOcrHook
from ..policies.failures import batch_failure
from .arguments import OcrArguments
from .batch_io import BatchState
from .lineage import SourceFolders
from .object_storage import ObjectStorage, list_storage, read_storage

if TYPE_CHECKING:
    from ..core.batch.items import Item
    from ..core.batch.loading import ImageLoader
    from ..core.batch.manifest import Tally
    from ..core.batch.pipeline import BatchRun


@dataclass
class BatchTask:
    """The hook, shaper and lineage sources of one try; :meth:`recognize`, then :meth:`summarize`."""

    arguments: OcrArguments
    hook: VehicleLicenseOcrHook
    shaper: ItemShaper
    context: Any
    log: logging.Logger | Any
    sources: SourceFolders
    run: BatchRun | None = None
    loader: ImageLoader | None = None
    tally: Tally | None = None

    @classmethod
    def start(cls, arguments: OcrArguments, context: Any, log: Any) -> BatchTask:
        """``ConfigurationError`` when the arguments and the connection do not fit (``hash`` without a salt)."""
        hook = VehicleLicenseOcrHook(
            arguments.vlocr_conn_id,
            max_concurrency=arguments.max_concurrency,
            retry=arguments.retry,
            engine=arguments.engine,
            max_requests_per_second=arguments.max_requests_per_second,
        )
        salt = hook.pii_salt_for(arguments.redact_pii)
        a = arguments
        shaper = ItemShaper.for_task(context, a.records, a.merge_pages, a.redact_pii, salt)
        return cls(arguments, hook, shaper, context, log, SourceFolders())

    def recognize(self, images: Any, stack: ExitStack) -> tuple[list[Item], dict[str, Any]]:
        """Run the batch: items go durably to the journal (``output_path``) or are collected for XCom; returns
        them (XCom mode) and the manifest."""
        a = self.arguments
        try:
            state = BatchState.open(
                self.context, stack, output_path=a.output_path, cache_path=a.cache_path,
                max_billed=a.max_billed_calls, obs_conn_id=a.vlocr_conn_id,
            )  # fmt: skip
        except ConfigurationError as error:
            raise AirflowFailException(f"bad operator argument: {error}") from None
        previous = reusable(state.previous, shaped_as(a.records, a.redact_pii))
        if previous.reshaped or previous.again:
            self.log.warning(
                "%s: %d earlier answer(s) re-shaped for this try's options, %d shaped in a way that cannot be undone "
                "(a mask) and recognised again", a.output_path, previous.reshaped, previous.again,
            )  # fmt: skip
        self.loader = loader = self.hook.loader(
            **a.fetch_rules(),
            storage_reader=partial(read_storage, obs_conn_id=a.vlocr_conn_id),  # obs:// with this connection
            storage_lister=partial(list_storage, obs_conn_id=a.vlocr_conn_id),
        )
        self.run = self.hook.recognize_batch(
            images,
            loader=loader,
            options=a.options,
            progress_interval=a.progress_interval,
            previous=previous.items,
            cache=state.cache,
            budget=state.budget,
            report=lambda progress: self.log.info("OCR progress: %s", progress.line()),
            before_send=state.journal.flush_group if state.journal is not None else None,
        )
        try:
            items, self.tally = state.write(self.sources.note(self.shaper.shape(item)) for item in self.run)
        except FatalBatchError as fatal:
            raise AirflowFailException(f"OCR batch stopped: {type(fatal.cause).__name__}: {fatal.cause}") from None
        except BatchStopped:
            raise AirflowException("OCR batch stopped on request; answered images are recorded") from None
        return items, state.finish(self.tally)

    def summarize(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """The summary (no personal data); merged vehicles go beside the output or to XCom ``vehicles``."""
        assert self.run is not None
        output_path = self.arguments.output_path
        summary = self.run.summary(output_path=output_path, **manifest)
        if self.arguments.merge_pages:
            vehicles = self.shaper.vehicles()
            summary.update(
                vehicles=len(vehicles),
                vehicles_invalid=sum(not v["record"]["valid"] for v in vehicles),
                vehicles_unpaired=sum(not v["paired"] for v in vehicles),  # a page whose partner is not here
            )
            if output_path:
                storage = ObjectStorage(self.arguments.vlocr_conn_id)
                summary["vehicles_path"] = storage.write_vehicles(output_path, vehicles)
            else:
                self.context["ti"].xcom_push(key="vehicles", value=vehicles)
        if summary.get("cloud_errors"):
            self.log.warning("%d escalation(s) were refused by the cloud: the offline readings stand, listed for "
                             "review", summary["cloud_errors"])  # fmt: skip
        if output_path and self.tally is not None and self.tally.review_items:
            summary["review_report"] = self.write_review_report(output_path)
        return summary

    def write_review_report(self, output_path: str) -> str:
        """The review report beside the output (``<output>.review.html``); returns its URI."""
        from ..core.batch.report import review_report

        assert self.tally is not None
        tally = self.tally
        page = review_report(
            tally.review_items, self.read_photo, redacted=self.arguments.redact_pii != "none",
            title=f"OCR review: {output_path}", more=tally.needs_review - len(tally.review_items),
        )  # fmt: skip
        storage = ObjectStorage(self.arguments.vlocr_conn_id)
        return storage.write_text(sibling_path(output_path, "review", ".html"), page)

    def read_photo(self, item: Item) -> bytes | None:
        """An item's photo, read again under the same fetch rules (``None`` when it cannot be)."""
        from ..core.batch.inputs import ImageTask, parse_images
        from ..core.fetch.download import download_image

        assert self.loader is not None
        task = next(parse_images([item.get("source")]), None)
        try:
            if not isinstance(task, ImageTask):
                return None
            loaded = self.loader.load(task)
            return loaded if isinstance(loaded, bytes) else download_image(loaded, self.loader.policy)
        except Exception:  # the report shows what it can; the item itself already says why it failed
            return None

    def raise_on_failure(self) -> None:
        """Fail the task by its failure policy (``on_error``, ``max_error_ratio``, ``fail_on_empty``), by the
        failures' cause."""
        assert self.run is not None
        if self.run.progress.total == 0:
            message = "the input names no image (an empty folder or prefix, or a glob that matched nothing)"
            if self.arguments.fail_on_empty:
                raise AirflowException(f"{message}; fail_on_empty=True")
            self.log.warning("%s: nothing was recognised", message)
        verdict = self.run.failure_verdict(self.arguments.on_error, self.arguments.max_error_ratio)
        if verdict is not None:
            progress = self.run.progress
            raise batch_failure(verdict, throttled=progress.throttled_errors, transient=progress.retryable_errors)
