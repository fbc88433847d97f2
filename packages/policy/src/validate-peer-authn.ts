/** validatePeerAuthentication: plain object → normalized PeerAuthentication plus every problem. */
import { PolicyErrorCode as C, type ProblemList } from './problems.js';
import type { MtlsMode, PeerAuthentication, ValidateOptions, ValidationResult } from './types.js';
import {
  checkFields,
  getObj,
  getString,
  isObj,
  type Obj,
  parsePort,
  readHeader,
  readSelector,
  typeName,
} from './validate-common.js';

const MODES: readonly MtlsMode[] = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'];

function readMode(obj: Obj, path: string, p: ProblemList): MtlsMode {
  checkFields(obj, ['mode'], path, p);
  const text = getString(obj, 'mode', path, p) ?? 'UNSET';
  if ((MODES as readonly string[]).includes(text)) return text as MtlsMode;
  p.error(C.BadValue, `${path}.mode`, `"${text}" is not one of ${MODES.join(', ')}`);
  return 'UNSET';
}

export function validatePeerAuthentication(
  input: unknown,
  options?: ValidateOptions,
): ValidationResult<PeerAuthentication> {
  const { meta, p, spec, apiVersion } = readHeader(input, 'PeerAuthentication', options);
  if (spec === undefined) return { ok: false, problems: p.items };
  checkFields(spec, ['selector', 'mtls', 'portLevelMtls'], 'spec', p);
  const selector = readSelector(spec, p);
  const mtls = getObj(spec, 'mtls', 'spec', p);
  const mode = mtls === undefined ? 'UNSET' : readMode(mtls, 'spec.mtls', p);
  const portLevelMtls = new Map<number, MtlsMode>();
  const ports = getObj(spec, 'portLevelMtls', 'spec', p);
  if (ports !== undefined) {
    if (selector === undefined || Object.keys(selector.matchLabels).length === 0) {
      p.error(
        C.Conflict,
        'spec.portLevelMtls',
        'portLevelMtls requires a workload selector with matchLabels',
      );
    }
    if (Object.keys(ports).length === 0) {
      p.error(C.MissingField, 'spec.portLevelMtls', 'portLevelMtls, if set, must have at least one port');
    }
    for (const [key, v] of Object.entries(ports)) {
      const at = `spec.portLevelMtls[${key}]`;
      const port = parsePort(key, 1);
      if (port === null) p.error(C.BadPort, at, `"${key}" is not a port number 1-65535`);
      if (!isObj(v)) {
        p.error(C.BadType, at, `must be an object with a mode, got ${typeName(v)}`);
        continue;
      }
      const m = readMode(v, at, p);
      if (port !== null) portLevelMtls.set(port, m);
    }
  }
  if (p.hasErrors) return { ok: false, problems: p.items };
  const value: PeerAuthentication = {
    kind: 'PeerAuthentication',
    apiVersion,
    name: meta.name,
    namespace: meta.namespace,
    ...(meta.creationTimestamp === undefined ? {} : { creationTimestamp: meta.creationTimestamp }),
    ...(selector === undefined ? {} : { selector }),
    mode,
    portLevelMtls,
  };
  return { ok: true, value, problems: p.items };
}
