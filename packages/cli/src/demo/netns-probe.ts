/** Probes inside a pod's network namespace (the host cannot reach pod addresses: no link into it). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** HTTP status of `url` fetched with curl inside `netns`, or undefined when nothing answered. */
export async function netnsHttpStatus(
  netns: string,
  url: string,
  timeoutSeconds = 2,
): Promise<number | undefined> {
  try {
    const { stdout } = await run(
      'ip',
      [
        'netns',
        'exec',
        netns,
        'curl',
        '-s',
        '-o',
        '/dev/null',
        '-m',
        String(timeoutSeconds),
        '-w',
        '%{http_code}',
        url,
      ],
      {
        timeout: (timeoutSeconds + 2) * 1000,
      },
    );
    const code = Number(stdout.trim());
    return code > 0 ? code : undefined;
  } catch (err) {
    const stdout = (err as { stdout?: string }).stdout ?? '';
    const code = Number(stdout.trim());
    return code > 0 ? code : undefined;
  }
}
