// Installs a missing tool from Debian's packages (wrk, nginx) the first time the harness needs it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function onPath(command: string): Promise<string | null> {
  try {
    const { stdout } = await run('sh', ['-c', `command -v ${command}`]);
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

/**
 * Returns the command's path, installing `packages` (first that works) with apt-get when it is missing.
 * Returns null with the reason when it cannot be installed, so the caller decides whether that is fatal.
 */
export async function ensureCommand(command: string, packages: readonly string[]): Promise<{ path: string } | { missing: string }> {
  const found = await onPath(command);
  if (found) return { path: found };
  if (!(await onPath('apt-get'))) return { missing: `${command} is not installed and apt-get is not available: install ${packages[0]} by hand` };
  console.log(`${command} not found: installing it with apt-get (${packages.join(' or ')})...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const errors: string[] = [];
  for (const withUpdate of [false, true]) {
    if (withUpdate) await run('apt-get', ['update', '-qq'], { env }).catch((err: Error) => errors.push(`apt-get update: ${err.message}`));
    for (const pkg of packages) {
      try {
        await run('apt-get', ['install', '-y', '-qq', pkg], { env });
        const path = await onPath(command);
        if (path) return { path };
      } catch (err) {
        errors.push(`apt-get install ${pkg}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }
  return { missing: `${command} could not be installed (${errors.join('; ')})` };
}
