"""Hostile ``images`` and arguments, through the operator in a real Airflow run and through the hook.

Each bad item must end as exactly one error record naming the input and the rule; good items in the same batch
succeed; nothing detectable locally is billed; no input bytes are echoed; SSRF spellings never connect (a silent
listener on 127.0.0.1 and an audit hook on ``socket.connect`` prove it, with no traffic leaving the machine).
"""

from __future__ import annotations

import io
import json
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from airflow_provider_vlocr.core.engines.answers import AnswersEngine
from airflow_provider_vlocr.core.errors import (
    ConfigurationError,
    DownloadError,
    ImageValidationError,
    InvalidRequestError,
    VlocrError,
)
from airflow_provider_vlocr.core.fetch.download import DownloadPolicy, download_image
from airflow_provider_vlocr.hooks.vehicle_license_ocr import VehicleLicenseOcrHook
from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle
from tests.hostile import HostileServer, SilentListener, connect_attempts
from tests.samples import FRONT, front_reading, make_image

RunDag = Callable[..., tuple[str, dict[Any, Any]]]
SECRET_TEXT = b"root:x:0:0:SECRET-MARKER-7f3a:/root:/bin/bash\n" * 20
HOSTILE_ROOT = Path(os.environ["AIRFLOW_HOME"]) / "hostile-root"
METADATA_SPELLINGS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/latest/meta-data/",
    "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/",
    "http://169.254.43518/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[fe80::1]/",
]


