"""Every signing vector of ../shared/docs/huawei-ocr-api.md, plus the gateway-side verification."""

from __future__ import annotations

import hashlib

import pytest

from airflow_provider_vlocr.core.engines.huaweicloud.signing import (
    canonical_uri,
    parse_authorization,
    sign_request,
    verify_signature,
)

AK = "AKTESTEXAMPLE0000001"
SK = "SKtestExampleSecretKey0000000000000000001"
PROJECT = "0123456789abcdef0123456789abcdef"
BODY = b'{"url": "https://example.com/vl.jpg", "side": "front", "return_text_location": true}'
OCR_URL = f"https://ocr.cn-north-4.myhuaweicloud.com/v2/{PROJECT}/ocr/vehicle-license"


def test_official_doc_vector() -> None:
    headers = {"Content-Type": "application/json", "X-Sdk-Date": "20191115T033655Z"}
    url = (
        "https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs"
        "?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0"
    )
    signed = sign_request("QTWAOYTTINDUT2QVKYUC", "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc", "GET", url, headers, b"")
    assert signed.canonical_request == (
        "GET\n/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\n"
        "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n"
        "content-type:application/json\nhost:service.region.example.com\nx-sdk-date:20191115T033655Z\n\n"
        "content-type;host;x-sdk-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert (
        hashlib.sha256(signed.canonical_request.encode()).hexdigest()
        == "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
    )
    assert headers["Authorization"] == (
        "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, "
        "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
    )


def _ocr_headers(**extra: str) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json;charset=utf-8",
        "X-Project-Id": PROJECT,
        "X-Sdk-Date": "20240101T000000Z",
    }
    headers.update(extra)
    return headers


def test_ocr_vector_v1() -> None:
    assert hashlib.sha256(BODY).hexdigest() == "f37f5bf9d808890fe39d210e5a13d9fa76572b8f8df874daff9b2a270392998f"
    headers = _ocr_headers()
    signed = sign_request(AK, SK, "POST", OCR_URL, headers, BODY)
    assert signed.canonical_request == (
        f"POST\n/v2/{PROJECT}/ocr/vehicle-license/\n\n"
        "content-type:application/json;charset=utf-8\nhost:ocr.cn-north-4.myhuaweicloud.com\n"
        f"x-project-id:{PROJECT}\nx-sdk-date:20240101T000000Z\n\n"
        "content-type;host;x-project-id;x-sdk-date\n"
        "f37f5bf9d808890fe39d210e5a13d9fa76572b8f8df874daff9b2a270392998f"
    )
    assert signed.string_to_sign.endswith("194312ccb3cc1b88d166eec81dcd7b0732c3f9dd8f42dbaa93610e9894a652e7")
    assert headers["Authorization"] == (
        "SDK-HMAC-SHA256 Access=AKTESTEXAMPLE0000001, SignedHeaders=content-type;host;x-project-id;x-sdk-date, "
        "Signature=a22b06cf251da96a9b8311d8bc04099fa5cbb7079d0a791b976b241aafef4b3b"
    )


def test_ocr_vector_v2_security_token() -> None:
    headers = _ocr_headers(**{"X-Security-Token": "TEMPSECURITYTOKEN-EXAMPLE"})
    sign_request(AK, SK, "POST", OCR_URL, headers, BODY)
    assert headers["Authorization"] == (
        "SDK-HMAC-SHA256 Access=AKTESTEXAMPLE0000001, "
        "SignedHeaders=content-type;host;x-project-id;x-sdk-date;x-security-token, "
        "Signature=1c3065e5eec783bbf474904c584d5849f2ad7e1211b6dcdb21bdc33f158cc850"
    )


def test_ocr_vector_v3_project_lookup() -> None:
    headers = {"X-Sdk-Date": "20240101T000000Z"}
    signed = sign_request(
        AK, SK, "GET", "https://iam.cn-north-4.myhuaweicloud.com/v3/projects?name=cn-north-4", headers, b""
    )
    assert signed.canonical_request.split("\n")[1:3] == ["/v3/projects/", "name=cn-north-4"]
    assert headers["Authorization"] == (
        "SDK-HMAC-SHA256 Access=AKTESTEXAMPLE0000001, SignedHeaders=host;x-sdk-date, "
        "Signature=c625bc6bb69c4b122ebb1ef10647a140988d8c93ede927f52c7eb4a7d027fb34"
    )


def test_ocr_vector_v4_emulator_style() -> None:
    headers = _ocr_headers(
        **{"Host": "127.0.0.1:8080", "User-Agent": "huaweicloud-usdk-python/3.0", "Enterprise-Project-Id": "0"}
    )
    sign_request(AK, SK, "POST", f"http://127.0.0.1:8080/v2/{PROJECT}/ocr/vehicle-license", headers, BODY)
    assert headers["Authorization"] == (
        "SDK-HMAC-SHA256 Access=AKTESTEXAMPLE0000001, "
        "SignedHeaders=content-type;enterprise-project-id;host;user-agent;x-project-id;x-sdk-date, "
        "Signature=d5ed4e3e9b1de8b0de79b3f907c7c3c9122de23ef050f8d3a420f6da9bdc80ca"
    )


def test_excluded_transport_headers_are_not_signed() -> None:
    headers = _ocr_headers(**{"Content-Length": str(len(BODY)), "Connection": "keep-alive"})
    signed = sign_request(AK, SK, "POST", OCR_URL, headers, BODY, exclude_headers=("content-length", "connection"))
    assert signed.signed_headers == "content-type;host;x-project-id;x-sdk-date"
    assert signed.signature == "a22b06cf251da96a9b8311d8bc04099fa5cbb7079d0a791b976b241aafef4b3b"


@pytest.mark.parametrize(
    ("path", "expected"),
    [("", "/"), ("/v3/projects", "/v3/projects/"), ("/a b/%E4%B8%AD/", "/a%20b/%E4%B8%AD/")],
)
def test_canonical_uri(path: str, expected: str) -> None:
    assert canonical_uri(path) == expected


def test_verify_round_trip_and_tamper() -> None:
    headers = _ocr_headers()
    sign_request(AK, SK, "POST", OCR_URL, headers, BODY)
    parsed = parse_authorization(headers["Authorization"])
    assert parsed is not None and parsed.access_key == AK
    path = f"/v2/{PROJECT}/ocr/vehicle-license"
    assert verify_signature(SK, "POST", path, "", headers, BODY, parsed)
    assert not verify_signature(SK + "x", "POST", path, "", headers, BODY, parsed)
    assert not verify_signature(SK, "POST", path, "", headers, BODY + b" ", parsed)
    assert parse_authorization("Bearer abc") is None
