/**
 * The benchmark's application: an HTTP/1.1 server and an HTTP/2 (h2c) server answering a small JSON
 * body, in their own process. Prints `{"h1": port, "h2": port}` when listening.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createServer as createH2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';

const body = Buffer.from('{"ok":true,"charged":5}');
const h1 = createServer({ keepAliveTimeout: 60_000, noDelay: true }, (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
const h2 = createH2Server({ settings: { maxConcurrentStreams: 1000 } }, (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
h1.listen(0, '127.0.0.1');
h2.listen(0, '127.0.0.1');
await Promise.all([once(h1, 'listening'), once(h2, 'listening')]);
process.stdout.write(
  `${JSON.stringify({ h1: (h1.address() as AddressInfo).port, h2: (h2.address() as AddressInfo).port })}\n`,
);