def _encoded(image: Image.Image, fmt: str, **save: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def bad_images() -> dict[str, tuple[bytes, str]]:
    """Image bytes a local check must refuse: name -> (bytes, rule)."""
    small = Image.new("RGB", (50, 50), "white")
    wide = Image.new("1", (9000, 120))
    png = make_image(1)
    jpeg = make_image(2, fmt="JPEG")
    bmp = make_image(3, fmt="BMP")
    tiff = make_image(4, fmt="TIFF")
    big = bytes(random.Random(5).getrandbits(8) for _ in range(64)) * (11 * 1024 * 1024 // 64)
    return {
        "empty.png": (b"", "non-empty"),
        "gif.png": (_encoded(small, "GIF"), "format"),
        "webp.png": (_encoded(Image.new("RGB", (200, 200)), "WEBP"), "format"),
        "random.jpg": (random.Random(7).randbytes(5000), "format"),
        "text.png": (SECRET_TEXT, "format"),
        "truncated.png": (png[: len(png) // 2], "complete"),
        "truncated.jpg": (jpeg[: len(jpeg) // 2], "complete"),
        "truncated.bmp": (bmp[: len(bmp) // 2], "complete"),
        "truncated.tif": (tiff[: len(tiff) // 2], "complete"),
        "tiny.png": (_encoded(small, "PNG"), "min-side"),
        "wide.png": (_encoded(wide, "PNG"), "max-side"),
        "huge.png": (b"\x89PNG\r\n\x1a\n" + big, "max-size"),
    }


@pytest.fixture(scope="module")
def silent() -> Iterator[SilentListener]:
    listener = SilentListener()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def hostile(silent: SilentListener) -> Iterator[HostileServer]:
    server = HostileServer(silent.port)
    yield server
    server.close()


def _no_bytes_echoed(text: str) -> None:
    assert "SECRET-MARKER" not in text and "root:x:0" not in text
    assert SECRET_TEXT[:8].hex() not in text and "726f6f743a783a30" not in text


# -- the download policy, directly ------------------------------------------------------------------------
@pytest.mark.parametrize("url", METADATA_SPELLINGS)
def test_metadata_spellings_never_connect(url: str) -> None:
    with connect_attempts() as attempts, pytest.raises(DownloadError) as info:
        download_image(url, DownloadPolicy.build(["127.0.0.1", "10.0.0.0/8", "169.254.0.0/16"]))
    assert info.value.rule == "host-not-allowed" and "link-local" in info.value.detail
    assert attempts == []


def test_loopback_spellings_never_reach_the_listener(silent: SilentListener) -> None:
    port = silent.port
    urls = [
        f"http://127.0.0.1:{port}/",
        f"http://127.1:{port}/",
        f"http://2130706433:{port}/",
        f"http://0x7f000001:{port}/",
        f"http://017700000001:{port}/",
        f"http://localhost:{port}/",
        f"http://LOCALHOST.:{port}/",
        f"http://[::1]:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",
        f"http://0.0.0.0:{port}/",
        f"http://0:{port}/",
        f"http://[::]:{port}/",
    ]
    with connect_attempts() as attempts:
        for url in urls:
            with pytest.raises(DownloadError) as info:
                download_image(url, DownloadPolicy.build(["127.0.0.2"]))
            assert info.value.rule == "host-not-allowed", url
    assert silent.connections == 0 and attempts == []


def test_redirects_are_vetted_hop_by_hop(hostile: HostileServer, silent: SilentListener) -> None:
    policy = DownloadPolicy.build(["127.0.0.2"])
    cases = {
        "/to-metadata": "host-not-allowed",
        "/to-silent": "host-not-allowed",
        "/to-silent-decimal": "host-not-allowed",
        "/to-file": "redirect-scheme",
        "/loop": "redirect-limit",
    }
    with connect_attempts() as attempts:
        for path, rule in cases.items():
            with pytest.raises(DownloadError) as info:
                download_image(hostile.url(path), policy)
            assert info.value.rule == rule, path
    assert silent.connections == 0
    assert {address for address, _ in attempts} == {"127.0.0.2"}


def test_deadline_and_byte_cap(hostile: HostileServer) -> None:
    policy = DownloadPolicy.build(["127.0.0.2"], deadline_seconds=1.0)
    for path, rule in (("/drip", "download-deadline"), ("/slow", "download-deadline"), ("/big", "max-size")):
        with pytest.raises(DownloadError) as info:
            download_image(hostile.url(path), policy)
        assert info.value.rule == rule, path
    with pytest.raises(DownloadError) as info:
        download_image(hostile.url("/big-chunked"), DownloadPolicy.build(["127.0.0.2"], deadline_seconds=10))
    assert info.value.rule == "max-size"
    with pytest.raises(DownloadError) as info:
        download_image(hostile.url("/missing"), policy)
    assert info.value.rule == "http-status" and "404" in info.value.detail and not info.value.retryable


def test_a_dead_server_ends_its_item_within_one_deadline_while_the_batch_goes_on(hostile: HostileServer) -> None:
    """A server that drips a byte at a time holds its item for one download deadline, not one per retry: the
    deadline is the item's whole time, so it is not tried again; the other image is recognised meanwhile."""
    import time

    from airflow_provider_vlocr.core.backoff import RetryPolicy
    from airflow_provider_vlocr.core.batch.loading import ImageLoader
    from airflow_provider_vlocr.core.batch.pipeline import BatchSettings, recognize_batch
    from airflow_provider_vlocr.core.engines.base import image_digest
    from airflow_provider_vlocr.core.models import RecognizeOptions

    image = make_image(611)
    engine = AnswersEngine({image_digest(image): front_reading()})
    loader = ImageLoader.build(url_mode="download", allowed_hosts=["127.0.0.2"], deadline_seconds=2.0)
    settings = BatchSettings(options=RecognizeOptions(side="front"), retry=RetryPolicy(initial_delay=0.01))
    started = time.monotonic()
    items = sorted(recognize_batch([hostile.url("/drip"), image], engine, loader, settings), key=lambda i: i["index"])
    elapsed = time.monotonic() - started
    assert [item["status"] for item in items] == ["error", "ok"]
    assert items[0]["error"]["code"] == "download-deadline" and items[0]["attempts"] == 1
    assert elapsed < 2.0 * 2  # one deadline, not one per retry (five attempts would be 10 s)


def test_allowed_host_downloads_through_the_pinned_address(hostile: HostileServer) -> None:
    image = make_image(40)
    hostile.files["/good.png"] = image
    assert download_image(hostile.url("/good.png"), DownloadPolicy.build(["127.0.0.2"])) == image
    with pytest.raises(DownloadError) as info:  # allowed by address, but not with credentials in the URL
        download_image(f"http://user:pw@127.0.0.2:{hostile.port}/good.png", DownloadPolicy.build(["127.0.0.2"]))
    assert info.value.rule == "url-credentials"


def test_one_batch_reuses_kept_alive_connections(hostile: HostileServer) -> None:
    policy = DownloadPolicy.build(["127.0.0.2"])
    for i in range(5):
        hostile.files[f"/keep-{i}.png"] = make_image(60 + i)
    start = len(hostile.client_ports)
    for i in range(5):
        assert download_image(hostile.url(f"/keep-{i}.png"), policy) == hostile.files[f"/keep-{i}.png"]
    assert len(set(hostile.client_ports[start:])) == 1  # five downloads, one connection
    policy.pool.close()


def test_offline_engine_downloads_under_the_same_policy(silent: SilentListener) -> None:
    engine = AnswersEngine(allowed_url_hosts=["127.0.0.2"])
    with connect_attempts() as attempts:
        for url in ("http://2852039166/", f"http://localhost:{silent.port}/x.png"):
            with pytest.raises(DownloadError) as info:
                engine.recognize(url=url)
            assert info.value.rule == "host-not-allowed"
    assert attempts == [] and silent.connections == 0


def test_emulator_refuses_metadata_urls_with_4601(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle
) -> None:
    hook = VehicleLicenseOcrHook()
    with connect_attempts() as attempts, pytest.raises(InvalidRequestError) as info:
        hook.recognize(url="http://[::ffff:169.254.169.254]/latest/meta-data/")
    assert info.value.error_code == "ModelArts.4601" and info.value.retryable is False
    assert not [a for a in attempts if a[0].endswith("169.254.169.254")]
    assert vlocr_emulator.counters()["ocr_billed"] == 0


# -- the hook: every bad argument a VlocrError ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "rule"),
    [
        ({"image": "data:image/png;base64,iVBORw0KGgo="}, ImageValidationError, "image-type"),
        ({"image": 42}, ImageValidationError, "image-type"),
        ({"image": ["x"]}, ImageValidationError, "image-type"),
        ({"url": 42}, ImageValidationError, "url-scheme"),
        ({"url": "ftp://host/x.png"}, ImageValidationError, "url-scheme"),
        ({"url": "file:///etc/passwd"}, ImageValidationError, "url-scheme"),
        ({}, ConfigurationError, None),
        ({"image": b"x", "url": "http://a/b"}, ConfigurationError, None),
        ({"image": b"x", "side": "left"}, ConfigurationError, None),
        ({"image": b"x", "side": 3}, ConfigurationError, None),
        ({"image": b"x", "return_text_location": "maybe"}, ConfigurationError, None),
        ({"image": b"x", "alarm": 2}, ConfigurationError, None),
        ({"image": b"x", "enterprise_project_id": 7}, ConfigurationError, None),
    ],
)
def test_hook_bad_arguments_raise_vlocr_errors(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, kwargs: dict[str, Any], error: type, rule: str
) -> None:
    with pytest.raises(VlocrError) as info:
        VehicleLicenseOcrHook().recognize(**kwargs)
    assert isinstance(info.value, error)
    if rule:
        assert getattr(info.value, "rule", None) == rule
    _no_bytes_echoed(str(info.value))
    assert "iVBORw0KGgo" not in str(info.value)
    assert vlocr_emulator.counters()["ocr_billed"] == 0


@pytest.mark.parametrize("name", sorted(bad_images()))
def test_hook_refuses_bad_images_before_upload(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, name: str
) -> None:
    data, rule = bad_images()[name]
    with pytest.raises(ImageValidationError) as info:
        VehicleLicenseOcrHook().recognize(image=data, image_name=name)
    assert info.value.rule == rule and name in str(info.value)
    _no_bytes_echoed(str(info.value))
    assert vlocr_emulator.counters()["ocr_billed"] == 0


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes", "Yes", True])
def test_hook_accepts_rendered_booleans(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, value: Any
) -> None:
    image = make_image(77)
    vlocr_emulator.add_answer(image, front_reading())
    response = VehicleLicenseOcrHook().recognize(image=image, side="front", return_text_location=value)
    assert response.result.text_location


# -- the operator in a real Airflow run ---------------------------------------------------------------------
def _write(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


def test_operator_hostile_batch(
    vlocr_connection: dict[str, Any],
    vlocr_emulator: EmulatorHandle,
    run_dag: RunDag,
    tmp_path: Path,
    hostile: HostileServer,
    silent: SilentListener,
) -> None:
    root = HOSTILE_ROOT
    root.mkdir(exist_ok=True)
    (root / "folder").mkdir(exist_ok=True)
    good_a, good_b, good_url = make_image(501), make_image(502), make_image(503, fmt="JPEG")
    for image in (good_a, good_b, good_url):
        vlocr_emulator.add_answer(image, front_reading())
    hostile.files["/good.jpg"] = good_url
    outside = _write(tmp_path, "outside.png", good_a)  # a good image, but outside the allowed root
    link = root / "escape.png"
    link.unlink(missing_ok=True)
    link.symlink_to("/etc/passwd")
    link_out = root / "escape-image.png"
    link_out.unlink(missing_ok=True)
    link_out.symlink_to(outside)
    good_path = _write(root, "good-a.png", good_a)

    expected: list[tuple[Any, str]] = [
        (good_path, "ok"),
        ({"path": _write(root, "good-b.png", good_b), "side": "front", "id": "car-b"}, "ok"),
        (hostile.url("/good.jpg"), "ok"),
        (good_path, "ok"),  # a duplicate: one record each, billed once
        ("/etc/passwd", "allowed_local_roots"),
        ("file:///etc/passwd", "allowed_local_roots"),
        (f"{root}/../../../../etc/passwd", "allowed_local_roots"),
        (outside, "allowed_local_roots"),
        (str(link), "allowed_local_roots"),
        (str(link_out), "allowed_local_roots"),
        ("file://otherhost/etc/passwd", "file-uri"),
        (str(root / "folder"), "regular-file"),
        (str(root / "missing.png"), "readable"),
        ("sftp://host/licence.png", "storage-scheme"),
        ("memory://licence.png", "storage-scheme"),
        ("zip://a.png::file:///etc/passwd", "storage-scheme"),
        ("s3://aws_default@bucket/licence.png", "storage-uri"),
        ("data:image/png;base64," + "A" * 4000, "data-uri"),
        (None, "item-type"),
        (["nested", "list"], "item-type"),
        (12345, "item-type"),
        (3.5, "item-type"),
        ("   ", "item-type"),
        ({"nonsense": 1}, "item-shape"),
        ({"url": hostile.url("/good.jpg"), "path": good_path}, "item-shape"),
        ({"url": "file:///etc/passwd"}, "item-shape"),
        ({"path": good_path, "id": {"x": 1}}, "item-shape"),
        ({"path": good_path, "side": "left"}, "side"),
        (hostile.url("/missing.png"), "http-status"),
        (hostile.url("/html"), "format"),
        (hostile.url("/slow"), "download-deadline"),
        (hostile.url("/drip"), "download-deadline"),
        (hostile.url("/big"), "max-size"),
        (hostile.url("/to-metadata"), "host-not-allowed"),
        (hostile.url("/to-file"), "redirect-scheme"),
        (hostile.url("/to-silent"), "host-not-allowed"),
        (hostile.url("/loop"), "redirect-limit"),
        (f"http://2130706433:{silent.port}/x.png", "host-not-allowed"),
        (f"http://[::ffff:127.0.0.1]:{silent.port}/x.png", "host-not-allowed"),
        (f"http://0.0.0.0:{silent.port}/x.png", "host-not-allowed"),
        (f"http://localhost:{silent.port}/x.png", "host-not-allowed"),
        *[(url, "host-not-allowed") for url in METADATA_SPELLINGS],
    ]
    for name, (data, rule) in bad_images().items():
        expected.append((_write(root, name, data), rule))

    with connect_attempts() as attempts:
        state, xcoms = run_dag("vlocr_test_hostile", {"images": [item for item, _ in expected]})
    assert state == "success"
    items = xcoms[("ocr", "return_value", -1)]
    assert len(items) == len(expected) >= 60
    for (item, rule), record in zip(expected, items, strict=True):
        if rule == "ok":
            assert record["status"] == "ok", (item, record)
            assert record["result"]["number"] == FRONT["number"]
        else:
            assert record["status"] == "error", (item, record)
            assert record["error"]["code"] == rule, (item, record["error"])
            assert record["source"] in record["error"]["message"] or record["source"].startswith("item #")
    assert items[3]["duplicate_of"] == items[0]["key"] and items[3]["key"] != items[0]["key"]
    assert items[1]["id"] == "car-b"
    text = json.dumps(items, ensure_ascii=False)
    _no_bytes_echoed(text)
    assert "A" * 100 not in text  # the data: URI is named, not echoed
    summary = xcoms[("ocr", "summary", -1)]
    assert summary["ok"] == 4 and summary["error"] == len(expected) - 4
    assert vlocr_emulator.counters()["ocr_billed"] == 3
    assert silent.connections == 0
    contacted = {address for address, _ in attempts}
    assert not any(a.startswith(("169.254.", "fe80", "::ffff:169", "0.0.0.0", "::ffff:127")) for a in contacted)


@pytest.mark.parametrize(
    ("conf", "named"),
    [
        ({"side": "left"}, "'side'"),
        ({"return_text_location": "maybe"}, "'return_text_location'"),
        ({"url_mode": "sometimes"}, "'url_mode'"),
        ({"max_error_ratio": "lots"}, "'max_error_ratio'"),
    ],
)
def test_operator_bad_arguments_fail_at_start_without_retry(
    vlocr_connection: dict[str, Any],
    vlocr_emulator: EmulatorHandle,
    run_dag: RunDag,
    conf: dict[str, Any],
    named: str,
) -> None:
    image = make_image(601)
    vlocr_emulator.add_answer(image, front_reading())
    HOSTILE_ROOT.mkdir(exist_ok=True)
    path = _write(HOSTILE_ROOT, "arg-check.png", image)
    state, _ = run_dag("vlocr_test_hostile", {"images": [path], **conf})
    assert state == "failed"
    assert vlocr_emulator.counters()["ocr_billed"] == 0
    # the same check, read directly: AirflowFailException (no retry) naming the argument and the value
    from airflow.providers.common.compat.sdk import AirflowFailException

    from airflow_provider_vlocr.operators.vehicle_license_ocr import VehicleLicenseOcrOperator

    operator = VehicleLicenseOcrOperator(task_id="direct", images=[path], side="front")
    for key, value in conf.items():  # as template rendering would set them
        setattr(operator, key, value)
    with pytest.raises(AirflowFailException) as info:
        operator.execute({})
    assert named in str(info.value) and repr(next(iter(conf.values()))) in str(info.value)


def test_operator_rejects_bad_literal_arguments_at_parse_time() -> None:
    from airflow_provider_vlocr.operators.vehicle_license_ocr import VehicleLicenseOcrOperator

    for arguments in ({"side": "left"}, {"alarm": "maybe"}, {"download_allowed_hosts": ["*"]}, {"max_concurrency": 0}):
        with pytest.raises(ConfigurationError):
            VehicleLicenseOcrOperator(task_id="bad", images=[], **arguments)
    with pytest.raises(ConfigurationError, match="allowed_local_roots"):
        VehicleLicenseOcrOperator(task_id="bad_root", images=[], allowed_local_roots=["relative/dir"])


def test_a_url_with_spaces_or_chinese_is_sent_percent_encoded(image_server: Callable[[str, bytes], str]) -> None:
    """Object keys often hold spaces and Chinese characters; the URL is sent as browsers and requests send it."""
    from airflow_provider_vlocr.core.batch.loading import ImageLoader
    from airflow_provider_vlocr.core.batch.pipeline import BatchSettings, recognize_batch
    from airflow_provider_vlocr.core.engines.base import image_digest
    from airflow_provider_vlocr.core.models import RecognizeOptions

    image = make_image(612)
    url = image_server("files/行驶证 2.png", image)
    assert " " in url and "行驶证" in url
    engine = AnswersEngine({image_digest(image): front_reading()})
    loader = ImageLoader.build(url_mode="download", allowed_hosts=["127.0.0.1"])
    (item,) = recognize_batch([url], engine, loader, BatchSettings(options=RecognizeOptions(side="front")))
    assert item["status"] == "ok" and item["source"] == url  # named as given


def test_which_template_fields_are_checked_at_parse_time() -> None:
    """Literals are checked when the DAG file is parsed; anything Jinja will render (or refuse) waits."""
    from airflow_provider_vlocr.operators.arguments import is_literal

    assert [is_literal(v) for v in ("plain", '{"json": 1}', None, 3, True, ["a", {"b": "c"}])] == [True] * 6
    assert [is_literal(v) for v in ("{{ params.x }}", "{% if x %}a{% endif %}", "{# note #}", "a {% if %}",
                                    ["a", "{{ ds }}"], {"k": "{{ ds }}"}, object())] == [False] * 7  # fmt: skip
