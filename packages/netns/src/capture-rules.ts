/**
 * The in-pod capture rules (Istio ambient's in-pod redirection, as measured in
 * shared/reference/lab-measurements.md), as pure text. weft-node installs them when a pod is added;
 * weft-cni may install the very same rules before the pod's containers start: until the agent binds
 * its listeners, captured connections are refused (REDIRECT to a closed 15001) or dropped (TPROXY with
 * no 15006 socket), so a pod never talks plaintext past the mesh (fail closed).
 */
export interface CaptureConfig {
  outboundPort: number;
  inboundPlaintextPort: number;
  hbonePort: number;
  /** SO_MARK of the agent's own sockets in the pod: never captured. */
  agentMark: number;
  /** fwmark meaning "route to local" (TPROXY and replies to spoofed-source deliveries). */
  localMark: number;
  markMask: number;
  /** Policy-routing table holding `local 0.0.0.0/0 dev lo`. */
  routeTable: number;
  rulePriority: number;
  /** Health probes from this source reach the app directly (kubelet probes SNATed by the node, as in Istio). */
  probeSource: string | undefined;
}

export const DEFAULT_CAPTURE: Readonly<CaptureConfig> = {
  outboundPort: 15001,
  inboundPlaintextPort: 15006,
  hbonePort: 15008,
  agentMark: 0x539,
  localMark: 0x111,
  markMask: 0xfff,
  routeTable: 133,
  rulePriority: 32764,
  probeSource: '169.254.7.127',
};

/** Chains owned by Weft; everything else in the pod's tables is left alone. */
export const CAPTURE_CHAINS = {
  manglePrerouting: 'WEFT_PREROUTING',
  mangleOutput: 'WEFT_OUTPUT',
  natOutput: 'WEFT_OUTPUT',
} as const;

const hex = (n: number) => `0x${n.toString(16)}`;

/** Our rules per table, as iptables-restore lines (without the *table / COMMIT framing). */
export function captureTables(config: CaptureConfig = DEFAULT_CAPTURE): { mangle: string[]; nat: string[] } {
  const agent = `${hex(config.agentMark)}/${hex(config.markMask)}`;
  const local = `${hex(config.localMark)}/${hex(config.markMask)}`;
  const pre = CAPTURE_CHAINS.manglePrerouting;
  const out = CAPTURE_CHAINS.mangleOutput;
  const mangle = [
    `:${pre} - [0:0]`,
    `:${out} - [0:0]`,
    `-A PREROUTING -j ${pre}`,
    `-A OUTPUT -j ${out}`,
    // Replies to the agent's spoofed-source deliveries go back to its transparent socket.
    `-A ${out} -p tcp -m connmark --mark ${local} -j CONNMARK --restore-mark --nfmask ${hex(config.markMask)} --ctmask ${hex(config.markMask)}`,
    `-A ${pre} -m mark --mark ${agent} -j CONNMARK --set-xmark ${local}`,
    `-A ${pre} -i lo -j ACCEPT`,
    ...(config.probeSource === undefined ? [] : [`-A ${pre} -s ${config.probeSource}/32 -p tcp -j ACCEPT`]),
    `-A ${pre} -p tcp --dport ${config.hbonePort} -j ACCEPT`,
    `-A ${pre} -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `-A ${pre} -p tcp -m mark ! --mark ${agent} -j TPROXY --on-port ${config.inboundPlaintextPort} --on-ip 127.0.0.1 --tproxy-mark ${local}`,
  ];
  const nat = [
    `:${CAPTURE_CHAINS.natOutput} - [0:0]`,
    `-A OUTPUT -j ${CAPTURE_CHAINS.natOutput}`,
    `-A ${CAPTURE_CHAINS.natOutput} ! -d 127.0.0.1/32 -p tcp -m mark ! --mark ${agent} -j REDIRECT --to-ports ${config.outboundPort}`,
  ];
  return { mangle, nat };
}

export type TableName = 'mangle' | 'nat' | 'filter';

const BUILTIN_CHAINS: Record<TableName, readonly string[]> = {
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/**
 * IPv6 is not captured yet, so it fails closed: TCP over IPv6 in or out of the pod (other than loopback) is
 * dropped/reset rather than let through in plaintext (ip6tables filter table).
 */
export function ipv6FailClosedTables(): { filter: string[] } {
  return {
    filter: [
      ':WEFT_INPUT - [0:0]',
      ':WEFT_OUTPUT - [0:0]',
      '-A INPUT -j WEFT_INPUT',
      '-A OUTPUT -j WEFT_OUTPUT',
      '-A WEFT_INPUT -i lo -j ACCEPT',
      '-A WEFT_INPUT -p tcp -j DROP',
      '-A WEFT_OUTPUT -o lo -j ACCEPT',
      '-A WEFT_OUTPUT -p tcp -j REJECT --reject-with tcp-reset',
    ],
  };
}

/** True for an iptables-save line that belongs to Weft (a WEFT_ chain or a jump to one). */
function isOurs(line: string): boolean {
  return /\bWEFT_[A-Z]+\b/.test(line);
}

/**
 * The iptables-restore input (without --noflush) that replaces the mangle and nat tables with what
 * `saved` (iptables-save output) had minus Weft's lines, plus `ours` when given. One atomic restore,
 * idempotent, and other rules in the pod are kept.
 */
export function mergeTables(
  saved: string,
  ours: Partial<Record<TableName, string[]>> | undefined,
  only: readonly TableName[] = ['mangle', 'nat'],
): string {
  const tables = new Map<string, { chains: string[]; rules: string[] }>();
  for (const t of only) tables.set(t, { chains: [], rules: [] });
  let current: { chains: string[]; rules: string[] } | undefined;
  for (const raw of saved.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      current = tables.get(line.slice(1));
      continue;
    }
    if (current === undefined || line === 'COMMIT' || line === '' || line.startsWith('#')) continue;
    if (isOurs(line)) continue;
    if (line.startsWith(':')) current.chains.push(line.replace(/\[\d+:\d+\]$/, '[0:0]'));
    else current.rules.push(line);
  }
  const out: string[] = [];
  for (const [name, table] of tables) {
    const builtin = BUILTIN_CHAINS[name as TableName];
    const declared = new Set(table.chains.map((c) => c.slice(1).split(' ')[0]));
    out.push(`*${name}`);
    for (const chain of builtin) if (!declared.has(chain)) out.push(`:${chain} ACCEPT [0:0]`);
    out.push(...table.chains);
    const extra = ours?.[name as TableName] ?? [];
    out.push(...extra.filter((l) => l.startsWith(':')));
    out.push(...table.rules);
    out.push(...extra.filter((l) => !l.startsWith(':')));
    out.push('COMMIT');
  }
  return `${out.join('\n')}\n`;
}

/** `ip` batch lines for the "route marked packets locally" policy routing. */
export function routingCommands(config: CaptureConfig = DEFAULT_CAPTURE): { add: string[]; del: string[] } {
  const rule = `fwmark ${hex(config.localMark)}/${hex(config.markMask)} pref ${config.rulePriority} lookup ${config.routeTable}`;
  return {
    add: [`rule add ${rule}`, `route replace local 0.0.0.0/0 dev lo table ${config.routeTable}`],
    del: [`rule del ${rule}`, `route flush table ${config.routeTable}`],
  };
}
