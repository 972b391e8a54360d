// Finds the stored shared token for an identification (enrollment) or a certificate serial (revocation).
import type { Entry } from 'ldapts';
import { EqualityFilter, NoSuchObjectError, SizeLimitExceededError } from 'ldapts';
import { escapeDnValue } from './connect.js';
import type { ServicePool } from './service-pool.js';

export const REV_SHR_TOK_PREFIX = 'revShrTok:';

/** Why a lookup found no usable token. A verification failure (never an outage). */
export type LookupFailureReason = 'none' | 'several' | 'no-token';

export class LookupFailure extends Error {
  override name = 'LookupFailure';
  constructor(
    readonly reason: LookupFailureReason,
    /** The entry DN, when exactly one entry matched but it holds no usable token. */
    readonly dn?: string,
  ) {
    super(`token lookup failed: ${reason}`);
  }
}

export interface TokenRecord {
  dn: string;
  /** The raw attribute value (base64 text of the token), exactly as stored. */
  token: Buffer;
  /** entryUUID as lowercase hex without dashes, when the backend has it (OpenLDAP). */
  uuid?: string;
}

/** What the verifier needs from the directory; ServiceDirectory is the real one. */
export interface TokenDirectory {
  lookupEnrollmentToken(uid: string): Promise<TokenRecord>;
  lookupRevocationToken(serial: string): Promise<TokenRecord>;
}

export interface TokenLookupOptions {
  usersBase: string;
  /** Default shrTok. */
  tokenAttribute?: string;
  /** Dogtag: ou=certificateRepository,ou=ca,o=pki-tomcat-CA. */
  certRepositoryBase?: string;
}

export class ServiceDirectory implements TokenDirectory {
  readonly tokenAttribute: string;

  constructor(
    private readonly pool: ServicePool,
    private readonly opts: TokenLookupOptions,
  ) {
    this.tokenAttribute = opts.tokenAttribute ?? 'shrTok';
  }

  /**
   * Subtree search for (uid=<identification>) with size limit 2: exactly one entry, or a LookupFailure.
   * The filter is built as BER from the raw UTF-8 bytes (what the RFC 4515-escaped string form parses to),
   * so no filter string is ever assembled or parsed: nothing in the value can change the filter.
   */
  async lookupEnrollmentToken(uid: string): Promise<TokenRecord> {
    if (uid.length === 0) throw new LookupFailure('none');
    const attr = this.tokenAttribute;
    let entries: Entry[];
    try {
      const res = await this.pool.run((c) =>
        c.search(this.opts.usersBase, {
          scope: 'sub',
          filter: equalityFilter('uid', uid),
          sizeLimit: 2,
          attributes: [attr, 'entryUUID'],
          explicitBufferAttributes: [attr],
        }),
      );
      entries = res.searchEntries;
    } catch (e) {
      if (e instanceof SizeLimitExceededError) throw new LookupFailure('several');
      if (e instanceof NoSuchObjectError) throw new LookupFailure('none');
      throw e;
    }
    if (entries.length === 0) throw new LookupFailure('none');
    if (entries.length > 1) throw new LookupFailure('several');
    const entry = entries[0]!;
    const values = buffers(attributeOf(entry, attr));
    if (values.length !== 1) throw new LookupFailure(values.length === 0 ? 'no-token' : 'several', entry.dn);
    return { dn: entry.dn, token: values[0]!, uuid: uuidOf(entry) };
  }

  /** Base read of cn=<decimal serial>,<cert repository base>; the metaInfo value starting with revShrTok:. */
  async lookupRevocationToken(serial: string): Promise<TokenRecord> {
    const base = this.opts.certRepositoryBase;
    if (!base || !/^(0|[1-9]\d*)$/.test(serial)) throw new LookupFailure('none');
    const dn = `cn=${escapeDnValue(serial)},${base}`;
    let entries: Entry[];
    try {
      const res = await this.pool.run((c) =>
        c.search(dn, {
          scope: 'base',
          filter: '(objectClass=*)',
          attributes: ['metaInfo', 'entryUUID'],
          explicitBufferAttributes: ['metaInfo'],
        }),
      );
      entries = res.searchEntries;
    } catch (e) {
      if (e instanceof NoSuchObjectError) throw new LookupFailure('none');
      throw e;
    }
    const entry = entries[0];
    if (!entry) throw new LookupFailure('none');
    const prefix = Buffer.from(REV_SHR_TOK_PREFIX, 'latin1');
    const tokens = buffers(attributeOf(entry, 'metaInfo'))
      .filter((v) => v.subarray(0, prefix.length).equals(prefix))
      .map((v) => v.subarray(prefix.length));
    if (tokens.length !== 1) throw new LookupFailure(tokens.length === 0 ? 'no-token' : 'several', entry.dn);
    return { dn: entry.dn, token: tokens[0]!, uuid: uuidOf(entry) };
  }
}

/**
 * (attribute=value) as a BER filter from the raw UTF-8 bytes. Prefer it to a string filter built with
 * escapeFilterValue: ldapts 8.2's filter parser turns escaped non-ASCII bytes (\c3\bc) into other
 * characters, so an identification such as "jürgen" would never match.
 */
export function equalityFilter(attribute: string, value: string): EqualityFilter {
  return new EqualityFilter({ attribute, value: Buffer.from(value, 'utf8') });
}

function attributeOf(entry: Entry, name: string): Entry[string] | undefined {
  const lower = name.toLowerCase();
  for (const key of Object.keys(entry)) if (key.toLowerCase() === lower) return entry[key];
  return undefined;
}

function buffers(v: Entry[string] | undefined): Buffer[] {
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x : Buffer.from(x, 'utf8')));
}

function uuidOf(entry: Entry): string | undefined {
  const v = attributeOf(entry, 'entryUUID');
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined) return undefined;
  return (Buffer.isBuffer(s) ? s.toString('latin1') : s).replace(/-/g, '').toLowerCase();
}
