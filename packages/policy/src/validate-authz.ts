/** validateAuthorizationPolicy: plain object → normalized AuthorizationPolicy plus every problem. */
import { parseCidr } from './ip.js';
import { isPathTemplate, pathTemplateError } from './path-match.js';
import { PolicyErrorCode as C, type ProblemList } from './problems.js';
import type {
  AuthorizationAction,
  AuthorizationPolicy,
  AuthzCondition,
  AuthzOperation,
  AuthzRule,
  AuthzSource,
  ValidateOptions,
  ValidationResult,
} from './types.js';
import {
  checkFields,
  checkServiceAccountValue,
  checkWildcard,
  getList,
  getObj,
  getString,
  getStringList,
  isObj,
  type Obj,
  parsePort,
  readHeader,
  readSelector,
  readTargetRefs,
  typeName,
} from './validate-common.js';
import { checkWhenKey, checkWhenValue } from './when-keys.js';

const ACTIONS: readonly AuthorizationAction[] = ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'];
const SOURCE_FIELDS = [
  'principals',
  'notPrincipals',
  'requestPrincipals',
  'notRequestPrincipals',
  'namespaces',
  'notNamespaces',
  'ipBlocks',
  'notIpBlocks',
  'remoteIpBlocks',
  'notRemoteIpBlocks',
  'serviceAccounts',
  'notServiceAccounts',
] as const;
const OPERATION_FIELDS = [
  'hosts',
  'notHosts',
  'ports',
  'notPorts',
  'methods',
  'notMethods',
  'paths',
  'notPaths',
] as const;
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];
export const DRY_RUN_ANNOTATION = 'istio.io/dry-run';

const PRINCIPAL = /^[^/]+\/ns\/[^/]+\/sa\/[^/]+$/;

function checkPrincipal(v: string, path: string, p: ProblemList): void {
  if (v.startsWith('spiffe://')) {
    p.error(
      C.BadPrincipal,
      path,
      `"${v}": principals have no "spiffe://" prefix; write <trust-domain>/ns/<ns>/sa/<sa>`,
    );
    return;
  }
  if (!checkWildcard(v, path, p)) return;
  if (!v.includes('*') && v.includes('/ns/') && !PRINCIPAL.test(v)) {
    p.error(
      C.BadPrincipal,
      path,
      `"${v}" is not of the form <trust-domain>/ns/<namespace>/sa/<service-account>`,
    );
  }
}

function checkRequestPrincipal(v: string, path: string, p: ProblemList): void {
  if (!checkWildcard(v, path, p)) return;
  if (!v.includes('*') && !v.includes('/')) {
    p.warn(C.BadPrincipal, path, `"${v}" has no "/": request principals are <issuer>/<subject>`);
  }
}

function checkCidr(v: string, path: string, p: ProblemList): void {
  if (parseCidr(v) === null) p.error(C.BadCidr, path, `"${v}" is not an IP address or CIDR range`);
}

function checkPort(v: string, path: string, p: ProblemList): void {
  if (parsePort(v) === null) p.error(C.BadPort, path, `"${v}" is not a port number 0-65535`);
}

