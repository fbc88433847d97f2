/** What a decision looks at: the connection, and for HTTP the request and its JWT identity. */

/** The authenticated end user, from jwtOutcome(): request.auth.* in policies. */
export interface AuthAttributes {
  /** `<iss>/<sub>`. */
  readonly principal: string;
  readonly audiences: readonly string[];
  /** The `azp` claim. */
  readonly presenter?: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

export interface HttpAttributes {
  /** :authority / Host, possibly with a port. */
  readonly host?: string;
  readonly method?: string;
  /** The path; a query string is ignored. */
  readonly path?: string;
  /** Lower-case header names; several values are joined with ",". */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
}

export interface RequestAttributes {
  /**
   * The peer identity from mTLS (`spiffe://td/ns/x/sa/y` or the principal form `td/ns/x/sa/y`);
   * absent for plaintext.
   */
  readonly sourcePrincipal?: string;
  /** Defaults to the namespace inside sourcePrincipal. */
  readonly sourceNamespace?: string;
  /** The direct peer address (ipBlocks, source.ip). */
  readonly sourceIp?: string;
  /** The original client (X-Forwarded-For, per the trusted hop count); defaults to sourceIp. */
  readonly remoteIp?: string;
  readonly destinationIp?: string;
  readonly destinationPort?: number;
  /** TLS server name of the connection (connection.sni). */
  readonly sni?: string;
  /**
   * Absent for plain TCP: then, like Istio, ALLOW rules that need HTTP attributes never match and
   * DENY rules are checked on their non-HTTP parts only.
   */
  readonly http?: HttpAttributes;
  /** Set only when a valid JWT authenticated the request. */
  readonly auth?: AuthAttributes;
}

/** A principal split into its parts; the principal form has no `spiffe://`. */
export interface ParsedIdentity {
  readonly principal: string;
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** Parses `spiffe://td/ns/x/sa/y` or `td/ns/x/sa/y`; other strings keep only `principal`. */
export function parseIdentity(id: string): ParsedIdentity {
  const principal = id.startsWith('spiffe://') ? id.slice(9) : id;
  const m = /^([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(principal);
  if (m === null) return { principal, trustDomain: '', namespace: '', serviceAccount: '' };
  return { principal, trustDomain: m[1]!, namespace: m[2]!, serviceAccount: m[3]! };
}
