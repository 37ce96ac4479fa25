"""The test-site node's core (issue 15): signed, encrypted packages between the centre and a test
site (:mod:`junheng.site.package`), the proctor's control of a pupil's time window
(:mod:`junheng.site.control`) and the sites' HTTPS certificates from the province test CA
(:mod:`junheng.site.tls`).  Pure: no Django; the web services build and load the files."""

from junheng.site.control import ACTIONS, ROOM_ACTIONS, Stop, Window, pupil_window
from junheng.site.package import (
    Package,
    PackageError,
    fingerprint,
    load_private,
    load_public,
    new_signing_key,
    new_unlock_code,
    open_package,
    private_pem,
    public_pem,
    read_manifest,
    result_key,
    seal,
    site_signing_key,
    write_package,
)
from junheng.site.tls import SITE_DOMAIN, certificate_names, issue_site_certificate, new_test_ca, site_host

__all__ = ["ACTIONS", "ROOM_ACTIONS", "SITE_DOMAIN", "Package", "PackageError", "Stop", "Window", "certificate_names",
           "fingerprint", "issue_site_certificate", "new_test_ca", "site_host", "load_private", "load_public",
           "new_signing_key", "new_unlock_code", "open_package", "private_pem", "public_pem", "pupil_window",
           "read_manifest", "result_key", "seal", "site_signing_key", "write_package"]
