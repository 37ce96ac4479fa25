"""The host names a test-site node answers to (``junheng_web.lan``)."""

from __future__ import annotations

import pytest

from junheng_web.lan import host_name, lan_host


@pytest.mark.parametrize(("header", "host"), [("192.168.1.20:8000", "192.168.1.20"), ("[fd00::1]:8000", "fd00::1"),
                                              ("[::1]", "::1"), ("Laptop-3:80", "laptop-3"), ("10.0.0.7", "10.0.0.7"),
                                              ("fe80::1", "fe80::1"), ("[broken", "")])
def test_it_strips_the_port(header, host):
    assert host_name(header) == host


@pytest.mark.parametrize(("host", "ok"), [("192.168.1.20", True), ("10.1.2.3", True), ("172.16.0.9", True),
                                          ("127.0.0.1", True), ("::1", True), ("fd00::1", True), ("fe80::1", True),
                                          ("169.254.3.4", True), ("laptop-3", True), ("8.8.8.8", False),
                                          ("172.32.0.1", False), ("2001:4860::8888", False), ("example.com", False),
                                          ("", False)])
def test_it_accepts_private_addresses_and_the_machines_names_only(host, ok):
    assert lan_host(host, {"laptop-3", "localhost"}) is ok
