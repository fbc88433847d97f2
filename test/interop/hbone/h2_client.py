"""An HBONE client written with python3-h2: mutual TLS 1.3, ALPN h2, no SNI, SPIFFE SAN pinned,
then one CONNECT tunnel that sends a payload, half-closes, and reads the echo to the end.
Prints one JSON line; exit 0 on a completed tunnel, 2 when the handshake or the CONNECT was refused."""
import json
import socket
import ssl
import sys

import h2.config
import h2.connection
import h2.events

host, port, authority, cert, key, ca, expected, size = sys.argv[1:9]
port, size = int(port), int(size)


def out(obj, code):
    print(json.dumps(obj), flush=True)
    sys.exit(code)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_cert_chain(cert, key)
ctx.load_verify_locations(ca)
ctx.check_hostname = False  # HBONE identities are URI SANs, checked below
ctx.set_alpn_protocols(["h2"])
try:
    tls = ctx.wrap_socket(socket.create_connection((host, port), timeout=10))  # no server_hostname: no SNI
    sans = [v for k, v in tls.getpeercert().get("subjectAltName", ()) if k == "URI"]
    if expected not in sans:
        out({"error": "server SAN %s is not %s" % (sans, expected)}, 2)
    if tls.selected_alpn_protocol() != "h2":
        out({"error": "no h2"}, 2)
    # h2 4.1 wants :path and :scheme even on a classic CONNECT, so its outbound check is off.
    config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8", validate_outbound_headers=False)
    conn = h2.connection.H2Connection(config)
    conn.initiate_connection()
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(":method", "CONNECT"), (":authority", authority)])
    tls.sendall(conn.data_to_send())
    payload = bytes(i % 251 for i in range(size))
    sent = 0
    received = bytearray()
    status = None
    ended = False
    while not ended:
        if status == "200" and sent < len(payload):
            window = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
            if window > 0:
                chunk = payload[sent:sent + window]
                sent += len(chunk)
                conn.send_data(sid, chunk, end_stream=sent == len(payload))
                tls.sendall(conn.data_to_send())
                continue
        data = tls.recv(65536)
        if not data:
            out({"error": "connection closed", "status": status, "received": len(received)}, 2)
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                headers = dict(ev.headers)
                status = headers.get(":status")
                if status != "200":
                    out({"status": status, "reason": headers.get("x-weft-reason")}, 2)
            elif isinstance(ev, h2.events.DataReceived):
                received += ev.data
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
                ended = True
        tls.sendall(conn.data_to_send())
    out({"status": status, "sent": sent, "received": len(received), "same": bytes(received) == payload, "peer": sans}, 0)
except (ssl.SSLError, ConnectionError, OSError) as e:
    out({"error": "%s: %s" % (type(e).__name__, e)}, 2)
