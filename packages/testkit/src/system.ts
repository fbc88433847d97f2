import { execFileSync } from 'node:child_process';

/** Why root-only tests cannot run here, or undefined when they can. */
export function rootSkipReason(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux network namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0)
    return 'needs root to create network namespaces and iptables rules (run the tests as root, as CI does)';
  const missing = missingCommands(['ip', 'iptables']);
  if (missing.length > 0) return `needs ${missing.join(', ')} (scripts/setup.sh installs them)`;
  return undefined;
}

/** The commands in `names` that are not on PATH (absolute paths are checked as files). */
export function missingCommands(names: readonly string[]): string[] {
  return names.filter((name) => !hasCommand(name));
}

export function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v "$1"`, 'sh', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why a test needing `commands` cannot run, or undefined. */
export function commandsSkipReason(commands: readonly string[]): string | undefined {
  const missing = missingCommands(commands);
  return missing.length > 0
    ? `needs ${missing.join(', ')} on PATH (scripts/setup.sh installs them as root)`
    : undefined;
}
