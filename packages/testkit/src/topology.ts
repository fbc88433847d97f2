import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PodSpec {
  name: string;
  /** Default: the next free address of the node's pod CIDR. */
  ip?: string;
}

export interface NodeSpec {
  name: string;
  /** A /24 for this node's pods; default 10.44.<n>.0/24 for the n-th node (1-based). */
  podCidr?: string;
  pods?: PodSpec[];
}

export interface TopologySpec {
  nodes: NodeSpec[];
  /** Subnet of the link that joins the nodes; default 172.31.250.0/24. */
  linkCidr?: string;
}

export interface TopologyNode {
  name: string;
  /** Network namespace name (ip netns). */
  netns: string;
  netnsPath: string;
  /** Address on the inter-node link. */
  linkIp: string;
  /** The interface on the inter-node link inside the node's namespace (capture traffic here). */
  linkInterface: string;
  podCidr: string;
  /** The pods' default gateway (the node's address on its pod bridge). */
  gatewayIp: string;
  pods: TopologyPod[];
}

export interface TopologyPod {
  name: string;
  netns: string;
  netnsPath: string;
  ip: string;
  node: TopologyNode;
}

/** Namespaces made by this process, removed at exit even if a test forgets or crashes. */
const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const cleanup = () => {
    for (const ns of live) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    live.clear();
  };
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanup();
      process.exit(130);
    });
  }
}

async function ip(args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`ip ${args.join(' ')} failed: ${stderr.trim() || String(err)}`);
  }
}

function cidrBase(cidr: string): { base: number[]; prefix: number } {
  const [addr, len] = cidr.split('/');
  const base = (addr ?? '').split('.').map(Number);
  if (base.length !== 4 || base.some((n) => !Number.isInteger(n) || n < 0 || n > 255) || len !== '24') {
    throw new Error(`topology: ${cidr} must be an IPv4 /24`);
  }
  return { base, prefix: 24 };
}

function hostIn(cidr: string, host: number): string {
  const { base } = cidrBase(cidr);
  return `${base[0]}.${base[1]}.${base[2]}.${host}`;
}

/**
 * A test network made only of network namespaces: "nodes" are routers joined on a private link
 * (through a switch namespace), "pods" hang off their node's bridge. Nothing touches the host's own
 * namespace, so no packet can leave the machine. Always call destroy() (it is also run at exit).
 */
export class Topology {
  readonly prefix: string;
  readonly nodes: TopologyNode[] = [];
  readonly #extra: string[] = [];
  #destroyed = false;

  private constructor(prefix: string) {
    this.prefix = prefix;
  }

  static async create(spec: TopologySpec): Promise<Topology> {
    installExitHook();
    // Short and unique: netns names appear in interface-free paths only, so length is not critical,
    // but keep them readable in `ip netns list`.
    const topo = new Topology(`wt${process.pid.toString(36)}${randomBytes(2).toString('hex')}`);
    try {
      await topo.#build(spec);
    } catch (err) {
      await topo.destroy();
      throw err;
    }
    return topo;
  }

  get pods(): TopologyPod[] {
    return this.nodes.flatMap((n) => n.pods);
  }

  pod(name: string): TopologyPod {
    const pod = this.pods.find((p) => p.name === name);
    if (pod === undefined) throw new Error(`topology has no pod ${name}`);
    return pod;
  }

  node(name: string): TopologyNode {
    const node = this.nodes.find((n) => n.name === name);
    if (node === undefined) throw new Error(`topology has no node ${name}`);
    return node;
  }

