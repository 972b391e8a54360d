// `shrtok-proxy token`: create, verify and inspect Dogtag shared tokens (shrTok values).
import { createPublicKey, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import {
  KeyUnavailableError,
  keyProviderFlags,
  keyProviderOptionsFromFlags,
  openKeyProvider,
} from '../keys/index.js';
import type { KeyProvider, KeyProviderOptions, WrapAlgorithm } from '../keys/index.js';
import { SoftwareKeyRefusedError } from '../keys/pem-provider.js';
import type { WrapMode } from '../keys/pkcs11/pkcs11-provider.js';
import { tokenRewrapCommand, tokenSetCommand } from '../provision/commands.js';
import {
  createToken,
  decodeBase64Strict,
  decryptToken,
  describeLineFormat,
  describeTokenDer,
  formatToken,
  parseToken,
  timingSafeEqualBytes,
  TokenError,
} from '../token/index.js';
import { bool, requireStr, str, UsageError } from './args.js';
import type { FlagSpec, FlagValues } from './args.js';
import type { Command } from './command.js';

const BYTE_FOR_BYTE =
  'The file is used byte for byte: a trailing newline is part of the passphrase (use printf, not echo); an empty file is an empty passphrase.';

const passphraseFlags: FlagSpec[] = [
  {
    name: 'passphrase',
    short: 's',
    type: 'string',
    valueName: 'PASS',
    help: 'the shared secret (UTF-8); visible in the process list, prefer --passphrase-file',
  },
  {
    name: 'passphrase-file',
    type: 'string',
    valueName: 'FILE',
    help: 'read the shared secret from FILE, byte for byte (no newline stripping)',
  },
];

async function readPassphrase(flags: FlagValues): Promise<Buffer> {
  const text = str(flags, 'passphrase');
  const file = str(flags, 'passphrase-file');
  if ((text === undefined) === (file === undefined))
    throw new UsageError('give exactly one of -s/--passphrase and --passphrase-file');
  if (text !== undefined) return Buffer.from(text, 'utf8');
  return readInput(file as string, '--passphrase-file');
}

async function readInput(path: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new UsageError(`${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'cannot read'}`);
  }
}

async function withProvider<T>(opts: KeyProviderOptions, fn: (p: KeyProvider) => Promise<T>): Promise<T> {
  let provider: KeyProvider;
  try {
    provider = await openKeyProvider(opts);
  } catch (e) {
    if (e instanceof SoftwareKeyRefusedError) throw new UsageError(e.message);
    throw e;
  }
  try {
    return await fn(provider);
  } finally {
    await provider.close();
  }
}

/** CLI JSON uses snake_case throughout (error_class, line_format, ...), whatever the library field names. */
function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeKeys(v)]),
  );
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

async function publicKeyFromFile(path: string): Promise<KeyObject> {
  const pem = await readInput(path, '--cert');
  try {
    return new X509Certificate(pem).publicKey;
  } catch {
    try {
      return createPublicKey(pem);
    } catch {
      throw new UsageError(`--cert ${path}: not a certificate or public key (PEM or DER)`);
    }
  }
}

const create: Command = {
  name: 'create',
  summary: 'make a token as Dogtag CMCSharedToken does',
  usage:
    'shrtok-proxy token create (-s PASS | --passphrase-file F) (--cert ISSUANCE.pem | <pkcs11 flags>) [--oaep] [--oneline] [-o OUT]',
  description: `Encrypts the passphrase with a fresh AES-128 key (CBC, PKCS#7, IV 01x16) and wraps the key to the issuance-protection public key (RSA PKCS#1 v1.5, or OAEP SHA-256 with --oaep). Output: base64 in 76-column CRLF lines with a trailing CRLF, as CMCSharedToken writes it, or one line with --oneline. ${BYTE_FOR_BYTE}`,
  flags: [
    ...passphraseFlags,
    {
      name: 'cert',
      type: 'string',
      valueName: 'FILE',
      help: 'issuance-protection certificate (PEM or DER) or public key',
    },
    {
      name: 'oaep',
      type: 'boolean',
      help: 'wrap with RSA-OAEP SHA-256/MGF1-SHA-256 (CMCSharedToken --oaep)',
    },
    { name: 'oneline', type: 'boolean', help: 'one base64 line (the LDAP attribute value)' },
    {
      name: 'out',
      short: 'o',
      type: 'string',
      valueName: 'FILE',
      help: 'write the token to FILE exactly (no added newline)',
    },
    ...keyProviderFlags.filter((f) => f.name !== 'wrap'),
  ],
  run: async ({ flags }) => {
    const certPath = str(flags, 'cert');
    const keyOpts = keyProviderOptionsFromFlags(flags);
    if ((certPath === undefined) === (keyOpts === undefined))
      throw new UsageError('give exactly one of --cert and the key flags');
    const publicKey =
      certPath !== undefined
        ? await publicKeyFromFile(certPath)
        : await withProvider(keyOpts!, (p) => p.publicKey());
    const passphrase = await readPassphrase(flags);
    const wrap: WrapAlgorithm = bool(flags, 'oaep') ? 'rsa-oaep-sha256' : 'rsa-pkcs1v15';
    let der: Buffer;
    try {
      der = createToken(passphrase, publicKey, wrap);
    } finally {
      passphrase.fill(0);
    }
    const oneline = bool(flags, 'oneline');
    const text = formatToken(der, { oneline });
    const out = str(flags, 'out');
    if (out !== undefined) await writeFile(out, text);
    else process.stdout.write(oneline ? `${text}\n` : text);
    return 0;
  },
};

