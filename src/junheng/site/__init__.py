"""The test-site node's core (issue 15): signed, encrypted packages between the centre and a test
site (:mod:`junheng.site.package`) and the proctor's control of a pupil's time window
(:mod:`junheng.site.control`).  Pure: no Django; the web services build and load the files."""

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

__all__ = ["ACTIONS", "ROOM_ACTIONS", "Package", "PackageError", "Stop", "Window", "fingerprint", "load_private", "load_public",
           "new_signing_key", "new_unlock_code", "open_package", "private_pem", "public_pem", "pupil_window",
           "read_manifest", "result_key", "seal", "site_signing_key", "write_package"]
