/**
 * TLS origination at the egress gateway, per DestinationRule trafficPolicy.tls (and portLevelSettings):
 * DISABLE, SIMPLE (verify the server with caCertificates, sni, subjectAltNames), MUTUAL (client
 * certificate from files or credentialName) and ISTIO_MUTUAL (the gateway's mesh certificate). The lookup
 * is pure; the connector wraps whatever byte stream the base connector gives in a TLS client.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  checkServerIdentity,
  createSecureContext,
  type PeerCertificate,
  type SecureContext,
  connect as tlsConnect,
} from 'node:tls';
import { parseSubjectAltName } from '@weft/certs';
import type { ConfigObject } from '@weft/config';
import { groupOf, ISTIO_NETWORKING_GROUP } from '@weft/config';
import { formatHostPort } from '@weft/hbone';
import type { Endpoint } from '../mesh-view.js';
import { socketLike, type UpstreamConnector, type UpstreamStream } from '../upstream.js';
import type { CredentialSource } from './credentials.js';
import { GatewayError, GatewayErrorCode } from './errors.js';
import { qualify } from './registry.js';
import { hostMatches, hostSpecificity } from './servers.js';

export type OriginationMode = 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';

export interface OriginationTls {
  readonly mode: OriginationMode;
  /** File paths (as mounted into the gateway). */
  readonly clientCertificate: string | undefined;
  readonly privateKey: string | undefined;
  readonly caCertificates: string | undefined;
  /** Secret with tls.crt/tls.key/ca.crt (egress gateways). */
  readonly credentialName: string | undefined;
  readonly sni: string | undefined;
  readonly subjectAltNames: readonly string[];
  readonly insecureSkipVerify: boolean;
  /** `namespace/name` of the DestinationRule. */
  readonly source: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function parseTls(t: Obj, source: string): OriginationTls | undefined {
  const mode = String(t.mode ?? 'DISABLE').toUpperCase();
  if (mode !== 'DISABLE' && mode !== 'SIMPLE' && mode !== 'MUTUAL' && mode !== 'ISTIO_MUTUAL')
    return undefined;
  return {
    mode,
    clientCertificate: str(t.clientCertificate),
    privateKey: str(t.privateKey),
    caCertificates: str(t.caCertificates),
    credentialName: str(t.credentialName),
    sni: str(t.sni),
    subjectAltNames: arr(t.subjectAltNames).filter((x): x is string => typeof x === 'string'),
    insecureSkipVerify: t.insecureSkipVerify === true,
    source,
  };
}

/** The TLS settings for traffic to host:port (the most specific DestinationRule host wins). */
export function originationFor(
  configs: Iterable<ConfigObject>,
  host: string,
  port: number,
): OriginationTls | undefined {
  let best: { c: ConfigObject; score: number } | undefined;
  for (const c of configs) {
    if (c.kind !== 'DestinationRule' || groupOf(c.apiVersion) !== ISTIO_NETWORKING_GROUP) continue;
    const spec = isObj(c.object.spec) ? c.object.spec : {};
    if (typeof spec.host !== 'string') continue;
    const pattern = qualify(spec.host.toLowerCase(), c.namespace);
    if (!hostMatches(pattern, host)) continue;
    const score = hostSpecificity(pattern);
    if (best === undefined || score > best.score) best = { c, score };
  }
  if (best === undefined) return undefined;
  const spec = best.c.object.spec as Obj;
  const policy = isObj(spec.trafficPolicy) ? spec.trafficPolicy : {};
  const source = `${best.c.namespace}/${best.c.name}`;
  for (const pl of arr(policy.portLevelSettings)) {
    if (isObj(pl) && isObj(pl.port) && Number(pl.port.number) === port && isObj(pl.tls))
      return parseTls(pl.tls, source);
  }
  return isObj(policy.tls) ? parseTls(policy.tls, source) : undefined;
}

/** Every `credentialName` the DestinationRules name (so file credentials are loaded before first use). */
export function originationCredentialNames(configs: Iterable<ConfigObject>): string[] {
  const out = new Set<string>();
  const add = (t: unknown): void => {
    if (isObj(t) && typeof t.credentialName === 'string' && t.credentialName !== '')
      out.add(t.credentialName);
  };
  for (const c of configs) {
    if (c.kind !== 'DestinationRule' || groupOf(c.apiVersion) !== ISTIO_NETWORKING_GROUP) continue;
    const spec = isObj(c.object.spec) ? c.object.spec : {};
    const policy = isObj(spec.trafficPolicy) ? spec.trafficPolicy : {};
    add(policy.tls);
    for (const pl of arr(policy.portLevelSettings)) if (isObj(pl)) add(pl.tls);
  }
  return [...out];
}

/** The DNS and URI SANs of a peer certificate. */
function sansOf(cert: PeerCertificate): string[] {
  return parseSubjectAltName(cert.subjectaltname).map(([, v]) => v);
}

/** A server identity check: one of `subjectAltNames`, else the usual hostname check against the SNI. */
export function serverIdentityCheck(
  tls: Pick<OriginationTls, 'subjectAltNames'>,
  sni: string,
): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    if (tls.subjectAltNames.length === 0) return checkServerIdentity(sni, cert);
    const sans = sansOf(cert);
    if (tls.subjectAltNames.some((want) => sans.includes(want))) return undefined;
    return new GatewayError(
      GatewayErrorCode.Origination,
      `server certificate SANs [${sans.join(', ')}] match none of subjectAltNames [${tls.subjectAltNames.join(', ')}]`,
    );
  };
}

