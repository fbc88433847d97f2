import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { errorMessage } from './errors.js';
import { componentLoggers, isLogLevel, type Logger } from './logger.js';
import type { Readiness } from './readiness.js';

export type AdminHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface AdminServersOptions {
  logger: Logger;
  registry: Registry;
  readiness: Readiness;
  /** Whatever the process wants to show at /config_dump (secrets and keys never included). */
  configDump: () => unknown;
  /** 15020 metrics, 15021 readiness, 15000 admin; 0 picks a free port (tests); null disables one. */
  ports?: { metrics?: number | null; readiness?: number | null; admin?: number | null };
  /** Address for metrics and readiness; admin always binds to loopback. Default 0.0.0.0. */
  host?: string;
  /** Extra admin routes, e.g. '/debug/connections'. */
  adminRoutes?: Record<string, AdminHandler>;
  /** Called by POST /quitquitquit. */
  onQuit?: () => void;
}

export interface AdminServers {
  metricsPort: number | undefined;
  readinessPort: number | undefined;
  adminPort: number | undefined;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  type = 'text/plain; charset=utf-8',
): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function serve(routes: Record<string, AdminHandler>, logger: Logger): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const handler = routes[url.pathname];
    if (handler === undefined) {
      sendText(res, 404, `no such endpoint: ${url.pathname}; try ${Object.keys(routes).join(', ')}\n`);
      return;
    }
    Promise.resolve()
      .then(() => handler(req, res, url))
      .catch((err: unknown) => {
        logger.error({ err: errorMessage(err), path: url.pathname }, 'admin handler failed');
        if (!res.headersSent) sendText(res, 500, `${errorMessage(err)}\n`);
        else res.destroy();
      });
  });
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** The /logging endpoint: GET lists levels, POST ?level=debug sets all, ?component=hbone&level=debug one. */
function loggingHandler(root: Logger): AdminHandler {
  return (req, res, url) => {
    const level = url.searchParams.get('level');
    const component = url.searchParams.get('component');
    if (req.method === 'POST' || level !== null) {
      if (level === null || !isLogLevel(level)) {
        sendJson(res, 400, {
          code: 'WEFT_ADMIN_BAD_LEVEL',
          message: `level must be one of fatal,error,warn,info,debug,trace,silent (got ${level ?? 'nothing'})`,
        });
        return;
      }
      const children = componentLoggers(root);
      if (component !== null) {
        const child = children.get(component);
        if (child === undefined) {
          sendJson(res, 404, {
            code: 'WEFT_ADMIN_UNKNOWN_COMPONENT',
            message: `no component "${component}"; known: ${[...children.keys()].join(', ')}`,
          });
          return;
        }
        child.level = level;
      } else {
        root.level = level;
        for (const child of children.values()) child.level = level;
      }
    }
    const components = Object.fromEntries([...componentLoggers(root)].map(([name, l]) => [name, l.level]));
    sendJson(res, 200, { level: root.level, components });
  };
}

/** Starts the metrics (15020), readiness (15021) and localhost-only admin (15000) servers every app shares. */
export async function startAdminServers(options: AdminServersOptions): Promise<AdminServers> {
  const { logger, registry, readiness } = options;
  const host = options.host ?? '0.0.0.0';
  const servers: Server[] = [];
  const metricsRoute: AdminHandler = async (_req, res) => {
    sendText(res, 200, await registry.metrics(), registry.contentType);
  };
  const readyRoute: AdminHandler = (_req, res) => {
    if (readiness.ready) sendText(res, 200, 'ready\n');
    else sendJson(res, 503, { ready: false, pending: readiness.pending() });
  };
  const start = async (
    port: number | null | undefined,
    fallback: number,
    bindHost: string,
    routes: Record<string, AdminHandler>,
  ) => {
    const chosen = port === undefined ? fallback : port;
    if (chosen === null) return undefined;
    const server = serve(routes, logger);
    servers.push(server);
    return listen(server, chosen, bindHost);
  };
  const adminRoutes: Record<string, AdminHandler> = {
    '/config_dump': (_req, res) => sendJson(res, 200, options.configDump()),
    '/logging': loggingHandler(logger),
    '/healthz/ready': readyRoute,
    '/metrics': metricsRoute,
    '/quitquitquit': (req, res) => {
      if (req.method !== 'POST') {
        sendText(res, 405, 'use POST\n');
        return;
      }
      sendText(res, 200, 'OK\n');
      options.onQuit?.();
    },
    ...options.adminRoutes,
  };
  try {
    const metricsPort = await start(options.ports?.metrics, 15020, host, {
      '/metrics': metricsRoute,
      '/stats/prometheus': metricsRoute,
    });
    const readinessPort = await start(options.ports?.readiness, 15021, host, {
      '/healthz/ready': readyRoute,
    });
    const adminPort = await start(options.ports?.admin, 15000, '127.0.0.1', adminRoutes);
    return {
      metricsPort,
      readinessPort,
      adminPort,
      close: async () => {
        await Promise.all(
          servers.map(
            (s) =>
              new Promise<void>((resolve) => {
                s.closeAllConnections();
                s.close(() => resolve());
              }),
          ),
        );
      },
    };
  } catch (err) {
    for (const s of servers) s.close();
    throw err;
  }
}