function checkMethod(v: string, path: string, p: ProblemList): void {
  if (!checkWildcard(v, path, p)) return;
  if (!/^[A-Za-z*!#$%&'+.^_`|~0-9-]+$/.test(v))
    p.error(C.BadMethod, path, `"${v}" is not an HTTP method token`);
  else if (!v.includes('*') && !HTTP_METHODS.includes(v)) {
    p.warn(C.BadMethod, path, `"${v}" is not a standard method (matching is case-sensitive)`);
  }
}

function checkPath(v: string, path: string, p: ProblemList): void {
  if (isPathTemplate(v)) {
    const err = pathTemplateError(v);
    if (err !== null) p.error(C.BadPath, path, `"${v}": ${err}`);
    return;
  }
  if (!checkWildcard(v, path, p)) return;
  if (!v.startsWith('/') && !v.startsWith('*')) p.warn(C.BadPath, path, `"${v}" does not start with "/"`);
}

function checkHost(v: string, path: string, p: ProblemList): void {
  checkWildcard(v, path, p);
}

const SOURCE_CHECKS: Record<
  (typeof SOURCE_FIELDS)[number],
  (v: string, path: string, p: ProblemList) => void
> = {
  principals: checkPrincipal,
  notPrincipals: checkPrincipal,
  requestPrincipals: checkRequestPrincipal,
  notRequestPrincipals: checkRequestPrincipal,
  namespaces: (v, path, p) => checkWildcard(v, path, p),
  notNamespaces: (v, path, p) => checkWildcard(v, path, p),
  ipBlocks: checkCidr,
  notIpBlocks: checkCidr,
  remoteIpBlocks: checkCidr,
  notRemoteIpBlocks: checkCidr,
  serviceAccounts: checkServiceAccountValue,
  notServiceAccounts: checkServiceAccountValue,
};

const OPERATION_CHECKS: Record<
  (typeof OPERATION_FIELDS)[number],
  (v: string, path: string, p: ProblemList) => void
> = {
  hosts: checkHost,
  notHosts: checkHost,
  ports: checkPort,
  notPorts: checkPort,
  methods: checkMethod,
  notMethods: checkMethod,
  paths: checkPath,
  notPaths: checkPath,
};

function readFields<F extends string>(
  obj: Obj,
  fields: readonly F[],
  checks: Record<F, (v: string, path: string, p: ProblemList) => void>,
  path: string,
  p: ProblemList,
): Record<F, string[]> {
  checkFields(obj, fields, path, p);
  const out = {} as Record<F, string[]>;
  let any = false;
  for (const f of fields) {
    out[f] = getStringList(obj, f, path, p, (v, at) => checks[f](v, at, p));
    if (Array.isArray(obj[f]) && (obj[f] as unknown[]).length > 0) any = true;
  }
  if (!any) p.error(C.MissingField, path, `${path.split('.').pop()} must set at least one field`);
  return out;
}

function readRule(v: unknown, path: string, p: ProblemList): AuthzRule {
  const from: AuthzSource[] = [];
  const to: AuthzOperation[] = [];
  const when: AuthzCondition[] = [];
  if (!isObj(v)) {
    p.error(C.BadType, path, `must be an object, got ${typeName(v)}`);
    return { from, to, when };
  }
  checkFields(v, ['from', 'to', 'when'], path, p);
  for (const key of ['from', 'to', 'when'] as const) {
    if (Array.isArray(v[key]) && (v[key] as unknown[]).length === 0) {
      p.error(
        C.MissingField,
        `${path}.${key}`,
        `${key} must not be an empty list; omit it to match anything`,
      );
    }
  }
  getList(v, 'from', path, p).forEach((f, i) => {
    const at = `${path}.from[${i}]`;
    if (!isObj(f)) {
      p.error(C.BadType, at, `must be an object, got ${typeName(f)}`);
      return;
    }
    checkFields(f, ['source'], at, p);
    const src = getObj(f, 'source', at, p);
    if (src === undefined) {
      p.error(C.MissingField, `${at}.source`, 'source is required');
      return;
    }
    from.push(readFields(src, SOURCE_FIELDS, SOURCE_CHECKS, `${at}.source`, p));
  });
  getList(v, 'to', path, p).forEach((t, i) => {
    const at = `${path}.to[${i}]`;
    if (!isObj(t)) {
      p.error(C.BadType, at, `must be an object, got ${typeName(t)}`);
      return;
    }
    checkFields(t, ['operation'], at, p);
    const op = getObj(t, 'operation', at, p);
    if (op === undefined) {
      p.error(C.MissingField, `${at}.operation`, 'operation is required');
      return;
    }
    to.push(readFields(op, OPERATION_FIELDS, OPERATION_CHECKS, `${at}.operation`, p));
  });
  getList(v, 'when', path, p).forEach((w, i) => {
    const at = `${path}.when[${i}]`;
    if (!isObj(w)) {
      p.error(C.BadType, at, `must be an object, got ${typeName(w)}`);
      return;
    }
    checkFields(w, ['key', 'values', 'notValues'], at, p);
    const key = getString(w, 'key', at, p) ?? '';
    if (key === '') p.error(C.MissingField, `${at}.key`, 'key is required');
    else checkWhenKey(key, `${at}.key`, p);
    const values = getStringList(w, 'values', at, p, (x, vp) => checkWhenValue(key, x, vp, p));
    const notValues = getStringList(w, 'notValues', at, p, (x, vp) => checkWhenValue(key, x, vp, p));
    if (values.length === 0 && notValues.length === 0) {
      p.error(C.MissingField, at, 'at least one of values or notValues must be set');
    }
    when.push({ key, values, notValues });
  });
  return { from, to, when };
}

/** What CUSTOM cannot match on (Istio: identity is the external authorizer's business). */
const CUSTOM_UNSUPPORTED_SOURCE = [
  'namespaces',
  'notNamespaces',
  'serviceAccounts',
  'notServiceAccounts',
  'principals',
  'notPrincipals',
  'requestPrincipals',
  'notRequestPrincipals',
] as const;

/** Cross-field rules Istio's validation applies to one rule. */
function checkRuleSemantics(r: AuthzRule, action: AuthorizationAction, path: string, p: ProblemList): void {
  r.from.forEach((s, j) => {
    const at = `${path}.from[${j}].source`;
    const identity =
      s.principals.length + s.notPrincipals.length + s.namespaces.length + s.notNamespaces.length;
    if (identity > 0 && s.serviceAccounts.length + s.notServiceAccounts.length > 0) {
      p.error(C.Conflict, at, 'cannot set serviceAccounts with namespaces or principals');
    }
    for (const f of ['serviceAccounts', 'notServiceAccounts'] as const) {
      if (s[f].length > 16) p.error(C.BadValue, `${at}.${f}`, 'may not have more than 16 values');
    }
    if (action === 'CUSTOM') {
      for (const f of CUSTOM_UNSUPPORTED_SOURCE) {
        if (s[f].length > 0)
          p.error(C.CustomUnsupported, `${at}.${f}`, `${f} is not supported with action CUSTOM`);
      }
    }
  });
  if (action === 'CUSTOM') {
    r.when.forEach((w, j) => {
      const k = w.key;
      if (
        k === 'source.namespace' ||
        k === 'source.serviceAccount' ||
        k === 'source.principal' ||
        k.startsWith('request.auth.')
      ) {
        p.error(C.CustomUnsupported, `${path}.when[${j}].key`, `${k} is not supported with action CUSTOM`);
      }
    });
  }
  // Istio's warning: on plain TCP the HTTP-only parts are ignored, so such a DENY rule denies all TCP
  const tcpFrom = r.from.some(
    (s) =>
      s.principals.length +
        s.notPrincipals.length +
        s.ipBlocks.length +
        s.notIpBlocks.length +
        s.namespaces.length +
        s.notNamespaces.length +
        s.remoteIpBlocks.length +
        s.notRemoteIpBlocks.length +
        s.serviceAccounts.length +
        s.notServiceAccounts.length >
      0,
  );
  const tcpTo = r.to.some((o) => o.ports.length + o.notPorts.length > 0);
  if (
    action === 'DENY' &&
    ((r.from.length > 0 && r.to.length === 0 && !tcpFrom) || (r.to.length > 0 && !tcpTo))
  ) {
    p.warn(
      C.BadValue,
      path,
      'this DENY rule uses only HTTP attributes, so it denies all plain TCP traffic in its scope; set ports explicitly',
    );
  }
}

export function validateAuthorizationPolicy(
  input: unknown,
  options?: ValidateOptions,
): ValidationResult<AuthorizationPolicy> {
  const { meta, p, spec, apiVersion } = readHeader(input, 'AuthorizationPolicy', options);
  if (spec === undefined) return { ok: false, problems: p.items };
  checkFields(spec, ['selector', 'targetRef', 'targetRefs', 'action', 'provider', 'rules'], 'spec', p);
  const selector = readSelector(spec, p);
  const targetRefs = readTargetRefs(spec, meta.namespace, p);
  if (selector !== undefined && targetRefs.length > 0) {
    p.error(C.Conflict, 'spec.selector', 'set selector or targetRef(s), not both');
  }
  const actionText = getString(spec, 'action', 'spec', p) ?? 'ALLOW';
  let action: AuthorizationAction = 'ALLOW';
  if ((ACTIONS as readonly string[]).includes(actionText)) action = actionText as AuthorizationAction;
  else p.error(C.BadValue, 'spec.action', `"${actionText}" is not one of ${ACTIONS.join(', ')}`);
  let provider: string | undefined;
  const prov = getObj(spec, 'provider', 'spec', p);
  if (prov !== undefined) {
    checkFields(prov, ['name'], 'spec.provider', p);
    provider = getString(prov, 'name', 'spec.provider', p);
    if (action !== 'CUSTOM')
      p.error(C.Conflict, 'spec.provider', 'provider is only allowed with action CUSTOM');
  }
  if (action === 'CUSTOM') {
    if (provider === undefined || provider === '') {
      p.error(C.MissingField, 'spec.provider.name', 'action CUSTOM requires a provider name');
    }
    p.warn(
      C.CustomUnsupported,
      'spec.action',
      'CUSTOM (external authorization) is not supported; requests this policy matches are denied',
    );
  }
  const rules = getList(spec, 'rules', 'spec', p).map((r, i) => readRule(r, `spec.rules[${i}]`, p));
  if ((action === 'CUSTOM' || action === 'DENY') && rules.length === 0) {
    p.error(
      C.MissingField,
      'spec.rules',
      `${action} action without rules is meaningless as it will never be triggered; add rules: [{}] to match every request`,
    );
  }
  rules.forEach((r, i) => {
    checkRuleSemantics(r, action, `spec.rules[${i}]`, p);
  });
  const dryRunText = meta.annotations[DRY_RUN_ANNOTATION];
  if (dryRunText !== undefined && dryRunText !== 'true' && dryRunText !== 'false') {
    p.error(
      C.BadValue,
      `metadata.annotations.${DRY_RUN_ANNOTATION}`,
      `must be "true" or "false", got "${dryRunText}"`,
    );
  }
  if (p.hasErrors) return { ok: false, problems: p.items };
  const value: AuthorizationPolicy = {
    kind: 'AuthorizationPolicy',
    apiVersion,
    name: meta.name,
    namespace: meta.namespace,
    ...(meta.creationTimestamp === undefined ? {} : { creationTimestamp: meta.creationTimestamp }),
    dryRun: dryRunText === 'true',
    ...(selector === undefined ? {} : { selector }),
    targetRefs,
    action,
    ...(provider === undefined ? {} : { provider }),
    rules,
  };
  return { ok: true, value, problems: p.items };
}