  /** Runs a command inside a namespace and returns its stdout; throws with stderr on failure. */
  async exec(
    netns: string,
    argv: string[],
    options: { timeoutMs?: number; input?: string } = {},
  ): Promise<string> {
    try {
      const { stdout } = await run('ip', ['netns', 'exec', netns, ...argv], {
        timeout: options.timeoutMs ?? 30_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; code?: number | string };
      throw new Error(
        `in ${netns}: ${argv.join(' ')} failed (${e.code ?? '?'}): ${(e.stderr ?? String(err)).trim()}`,
      );
    }
  }

  /** Starts a long-running process inside a namespace (killed by the caller or at destroy()). */
  spawn(
    netns: string,
    argv: string[],
    options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
  ): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', netns, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  readonly #children = new Set<ChildProcess>();

  /**
   * An extra namespace attached to a node like a pod but meant to stay outside the mesh
   * (e.g. a plaintext client for STRICT tests).
   */
  async addPod(nodeName: string, pod: PodSpec): Promise<TopologyPod> {
    const node = this.node(nodeName);
    return this.#addPod(node, pod, node.pods.length);
  }

  /** Removes a pod namespace (as a pod deletion would). */
  async removePod(name: string): Promise<void> {
    const pod = this.pod(name);
    pod.node.pods.splice(pod.node.pods.indexOf(pod), 1);
    await this.#delNs(pod.netns);
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const child of this.#children) child.kill('SIGKILL');
    const all = [...this.pods.map((p) => p.netns), ...this.nodes.map((n) => n.netns), ...this.#extra];
    for (const ns of all) await this.#delNs(ns);
  }

  async #delNs(ns: string): Promise<void> {
    try {
      await run('ip', ['netns', 'del', ns]);
    } catch {
      // already gone
    }
    live.delete(ns);
  }

  async #addNs(name: string): Promise<string> {
    const ns = `${this.prefix}-${name}`;
    await ip(['netns', 'add', ns]);
    live.add(ns);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  async #build(spec: TopologySpec): Promise<void> {
    const linkCidr = spec.linkCidr ?? '172.31.250.0/24';
    const sw = await this.#addNs('switch');
    this.#extra.push(sw);
    await ip(['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', sw, 'link', 'set', 'br0', 'up']);
    let index = 0;
    for (const nodeSpec of spec.nodes) {
      index += 1;
      const netns = await this.#addNs(nodeSpec.name);
      const podCidr = nodeSpec.podCidr ?? `10.44.${index}.0/24`;
      const node: TopologyNode = {
        name: nodeSpec.name,
        netns,
        netnsPath: `/var/run/netns/${netns}`,
        linkIp: hostIn(linkCidr, index),
        linkInterface: 'eth0',
        podCidr,
        gatewayIp: hostIn(podCidr, 1),
        pods: [],
      };
      this.nodes.push(node);
      // Inter-node link: eth0 in the node, n<i> on the switch bridge. Created directly in the
      // namespaces, so the names never exist in the host namespace and never collide.
      await ip([
        'link',
        'add',
        'eth0',
        'netns',
        netns,
        'type',
        'veth',
        'peer',
        'name',
        `n${index}`,
        'netns',
        sw,
      ]);
      await ip(['-n', sw, 'link', 'set', `n${index}`, 'master', 'br0', 'up']);
      await ip(['-n', netns, 'addr', 'add', `${node.linkIp}/24`, 'dev', 'eth0']);
      await ip(['-n', netns, 'link', 'set', 'eth0', 'up']);
      await ip(['-n', netns, 'link', 'add', 'br0', 'type', 'bridge']);
      await ip(['-n', netns, 'addr', 'add', `${node.gatewayIp}/24`, 'dev', 'br0']);
      await ip(['-n', netns, 'link', 'set', 'br0', 'up']);
      await this.exec(netns, [
        'sysctl',
        '-qw',
        'net.ipv4.ip_forward=1',
        'net.ipv4.conf.all.rp_filter=0',
        'net.ipv4.conf.default.rp_filter=0',
      ]);
      let podIndex = 0;
      for (const podSpec of nodeSpec.pods ?? []) await this.#addPod(node, podSpec, podIndex++);
    }
    // Each node routes the other nodes' pod CIDRs over the link.
    for (const node of this.nodes) {
      for (const other of this.nodes) {
        if (other !== node) await ip(['-n', node.netns, 'route', 'add', other.podCidr, 'via', other.linkIp]);
      }
    }
  }

  async #addPod(node: TopologyNode, podSpec: PodSpec, podIndex: number): Promise<TopologyPod> {
    const netns = await this.#addNs(podSpec.name);
    const used = new Set(node.pods.map((p) => p.ip));
    let podIp = podSpec.ip;
    for (let host = 10 + podIndex; podIp === undefined; host++) {
      const candidate = hostIn(node.podCidr, host);
      if (!used.has(candidate)) podIp = candidate;
    }
    const pod: TopologyPod = {
      name: podSpec.name,
      netns,
      netnsPath: `/var/run/netns/${netns}`,
      ip: podIp,
      node,
    };
    const hostSide = `p${node.pods.length}${randomBytes(2).toString('hex')}`;
    await ip([
      'link',
      'add',
      'eth0',
      'netns',
      netns,
      'type',
      'veth',
      'peer',
      'name',
      hostSide,
      'netns',
      node.netns,
    ]);
    await ip(['-n', node.netns, 'link', 'set', hostSide, 'master', 'br0', 'up']);
    await ip(['-n', netns, 'addr', 'add', `${podIp}/24`, 'dev', 'eth0']);
    await ip(['-n', netns, 'link', 'set', 'eth0', 'up']);
    await ip(['-n', netns, 'route', 'add', 'default', 'via', node.gatewayIp]);
    node.pods.push(pod);
    return pod;
  }
}

/** Namespaces left by earlier runs whose process is gone (prefix wt<pid>…), removed. */
export async function sweepStaleNamespaces(): Promise<string[]> {
  const removed: string[] = [];
  let list = '';
  try {
    list = (await run('ip', ['netns', 'list'])).stdout;
  } catch {
    return removed;
  }
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = /^wt([0-9a-z]+)[0-9a-f]{4}-/.exec(name);
    if (m?.[1] === undefined) continue;
    const pid = Number.parseInt(m[1], 36);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) {
      await run('ip', ['netns', 'del', name]).catch(() => undefined);
      removed.push(name);
    }
  }
  return removed;
}

export const createTopology = (spec: TopologySpec): Promise<Topology> => Topology.create(spec);
