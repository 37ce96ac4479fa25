"""Per-site TLS for the test-site node (issue 15.1/15.3): a province test CA and one server
certificate per site, so that the pupils' browsers reach the node over HTTPS — a secure context,
without which browsers do not run the test page's service worker.

The CA (ECDSA P-256, 10 years) is created once at the centre, its key kept there like the
centre's signing key; its certificate is installed once as a trusted root on the test computers.
Each site's server certificate (ECDSA P-256, valid until its package expires) names the site by a
fixed host name ``<site code>.kaodian.local`` (lower case), ``localhost``/``127.0.0.1`` (the laptop
itself) and the LAN addresses the operator declares for the laptop; IP ranges cannot be
wildcarded in a certificate, so an address not declared is not covered.

Pure ``cryptography``: PEM bytes in and out, no files.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from junheng.exceptions import ParameterError

SITE_DOMAIN = "kaodian.local"
CA_YEARS = 10
CA_NAME = "均衡 省级测试 CA / junheng province test CA"
_BACKDATE = dt.timedelta(hours=1)  # a laptop clock a little behind still accepts a fresh certificate


def site_host(site_code: str) -> str:
    """The fixed host name of a site's node: ``<code>.kaodian.local`` (letters, digits, hyphens)."""
    label = site_code.strip().lower()
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", label):
        raise ParameterError(f"测试点编号 {site_code!r} 不能用作主机名（只能含字母、数字、连字符） / site code "
                             f"{site_code!r} cannot be a host name label (letters, digits, hyphens)")
    return f"{label}.{SITE_DOMAIN}"


def lan_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """A declared address of a site laptop: private, loopback or link-local only."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        raise ParameterError(f"不是 IP 地址 / not an IP address: {text!r}") from None
    if not (address.is_private or address.is_loopback or address.is_link_local):
        raise ParameterError(f"{address} 不是局域网地址 / {address} is not a LAN (private) address")
    return address


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def new_test_ca(now: dt.datetime) -> tuple[bytes, bytes]:
    """A new province test CA: ``(key PEM, certificate PEM)``, valid ``CA_YEARS`` years from ``now``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "junheng"),
                      x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE).not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))
    return _key_pem(key), cert.public_bytes(serialization.Encoding.PEM)


def issue_site_certificate(ca_key_pem: bytes, ca_cert_pem: bytes, site_code: str, addresses=(), *, now: dt.datetime,
                 until: dt.datetime) -> tuple[bytes, bytes]:
    """A server certificate for a site's node, signed by the CA: ``(key PEM, certificate PEM)``.
    SANs: ``site_host(site_code)``, ``localhost``, ``127.0.0.1`` and each of ``addresses`` (LAN)."""
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    if until > ca_cert.not_valid_after_utc:
        raise ParameterError("省级测试 CA 证书在数据包到期前过期，请换新 CA / the test CA expires before the package")
    host = site_host(site_code)
    ips = sorted({lan_address(str(a)) for a in addresses} | {ipaddress.ip_address("127.0.0.1")},
                 key=lambda a: (a.version, int(a)))
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName(host), x509.DNSName("localhost"), *(x509.IPAddress(a) for a in ips)]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "junheng"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE).not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return _key_pem(key), cert.public_bytes(serialization.Encoding.PEM)


def certificate_names(cert_pem: bytes) -> list[str]:
    """The host names and addresses a certificate is for (its SANs)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [*san.get_values_for_type(x509.DNSName), *(str(a) for a in san.get_values_for_type(x509.IPAddress))]
