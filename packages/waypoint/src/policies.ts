/**
 * The security config in force at this waypoint, rebuilt from discovery's raw config objects when they
 * change: AuthorizationPolicies bound by targetRef to this waypoint's Gateway or to the destination
 * Service, plus selector policies matching the waypoint's labels; RequestAuthentications likewise.
 * Lookups are cached per destination until the next change.
 */
import {
  bundlePolicies,
  type CompiledAuthorizationPolicy,
  type Decision,
  evaluate,
  formatProblem,
  type JwtProvider,
  type PolicyBundle,
  PolicySet,
  type RequestAttributes,
} from '@weft/policy';
import { type Logger, silentLogger } from '@weft/telemetry';
import { WaypointErrorCode } from './errors.js';
import type { KeyResolver } from './jwks.js';
import { JwtAuthenticator } from './jwt-authn.js';
import type { Destination, MeshView } from './mesh-view.js';

export interface WaypointRef {
  /** The Gateway's name (WAYPOINT_NAME). */
  readonly name: string;
  readonly namespace: string;
}

export interface DestinationPolicies {
  readonly bundle: PolicyBundle;
  /** Undefined when no RequestAuthentication applies. */
  readonly authn: JwtAuthenticator | undefined;
}

export interface WaypointPoliciesOptions {
  view: MeshView;
  waypoint: WaypointRef;
  /** Key set per JWT provider (shared across rebuilds so JWKS caches survive policy changes). */
  keys: (provider: JwtProvider) => KeyResolver;
  rootNamespace?: string;
  logger?: Logger;
  /**
   * Set for ingress/egress gateways: the gateway pods' labels (what `selector` policies match) replace
   * the waypoint labels, namespace-wide policies apply as on any Istio proxy, Service targetRefs do not.
   */
  gatewayLabels?: Readonly<Record<string, string>>;
}

const SECURITY_KINDS = new Set(['AuthorizationPolicy', 'RequestAuthentication']);
/** Discovery types that never carry AuthorizationPolicy/RequestAuthentication objects. */
const NON_CONFIG_TYPES = ['/istio.workload.Address', '/istio.security.Authorization'];

/** The labels a waypoint pod carries (what `selector` policies match). */
export function waypointLabels(name: string): Record<string, string> {
  return { 'gateway.networking.k8s.io/gateway-name': name, 'istio.io/gateway-name': name };
}

export class WaypointPolicies {
  readonly #o: WaypointPoliciesOptions;
  readonly #log: Logger;
  readonly #labels: Readonly<Record<string, string>>;
  #set: PolicySet | undefined;
  #cache = new Map<string, DestinationPolicies>();
  readonly #unsubscribe: () => void;
  /** Bumped on every rebuild; shown in /config_dump. */
  generation = 0;

  constructor(options: WaypointPoliciesOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger();
    this.#labels = options.gatewayLabels ?? waypointLabels(options.waypoint.name);
    this.#unsubscribe = options.view.onChange((change) => {
      // Pod and service churn (Address) and L4 policies (Authorization) do not change what is in force
      // here; rebuilding would also drop the JWT verification caches.
      if (NON_CONFIG_TYPES.some((t) => change.typeUrl.endsWith(t))) return;
      this.#set = undefined;
    });
  }

  #policySet(): PolicySet {
    let set = this.#set;
    if (set !== undefined) return set;
    set = new PolicySet(this.#o.rootNamespace ?? 'istio-system');
    for (const c of this.#o.view.configs.values()) {
      if (!SECURITY_KINDS.has(c.kind)) continue;
      const problems = set.upsert(c.object, { defaultNamespace: c.namespace });
      const errors = problems.filter((p) => p.severity === 'error');
      if (errors.length > 0) {
        this.#log.warn(
          {
            code: WaypointErrorCode.BadPolicy,
            policy: `${c.kind} ${c.namespace}/${c.name}`,
            problems: errors.map(formatProblem),
          },
          'policy rejected; it is not in force (others still apply)',
        );
      }
    }
    this.#set = set;
    this.#cache = new Map();
    this.generation++;
    return set;
  }

  /** The policies for requests to `dest` (cached until discovery changes). */
  forDestination(dest: Destination): DestinationPolicies {
    const set = this.#policySet();
    const gateway = this.#o.gatewayLabels !== undefined;
    const svc = gateway ? undefined : dest.service;
    const key = svc === undefined ? '' : `${svc.namespace}/${svc.name}`;
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit;
    const self = { namespace: this.#o.waypoint.namespace, name: this.#o.waypoint.name };
    const targets =
      svc === undefined
        ? { gateway: self }
        : { gateway: self, services: [{ namespace: svc.namespace, name: svc.name }] };
    const list: CompiledAuthorizationPolicy[] = [...set.forTargets(targets).all];
    const me = { namespace: this.#o.waypoint.namespace, labels: this.#labels };
    // Namespace-wide policies without a targetRef are enforced by the node agents, not here.
    for (const p of set.forWorkload(me).all)
      if ((gateway || p.policy.selector !== undefined) && !list.includes(p)) list.push(p);
    const providers = [...set.jwtProvidersForTargets(targets), ...set.jwtProvidersForWorkload(me)];
    const result: DestinationPolicies = {
      bundle: bundlePolicies(list),
      authn: providers.length === 0 ? undefined : new JwtAuthenticator(providers, { keys: this.#o.keys }),
    };
    this.#cache.set(key, result);
    return result;
  }

  authorize(dest: Destination, request: RequestAttributes): Decision {
    return evaluate(this.forDestination(dest).bundle, request);
  }

  /** What /config_dump shows. */
  dump(): { generation: number; policies: number; problems: Record<string, string[]> } {
    const set = this.#policySet();
    const problems: Record<string, string[]> = {};
    for (const [k, v] of set.problems) if (v.length > 0) problems[k] = v.map(formatProblem);
    return { generation: this.generation, policies: set.size, problems };
  }

  close(): void {
    this.#unsubscribe();
  }
}
