import { execFile } from 'node:child_process';
import {
  type CaptureConfig,
  captureTables,
  DEFAULT_CAPTURE,
  ipv6FailClosedTables,
  mergeTables,
  routingCommands,
} from './capture-rules.js';
import { NetnsError, NetnsErrorCode } from './errors.js';

function run(argv: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const child = execFile(
      argv[0] as string,
      argv.slice(1),
      { timeout: 15_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ stdout, stderr: err !== null && stderr === '' ? err.message : stderr, code });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Runs a command inside the namespace at `netnsPath` (named or /proc/<pid>/ns/net) through nsenter. */
function inNs(netnsPath: string, argv: string[], input?: string) {
  return run(['nsenter', `--net=${netnsPath}`, ...argv], input);
}

async function mustRun(netnsPath: string, argv: string[], input?: string): Promise<string> {
  const r = await inNs(netnsPath, argv, input);
  if (r.code !== 0) {
    throw new NetnsError(
      NetnsErrorCode.Capture,
      `in ${netnsPath}: ${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 500)}`,
    );
  }
  return r.stdout;
}

/**
 * Installs (or refreshes) the capture rules inside the namespace: policy routing first, then one
 * atomic iptables-restore of the mangle and nat tables. Idempotent.
 */
export async function installCapture(
  netnsPath: string,
  config: CaptureConfig = DEFAULT_CAPTURE,
): Promise<void> {
  const routing = routingCommands(config);
  // Delete first so repeated installs do not stack duplicate ip rules (a missing rule is fine).
  await inNs(netnsPath, ['ip', '-force', '-batch', '-'], `${routing.del[0]}\n`);
  await mustRun(netnsPath, ['ip', '-batch', '-'], `${routing.add.join('\n')}\n`);
  const saved = await mustRun(netnsPath, ['iptables-save']);
  await mustRun(netnsPath, ['iptables-restore', '-w', '5'], mergeTables(saved, captureTables(config)));
  // IPv6 is not captured: make it fail closed (when the pod's namespace has ip6tables at all).
  const saved6 = await inNs(netnsPath, ['ip6tables-save']);
  if (saved6.code === 0) {
    await mustRun(
      netnsPath,
      ['ip6tables-restore', '-w', '5'],
      mergeTables(saved6.stdout, ipv6FailClosedTables(), ['filter']),
    );
  }
  // When one of several SO_REUSEPORT listeners closes (agent handover), hand its queued connections to
  // the others instead of resetting them (Linux >= 5.14; harmless where missing).
  await inNs(netnsPath, ['sysctl', '-qw', 'net.ipv4.tcp_migrate_req=1']);
}

/** Removes Weft's rules from the namespace, leaving everything else; the pod then talks directly. */
export async function removeCapture(
  netnsPath: string,
  config: CaptureConfig = DEFAULT_CAPTURE,
): Promise<void> {
  const saved = await mustRun(netnsPath, ['iptables-save']);
  await mustRun(netnsPath, ['iptables-restore', '-w', '5'], mergeTables(saved, undefined));
  const saved6 = await inNs(netnsPath, ['ip6tables-save']);
  if (saved6.code === 0 && saved6.stdout.includes('WEFT_')) {
    await mustRun(
      netnsPath,
      ['ip6tables-restore', '-w', '5'],
      mergeTables(saved6.stdout, undefined, ['filter']),
    );
  }
  await inNs(netnsPath, ['ip', '-force', '-batch', '-'], `${routingCommands(config).del.join('\n')}\n`);
}

/** True when the namespace has Weft's capture chains (diagnostics, tests, weftctl). */
export async function captureInstalled(netnsPath: string): Promise<boolean> {
  const saved = await mustRun(netnsPath, ['iptables-save']);
  return saved.includes(':WEFT_PREROUTING') && /REDIRECT --to-ports \d+/.test(saved);
}

export { DEFAULT_CAPTURE };
