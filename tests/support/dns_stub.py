"""A DNS server on loopback that answers from a dict, for dnspython's real resolver: tests
of what asks the DNS send their questions here, never to the network."""

import socket
import threading
from contextlib import contextmanager

import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.rrset


@contextmanager
def dns_stub(records):
    """Answer ``records`` {(name, type): [record texts in zone-file form]} over UDP on
    loopback, with dnspython's default resolver pointed at it; other names are NXDOMAIN."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True)
            rdtype = dns.rdatatype.to_text(question.rdtype)
            texts = records.get((name, rdtype), [])
            if texts:
                response.answer.append(
                    dns.rrset.from_text_list(question.name, 300, "IN", rdtype, texts)
                )
            elif not any(known == name for known, _ in records):
                response.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(response.to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = sock.getsockname()[1]
    previous = dns.resolver.default_resolver
    dns.resolver.default_resolver = resolver
    try:
        yield resolver
    finally:
        dns.resolver.default_resolver = previous
        stop.set()
        thread.join()
        sock.close()
