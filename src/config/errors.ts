// The one error a config load throws: every problem found, each with its place in the YAML file.
// Messages never quote configured values (they may be secrets); they name keys, slugs and files.

export interface ConfigIssue {
  /** Absolute path of the file the issue is in (the YAML file, or a workflow or key file). */
  file: string;
  /** 1-based; the line and column of the offending key or value in the YAML file. */
  line: number;
  column: number;
  /** Key path like `plans.registered.features.widget.enabled.limit` or `jwt.integrations[0].secret`; '' for the whole file. */
  path: string;
  message: string;
  /** What would have been accepted, when the check knows. */
  expected?: string;
}

export class ConfigError extends Error {
  readonly code = 'invalid-config';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const sorted = [...issues].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
    const count = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
    super(`invalid config (${count}):\n${sorted.map(formatIssue).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = sorted;
  }

  /** One readable line per issue: `file:line:col  path: message`. */
  format(): string {
    return this.issues.map(formatIssue).join('\n');
  }
}

export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.path === '' ? `${where}  ${issue.message}` : `${where}  ${issue.path}: ${issue.message}`;
}

/**
 * Why `gateway`, `serve` and `start` refuse a config without `anonymousIds.keys`, and how to fix it.
 * One message for the CLI and for the gateway library.
 */
export function missingAnonymousIdSecret(file: string): string {
  return `${file}: no anonymous-id secret configured (anonymousIds.keys).
plangate signs the anonymous ids it hands out (the plangate_anon cookie, signed API ids) so that nobody can forge one or spend another visitor's meter; it will not run without the secret.
Fix: generate a secret (openssl rand -base64 48), give the same one to every instance, and add to the config:
  anonymousIds:
    keys:
      - id: anon-1
        secret: \${PLANGATE_ANONYMOUS_ID_SECRET}
For local development only, start with --dev instead: it generates a secret in .plangate/ (see docs/operations.md).`;
}
