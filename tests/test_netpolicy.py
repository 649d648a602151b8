"""The SSRF address rules: every spelling of a non-public address is refused unless the user allowed it."""

from __future__ import annotations

import ipaddress

import pytest

from airflow_provider_vlocr.core.errors import ConfigurationError
from airflow_provider_vlocr.core.fetch.netpolicy import (
    HostAllowList,
    HostRefused,
    address_class,
    is_intranet_host,
    parse_literal,
    vet_host,
)

METADATA = ipaddress.ip_address("169.254.169.254")


@pytest.mark.parametrize(
    "spelling",
    ["169.254.169.254", "2852039166", "0xa9fea9fe", "0251.0376.0251.0376", "0xa9.0xfe.0xa9.0xfe", "169.254.43518"],
)
def test_ipv4_spellings_parse_to_the_metadata_address(spelling: str) -> None:
    assert parse_literal(spelling) == METADATA


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.1", "loopback"),
        ("2130706433", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "shared"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "private"),  # reserved; Python files 240/4 under is_private
        ("::ffff:169.254.169.254", "link-local (cloud metadata range) (embedded"),
        ("::ffff:7f00:1", "loopback (embedded"),
        ("::169.254.169.254", "link-local (cloud metadata range) (embedded"),
        ("64:ff9b::a9fe:a9fe", "link-local (cloud metadata range) (embedded"),
        ("2002:a9fe:a9fe::1", "link-local (cloud metadata range) (embedded"),
        ("2002:7f00:1::1", "loopback (embedded"),
    ],
)
def test_non_public_addresses_are_classified(host: str, kind: str) -> None:
    address = parse_literal(host)
    assert address is not None
    found = address_class(address)
    assert found is not None and found.startswith(kind), found


@pytest.mark.parametrize("host", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses_pass(host: str) -> None:
    address = parse_literal(host)
    assert address is not None and address_class(address) is None


def test_refused_without_allow_list_and_the_error_says_how_to_allow() -> None:
    with pytest.raises(HostRefused) as info:
        vet_host("10.0.0.7", 80, HostAllowList())
    assert "private address 10.0.0.7" in info.value.reason and "download_allowed_hosts" in info.value.reason


def test_allow_list_by_address_name_wildcard_and_network() -> None:
    allow = HostAllowList.parse(["10.0.0.7", "localhost", "*.corp.example", "192.168.0.0/16", "0x7f000002"])
    assert vet_host("10.0.0.7", 80, allow) == [ipaddress.ip_address("10.0.0.7")]
    assert vet_host("192.168.4.4", 80, allow)
    assert vet_host("127.0.0.2", 80, allow)  # allowed as 0x7f000002: entries may be spelt any way too
    assert allow.names_host("images.corp.example") and not allow.names_host("corp.example.evil")
    assert allow.allows("localhost", ipaddress.ip_address("127.0.0.1"))
    with pytest.raises(HostRefused):
        vet_host("10.0.0.8", 80, allow)


def test_link_local_only_by_exact_address() -> None:
    by_network = HostAllowList.parse(["169.254.0.0/16", "*.example"])
    assert not by_network.allows("meta.example", METADATA)
    assert not by_network.allows("169.254.169.254", METADATA)
    exact = HostAllowList.parse(["169.254.169.254"])
    assert exact.allows("169.254.169.254", METADATA)
    assert exact.allows("2852039166", METADATA)
    assert not exact.allows("169.254.169.253", ipaddress.ip_address("169.254.169.253"))


@pytest.mark.parametrize("entry", ["*", "*example.com", "", "10.0.0.0/33"])
def test_bad_allow_list_entries_are_configuration_errors(entry: str) -> None:
    with pytest.raises(ConfigurationError, match="download_allowed_hosts"):
        HostAllowList.parse([entry])


@pytest.mark.parametrize(
    ("host", "intranet"),
    [
        ("localhost", True),
        ("fileserver", True),
        ("nas.local", True),
        ("build.corp", True),
        ("10.2.3.4", True),
        ("169.254.169.254", True),
        ("2852039166", True),
        ("[::ffff:10.0.0.1]", True),
        ("8.8.8.8", False),
    ],
)
def test_auto_mode_sends_intranet_hosts_to_the_worker(host: str, intranet: bool) -> None:
    assert is_intranet_host(host) is intranet