const verify: Command = {
  name: 'verify',
  summary: 'check that a token decrypts to a passphrase',
  usage: 'shrtok-proxy token verify --token-file T (--passphrase-file F | -s PASS) <key flags> [--wrap W]',
  description: `Decrypts the token with the key and compares the result with the passphrase in constant time. Prints one JSON line: {"ok":true} or {"ok":false,"error_class":"base64|der|unwrap|decrypt|utf8|mismatch"}; when the key cannot be used, {"ok":false,"error":"key_unavailable"}. Exit 0 only when ok, 1 otherwise, 2 for usage errors. ${BYTE_FOR_BYTE}`,
  flags: [
    { name: 'token-file', type: 'string', valueName: 'FILE', help: 'the token (base64, any whitespace)' },
    ...passphraseFlags,
    ...keyProviderFlags,
  ],
  run: async ({ flags }) => {
    const tokenFile = requireStr(flags, 'token-file');
    const keyOpts = keyProviderOptionsFromFlags(flags);
    if (!keyOpts)
      throw new UsageError(
        'key flags are required (--key-pem, or --pkcs11-module/--nss-db with --key-label or --key-id)',
      );
    const value = await readInput(tokenFile, '--token-file');
    const expected = await readPassphrase(flags);
    try {
      return await withProvider(keyOpts, async (provider) => {
        try {
          const { passphrase } = await decryptToken(value, provider, keyOpts.wrap);
          const same = timingSafeEqualBytes(passphrase, expected);
          passphrase.fill(0);
          printJson(same ? { ok: true } : { ok: false, error_class: 'mismatch' });
          return same ? 0 : 1;
        } catch (e) {
          if (e instanceof TokenError) {
            printJson({ ok: false, error_class: e.errorClass });
            return 1;
          }
          throw e;
        }
      });
    } catch (e) {
      if (!(e instanceof KeyUnavailableError)) throw e;
      printJson({ ok: false, error: 'key_unavailable' });
      process.stderr.write(`shrtok-proxy: ${e.message}\n`);
      return 1;
    } finally {
      expected.fill(0);
    }
  },
};

function inspectStructure(value: Buffer): Record<string, unknown> {
  const report: Record<string, unknown> = {
    input_bytes: value.length,
    line_format: describeLineFormat(value),
  };
  try {
    const der = decodeBase64Strict(value);
    report.der_bytes = der.length;
    parseToken(value);
    report.der = describeTokenDer(der);
    report.parse = { ok: true };
  } catch (e) {
    if (!(e instanceof TokenError)) throw e;
    report.parse = { ok: false, error_class: e.errorClass };
  }
  return report;
}

const inspect: Command = {
  name: 'inspect',
  summary: 'describe a token: DER layout, sizes, line format, and with a key which wrap decrypts it',
  usage: 'shrtok-proxy token inspect --token-file T [<key flags>]',
  description:
    'Prints JSON describing the token. With key flags it also tries both wraps and reports which one decrypts it (the passphrase is never printed). Exit 0 when the token parses (and, with a key, decrypts), 1 otherwise.',
  flags: [
    { name: 'token-file', type: 'string', valueName: 'FILE', help: 'the token' },
    ...keyProviderFlags.filter((f) => f.name !== 'wrap'),
  ],
  run: async ({ flags }) => {
    const value = await readInput(requireStr(flags, 'token-file'), '--token-file');
    const report = inspectStructure(value);
    const keyOpts = keyProviderOptionsFromFlags(flags);
    let ok = (report.parse as { ok: boolean }).ok;
    if (keyOpts && ok) {
      try {
        report.decrypt = await withProvider(keyOpts, async (provider) => {
          // For a PKCS#11 key: which path each wrap takes (unwrap in the token, or raw RSA + unpadding).
          const modes = (provider as { wrapModes?: Readonly<Record<WrapAlgorithm, WrapMode>> }).wrapModes;
          const paths = modes ? { wrap_paths: { ...modes } } : {};
          try {
            const { passphrase, wrap } = await decryptToken(value, provider, 'auto');
            const bytes = passphrase.length;
            passphrase.fill(0);
            return { ok: true, wrap, passphrase_bytes: bytes, key: provider.description, ...paths };
          } catch (e) {
            if (!(e instanceof TokenError)) throw e;
            ok = false;
            return { ok: false, error_class: e.errorClass, key: provider.description, ...paths };
          }
        });
      } catch (e) {
        if (!(e instanceof KeyUnavailableError)) throw e;
        ok = false;
        report.decrypt = { ok: false, error: 'key_unavailable', message: e.message };
      }
    }
    process.stdout.write(`${JSON.stringify(snakeKeys(report), null, 2)}\n`);
    return ok ? 0 : 1;
  },
};

/** Subcommands in help order; `set` and `rewrap` (provisioning) are added here by their owner. */
export const tokenSubcommands: Command[] = [create, verify, inspect, tokenSetCommand, tokenRewrapCommand];

export const command: Command = {
  name: 'token',
  summary: 'create, verify, inspect and provision shared tokens',
  usage: 'shrtok-proxy token <create|verify|inspect|...> [options]',
  subcommands: tokenSubcommands,
};
