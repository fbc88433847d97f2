/**
 * The gRPC load generator for bench/ca, run as its own process so the CA under test has the CPU it
 * would have in production: pre-generates CSRs, then keeps `concurrency` CreateCertificate calls in
 * flight for `seconds` and prints `{ signed, errors, seconds }` as JSON.
 *
 *   node --import tsx bench/ca/load.ts <address> <root-pem-file> <token> <seconds> <concurrency> <csrs>
 */
import { readFileSync } from 'node:fs';
import { generateKeyAndCsr, IstioCaClient } from '@weft/certs';

const [address = '', rootFile = '', token = '', secondsArg = '2', concurrencyArg = '32', csrsArg = '64'] =
  process.argv.slice(2);
const roots = [readFileSync(rootFile, 'utf8')];
const identity = (i: number) => `spiffe://cluster.local/ns/bench/sa/sa${i}`;
const csrCount = Number(csrsArg);
const csrs = await Promise.all(Array.from({ length: csrCount }, (_, i) => generateKeyAndCsr(identity(i))));
// Several channels, as several node agents would open.
const clients = Array.from(
  { length: 4 },
  () => new IstioCaClient({ address, roots: () => roots, token: () => token }),
);
// Warm the channels (TLS handshakes) outside the measured window.
await Promise.all(
  clients.map((c, i) =>
    c.sign({ csrPem: csrs[i % csrCount]!.csrPem, identity: identity(i % csrCount), ttlSeconds: 3600 }),
  ),
);

let signed = 0;
let errors = 0;
let next = 0;
const start = performance.now();
const deadline = start + Number(secondsArg) * 1000;
await Promise.all(
  Array.from({ length: Number(concurrencyArg) }, async (_, w) => {
    const client = clients[w % clients.length]!;
    while (performance.now() < deadline) {
      const i = next++ % csrCount;
      try {
        await client.sign({ csrPem: csrs[i]!.csrPem, identity: identity(i), ttlSeconds: 3600 });
        signed++;
      } catch {
        errors++;
      }
    }
  }),
);
const seconds = (performance.now() - start) / 1000;
for (const c of clients) c.close();
process.stdout.write(`${JSON.stringify({ signed, errors, seconds })}\n`);
