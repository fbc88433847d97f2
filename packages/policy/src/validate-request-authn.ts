/** validateRequestAuthentication: plain object → normalized RequestAuthentication plus every problem. */
import { PolicyErrorCode as C, type ProblemList } from './problems.js';
import type {
  ClaimToHeader,
  JwtHeaderLocation,
  JwtRule,
  RequestAuthentication,
  ValidateOptions,
  ValidationResult,
} from './types.js';
import {
  checkFields,
  getBool,
  getList,
  getString,
  getStringList,
  isObj,
  parseDurationMs,
  readHeader,
  readSelector,
  readTargetRefs,
  typeName,
} from './validate-common.js';

const RULE_FIELDS = [
  'issuer',
  'audiences',
  'jwksUri',
  'jwks',
  'fromHeaders',
  'fromParams',
  'fromCookies',
  'outputPayloadToHeader',
  'forwardOriginalToken',
  'outputClaimToHeaders',
  'timeout',
];
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

function checkHeaderName(v: string, path: string, p: ProblemList): void {
  if (!HEADER_NAME.test(v)) p.error(C.BadJwtRule, path, `"${v}" is not a valid HTTP header name`);
}

function readJwtRule(v: unknown, path: string, p: ProblemList): JwtRule | undefined {
  if (!isObj(v)) {
    p.error(C.BadType, path, `must be an object, got ${typeName(v)}`);
    return undefined;
  }
  checkFields(v, RULE_FIELDS, path, p);
  const issuer = getString(v, 'issuer', path, p) ?? '';
  const audiences = getStringList(v, 'audiences', path, p);
  const jwksUri = getString(v, 'jwksUri', path, p);
  if (jwksUri !== undefined) {
    let okUrl = false;
    try {
      const u = new URL(jwksUri);
      okUrl = u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      okUrl = false;
    }
    if (!okUrl) p.error(C.BadJwtRule, `${path}.jwksUri`, `"${jwksUri}" is not an http(s) URL`);
  }
  if (issuer === '' && (jwksUri === undefined || jwksUri === '')) {
    p.error(C.MissingField, `${path}.issuer`, 'issuer or jwksUri must be set');
  }
  const jwks = getString(v, 'jwks', path, p);
  if (jwks !== undefined) {
    let keysOk = false;
    try {
      const parsed: unknown = JSON.parse(jwks);
      keysOk = isObj(parsed) && Array.isArray(parsed.keys);
    } catch {
      keysOk = false;
    }
    if (!keysOk) p.error(C.BadJwtRule, `${path}.jwks`, 'must be a JSON Web Key Set: {"keys": [...]}');
  }
  const fromHeaders: JwtHeaderLocation[] = [];
  getList(v, 'fromHeaders', path, p).forEach((h, i) => {
    const at = `${path}.fromHeaders[${i}]`;
    if (!isObj(h)) {
      p.error(C.BadType, at, `must be an object, got ${typeName(h)}`);
      return;
    }
    checkFields(h, ['name', 'prefix'], at, p);
    const name = getString(h, 'name', at, p) ?? '';
    if (name === '') p.error(C.MissingField, `${at}.name`, 'a header name is required');
    else checkHeaderName(name, `${at}.name`, p);
    fromHeaders.push({ name: name.toLowerCase(), prefix: getString(h, 'prefix', at, p) ?? '' });
  });
  const fromParams = getStringList(v, 'fromParams', path, p);
  const fromCookies = getStringList(v, 'fromCookies', path, p);
  const outputPayloadToHeader = getString(v, 'outputPayloadToHeader', path, p);
  if (outputPayloadToHeader !== undefined)
    checkHeaderName(outputPayloadToHeader, `${path}.outputPayloadToHeader`, p);
  const forwardOriginalToken = getBool(v, 'forwardOriginalToken', path, p) ?? false;
  const outputClaimToHeaders: ClaimToHeader[] = [];
  getList(v, 'outputClaimToHeaders', path, p).forEach((c, i) => {
    const at = `${path}.outputClaimToHeaders[${i}]`;
    if (!isObj(c)) {
      p.error(C.BadType, at, `must be an object, got ${typeName(c)}`);
      return;
    }
    checkFields(c, ['header', 'claim'], at, p);
    const header = getString(c, 'header', at, p) ?? '';
    const claim = getString(c, 'claim', at, p) ?? '';
    if (header === '') p.error(C.MissingField, `${at}.header`, 'header is required');
    else checkHeaderName(header, `${at}.header`, p);
    if (claim === '') p.error(C.MissingField, `${at}.claim`, 'claim is required');
    outputClaimToHeaders.push({ header: header.toLowerCase(), claim });
  });
  const timeout = getString(v, 'timeout', path, p);
  let timeoutMs: number | undefined;
  if (timeout !== undefined) {
    const ms = parseDurationMs(timeout);
    if (ms === null || ms <= 0)
      p.error(C.BadJwtRule, `${path}.timeout`, `"${timeout}" is not a positive duration like "5s"`);
    else timeoutMs = ms;
  }
  return {
    issuer,
    audiences,
    ...(jwksUri === undefined ? {} : { jwksUri }),
    ...(jwks === undefined ? {} : { jwks }),
    fromHeaders,
    fromParams,
    fromCookies,
    forwardOriginalToken,
    ...(outputPayloadToHeader === undefined
      ? {}
      : { outputPayloadToHeader: outputPayloadToHeader.toLowerCase() }),
    outputClaimToHeaders,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  };
}

export function validateRequestAuthentication(
  input: unknown,
  options?: ValidateOptions,
): ValidationResult<RequestAuthentication> {
  const { meta, p, spec, apiVersion } = readHeader(input, 'RequestAuthentication', options);
  if (spec === undefined) return { ok: false, problems: p.items };
  checkFields(spec, ['selector', 'targetRef', 'targetRefs', 'jwtRules'], 'spec', p);
  const selector = readSelector(spec, p);
  const targetRefs = readTargetRefs(spec, meta.namespace, p);
  if (selector !== undefined && targetRefs.length > 0) {
    p.error(C.Conflict, 'spec.selector', 'set selector or targetRef(s), not both');
  }
  const jwtRules: JwtRule[] = [];
  getList(spec, 'jwtRules', 'spec', p).forEach((r, i) => {
    const rule = readJwtRule(r, `spec.jwtRules[${i}]`, p);
    if (rule !== undefined) jwtRules.push(rule);
  });
  if (p.hasErrors) return { ok: false, problems: p.items };
  const value: RequestAuthentication = {
    kind: 'RequestAuthentication',
    apiVersion,
    name: meta.name,
    namespace: meta.namespace,
    ...(meta.creationTimestamp === undefined ? {} : { creationTimestamp: meta.creationTimestamp }),
    ...(selector === undefined ? {} : { selector }),
    targetRefs,
    jwtRules,
  };
  return { ok: true, value, problems: p.items };
}
