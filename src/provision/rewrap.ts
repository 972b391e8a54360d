// `token rewrap`: re-wrap every stored token to another RSA padding (PKCS#1 v1.5 -> OAEP for FIPS), decrypting
// with the key provider and never writing a token that does not verify.
import type { Client, Entry } from 'ldapts';
import { KeyUnavailableError, wipe } from '../keys/index.js';
import type { WrapAlgorithm } from '../keys/index.js';
import { createToken, decryptToken, formatToken, TokenError } from '../token/index.js';
import { attrValues } from '../schema/index.js';
import {
  ProvisionError,
  REV_SHR_TOK_KEY,
  SHRTOK_ATTRIBUTE,
  isRevShrTok,
  readStoredToken,
  swapValues,
  replaceRevocationToken,
} from './entries.js';
import { Progress, runPool } from './progress.js';
import type { TokenMaker } from './token-maker.js';

export interface RewrapOptions {
  to: WrapAlgorithm;
  usersBase?: string;
  certRepositoryBase?: string;
  dryRun: boolean;
  concurrency: number;
  /** One line per token that could not be handled (DN and reason, never the token). */
  onProblem?: (dn: string, reason: string) => void;
}

export interface RewrapSummary {
  scanned: number;
  /** Rewrapped (or, with dryRun, would be). */
  rewrapped: number;
  alreadyTarget: number;
  failed: number;
}

interface StoredToken {
  dn: string;
  kind: 'shrTok' | 'revShrTok';
  value: string;
}

async function collect(client: Client, opts: RewrapOptions): Promise<StoredToken[]> {
  const found: StoredToken[] = [];
  const scan = async (
    base: string,
    filter: string,
    attribute: string,
    take: (e: Entry) => void,
  ): Promise<void> => {
    for await (const page of client.searchPaginated(base, {
      scope: 'sub',
      filter,
      attributes: [attribute],
      explicitBufferAttributes: attribute === SHRTOK_ATTRIBUTE ? [attribute] : [],
      paged: { pageSize: 500 },
    })) {
      for (const entry of page.searchEntries) take(entry);
    }
  };
  if (opts.usersBase) {
    await scan(opts.usersBase, `(${SHRTOK_ATTRIBUTE}=*)`, SHRTOK_ATTRIBUTE, (e) => {
      const value = attrValues(e, SHRTOK_ATTRIBUTE)[0];
      if (value !== undefined) found.push({ dn: e.dn, kind: 'shrTok', value });
    });
  }
  if (opts.certRepositoryBase) {
    // Presence, not a substring filter: Dogtag's metaInfo has no SUBSTR rule on every server.
    await scan(opts.certRepositoryBase, '(metaInfo=*)', 'metaInfo', (e) => {
      for (const v of attrValues(e, 'metaInfo').filter(isRevShrTok)) {
        found.push({ dn: e.dn, kind: 'revShrTok', value: v.slice(REV_SHR_TOK_KEY.length + 1) });
      }
    });
  }
  return found;
}

async function rewrapOne(
  client: Client,
  maker: TokenMaker,
  token: StoredToken,
  opts: RewrapOptions,
): Promise<'rewrapped' | 'already'> {
  const current = await decryptToken(
    token.value,
    maker.provider as NonNullable<TokenMaker['provider']>,
    'auto',
  );
  try {
    if (current.wrap === opts.to) return 'already';
    if (opts.dryRun) return 'rewrapped';
    const value = formatToken(createToken(current.passphrase, maker.publicKey, opts.to), { oneline: true });
    await maker.verify(value, current.passphrase, opts.to);
    if (token.kind === 'shrTok') {
      await swapValues(client, token.dn, SHRTOK_ATTRIBUTE, [token.value], [token.value], value);
    } else {
      await replaceRevocationToken(client, token.dn, token.value, value);
    }
    // Never leave a token that does not verify: the stored bytes must be the ones just checked.
    const stored = await readStoredToken(client, token.kind, token.dn);
    if (!stored.includes(value))
      throw new ProvisionError(`read-back of ${token.dn} does not show the rewrapped token`);
    return 'rewrapped';
  } finally {
    wipe(current.passphrase);
  }
}

export async function rewrapTokens(
  client: Client,
  maker: TokenMaker,
  opts: RewrapOptions,
): Promise<RewrapSummary> {
  if (!maker.provider) throw new Error('rewrap needs a key provider');
  const tokens = await collect(client, opts);
  const summary: RewrapSummary = { scanned: tokens.length, rewrapped: 0, alreadyTarget: 0, failed: 0 };
  const progress = new Progress(tokens.length, opts.dryRun ? 'rewrap (dry run)' : 'rewrap');
  try {
    await runPool(tokens, opts.concurrency, async (token) => {
      try {
        const outcome = await rewrapOne(client, maker, token, opts);
        if (outcome === 'already') summary.alreadyTarget++;
        else summary.rewrapped++;
        progress.tick(true);
      } catch (e) {
        // Without the key nothing else can succeed: stop rather than report every token as failed.
        if (e instanceof KeyUnavailableError) throw e;
        summary.failed++;
        const reason =
          e instanceof TokenError
            ? `token does not decrypt with this key (${e.errorClass}); left unchanged`
            : e instanceof Error
              ? e.message
              : String(e);
        opts.onProblem?.(`${token.dn} (${token.kind})`, reason);
        progress.tick(false);
      }
    });
  } finally {
    progress.finish();
  }
  return summary;
}
