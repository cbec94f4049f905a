import type { ProxyConfigInput } from './input.js';

export function envoyConfig(input: ProxyConfigInput): string {
  return `# envoy: not written yet (${input.file})\n`;
}
