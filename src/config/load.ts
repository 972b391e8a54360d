// Builds the ServeConfig from defaults, an optional YAML/JSON file and flags (flags win). Every error names
// the key (or flag), the value and what was expected.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { SERVE_SETTINGS, flagName } from './settings.js';
import type { ServeConfig, SettingSpec } from './settings.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const byKey = new Map<string, SettingSpec>(SERVE_SETTINGS.map((s) => [s.key, s]));

/** Values given on the command line, keyed by config key (absent when the flag was not given). */
export type ConfigOverrides = Record<string, unknown>;

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(
      `config file ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError(
      `config file ${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data))
    throw new ConfigError(`config file ${path}: expected a mapping of keys to values at the top level`);
  return data as Record<string, unknown>;
}

function describe(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

function checkValue(spec: SettingSpec, value: unknown, where: string): unknown {
  const bad = (expected: string): never => {
    throw new ConfigError(`${where}: ${describe(value)} is not valid, expected ${expected}`);
  };
  switch (spec.type) {
    case 'int': {
      const range = `a whole number from ${spec.min ?? '-inf'} to ${spec.max ?? 'inf'}${spec.valueName ? ` (${spec.valueName.toLowerCase()})` : ''}`;
      if (typeof value !== 'number' || !Number.isInteger(value)) return bad(range);
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max))
        return bad(range);
      return value;
    }
    case 'boolean':
      return typeof value === 'boolean' ? value : bad('true or false');
    case 'list': {
      const items = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(items) || !items.every((x) => typeof x === 'string'))
        return bad('a list of strings');
      return [...items];
    }
    default:
      if (typeof value !== 'string') return bad('a string');
      if (spec.choices && !spec.choices.includes(value)) return bad(`one of ${spec.choices.join(', ')}`);
      return value;
  }
}

/** Merges defaults < file < overrides, then checks the combination. */
export function buildServeConfig(
  file: Record<string, unknown>,
  overrides: ConfigOverrides,
  fileName = 'config',
): ServeConfig {
  const out: Record<string, unknown> = {};
  for (const spec of SERVE_SETTINGS) {
    if ('default' in spec) out[spec.key] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
  }
  for (const [key, value] of Object.entries(file)) {
    const spec = byKey.get(key);
    if (!spec) {
      const hint = byKey.has(key.replaceAll('-', '_')) ? ` (did you mean ${key.replaceAll('-', '_')}?)` : '';
      throw new ConfigError(`${fileName}: unknown key "${key}"${hint}`);
    }
    out[key] = checkValue(spec, value, `${fileName}: key "${key}"`);
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const spec = byKey.get(key);
    if (!spec) throw new ConfigError(`unknown setting "${key}"`);
    out[key] = checkValue(spec, value, `flag --${flagName(key)}`);
  }
  const config = out as ServeConfig;
  checkCombination(config);
  return config;
}

export function loadServeConfig(configFile: string | undefined, overrides: ConfigOverrides): ServeConfig {
  const file = configFile ? readConfigFile(configFile) : {};
  return buildServeConfig(file, overrides, configFile ? `config file ${configFile}` : 'config');
}

export interface LdapUrl {
  secure: boolean;
  host: string;
  port: number;
  /** The URL as given, for logs. */
  text: string;
}

/** ldap://host:port or ldaps://host:port; the port defaults to 389/636. */
export function parseLdapUrl(text: string, key: string): LdapUrl {
  const fail = (why: string): never => {
    throw new ConfigError(
      `key "${key}": ${describe(text)} is not valid, expected ldap://HOST:PORT or ldaps://HOST:PORT (${why})`,
    );
  };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('not a URL');
  }
  if (url.protocol !== 'ldap:' && url.protocol !== 'ldaps:')
    return fail(`scheme ${url.protocol} is not ldap: or ldaps:`);
  if (!url.hostname) return fail('no host');
  if ((url.pathname !== '' && url.pathname !== '/') || url.search || url.username)
    return fail('only scheme, host and port are allowed');
  const secure = url.protocol === 'ldaps:';
  const port = url.port === '' ? (secure ? 636 : 389) : Number(url.port);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { secure, host, port, text };
}

function checkCombination(c: ServeConfig): void {
  if (c.listen.length === 0)
    throw new ConfigError('key "listen": [] is not valid, expected at least one ldap:// or ldaps:// URL');
  if (c.backend.length === 0)
    throw new ConfigError('key "backend": [] is not valid, expected at least one ldap:// or ldaps:// URL');
  const listeners = c.listen.map((u) => parseLdapUrl(u, 'listen'));
  const backends = c.backend.map((u) => parseLdapUrl(u, 'backend'));
  if ((c.tls_cert === undefined) !== (c.tls_key === undefined))
    throw new ConfigError('keys "tls_cert" and "tls_key": only one is set, expected both or neither');
  const ldaps = listeners.find((l) => l.secure);
  if (ldaps && c.tls_cert === undefined)
    throw new ConfigError(`key "listen": ${describe(ldaps.text)} needs tls_cert and tls_key`);
  if (c.backend_starttls) {
    const secure = backends.find((b) => b.secure);
    if (secure)
      throw new ConfigError(
        `key "backend": ${describe(secure.text)} is ldaps://, expected ldap:// with backend_starttls`,
      );
  }
  if (c.max_pdu_bytes < c.max_pdu_bytes_anonymous)
    throw new ConfigError(
      `key "max_pdu_bytes": ${c.max_pdu_bytes} is not valid, expected at least max_pdu_bytes_anonymous (${c.max_pdu_bytes_anonymous})`,
    );
}
