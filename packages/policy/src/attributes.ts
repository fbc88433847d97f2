/** What a decision looks at: the connection, and for HTTP the request and its JWT identity. */

/** The authenticated end user, from jwtOutcome(): request.auth.* in policies. */
export interface AuthAttributes {
  /** `<iss>/<sub>`. */
  readonly principal: string;
  readonly audiences: readonly string[];
  /** The `azp` claim. */
  readonly presenter?: string | undefined;
  readonly claims: Readonly<Record<string, unknown>>;
}

export interface HttpAttributes {
  /** :authority / Host, possibly with a port. */
  readonly host?: string | undefined;
  readonly method?: string | undefined;
  /** The path; a query string is ignored. */
  readonly path?: string | undefined;
  /** Lower-case header names; several values are joined with ",". */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>> | undefined;
}

export interface RequestAttributes {
  /**
   * The peer identity from mTLS (`spiffe://td/ns/x/sa/y` or the principal form `td/ns/x/sa/y`);
   * absent for plaintext.
   */
  readonly sourcePrincipal?: string | undefined;
  /** Defaults to the namespace inside sourcePrincipal. */
  readonly sourceNamespace?: string | undefined;
  /** The direct peer address (ipBlocks, source.ip). */
  readonly sourceIp?: string | undefined;
  /** The original client (X-Forwarded-For, per the trusted hop count); defaults to sourceIp. */
  readonly remoteIp?: string | undefined;
  readonly destinationIp?: string | undefined;
  readonly destinationPort?: number | undefined;
  /** TLS server name of the connection (connection.sni). */
  readonly sni?: string | undefined;
  /**
   * Absent for plain TCP: then, like Istio, ALLOW rules that need HTTP attributes never match and
   * DENY rules are checked on their non-HTTP parts only.
   */
  readonly http?: HttpAttributes | undefined;
  /** Set only when a valid JWT authenticated the request. */
  readonly auth?: AuthAttributes | undefined;
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
  // hand-rolled (no RegExp): this runs once per connection on the node agent's accept path
  const a = principal.indexOf('/ns/');
  const b = a === -1 ? -1 : principal.indexOf('/sa/', a + 4);
  if (a <= 0 || b === -1 || b === a + 4 || b + 4 >= principal.length)
    return { principal, trustDomain: '', namespace: '', serviceAccount: '' };
  const trustDomain = principal.slice(0, a);
  const namespace = principal.slice(a + 4, b);
  const serviceAccount = principal.slice(b + 4);
  if (trustDomain.includes('/') || namespace.includes('/') || serviceAccount.includes('/')) {
    return { principal, trustDomain: '', namespace: '', serviceAccount: '' };
  }
  return { principal, trustDomain, namespace, serviceAccount };
}
