"""The host names a test-site node answers to: loopback and private-network addresses (RFC 1918,
RFC 4193, link-local) as typed in the pupils' browsers (``http://192.168.1.20:8000/test/``), the
machine's own name, and the names in ``JUNHENG_ALLOWED_HOSTS``.  Anything else — a public address,
a stranger's domain name (DNS rebinding) — is refused with 400 before Django reads the host."""

from __future__ import annotations

import ipaddress
import socket

from django.conf import settings
from django.http import HttpResponseBadRequest


def host_name(header: str) -> str:
    """The host of a Host header without its port (``[::1]:8000`` → ``::1``)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else ""
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def lan_host(host: str, names: set[str]) -> bool:
    if host in names:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local


class LanHostMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.names = {n.lower() for n in getattr(settings, "LAN_HOST_NAMES", [])} | {socket.gethostname().lower(),
                                                                                   "localhost"}

    def __call__(self, request):
        if not lan_host(host_name(request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", "")), self.names):
            return HttpResponseBadRequest("本测试点服务器只接受局域网地址 / this test-site node answers LAN addresses only",
                                          content_type="text/plain; charset=utf-8")
        return self.get_response(request)
