import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootSkipReason } from './system.js';
import { createTopology, type Topology } from './topology.js';

const skip = rootSkipReason();
const netnsList = () =>
  execFileSync('ip', ['netns', 'list'])
    .toString()
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean)
    .sort();

describe.skipIf(skip !== undefined)(`testkit topology${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let before: string[] = [];
  let topo: Topology;

  beforeAll(async () => {
    before = netnsList();
    topo = await createTopology({
      nodes: [
        { name: 'node1', pods: [{ name: 'a' }, { name: 'b' }] },
        { name: 'node2', pods: [{ name: 'c' }, { name: 'd', ip: '10.44.2.77' }] },
      ],
    });
  });

  afterAll(async () => {
    await topo?.destroy();
  });

  it('builds 2 nodes x 2 pods with addresses from each node CIDR', () => {
    expect(topo.pods.map((p) => p.ip)).toEqual(['10.44.1.10', '10.44.1.11', '10.44.2.10', '10.44.2.77']);
    expect(topo.pod('c').node.name).toBe('node2');
  });

  it('carries TCP between pods on different nodes and keeps the source address', async () => {
    const server = topo.pod('d');
    const client = topo.pod('a');
    // A one-shot server in pod d that reports the peer address and echoes a line.
    const script = `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7000)); s.listen(1); print("listening", flush=True)
c, addr = s.accept(); data = c.recv(100); c.sendall(addr[0].encode() + b" " + data); c.close()
`;
    const child = topo.spawn(server.netns, ['python3', '-c', script]);
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
      child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    const reply = await topo.exec(client.netns, [
      'python3',
      '-c',
      `import socket; c = socket.create_connection(("${server.ip}", 7000), timeout=5); c.sendall(b"hello"); print(c.recv(100).decode())`,
    ]);
    expect(reply.trim()).toBe(`${client.ip} hello`);
  });

  it('removes every namespace it made', async () => {
    await topo.destroy();
    expect(netnsList()).toEqual(before);
  });
});
