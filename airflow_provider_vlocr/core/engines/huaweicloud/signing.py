"""Huawei Cloud ``SDK-HMAC-SHA256`` request signing, byte-identical to ``huaweicloudsdkcore``'s ``Signer``.

Pure functions over method, URL, headers and body, so the client signs with them and the emulator verifies
with the very same code.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, unquote, urlsplit

ALGORITHM = "SDK-HMAC-SHA256"
SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
HEADER_SDK_DATE = "X-Sdk-Date"
HEADER_CONTENT_SHA256 = "X-Sdk-Content-Sha256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
AUTHORIZATION_RE = re.compile(r"^SDK-HMAC-SHA256 Access=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$")


@dataclass(frozen=True)
class SignedParts:
    """What a signature was computed from; handy for debugging and tests."""

    canonical_request: str
    string_to_sign: str
    signed_headers: str
    signature: str


def sdk_date(now: datetime | None = None) -> str:
    """``X-Sdk-Date`` for ``now`` (UTC)."""
    return (now or datetime.now(UTC)).strftime(SDK_DATE_FORMAT)


def parse_sdk_date(value: str) -> datetime:
    """Parse an ``X-Sdk-Date`` value into an aware UTC datetime."""
    return datetime.strptime(value, SDK_DATE_FORMAT).replace(tzinfo=UTC)


def canonical_uri(path: str) -> str:
    """URL-decode the path, percent-encode each segment, and end it with ``/`` as the SDK does."""
    segments = unquote(path or "/").split("/")
    encoded = "/".join(quote(segment, safe="~") for segment in segments)
    return encoded if encoded.endswith("/") else encoded + "/"


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Sorted ``k=v`` pairs, each side encoded with ``quote(safe='~')``."""
    items = sorted((str(k), str(v)) for k, v in pairs)
    return "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in items)


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """Decode a raw (already percent-encoded) query string into pairs."""
    return parse_qsl(raw_query, keep_blank_values=True)


def signable_header_names(headers: Mapping[str, str], exclude: Iterable[str] = ()) -> list[str]:
    """Every header name without ``_``, lower-cased and sorted, as the SDK signs them."""
    skip = {name.lower() for name in exclude}
    return sorted({k.lower() for k in headers if "_" not in k and k.lower() not in skip})


def _lower_map(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def compute_signature(
    secret_key: str,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_header_names: list[str],
    body: bytes,
) -> SignedParts:
    """Compute the signature over the given parts; ``headers`` must hold ``X-Sdk-Date``."""
    lowered = _lower_map(headers)
    canonical_headers = "".join(f"{name}:{lowered[name].strip()}\n" for name in signed_header_names)
    signed_headers = ";".join(signed_header_names)
    payload_hash = lowered.get(HEADER_CONTENT_SHA256.lower()) or hashlib.sha256(body).hexdigest()
    canonical_request = "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            canonical_headers,
            signed_headers,
            payload_hash,
        ]
    )
    string_to_sign = "\n".join(
        [ALGORITHM, lowered["x-sdk-date"], hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()]
    )
    signature = hmac.new(secret_key.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return SignedParts(canonical_request, string_to_sign, signed_headers, signature)


def sign_request(
    access_key: str,
    secret_key: str,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    *,
    now: datetime | None = None,
    exclude_headers: Iterable[str] = (),
) -> SignedParts:
    """Sign a request in place like ``huaweicloudsdkcore.signer.Signer.sign``.

    Adds ``X-Sdk-Date`` (unless present), ``Host`` (unless present, the URL's netloc) and, for non-JSON
    bodies, ``X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD``; then sets ``Authorization``. Headers named in
    ``exclude_headers`` (transport headers added after signing, such as ``Content-Length``) are not signed.
    """
    lowered = _lower_map(headers)
    if "x-sdk-date" not in lowered:
        headers[HEADER_SDK_DATE] = sdk_date(now)
    parts = urlsplit(url)
    if "host" not in lowered:
        headers["Host"] = parts.netloc
    content_type = lowered.get("content-type", "")
    if content_type and not content_type.startswith(("application/json", "application/bson")):
        headers[HEADER_CONTENT_SHA256] = UNSIGNED_PAYLOAD
    names = signable_header_names(headers, exclude=exclude_headers)
    signed = compute_signature(secret_key, method, parts.path, query_pairs(parts.query), headers, names, body or b"")
    headers["Authorization"] = (
        f"{ALGORITHM} Access={access_key}, SignedHeaders={signed.signed_headers}, Signature={signed.signature}"
    )
    return signed


@dataclass(frozen=True)
class ParsedAuthorization:
    """The three parts of an ``SDK-HMAC-SHA256`` Authorization header."""

    access_key: str
    signed_headers: list[str]
    signature: str


def parse_authorization(value: str) -> ParsedAuthorization | None:
    """Parse an Authorization header; ``None`` when it is not ``SDK-HMAC-SHA256``."""
    match = AUTHORIZATION_RE.match(value.strip())
    if not match:
        return None
    return ParsedAuthorization(match.group(1), match.group(2).split(";"), match.group(3))


def verify_signature(
    secret_key: str,
    method: str,
    path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    parsed: ParsedAuthorization,
) -> bool:
    """Recompute a received request's signature and compare it in constant time (gateway side)."""
    lowered = _lower_map(headers)
    if any(name not in lowered for name in parsed.signed_headers):
        return False
    signed = compute_signature(secret_key, method, path, query_pairs(raw_query), lowered, parsed.signed_headers, body)
    return hmac.compare_digest(signed.signature, parsed.signature)