export interface OriginationPlan {
  readonly tls: OriginationTls;
  /** SNI to send (DestinationRule sni, else the destination host). */
  readonly sni: string;
}

export interface OriginatingConnectorOptions {
  /** Makes the byte stream to the endpoint (plain TCP, or HBONE). */
  readonly base: UpstreamConnector;
  /** The origination for an endpoint, or undefined for plaintext. */
  readonly planFor: (ep: Endpoint) => OriginationPlan | undefined;
  readonly credentials: CredentialSource;
  /** The gateway's mesh certificate (ISTIO_MUTUAL). */
  readonly meshContext?: () => SecureContext;
  readonly handshakeTimeoutMs?: number;
}

/** Wraps the base connector: endpoints with a SIMPLE/MUTUAL/ISTIO_MUTUAL plan get a TLS client on top. */
export function originatingConnector(o: OriginatingConnectorOptions): UpstreamConnector {
  const contexts = new Map<string, SecureContext>();
  const cached = (key: string, make: () => SecureContext): SecureContext => {
    let ctx = contexts.get(key);
    if (ctx === undefined) {
      if (contexts.size > 256) contexts.clear();
      ctx = make();
      contexts.set(key, ctx);
    }
    return ctx;
  };
  const contextFor = (tls: OriginationTls): SecureContext => {
    if (tls.mode === 'ISTIO_MUTUAL') {
      if (o.meshContext === undefined)
        throw new GatewayError(GatewayErrorCode.Origination, 'ISTIO_MUTUAL needs the mesh certificate');
      return o.meshContext();
    }
    let cert: string | undefined;
    let key: string | undefined;
    let ca: string | undefined;
    if (tls.credentialName !== undefined) {
      o.credentials.want([tls.credentialName]);
      const ns = tls.source.slice(0, tls.source.indexOf('/'));
      const cred = o.credentials.get(tls.credentialName, ns);
      if (tls.mode === 'MUTUAL' && cred === undefined)
        throw new GatewayError(
          GatewayErrorCode.NoCredential,
          `credentialName ${tls.credentialName} of DestinationRule ${tls.source} is not available`,
        );
      cert = cred?.certPem;
      key = cred?.keyPem;
      ca = cred?.caPem ?? o.credentials.caOf(tls.credentialName, ns);
    }
    const read = (path: string | undefined): string | undefined =>
      path === undefined ? undefined : readFileSync(path, 'utf8');
    if (tls.mode === 'MUTUAL' && cert === undefined) {
      cert = read(tls.clientCertificate);
      key = read(tls.privateKey);
      if (cert === undefined || key === undefined)
        throw new GatewayError(
          GatewayErrorCode.NoCredential,
          `DestinationRule ${tls.source}: MUTUAL needs clientCertificate and privateKey, or credentialName`,
        );
    }
    ca ??= read(tls.caCertificates);
    const id = createHash('sha256')
      .update(`${cert ?? ''}\0${key ?? ''}\0${ca ?? ''}`)
      .digest('hex');
    return cached(id, () =>
      createSecureContext({
        minVersion: 'TLSv1.2',
        ...(cert === undefined ? {} : { cert, key }),
        ...(ca === undefined ? {} : { ca }),
      }),
    );
  };

  return {
    async connect(ep, signal) {
      const plan = o.planFor(ep);
      if (plan === undefined || plan.tls.mode === 'DISABLE') return o.base.connect(ep, signal);
      let secureContext: SecureContext;
      try {
        secureContext = contextFor(plan.tls);
      } catch (err) {
        if (err instanceof GatewayError) throw err;
        throw new GatewayError(
          GatewayErrorCode.Origination,
          `DestinationRule ${plan.tls.source}: credentials unreadable: ${(err as Error).message}`,
          { cause: err },
        );
      }
      const raw = await o.base.connect(ep, signal);
      return new Promise<UpstreamStream>((resolve, reject) => {
        const socket = tlsConnect({
          socket: raw,
          secureContext,
          servername: plan.sni,
          ALPNProtocols: ['http/1.1'],
          rejectUnauthorized: !plan.tls.insecureSkipVerify,
          checkServerIdentity: serverIdentityCheck(plan.tls, plan.sni),
        });
        const timer = setTimeout(() => {
          socket.destroy();
          fail(new Error('TLS handshake timed out'));
        }, o.handshakeTimeoutMs ?? 10_000);
        const fail = (err: Error): void => {
          clearTimeout(timer);
          raw.destroy();
          reject(
            new GatewayError(
              GatewayErrorCode.Origination,
              `TLS origination to ${plan.sni} (${formatHostPort(ep.ip, ep.port)}) per DestinationRule ${plan.tls.source} failed: ${err.message}`,
              { cause: err },
            ),
          );
        };
        socket.once('error', fail);
        socket.once('secureConnect', () => {
          clearTimeout(timer);
          socket.off('error', fail);
          socket.setNoDelay?.(true);
          resolve(socketLike(socket));
        });
      });
    },
  };
}
