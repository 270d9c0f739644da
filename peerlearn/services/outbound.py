"""Addresses the server posts to on someone's say-so (webhook URLs, browsers' push endpoints):
a name is resolved here and every address it gives must be public, so an address inside our own
network (the metadata service, the database, loopback) is never posted to."""

import ipaddress
import socket


def is_public(address):
    """Whether the IP ``address`` (text) is a public unicast one; an IPv4-mapped IPv6 address
    counts as the IPv4 address it carries."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def addresses(host, port):
    """The IP addresses ``host`` resolves to for a TCP connection to ``port``, or None when the
    name can't be found."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    return [info[4][0] for info in infos]
