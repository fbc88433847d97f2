import { type ClientHttp2Session, connect as h2connect } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { type PeerCertificate, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { errorCode, errorMessage } from '@weft/telemetry/errors';
import { formatHostPort } from './connect-request.js';
import { type HboneCredentials, inTrustDomains, spiffeIdsOf } from './credentials.js';
import { HboneError, HboneErrorCode } from './errors.js';
import { tuneSocket } from './pump.js';
import { CLIENT_MAX_HEADER_LIST, KEEPALIVE_IDLE_MS, MAX_FRAME_SIZE } from './settings.js';

export interface NextHop {
  host: string;
  port: number;
  /** The source IP the connection should come from (part of the pool key; see `connect`). */
  sourceIp?: string;
}

/** Creates the TCP socket to the next hop (e.g. inside a pod's netns with SO_MARK). */
export type SocketFactory = (nextHop: NextHop) => Socket | Promise<Socket>;

export interface EstablishOptions {
  nextHop: NextHop;
  credentials: HboneCredentials;
  expectedIdentities: readonly string[];
  connect: SocketFactory | undefined;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  streamWindow: number;
  connectionWindow: number;
}

export interface Established {
  raw: Socket;
  tls: TLSSocket;
  session: ClientHttp2Session;
  peerIdentity: string;
  started: number;
}

const CERT_ERROR =
  /^(UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|CERT_|ERR_TLS_CERT|INVALID_CA|PATH_LENGTH|HOSTNAME_MISMATCH)/;

function defaultConnect(hop: NextHop): Socket {
  return netConnect({ host: hop.host, port: hop.port, noDelay: true, keepAlive: true });
}

/** Checks the server's SPIFFE SANs against the expected set (or our trust domains when the set is empty). */
function serverIdentityCheck(
  expected: readonly string[],
  credentials: HboneCredentials,
  found: { id: string },
): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const ids = spiffeIdsOf(cert);
    if (expected.length === 0) {
      if (ids.length > 0 && inTrustDomains(ids, credentials.trustDomains())) {
        found.id = ids[0] ?? '';
        return undefined;
      }
    } else {
      for (const id of ids) {
        if (expected.includes(id)) {
          found.id = id;
          return undefined;
        }
      }
    }
    return new HboneError(
      HboneErrorCode.PeerIdentity,
      `server identity ${ids.join(',') || '(no SPIFFE URI SAN)'} is not one of ${expected.join(', ') || credentials.trustDomains().join(', ')}`,
    );
  };
}

/**
 * TCP connect (bounded by connectTimeoutMs), then TLS 1.3 + ALPN h2 without SNI with the server's
 * SPIFFE SAN checked, then HTTP/2 until the server's first SETTINGS (bounded by handshakeTimeoutMs).
 */
export async function establish(o: EstablishOptions): Promise<Established> {
  const hop = formatHostPort(o.nextHop.host, o.nextHop.port);
  const started = performance.now();
  const raw = await connectTcp(o, hop);
  tuneSocket(raw, KEEPALIVE_IDLE_MS);
  // Failures surface on the TLS socket and the session; the raw socket must not throw on its own.
  raw.on('error', () => {});
  const found = { id: '' };
  let tls: TLSSocket | undefined;
  let session: ClientHttp2Session | undefined;
  try {
    return await new Promise<Established>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(
        () =>
          fail(
            new HboneError(
              HboneErrorCode.HandshakeTimeout,
              `HBONE handshake with ${hop} did not finish in ${o.handshakeTimeoutMs} ms`,
            ),
          ),
        o.handshakeTimeoutMs,
      );
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(classify(err, hop));
      };
      tls = tlsConnect({
        socket: raw,
        secureContext: o.credentials.secureContext(),
        ALPNProtocols: ['h2'],
        // HBONE sends no SNI: the server picks its certificate by destination, not by name.
        servername: '',
        rejectUnauthorized: true,
        checkServerIdentity: serverIdentityCheck(o.expectedIdentities, o.credentials, found),
      });
      const t = tls;
      t.on('error', fail);
      t.once('close', () =>
        fail(new Error('connection closed during the handshake (does the server trust our certificate?)')),
      );
      t.once('secureConnect', () => {
        if (t.alpnProtocol !== 'h2' || t.getProtocol() !== 'TLSv1.3') {
          fail(
            new HboneError(
              HboneErrorCode.NotH2,
              `server ${hop} negotiated ${t.getProtocol()} with ALPN ${String(t.alpnProtocol)}; HBONE needs TLSv1.3 and h2`,
            ),
          );
          return;
        }
        const s = h2connect(`https://${hop}`, {
          createConnection: () => t,
          settings: {
            initialWindowSize: o.streamWindow,
            enablePush: false,
            maxHeaderListSize: CLIENT_MAX_HEADER_LIST,
            maxFrameSize: MAX_FRAME_SIZE,
          },
        });
        session = s;
        s.on('error', fail);
        s.once('close', () => fail(new Error('HTTP/2 session closed during the handshake')));
        s.once('remoteSettings', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          try {
            s.setLocalWindowSize(o.connectionWindow);
          } catch {
            // Closing already; the first request will report it.
          }
          s.off('error', fail);
          t.off('error', fail);
          t.removeAllListeners('close');
          s.removeAllListeners('close');
          // HTTP/2 reads the socket natively; flowing mode lets the JS side still see EOF and close.
          t.resume();
          resolve({ raw, tls: t, session: s, peerIdentity: found.id, started });
        });
      });
    });
  } catch (err) {
    session?.destroy();
    tls?.destroy();
    raw.destroy();
    throw err;
  }
}

async function connectTcp(o: EstablishOptions, hop: string): Promise<Socket> {
  const timeoutError = (): HboneError =>
    new HboneError(
      HboneErrorCode.ConnectTimeout,
      `HBONE connect to ${hop} timed out after ${o.connectTimeoutMs} ms (maybe a NetworkPolicy blocks port 15008)`,
    );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), o.connectTimeoutMs);
  });
  let socket: Socket | undefined;
  try {
    socket = await Promise.race([Promise.resolve((o.connect ?? defaultConnect)(o.nextHop)), timeout]);
    const s = socket;
    if (s.connecting || s.pending) {
      await Promise.race([
        new Promise<void>((resolve, reject) => {
          s.once('connect', resolve);
          s.once('error', reject);
        }),
        timeout,
      ]);
    }
    if (s.destroyed) throw new Error('socket closed before it connected');
    return s;
  } catch (err) {
    socket?.destroy();
    if (err instanceof HboneError) throw err;
    throw new HboneError(
      HboneErrorCode.ConnectFailed,
      `HBONE connect to ${hop} failed: ${errorCode(err)} ${errorMessage(err)} (is port 15008 open on the destination?)`,
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
  }
}

function classify(err: unknown, hop: string): HboneError {
  if (err instanceof HboneError) return err;
  const code = errorCode(err);
  if (CERT_ERROR.test(code)) {
    return new HboneError(
      HboneErrorCode.PeerUntrusted,
      `server ${hop} certificate not trusted: ${code} ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  return new HboneError(
    HboneErrorCode.ConnectFailed,
    `HBONE handshake with ${hop} failed: ${code} ${errorMessage(err)}`,
    {
      cause: err,
    },
  );
}
