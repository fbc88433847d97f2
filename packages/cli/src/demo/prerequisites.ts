/** What the full demo needs from the machine, and a plain explanation when something is missing. */
import { execFileSync } from 'node:child_process';
import { PYTHON } from './launch.js';

export function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why the full demo cannot run here (undefined: it can). */
export function rootProblem(): string | undefined {
  if (process.platform !== 'linux')
    return `the demo mesh needs Linux network namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'the demo mesh needs root';
  return undefined;
}

export const ROOT_EXPLANATION = `Why root: the demo builds a small cluster out of Linux network namespaces (two "nodes" that
route between each other, and one namespace per pod), and each node agent enters the pods'
namespaces to install the iptables rules that capture their traffic transparently (REDIRECT to
15001, TPROXY to 15006/15008) and to open sockets there (setns, IP_TRANSPARENT, SO_MARK). Creating
namespaces, iptables rules and transparent sockets needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN).
Nothing is attached to your machine's own network: no packet leaves it.

Run as root:           sudo ./scripts/setup.sh && sudo pnpm demo
Or without root:       node packages/cli/bin/weftctl.mjs demo up --reduced   (control plane only)`;

/** What the reduced (no root) mode runs and shows, with commands to try. */
export function reducedExplanation(stateDir: string): string {
  return `Reduced mode (no root): only weft-pilot runs, on 127.0.0.1, serving the demo's config from
${stateDir}/config. It does NOT run pods, node agents or a waypoint: no traffic capture, no mutual TLS
between pods, no 403/401 answers. For those, run the full demo as root. What you can try:

  weftctl analyze ${stateDir}/config                    the config, validated (codes and file:line)
  curl -s 127.0.0.1:15000/config_dump | head -c 2000    what pilot pushes to agents over xDS
  weftctl ca status                                     the CA; then weftctl ca rotate --stage add|switch|retire
  weftctl demo apply authz                              policies into the config dir (pilot re-pushes)
  weftctl check authz frontend/web-0 prod/payments-0 POST /charge --config-dir ${stateDir}/config
  weftctl demo token valid|expired|wrong-aud            JWTs from the demo issuer
  weftctl demo down                                     stop it
`;
}

/** System commands the full demo runs, missing ones first-class in the error. */
export function missingTools(): string[] {
  const missing = ['ip', 'iptables', 'curl'].filter((c) => !hasCommand(c));
  try {
    execFileSync(PYTHON, ['-c', 'import httpbin, werkzeug'], { stdio: 'ignore' });
  } catch {
    missing.push(`${PYTHON} with httpbin (Debian python3-httpbin)`);
  }
  return missing;
}
