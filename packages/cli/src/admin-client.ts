/** GET JSON from an agent's (or pilot's) admin port, with errors a user can act on. */
import type { CommandIo } from './command.js';

export const DEFAULT_ADMIN = 'http://127.0.0.1:15000';

export function adminUrl(flags: Record<string, string>): string | undefined {
  const raw = (flags.admin ?? DEFAULT_ADMIN).replace(/\/+$/, '');
  try {
    new URL(raw);
    return raw;
  } catch {
    return undefined;
  }
}

/** The parsed body, or undefined after telling the user why (the caller exits 2). */
export async function getJson(io: CommandIo, url: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    io.stderr(
      `cannot reach the admin endpoint ${new URL(url).origin}: ${cause}\n` +
        'the admin port listens on 127.0.0.1:15000 of the agent; in a cluster: kubectl -n weft-system port-forward <weft-node pod> 15000, then --admin http://127.0.0.1:15000\n',
    );
    return undefined;
  }
  const text = await res.text();
  if (!res.ok) {
    io.stderr(`${url} answered HTTP ${res.status}: ${text.slice(0, 300)}\n`);
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    io.stderr(`${url} did not answer JSON: ${text.slice(0, 200)}\n`);
    return undefined;
  }
}

/** The parts of weft-node's (and weft-pilot's) /config_dump the commands read. */
export interface AgentDump {
  pods?: {
    uid?: string;
    name?: string;
    namespace?: string;
    ips?: string[];
    identity?: string;
    captured?: boolean;
  }[];
  optedOut?: { uid?: string; name?: string; namespace?: string }[];
  certificates?: {
    identity?: string;
    serial?: string;
    notAfter?: string;
    notBefore?: string;
    chain?: { subject?: string; issuer?: string; serial?: string; notBefore?: string; notAfter?: string }[];
  }[];
  workloads?: DumpWorkload[];
  policies?: { name?: string; namespace?: string; scope?: string; action?: string }[];
  /** weft-pilot nests its discovery state here. */
  discovery?: { workloads?: DumpWorkload[] };
}

export interface DumpWorkload {
  name?: string;
  namespace?: string;
  tunnelProtocol?: string;
  authorizationPolicies?: string[];
}
