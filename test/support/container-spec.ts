// Reads what the Dockerfile and examples/docker-compose.yml say, so a test can run exactly that
// command with exactly that environment on a production install, without a Docker engine. Only the
// instructions the tests need are understood (the runtime stage's ENV, USER, WORKDIR, ENTRYPOINT,
// CMD and HEALTHCHECK in exec form; a service's environment and bind mounts; Compose's `${VAR}`,
// `${VAR:-default}` and `${VAR:?error}`), and anything else they meet fails loudly.
import { parse } from 'yaml';

export interface ImageSpec {
  env: Record<string, string>;
  user: string | undefined;
  workdir: string | undefined;
  entrypoint: string[];
  cmd: string[];
  /** The HEALTHCHECK's command, exec form. */
  healthcheck: string[] | undefined;
  exposed: number[];
}

/** The node options of an exec-form command (`node --flag ... script.js args`): what comes between `node` and the script. */
export function nodeFlags(command: readonly string[]): string[] {
  if (command[0] !== 'node') throw new Error(`not a node command: ${command.join(' ')}`);
  const flags: string[] = [];
  for (const arg of command.slice(1)) {
    if (!arg.startsWith('-')) break;
    flags.push(arg);
  }
  return flags;
}

/** The last stage of a Dockerfile (what `docker run` runs). */
export function readDockerfile(text: string): ImageSpec {
  // Join continuation lines, drop comments and blank lines.
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    if (pending === '' && /^\s*#/.test(raw)) continue;
    const line = raw.replace(/\s+$/, '');
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    if (whole !== '') lines.push(whole);
  }
  const lastFrom = lines.findLastIndex((l) => /^FROM\s/i.test(l));
  if (lastFrom < 0) throw new Error('the Dockerfile has no FROM');
  const spec: ImageSpec = { env: {}, user: undefined, workdir: undefined, entrypoint: [], cmd: [], healthcheck: undefined, exposed: [] };
  for (const line of lines.slice(lastFrom + 1)) {
    const [, instruction, rest] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    switch (instruction?.toUpperCase()) {
      case 'ENV':
        for (const [, key, value] of rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) spec.env[key] = value.replace(/^"(.*)"$/, '$1');
        break;
      case 'USER':
        spec.user = rest.trim();
        break;
      case 'WORKDIR':
        spec.workdir = rest.trim();
        break;
      case 'ENTRYPOINT':
        spec.entrypoint = execForm(rest, 'ENTRYPOINT');
        break;
      case 'CMD':
        spec.cmd = execForm(rest, 'CMD');
        break;
      case 'HEALTHCHECK': {
        const at = rest.search(/\bCMD\s/);
        if (at < 0) throw new Error(`HEALTHCHECK without CMD: ${rest}`);
        spec.healthcheck = execForm(rest.slice(at + 4), 'HEALTHCHECK CMD');
        break;
      }
      case 'EXPOSE':
        spec.exposed = rest.split(/\s+/).map((p) => Number.parseInt(p, 10));
        break;
      default:
        break;
    }
  }
  return spec;
}

function execForm(text: string, what: string): string[] {
  const value: unknown = JSON.parse(text.trim());
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`${what} is not in exec form (a JSON array of strings): ${text}`);
  return value;
}

export interface ComposeService {
  environment: Record<string, string>;
  /** Bind mounts, host path as written (relative to the compose file) → container path. */
  mounts: { source: string; target: string; readOnly: boolean }[];
  command: string[] | undefined;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
}

/** A compose file with `${VAR}` interpolated from `variables` (as `docker compose` does from the shell). */
export function readCompose(text: string, variables: Record<string, string | undefined>): ComposeFile {
  const doc = parse(interpolate(text, variables)) as { services?: Record<string, Record<string, unknown>>; volumes?: Record<string, unknown> };
  const named = new Set(Object.keys(doc.volumes ?? {}));
  const services: Record<string, ComposeService> = {};
  for (const [name, service] of Object.entries(doc.services ?? {})) {
    const env = service.environment ?? {};
    const environment: Record<string, string> = {};
    if (Array.isArray(env)) {
      for (const item of env as string[]) {
        const at = item.indexOf('=');
        environment[at < 0 ? item : item.slice(0, at)] = at < 0 ? (variables[item] ?? '') : item.slice(at + 1);
      }
    } else {
      for (const [key, value] of Object.entries(env as Record<string, unknown>)) environment[key] = String(value ?? variables[key] ?? '');
    }
    const mounts: ComposeService['mounts'] = [];
    for (const volume of (service.volumes ?? []) as string[]) {
      const [source, target, mode] = volume.split(':');
      if (named.has(source)) continue; // a named volume, not a bind mount
      mounts.push({ source, target, readOnly: mode === 'ro' });
    }
    const command = service.command;
    services[name] = { environment, mounts, command: Array.isArray(command) ? (command as string[]) : undefined };
  }
  return { services };
}

function interpolate(text: string, variables: Record<string, string | undefined>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (_all, name: string, op: string | undefined, arg: string | undefined) => {
    const value = variables[name];
    const unset = op?.startsWith(':') ? value === undefined || value === '' : value === undefined;
    if (!unset) return value!;
    if (op?.endsWith('?')) throw new Error(`compose: ${name} is required: ${arg}`);
    return op?.endsWith('-') ? (arg ?? '') : '';
  });
}
