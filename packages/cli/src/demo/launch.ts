/**
 * How the demo starts each program. Weft's apps start from their bin (which runs TypeScript source in a
 * checkout and dist/ in the image); they are separate processes: weftctl never imports another app.
 * The relay is one of weftctl's own modules, run the way weftctl itself runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type WeftApp = 'pilot' | 'node-agent' | 'waypoint';

const BIN: Record<WeftApp, string> = {
  pilot: 'packages/pilot/bin/weft-pilot.mjs',
  'node-agent': 'packages/node-agent/bin/weft-node.mjs',
  waypoint: 'packages/waypoint/bin/weft-waypoint.mjs',
};

/** The repository (or image) root: this file is <root>/packages/cli/{src,dist}/demo/launch.{ts,js}. */
export function repoRoot(): string {
  return fileURLToPath(new URL('../../../../', import.meta.url));
}

export const runningFromSource = (): boolean => import.meta.url.endsWith('.ts');

function tsxLoader(): string {
  return import.meta.resolve('tsx/esm');
}

/** argv that runs `import { main } from <module>; await main(args)` in a fresh node. */
function mainOf(
  moduleUrl: string,
  exportName: string,
  args: readonly string[],
  tsx = runningFromSource(),
): string[] {
  const loader = tsx ? ['--import', tsxLoader()] : [];
  return [
    process.execPath,
    ...loader,
    // No --input-type: worker threads inherit execArgv, and it is refused for a worker's file.
    '-e',
    `import(${JSON.stringify(moduleUrl)}).then((m) => m.${exportName}(process.argv.slice(1)));`,
    '--',
    ...args,
  ];
}

/** The command line of a Weft app with `args`. */
export function appArgv(app: WeftApp, args: readonly string[], root = repoRoot()): string[] {
  const bin = `${root}${BIN[app]}`;
  if (!inCheckout(app, root)) return [process.execPath, bin, ...args];
  // In a checkout run the source through tsx, as the bins do (some bins still prefer a dist/ that
  // cannot load its workspace dependencies' TypeScript on Node 20).
  const src = bin.replace(/bin\/[^/]+\.mjs$/, 'src/main.ts');
  return mainOf(pathToFileURL(src).href, 'main', args, true);
}

/** A checkout (exports point at TypeScript) rather than the image (publishConfig applied: dist/). */
function inCheckout(app: WeftApp, root: string): boolean {
  try {
    const pkgFile = `${root}${BIN[app].replace(/bin\/[^/]+$/, 'package.json')}`;
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports?: Record<string, unknown> };
    const dot = pkg.exports?.['.'];
    return typeof dot === 'string' && dot.endsWith('.ts');
  } catch {
    return false;
  }
}

/** The app's entry exists (its package is in this tree at all). */
export function appPresent(app: WeftApp, root = repoRoot()): boolean {
  return existsSync(`${root}${BIN[app]}`);
}

/** The relay (one of weftctl's own modules) as a separate process. */
export function relayArgv(args: readonly string[]): string[] {
  const ext = runningFromSource() ? 'ts' : 'js';
  return mainOf(new URL(`./relay.${ext}`, import.meta.url).href, 'relayMain', args);
}

/** Debian's python3 (the first python3 on PATH may not import Debian's modules). */
export const PYTHON = '/usr/bin/python3';

/**
 * httpbin (python3-httpbin) on 0.0.0.0:<port>, threaded, plus POST /charge (the route the demo's
 * AuthorizationPolicy names) answering like /anything.
 */
export const HTTPBIN_SCRIPT = [
  'import sys',
  'from httpbin import app',
  'from httpbin.core import view_anything',
  'from werkzeug.serving import run_simple',
  "app.add_url_rule('/charge', 'charge', view_anything, methods=['GET', 'POST', 'PUT', 'DELETE'])",
  "run_simple('0.0.0.0', int(sys.argv[1]), app, threaded=True)",
].join('\n');

export function httpbinArgv(port: number): string[] {
  return [PYTHON, '-c', HTTPBIN_SCRIPT, String(port)];
}
