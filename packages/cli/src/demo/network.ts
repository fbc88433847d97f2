/**
 * The demo's network, made only of network namespaces with fixed names (weft-demo-*): a switch, one
 * router namespace per node on a private link, and each pod behind its node's bridge. Nothing is
 * attached to the host's namespace, so no packet leaves the machine. Unlike testkit's topology these
 * namespaces outlive the process that made them: `weftctl demo down` removes them (by name).
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { DemoError, DemoErrorCode } from './errors.js';
import { DEMO_PREFIX, type DemoLayout, type DemoNode, type DemoPod } from './layout.js';

const run = promisify(execFile);

/** `ip netns exec` bind-mounts /etc/netns/<name>/hosts over /etc/hosts: Service names resolve in pods. */
export const ETC_NETNS = '/etc/netns';

async function ip(args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new DemoError(
      DemoErrorCode.Network,
      `ip ${args.join(' ')} failed: ${stderr.trim() || String(err)}`,
      {
        cause: err,
      },
    );
  }
}

async function sysctl(netns: string, settings: string[]): Promise<void> {
  try {
    await run('ip', ['netns', 'exec', netns, 'sysctl', '-qw', ...settings]);
  } catch (err) {
    throw new DemoError(DemoErrorCode.Network, `sysctl in ${netns} failed: ${String(err)}`, { cause: err });
  }
}

/** Names of the network namespaces that exist now and start with weft-demo-. */
export async function demoNamespaces(): Promise<string[]> {
  let list = '';
  try {
    list = (await run('ip', ['netns', 'list'])).stdout;
  } catch {
    return [];
  }
  return list
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(`${DEMO_PREFIX}-`));
}

/** Removes every weft-demo-* namespace and /etc/netns/weft-demo-* directory; returns what it removed. */
export async function sweepNetwork(): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await demoNamespaces()) {
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    removed.push(ns);
  }
  let etc: string[] = [];
  try {
    etc = await readdir(ETC_NETNS);
  } catch {
    // no /etc/netns at all
  }
  for (const dir of etc.filter((d) => d.startsWith(`${DEMO_PREFIX}-`)))
    await rm(`${ETC_NETNS}/${dir}`, { recursive: true, force: true });
  if (etc.length > 0 && etc.every((d) => d.startsWith(`${DEMO_PREFIX}-`)))
    await rm(ETC_NETNS, { recursive: true, force: true }).catch(() => undefined);
  return removed;
}

async function addNs(name: string, made: string[]): Promise<void> {
  await ip(['netns', 'add', name]);
  made.push(name);
  await ip(['-n', name, 'link', 'set', 'lo', 'up']);
}

async function addNode(layout: DemoLayout, node: DemoNode, made: string[]): Promise<void> {
  await addNs(node.netns, made);
  // Inter-node link, created directly inside the namespaces: the names never exist in the host's.
  const swPort = `n${node.index}`;
  await ip([
    'link',
    'add',
    'eth0',
    'netns',
    node.netns,
    'type',
    'veth',
    'peer',
    'name',
    swPort,
    'netns',
    layout.switchNetns,
  ]);
  await ip(['-n', layout.switchNetns, 'link', 'set', swPort, 'master', 'br0', 'up']);
  await ip(['-n', node.netns, 'addr', 'add', `${node.linkIp}/24`, 'dev', 'eth0']);
  await ip(['-n', node.netns, 'link', 'set', 'eth0', 'up']);
  await ip(['-n', node.netns, 'link', 'add', 'br0', 'type', 'bridge']);
  await ip(['-n', node.netns, 'addr', 'add', `${node.gatewayIp}/24`, 'dev', 'br0']);
  await ip(['-n', node.netns, 'link', 'set', 'br0', 'up']);
  await sysctl(node.netns, [
    'net.ipv4.ip_forward=1',
    'net.ipv4.conf.all.rp_filter=0',
    'net.ipv4.conf.default.rp_filter=0',
  ]);
}

async function addPod(node: DemoNode, pod: DemoPod, index: number, made: string[]): Promise<void> {
  await addNs(pod.netns, made);
  const nodeSide = `p${index}`;
  await ip([
    'link',
    'add',
    'eth0',
    'netns',
    pod.netns,
    'type',
    'veth',
    'peer',
    'name',
    nodeSide,
    'netns',
    node.netns,
  ]);
  await ip(['-n', node.netns, 'link', 'set', nodeSide, 'master', 'br0', 'up']);
  await ip(['-n', pod.netns, 'addr', 'add', `${pod.ip}/24`, 'dev', 'eth0']);
  await ip(['-n', pod.netns, 'link', 'set', 'eth0', 'up']);
  await ip(['-n', pod.netns, 'route', 'add', 'default', 'via', node.gatewayIp]);
}

/** The /etc/hosts every pod sees: Service names (`orders.prod`, `orders.prod.svc.cluster.local`) and pods. */
export function hostsFile(layout: DemoLayout): string {
  const lines = ['127.0.0.1 localhost'];
  for (const s of layout.services)
    lines.push(`${s.clusterIp} ${s.name}.${s.namespace}.svc.cluster.local ${s.name}.${s.namespace}`);
  for (const p of layout.pods) if (p.role !== 'outside') lines.push(`${p.ip} ${p.name}.${p.namespace}.pod`);
  return `${lines.join('\n')}\n`;
}

/**
 * Builds the whole network. On failure removes what it made and rethrows. Returns the namespaces made
 * (in creation order) for the state file.
 */
export async function createNetwork(layout: DemoLayout): Promise<string[]> {
  const made: string[] = [];
  try {
    await addNs(layout.switchNetns, made);
    await ip(['-n', layout.switchNetns, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', layout.switchNetns, 'link', 'set', 'br0', 'up']);
    for (const node of layout.nodes) await addNode(layout, node, made);
    for (const node of layout.nodes)
      for (const other of layout.nodes)
        if (other !== node) await ip(['-n', node.netns, 'route', 'add', other.podCidr, 'via', other.linkIp]);
    let index = 0;
    for (const pod of layout.pods) {
      const node = layout.nodes.find((n) => n.name === pod.node) as DemoNode;
      await addPod(node, pod, index++, made);
    }
    const hosts = hostsFile(layout);
    for (const pod of layout.pods) {
      await mkdir(`${ETC_NETNS}/${pod.netns}`, { recursive: true });
      await writeFile(`${ETC_NETNS}/${pod.netns}/hosts`, hosts);
    }
    return made;
  } catch (err) {
    for (const ns of made.reverse()) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    throw err;
  }
}
