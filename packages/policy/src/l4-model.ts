/**
 * The L4 authorization model the node agent enforces, field for field like istio.security.Authorization
 * (authorization.proto): rules OR'd, clauses AND'd, matches OR'd, fields in a match AND'd.
 */

export type L4Scope = 'GLOBAL' | 'NAMESPACE' | 'WORKLOAD_SELECTOR';
export type L4Action = 'ALLOW' | 'DENY';

export type L4StringMatch =
  | { readonly exact: string }
  | { readonly prefix: string }
  | { readonly suffix: string }
  /** Any non-empty value (`*`); an Empty message on the wire. */
  | { readonly presence: Record<string, never> };

/** An IP range: 4 or 16 address bytes and a prefix length. */
export interface L4Address {
  readonly address: Uint8Array;
  readonly length: number;
}

export interface L4ServiceAccountMatch {
  readonly namespace: string;
  readonly serviceAccount: string;
}

export interface L4Match {
  readonly namespaces: readonly L4StringMatch[];
  readonly notNamespaces: readonly L4StringMatch[];
  readonly principals: readonly L4StringMatch[];
  readonly notPrincipals: readonly L4StringMatch[];
  readonly sourceIps: readonly L4Address[];
  readonly notSourceIps: readonly L4Address[];
  readonly destinationIps: readonly L4Address[];
  readonly notDestinationIps: readonly L4Address[];
  readonly destinationPorts: readonly number[];
  readonly notDestinationPorts: readonly number[];
  readonly serviceAccounts: readonly L4ServiceAccountMatch[];
  readonly notServiceAccounts: readonly L4ServiceAccountMatch[];
}

export interface L4Clause {
  readonly matches: readonly L4Match[];
}

export interface L4Rule {
  readonly clauses: readonly L4Clause[];
}

export interface L4Authorization {
  readonly name: string;
  readonly namespace: string;
  readonly scope: L4Scope;
  readonly action: L4Action;
  readonly rules: readonly L4Rule[];
  readonly dryRun: boolean;
}

export function emptyMatch(fields: Partial<L4Match> = {}): L4Match {
  return {
    namespaces: [],
    notNamespaces: [],
    principals: [],
    notPrincipals: [],
    sourceIps: [],
    notSourceIps: [],
    destinationIps: [],
    notDestinationIps: [],
    destinationPorts: [],
    notDestinationPorts: [],
    serviceAccounts: [],
    notServiceAccounts: [],
    ...fields,
  };
}

/** `namespace/name`, how workloads list the selector policies that apply to them. */
export function l4Key(a: { readonly namespace: string; readonly name: string }): string {
  return `${a.namespace}/${a.name}`;
}
