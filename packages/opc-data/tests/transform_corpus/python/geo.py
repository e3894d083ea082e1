"""Network helpers: addresses the geo service must never log."""
import ipaddress
import uuid

UPSTREAM_V6 = "2001:db8:85a3::8a2e:370:7334"
LOOPBACK_V6 = "::1"
GATEWAY = "192.0.2.1"
DEVICE_MAC = "00:1a:2b:3c:4d:5e"
REQUEST_ID = uuid.UUID("12345678-1234-5678-1234-567812345678")
SNMP_OID = "1.3.6.1.4.1.2021.10"
CHECKSUM = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def interleave(values):
    return values[::2], values[1::2]


def is_private(addr: str) -> bool:
    return ipaddress.ip_address(addr).is_private
