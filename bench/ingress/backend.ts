// The backend both proxies forward to: HTTP/1.1 keep-alive, /status/N answers N with an empty body.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const server = createServer((req, res) => {
  const m = /^\/status\/(\d{3})/.exec(req.url ?? '');
  res.writeHead(m === null ? 200 : Number(m[1]), { 'content-length': 0 }).end();
});
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
