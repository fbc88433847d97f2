/**
 * One request to weft-node's pod lifecycle socket: newline-delimited JSON, answered by one line
 * `{"ok":true}` or `{"ok":false,"error":{"code","message"}}` (packages/node-agent, lifecycle protocol).
 */
import { createConnection } from 'node:net';
import { CniError, CniErrorCode } from './errors.js';

export interface PodAddMessage {
  type: 'add';
  pod: {
    uid: string;
    name: string;
    namespace: string;
    serviceAccount: string;
    netnsPath: string;
    ips: string[];
    labels: Record<string, string>;
  };
}

export interface PodDelMessage {
  type: 'del';
  uid: string;
}

export type AgentMessage = PodAddMessage | PodDelMessage;

export interface AgentAck {
  ok: boolean;
  error?: { code: string; message: string };
}

/**
 * Sends `message` and resolves with weft-node's ack. Rejects WEFT_CNI_AGENT_UNREACHABLE when the socket
 * cannot be reached or does not answer within `timeoutMs`.
 */
export function sendToAgent(socketPath: string, message: AgentMessage, timeoutMs: number): Promise<AgentAck> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path: socketPath });
    let buffer = '';
    let done = false;
    const finish = (err: CniError | undefined, ack?: AgentAck) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err !== undefined) reject(err);
      else resolve(ack ?? { ok: false });
    };
    const timer = setTimeout(
      () =>
        finish(
          new CniError(
            CniErrorCode.AgentUnreachable,
            `weft-node did not answer on ${socketPath} within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(message)}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl === -1) return;
      try {
        const ack = JSON.parse(buffer.slice(0, nl)) as AgentAck;
        finish(undefined, { ok: ack.ok === true, ...(ack.error === undefined ? {} : { error: ack.error }) });
      } catch (err) {
        finish(
          new CniError(
            CniErrorCode.AgentUnreachable,
            `weft-node answered with invalid JSON on ${socketPath}`,
            {
              cause: err,
            },
          ),
        );
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      finish(
        new CniError(
          CniErrorCode.AgentUnreachable,
          `cannot reach weft-node on ${socketPath} (${err.code ?? err.message}): is the weft-node pod running on this node?`,
          { cause: err },
        ),
      ),
    );
    socket.on('end', () =>
      finish(new CniError(CniErrorCode.AgentUnreachable, `weft-node closed ${socketPath} without an answer`)),
    );
  });
}

/** Whether the socket accepts connections (CHECK). */
export function agentReachable(socketPath: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path: socketPath });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, timeoutMs);
    socket.on('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve(true);
    });
    socket.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
