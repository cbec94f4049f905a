import type { ProxyConfigInput } from './input.js';

export function caddyConfig(input: ProxyConfigInput): string {
  return `# caddy: not written yet (${input.file})\n`;
}
