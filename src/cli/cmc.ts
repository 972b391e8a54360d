// `shrtok-proxy cmc verify`: check a CMC shared-secret enrollment or revocation request as Dogtag's CA does.
import { readFile } from 'node:fs/promises';
import {
  CmcParseError,
  decodeCmcRequest,
  deriveProofKeys,
  parseFailure,
  precheckEnrollment,
  precheckRevocation,
  verifyEnrollment,
  verifyRevocationWithSecret,
} from '../cmc/index.js';
import type { CmcRequest, CmcResult } from '../cmc/index.js';
import {
  KeyUnavailableError,
  keyProviderFlags,
  keyProviderOptionsFromFlags,
  openKeyProvider,
} from '../keys/index.js';
import type { KeyProviderOptions } from '../keys/index.js';
import { SoftwareKeyRefusedError } from '../keys/pem-provider.js';
import { decryptToken, TokenError } from '../token/index.js';
import { bool, requireStr, str, UsageError } from './args.js';
import type { Command } from './command.js';

async function readInput(path: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new UsageError(`${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'cannot read'}`);
  }
}

function print(result: CmcResult, extra: Record<string, unknown> = {}): number {
  const line: Record<string, unknown> = {
    ok: result.ok,
    failed_check: result.failedCheck,
    identification: result.identification ?? null,
  };
  if (result.serial !== undefined) line.serial = result.serial;
  if (result.issuer !== undefined) line.issuer = result.issuer;
  process.stdout.write(`${JSON.stringify({ ...line, ...extra })}\n`);
  if (!result.ok) process.stderr.write(`shrtok-proxy: ${result.message}\n`);
  return result.ok ? 0 : 1;
}

/** Where the secret comes from; the token is decrypted only once the secret-free checks have passed. */
type SecretSource =
  { kind: 'direct'; secret: Buffer } | { kind: 'token'; value: Buffer; keyOpts: KeyProviderOptions };

/** The secret, or a result/exit code when the token cannot give one. */
async function obtainSecret(
  source: SecretSource,
): Promise<Buffer | { token: TokenError } | 'key_unavailable'> {
  if (source.kind === 'direct') return source.secret;
  let provider;
  try {
    provider = await openKeyProvider(source.keyOpts);
  } catch (e) {
    if (e instanceof SoftwareKeyRefusedError) throw new UsageError(e.message);
    if (e instanceof KeyUnavailableError) {
      process.stderr.write(`shrtok-proxy: ${e.message}\n`);
      return 'key_unavailable';
    }
    throw e;
  }
  try {
    return (await decryptToken(source.value, provider, source.keyOpts.wrap)).passphrase;
  } catch (e) {
    if (e instanceof TokenError) return { token: e };
    if (e instanceof KeyUnavailableError) {
      process.stderr.write(`shrtok-proxy: ${e.message}\n`);
      return 'key_unavailable';
    }
    throw e;
  } finally {
    await provider.close();
  }
}

async function verifyRequest(
  req: CmcRequest,
  source: SecretSource,
  requirePopLink: boolean,
): Promise<number> {
  const early =
    req.kind === 'revocation' ? precheckRevocation(req) : precheckEnrollment(req, { requirePopLink });
  if (early) return print(early);
  const secret = await obtainSecret(source);
  if (secret === 'key_unavailable') {
    process.stdout.write(`${JSON.stringify({ ok: false, error: 'key_unavailable' })}\n`);
    return 1;
  }
  if (!Buffer.isBuffer(secret)) {
    const what = req.kind === 'revocation' ? `serial ${req.serial}` : JSON.stringify(req.identification);
    const result: CmcResult = {
      ok: false,
      failedCheck: 'token',
      message: `the token for ${what} cannot be decrypted (${secret.token.errorClass})`,
      ...(req.kind === 'revocation' ? { serial: req.serial, issuer: req.issuer } : {}),
    };
    return print(result, { error_class: secret.token.errorClass });
  }
  try {
    if (req.kind === 'revocation') return print(verifyRevocationWithSecret(req, secret));
    return print(verifyEnrollment(req, deriveProofKeys(secret, req.identification!), { requirePopLink }));
  } finally {
    if (source.kind === 'token') secret.fill(0);
  }
}

const verify: Command = {
  name: 'verify',
  summary: 'verify a CMC shared-secret enrollment (identityProofV2, POP link) or revocation request',
  usage:
    'shrtok-proxy cmc verify --request FILE (--passphrase-file F | -s PASS | --token-file T <key flags> [--wrap W]) [--require-pop-link]',
  description:
    'Runs the checks in Dogtag\'s order and prints one JSON line: {"ok":...,"failed_check":...,"identification":...}, plus "serial" and "issuer" for a revocation request. The request may be DER or base64 (detected). The secret is given directly (the passphrase file is used byte for byte) or as the shrTok / revShrTok token, decrypted with the key flags. Exit 0 only when ok, 1 when a check failed, 2 for usage errors.',
  flags: [
    { name: 'request', type: 'string', valueName: 'FILE', help: 'the CMC request (DER or base64)' },
    { name: 'passphrase', short: 's', type: 'string', valueName: 'PASS', help: 'the shared secret (UTF-8)' },
    {
      name: 'passphrase-file',
      type: 'string',
      valueName: 'FILE',
      help: 'read the shared secret from FILE, byte for byte (no newline stripping)',
    },
    {
      name: 'token-file',
      type: 'string',
      valueName: 'FILE',
      help: 'the shrTok (or revShrTok, "revShrTok:" prefix allowed) token holding the secret',
    },
    {
      name: 'require-pop-link',
      type: 'boolean',
      help: "require a POPLinkWitnessV2 (Dogtag's cmc.popLinkWitnessRequired)",
    },
    ...keyProviderFlags,
  ],
  run: async ({ flags, positionals }) => {
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const requestPath = requireStr(flags, 'request');
    const text = str(flags, 'passphrase');
    const file = str(flags, 'passphrase-file');
    const tokenFile = str(flags, 'token-file');
    const given = [text, file, tokenFile].filter((v) => v !== undefined).length;
    if (given !== 1)
      throw new UsageError('give exactly one of -s/--passphrase, --passphrase-file and --token-file');
    const keyOpts = keyProviderOptionsFromFlags(flags);
    let source: SecretSource;
    if (tokenFile !== undefined) {
      if (!keyOpts)
        throw new UsageError(
          '--token-file needs key flags (--key-pem, or --pkcs11-module/--nss-db with --key-label or --key-id)',
        );
      const raw = await readInput(tokenFile, '--token-file');
      const value = raw.subarray(0, 10).toString('latin1') === 'revShrTok:' ? raw.subarray(10) : raw;
      source = { kind: 'token', value, keyOpts };
    } else {
      if (keyOpts) throw new UsageError('key flags are only used with --token-file');
      const secret =
        text !== undefined ? Buffer.from(text, 'utf8') : await readInput(file!, '--passphrase-file');
      source = { kind: 'direct', secret };
    }
    const input = await readInput(requestPath, '--request');
    let req: CmcRequest;
    try {
      req = decodeCmcRequest(input);
    } catch (e) {
      if (e instanceof CmcParseError) return print(parseFailure(e));
      throw e;
    }
    return verifyRequest(req, source, bool(flags, 'require-pop-link'));
  },
};

export const command: Command = {
  name: 'cmc',
  summary: 'verify CMC shared-secret requests (identityProofV2, POPLinkWitnessV2, revocation)',
  usage: 'shrtok-proxy cmc <command>',
  subcommands: [verify],
};
