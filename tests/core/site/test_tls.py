"""Per-site TLS (junheng.site.tls): the server certificate a site's package carries chains to the
province test CA and names the site's host and declared LAN address — checked by two verifiers
that are not ours: ``cryptography``'s X.509 path validation (``x509.verification``) and the
``openssl verify`` command — and nothing else: another name, another address or another CA fail."""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from junheng.exceptions import ParameterError
from junheng.site import certificate_names, issue_site_certificate, new_test_ca, site_host

NOW = dt.datetime(2026, 6, 16, 8, 0, tzinfo=dt.UTC)
UNTIL = NOW + dt.timedelta(days=3)


@pytest.fixture(scope="module")
def issued():
    ca_key, ca_cert = new_test_ca(NOW)
    key, cert = issue_site_certificate(ca_key, ca_cert, "TA01", ["192.168.1.20"], now=NOW, until=UNTIL)
    return ca_cert, key, cert


def _verify(ca_cert: bytes, cert: bytes, name: x509.GeneralName, at=NOW + dt.timedelta(hours=1)):
    store = Store([x509.load_pem_x509_certificate(ca_cert)])
    verifier = PolicyBuilder().store(store).time(at).build_server_verifier(name)
    return verifier.verify(x509.load_pem_x509_certificate(cert), [])


def test_the_chain_verifies_against_the_ca_for_the_sites_name_and_address(issued):
    ca_cert, _, cert = issued
    assert site_host("TA01") == "ta01.kaodian.local"
    assert certificate_names(cert) == ["ta01.kaodian.local", "localhost", "127.0.0.1", "192.168.1.20"]
    for name in (x509.DNSName("ta01.kaodian.local"), x509.IPAddress(ipaddress.ip_address("192.168.1.20")),
                 x509.IPAddress(ipaddress.ip_address("127.0.0.1"))):
        chain = _verify(ca_cert, cert, name)
        assert chain[-1].subject == x509.load_pem_x509_certificate(ca_cert).subject


def test_another_name_address_ca_or_time_fails(issued):
    ca_cert, _, cert = issued
    for name in (x509.DNSName("tb02.kaodian.local"), x509.IPAddress(ipaddress.ip_address("192.168.1.21"))):
        with pytest.raises(VerificationError):
            _verify(ca_cert, cert, name)
    _, other_ca = new_test_ca(NOW)
    with pytest.raises(VerificationError):
        _verify(other_ca, cert, x509.DNSName("ta01.kaodian.local"))
    with pytest.raises(VerificationError):  # after the package expired
        _verify(ca_cert, cert, x509.DNSName("ta01.kaodian.local"), at=UNTIL + dt.timedelta(hours=1))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")
def test_openssl_verifies_the_chain_and_the_names(issued, tmp_path):
    ca_cert, _, cert = issued
    (tmp_path / "ca.crt").write_bytes(ca_cert)
    (tmp_path / "server.crt").write_bytes(cert)
    at = str(int((NOW + dt.timedelta(hours=1)).timestamp()))

    def verify(*extra):
        return subprocess.run(["openssl", "verify", "-attime", at, "-purpose", "sslserver", "-CAfile",
                               str(tmp_path / "ca.crt"), *extra, str(tmp_path / "server.crt")],
                              capture_output=True, text=True)

    assert verify("-verify_hostname", "ta01.kaodian.local").returncode == 0
    assert verify("-verify_ip", "192.168.1.20").returncode == 0
    assert verify("-verify_hostname", "tb02.kaodian.local").returncode != 0
    assert verify("-verify_ip", "10.0.0.5").returncode != 0


def test_a_public_address_or_a_code_that_is_no_host_name_is_refused():
    ca_key, ca_cert = new_test_ca(NOW)
    with pytest.raises(ParameterError, match="局域网"):
        issue_site_certificate(ca_key, ca_cert, "TA01", ["8.8.8.8"], now=NOW, until=UNTIL)
    with pytest.raises(ParameterError, match="主机名"):
        issue_site_certificate(ca_key, ca_cert, "TA 01", [], now=NOW, until=UNTIL)
    with pytest.raises(ParameterError, match="过期"):
        issue_site_certificate(ca_key, ca_cert, "TA01", [], now=NOW, until=NOW + dt.timedelta(days=365 * 11))
