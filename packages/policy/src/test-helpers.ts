/** Builders for table-driven tests (not exported from the package). */
import { type CompiledAuthorizationPolicy, compileAuthorizationPolicy } from './compile.js';
import type { AuthorizationPolicy, PeerAuthentication, RequestAuthentication } from './types.js';
import { validateAuthorizationPolicy } from './validate-authz.js';
import { validatePeerAuthentication } from './validate-peer-authn.js';
import { validateRequestAuthentication } from './validate-request-authn.js';

export interface MetaOptions {
  readonly name?: string;
  readonly namespace?: string;
  readonly annotations?: Record<string, string>;
  readonly creationTimestamp?: string;
}

export function rawAp(spec: unknown, m: MetaOptions = {}): Record<string, unknown> {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: {
      name: m.name ?? 'p',
      namespace: m.namespace ?? 'prod',
      ...(m.annotations === undefined ? {} : { annotations: m.annotations }),
      ...(m.creationTimestamp === undefined ? {} : { creationTimestamp: m.creationTimestamp }),
    },
    spec,
  };
}

export function ap(spec: unknown, m: MetaOptions = {}): AuthorizationPolicy {
  const r = validateAuthorizationPolicy(rawAp(spec, m));
  if (r.value === undefined) throw new Error(`invalid test policy: ${JSON.stringify(r.problems)}`);
  return r.value;
}

export function cap(spec: unknown, m: MetaOptions = {}): CompiledAuthorizationPolicy {
  return compileAuthorizationPolicy(ap(spec, m));
}

export function rawPa(spec: unknown, m: MetaOptions = {}): Record<string, unknown> {
  return { ...rawAp(spec, m), kind: 'PeerAuthentication' };
}

export function pa(spec: unknown, m: MetaOptions = {}): PeerAuthentication {
  const r = validatePeerAuthentication(rawPa(spec, m));
  if (r.value === undefined) throw new Error(`invalid test policy: ${JSON.stringify(r.problems)}`);
  return r.value;
}

export function rawRa(spec: unknown, m: MetaOptions = {}): Record<string, unknown> {
  return { ...rawAp(spec, m), kind: 'RequestAuthentication' };
}

export function ra(spec: unknown, m: MetaOptions = {}): RequestAuthentication {
  const r = validateRequestAuthentication(rawRa(spec, m));
  if (r.value === undefined) throw new Error(`invalid test policy: ${JSON.stringify(r.problems)}`);
  return r.value;
}
