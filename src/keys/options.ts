// Key provider selection: one flag table for every command, and the same keys (snake_case) in the config file.
import type { FlagSpec, FlagValues } from '../cli/args.js';
import { UsageError } from '../cli/args.js';
import { WRAP_ALGORITHMS } from './provider.js';
import type { WrapSetting } from './provider.js';

export const DEFAULT_NSS_MODULE = '/usr/lib/x86_64-linux-gnu/libsoftokn3.so';
export const DEFAULT_NSS_TOKEN = 'NSS Certificate DB';

export interface Pkcs11KeyOptions {
  kind: 'pkcs11';
  module: string;
  /** Token label; the first token holding the key when absent. */
  token?: string;
  /** File holding the user PIN, used byte for byte except one trailing newline. */
  pinFile?: string;
  keyLabel?: string;
  /** CKA_ID as hex. */
  keyId?: string;
  /** NSS database directory: the module is NSS softokn initialised with configdir='sql:DIR'. */
  nssDb?: string;
  /** Session pool size; default max(UV_THREADPOOL_SIZE, 4). */
  sessions?: number;
  wrap: WrapSetting;
}

export interface PemKeyOptions {
  kind: 'pem';
  keyPem: string;
  allowSoftwareKey: boolean;
  wrap: WrapSetting;
}

export type KeyProviderOptions = Pkcs11KeyOptions | PemKeyOptions;

/** A key configuration that cannot work (conflicting or missing settings). */
export class KeyProviderConfigError extends Error {
  override name = 'KeyProviderConfigError';
}

export const keyProviderFlags: FlagSpec[] = [
  {
    name: 'pkcs11-module',
    type: 'string',
    valueName: 'PATH',
    help: 'PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so)',
  },
  { name: 'pkcs11-token', type: 'string', valueName: 'LABEL', help: 'token label' },
  { name: 'pkcs11-pin-file', type: 'string', valueName: 'FILE', help: 'file holding the token user PIN' },
  {
    name: 'nss-db',
    type: 'string',
    valueName: 'DIR',
    help: "NSS database directory (like Dogtag's -d); uses NSS softokn",
  },
  {
    name: 'key-label',
    type: 'string',
    valueName: 'LABEL',
    help: "private key label or certificate nickname (Dogtag's -n)",
  },
  { name: 'key-id', type: 'string', valueName: 'HEX', help: 'private key CKA_ID in hex' },
  {
    name: 'pkcs11-sessions',
    type: 'int',
    min: 1,
    max: 256,
    help: 'PKCS#11 session pool size (default: UV_THREADPOOL_SIZE or 4)',
  },
  {
    name: 'key-pem',
    type: 'string',
    valueName: 'FILE',
    help: 'software private key (PEM); development and tests only',
  },
  { name: 'allow-software-key', type: 'boolean', help: 'allow --key-pem when NODE_ENV=production' },
  {
    name: 'wrap',
    type: 'string',
    valueName: 'W',
    choices: ['rsa-pkcs1v15', 'rsa-oaep-sha256', 'auto'],
    help: 'session key wrap (default rsa-pkcs1v15, as Dogtag)',
  },
];

/** Config file keys (snake_case) accepted by keyProviderOptionsFromConfig, for the config owner's validation. */
export const KEY_PROVIDER_CONFIG_KEYS: readonly string[] = keyProviderFlags.map((f) =>
  f.name.replaceAll('-', '_'),
);

type RawSettings = Record<string, unknown>;

function text(raw: RawSettings, name: string): string | undefined {
  const v = raw[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '')
    throw new KeyProviderConfigError(`${name} must be a non-empty string`);
  return v;
}

/** Normalises flag or config settings (kebab-case names) into provider options; undefined when none given. */
function fromSettings(raw: RawSettings): KeyProviderOptions | undefined {
  const wrapRaw = text(raw, 'wrap') ?? 'rsa-pkcs1v15';
  if (wrapRaw !== 'auto' && !(WRAP_ALGORITHMS as readonly string[]).includes(wrapRaw))
    throw new KeyProviderConfigError(`wrap must be one of rsa-pkcs1v15, rsa-oaep-sha256, auto`);
  const wrap = wrapRaw as WrapSetting;
  const keyPem = text(raw, 'key-pem');
  const module = text(raw, 'pkcs11-module');
  const nssDb = text(raw, 'nss-db');
  const keyLabel = text(raw, 'key-label');
  const keyId = text(raw, 'key-id');
  const allow = raw['allow-software-key'];
  if (allow !== undefined && typeof allow !== 'boolean')
    throw new KeyProviderConfigError('allow_software_key must be true or false');
  const sessions = raw['pkcs11-sessions'];
  if (sessions !== undefined && (typeof sessions !== 'number' || !Number.isInteger(sessions) || sessions < 1))
    throw new KeyProviderConfigError('pkcs11_sessions must be a positive whole number');
  if (keyPem !== undefined) {
    if (module ?? nssDb ?? keyLabel ?? keyId)
      throw new KeyProviderConfigError('key-pem cannot be combined with PKCS#11 settings');
    return { kind: 'pem', keyPem, allowSoftwareKey: allow === true, wrap };
  }
  if (module === undefined && nssDb === undefined) {
    if (keyLabel ?? keyId ?? text(raw, 'pkcs11-token') ?? text(raw, 'pkcs11-pin-file'))
      throw new KeyProviderConfigError('PKCS#11 settings need pkcs11-module (or nss-db)');
    return undefined;
  }
  if (keyId !== undefined && !/^([0-9a-fA-F]{2})+$/.test(keyId))
    throw new KeyProviderConfigError('key-id must be an even number of hex digits');
  if (keyLabel === undefined && keyId === undefined)
    throw new KeyProviderConfigError('a PKCS#11 key needs key-label or key-id');
  const opts: Pkcs11KeyOptions = {
    kind: 'pkcs11',
    module: module ?? DEFAULT_NSS_MODULE,
    wrap,
  };
  const token = text(raw, 'pkcs11-token') ?? (nssDb !== undefined ? DEFAULT_NSS_TOKEN : undefined);
  if (token !== undefined) opts.token = token;
  const pinFile = text(raw, 'pkcs11-pin-file');
  if (pinFile !== undefined) opts.pinFile = pinFile;
  if (keyLabel !== undefined) opts.keyLabel = keyLabel;
  if (keyId !== undefined) opts.keyId = keyId.toLowerCase();
  if (nssDb !== undefined) opts.nssDb = nssDb;
  if (typeof sessions === 'number') opts.sessions = sessions;
  return opts;
}

/** From parsed CLI flags (keyProviderFlags); a bad combination is a UsageError (exit 2). */
export function keyProviderOptionsFromFlags(flags: FlagValues): KeyProviderOptions | undefined {
  try {
    return fromSettings(flags);
  } catch (e) {
    if (e instanceof KeyProviderConfigError) throw new UsageError(e.message);
    throw e;
  }
}

/** From a config object with snake_case keys (pkcs11_module, key_label, wrap, ...); other keys are ignored. */
export function keyProviderOptionsFromConfig(
  config: Record<string, unknown>,
): KeyProviderOptions | undefined {
  const raw: RawSettings = {};
  for (const key of KEY_PROVIDER_CONFIG_KEYS) {
    if (key in config) raw[key.replaceAll('_', '-')] = config[key];
  }
  return fromSettings(raw);
}
