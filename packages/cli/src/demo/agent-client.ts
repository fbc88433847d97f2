/** Talks to a weft-node's pod lifecycle socket: newline-delimited JSON requests, one ack line each. */
import { connect } from 'node:net';
import { DemoError, DemoErrorCode } from './errors.js';
import type { DemoPod } from './layout.js';

export interface LifecyclePod {
  uid: string;
  name: string;
  namespace: string;
  serviceAccount: string;
  netnsPath: string;
  ips: string[];
  labels: Record<string, string>;
}

export function lifecyclePod(pod: DemoPod): LifecyclePod {
  return {
    uid: `demo-${pod.namespace}-${pod.name}`,
    name: pod.name,
    namespace: pod.namespace,
    serviceAccount: pod.serviceAccount,
    netnsPath: `/var/run/netns/${pod.netns}`,
    ips: [pod.ip],
    labels: pod.labels,
  };
}

interface Ack {
  ok: boolean;
  error?: { code: string; message: string };
}

/** Sends the messages in order; resolves with one ack per message. */
export function sendLifecycle(
  socketPath: string,
  messages: readonly unknown[],
  timeoutMs = 15_000,
): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath });
    const acks: Ack[] = [];
    let buffer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new DemoError(
          DemoErrorCode.NotReady,
          `no answer from the node agent on ${socketPath} within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          acks.push(JSON.parse(line) as Ack);
        } catch {
          acks.push({ ok: false, error: { code: 'BAD_ACK', message: line } });
        }
        if (acks.length === messages.length) {
          clearTimeout(timer);
          socket.end();
          resolve(acks);
        }
      }
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('connect', () => {
      for (const m of messages) socket.write(`${JSON.stringify(m)}\n`);
    });
  });
}

/**
 * Registers pods with a node agent: one `snapshot` (the node's whole pod list, which also marks the
 * agent ready) or one `add` per pod. Throws WEFT_DEMO_POD_REJECTED with the agent's reason.
 */
export async function addPods(
  socketPath: string,
  pods: readonly DemoPod[],
  how: 'add' | 'snapshot' = 'add',
): Promise<void> {
  const messages =
    how === 'snapshot'
      ? [{ type: 'snapshot', pods: pods.map(lifecyclePod) }]
      : pods.map((p) => ({ type: 'add', pod: lifecyclePod(p) }));
  const acks = await sendLifecycle(socketPath, messages);
  acks.forEach((ack, i) => {
    if (!ack.ok) {
      const names =
        how === 'snapshot'
          ? pods.map((p) => `${p.namespace}/${p.name}`).join(', ')
          : `${pods[i]?.namespace}/${pods[i]?.name}`;
      throw new DemoError(
        DemoErrorCode.PodRejected,
        `the node agent refused ${names}: ${ack.error?.code ?? '?'} ${ack.error?.message ?? ''}`,
      );
    }
  });
}
