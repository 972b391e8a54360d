// A commented example configuration generated from the settings table, so it can never drift from it.
import { stringify } from 'yaml';
import { SERVE_SETTINGS } from './settings.js';
import type { SettingSpec } from './settings.js';

// Required keys get a working example so the printed file passes `config check` as it is.
const EXAMPLES: Record<string, unknown> = {
  listen: ['ldap://127.0.0.1:1389'],
  backend: ['ldap://127.0.0.1:389'],
};

function exampleValue(spec: SettingSpec): string {
  const value = EXAMPLES[spec.key] ?? spec.default;
  if (value === undefined) return `# ${spec.key}: ${spec.valueName ?? 'VALUE'}`;
  return stringify({ [spec.key]: value }).trimEnd();
}

export function printDefaults(): string {
  const lines = [
    '# shrtok-proxy configuration (YAML; JSON with the same keys works too).',
    '# Every key has a command-line flag of the same name in kebab-case; flags win over this file.',
    '# Secrets are never written here: keys ending in _file name a file that holds them.',
    '',
  ];
  for (const spec of SERVE_SETTINGS as readonly SettingSpec[]) {
    const choices = spec.choices ? ` (${spec.choices.join(' | ')})` : '';
    const range =
      spec.type === 'int' && (spec.min !== undefined || spec.max !== undefined)
        ? ` [${spec.min ?? ''}..${spec.max ?? ''}]`
        : '';
    lines.push(`# ${spec.help}${choices}${range}`);
    lines.push(exampleValue(spec));
    lines.push('');
  }
  return lines.join('\n');
}
