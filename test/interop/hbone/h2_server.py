"""An HBONE-style CONNECT server written with python3-h2: mutual TLS 1.3 (client certificate required,
chained to the given CA), ALPN h2. Each CONNECT is answered 200 with the peer's URI SANs in x-peer and its
payload is echoed back; END_STREAM is echoed as END_STREAM. Prints {"port": N}, then one JSON line per
refused handshake."""
import json
import socket
import ssl
import sys
import threading

import h2.config
import h2.connection
import h2.events
import h2.exceptions

cert, key, ca = sys.argv[1:4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_cert_chain(cert, key)
ctx.load_verify_locations(ca)
ctx.verify_mode = ssl.CERT_REQUIRED
ctx.set_alpn_protocols(["h2"])

lsock = socket.socket()
lsock.bind(("127.0.0.1", 0))
lsock.listen(16)
print(json.dumps({"port": lsock.getsockname()[1]}), flush=True)


def serve(raw):
    try:
        tls = ctx.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError) as e:
        print(json.dumps({"refused": str(e)}), flush=True)
        raw.close()
        return
    sans = ",".join(v for k, v in tls.getpeercert().get("subjectAltName", ()) if k == "URI")
    # h2 4.1 wants :path and :scheme even on a classic CONNECT, so its inbound check is off.
    config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8", validate_inbound_headers=False)
    conn = h2.connection.H2Connection(config)
    conn.initiate_connection()
    tls.sendall(conn.data_to_send())
    try:
        while True:
            data = tls.recv(65536)
            if not data:
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    headers = dict(ev.headers)
                    if headers.get(":method") != "CONNECT":
                        conn.send_headers(ev.stream_id, [(":status", "400")], end_stream=True)
                    else:
                        conn.send_headers(ev.stream_id, [(":status", "200"), ("x-peer", sans),
                                                         ("x-authority", headers.get(":authority", ""))])
                elif isinstance(ev, h2.events.DataReceived):
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    # Echo within the peer's window (tests send far less than one window).
                    conn.send_data(ev.stream_id, ev.data)
                elif isinstance(ev, h2.events.StreamEnded):
                    conn.end_stream(ev.stream_id)
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    return
            tls.sendall(conn.data_to_send())
    except (ssl.SSLError, OSError, h2.exceptions.ProtocolError):
        pass
    finally:
        tls.close()


while True:
    c, _ = lsock.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
