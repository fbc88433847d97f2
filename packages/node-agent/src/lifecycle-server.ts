import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from '@weft/telemetry';
import { errorCode, errorMessage } from '@weft/telemetry/errors';
import { NodeAgentError, NodeErrorCode } from './errors.js';
import { type LifecycleAck, type LifecycleRequest, parseRequest } from './lifecycle-protocol.js';

export type LifecycleHandler = (request: LifecycleRequest) => Promise<void>;

/** Max bytes of one line (a snapshot of many pods fits easily). */
const MAX_LINE = 4 * 1024 * 1024;

/**
 * Serves the lifecycle protocol on a Unix socket. Requests on one connection are handled strictly in
 * order (an add followed by a del for the same pod must not race); a bad line gets an error ack and
 * the connection stays usable.
 */
export class LifecycleServer {
  readonly #server: Server;
  readonly #path: string;
  readonly #log: Logger;
  readonly #sockets = new Set<Socket>();

  private constructor(path: string, handler: LifecycleHandler, log: Logger) {
    this.#path = path;
    this.#log = log;
    this.#server = createServer((socket) => this.#serve(socket, handler));
  }

  static async start(path: string, handler: LifecycleHandler, log: Logger): Promise<LifecycleServer> {
    const s = new LifecycleServer(path, handler, log);
    try {
      mkdirSync(dirname(path), { recursive: true });
      rmSync(path, { force: true });
      await new Promise<void>((resolve, reject) => {
        s.#server.once('error', reject);
        s.#server.listen(path, () => {
          s.#server.off('error', reject);
          resolve();
        });
      });
      chmodSync(path, 0o600);
    } catch (err) {
      throw new NodeAgentError(
        NodeErrorCode.LifecycleSocket,
        `cannot listen on ${path}: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    }
    return s;
  }

  #serve(socket: Socket, handler: LifecycleHandler): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = '';
    let chain = Promise.resolve();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_LINE && !buffer.includes('\n')) {
        socket.end(
          `${JSON.stringify(ackOf(new NodeAgentError(NodeErrorCode.BadMessage, 'line too long')))}\n`,
        );
        return;
      }
      let nl = buffer.indexOf('\n');
      while (nl !== -1) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
        if (line === '') continue;
        chain = chain.then(async () => {
          let ack: LifecycleAck;
          try {
            await handler(parseRequest(line));
            ack = { ok: true };
          } catch (err) {
            ack = ackOf(err);
            this.#log.warn({ err: errorMessage(err), code: ack.error?.code }, 'lifecycle request failed');
          }
          if (!socket.destroyed) socket.write(`${JSON.stringify(ack)}\n`);
        });
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.#path, { force: true });
  }
}

function ackOf(err: unknown): LifecycleAck {
  return { ok: false, error: { code: errorCode(err), message: errorMessage(err) } };
}
