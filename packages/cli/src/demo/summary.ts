/** The "what runs where" table printed by `demo up` and `demo status`. */
import type { DemoLayout } from './layout.js';
import type { DemoState } from './state.js';

export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function appOf(role: string, port: number): string {
  if (role === 'waypoint') return 'weft-waypoint :15008';
  if (role === 'ingress') return `weft-waypoint --mode ingress :${port}`;
  if (role === 'outside') return '(plaintext client, not in the mesh)';
  return `httpbin :${port}`;
}

export function renderSummary(state: DemoState, layout: DemoLayout): string {
  const out: string[] = [];
  if (state.mode === 'full') {
    const rows: string[][] = [['NODE', 'POD', 'NAMESPACE', 'SERVICE ACCOUNT', 'IP', 'NETNS', 'APP']];
    for (const node of layout.nodes)
      for (const p of layout.pods.filter((x) => x.node === node.name))
        rows.push([
          node.name,
          p.name,
          p.namespace,
          p.serviceAccount,
          p.ip,
          p.netns,
          appOf(p.role, p.appPort),
        ]);
    out.push(table(rows), '');
    const svc: string[][] = [['SERVICE', 'VIP', 'PORT', 'WAYPOINT']];
    for (const s of layout.services)
      svc.push([`${s.name}.${s.namespace}`, s.clusterIp, String(s.port), s.waypoint ?? '-']);
    out.push(table(svc), '');
  }
  const comps: string[][] = [['COMPONENT', 'STATUS', 'DETAIL']];
  for (const c of state.components)
    comps.push([c.name, c.ok ? 'running' : 'NOT RUNNING', c.detail.split('\n')[0] ?? '']);
  out.push(table(comps));
  return `${out.join('\n')}\n`;
}
