// Finds the stored shared token for an identification (enrollment) or a certificate serial (revocation).
import { EqualityFilter } from 'ldapts';
import { ResultCode } from '../ldap/index.js';
import { escapeDnValue } from './connect.js';
import { LdapResultError } from './raw-ldap.js';
import { equalitySearchEncoder, rawSearch } from './raw-search.js';
import type { RawEntry } from './raw-search.js';
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
  /** The enrollment lookup with everything but the identification encoded once. */
  private readonly uidSearch: (uid: Buffer) => Buffer;

  constructor(
    private readonly pool: ServicePool,
    private readonly opts: TokenLookupOptions,
  ) {
    this.tokenAttribute = opts.tokenAttribute ?? 'shrTok';
    this.uidSearch = equalitySearchEncoder({
      base: opts.usersBase,
      scope: 'sub',
      attribute: 'uid',
      sizeLimit: 2,
      attributes: [this.tokenAttribute, 'entryUUID'],
    });
  }

  /**
   * Subtree search for (uid=<identification>) with size limit 2: exactly one entry, or a LookupFailure.
   * The filter is built as BER from the raw UTF-8 bytes (what the RFC 4515-escaped string form parses to),
   * so no filter string is ever assembled or parsed: nothing in the value can change the filter.
   */
  async lookupEnrollmentToken(uid: string): Promise<TokenRecord> {
    if (uid.length === 0) throw new LookupFailure('none');
    const attr = this.tokenAttribute;
    let entries: RawEntry[];
    try {
      const search = this.uidSearch(Buffer.from(uid, 'utf8'));
      entries = await this.pool.run((c) => rawSearch(c, search, this.pool.operationTimeoutMs));
    } catch (e) {
      if (resultOf(e) === ResultCode.sizeLimitExceeded) throw new LookupFailure('several');
      if (resultOf(e) === ResultCode.noSuchObject) throw new LookupFailure('none');
      throw e;
    }
    if (entries.length === 0) throw new LookupFailure('none');
    if (entries.length > 1) throw new LookupFailure('several');
    const entry = entries[0]!;
    const values = buffers(entry, attr);
    if (values.length !== 1) throw new LookupFailure(values.length === 0 ? 'no-token' : 'several', entry.dn);
    return recordOf(entry, values[0]!);
  }

  /** Base read of cn=<decimal serial>,<cert repository base>; the metaInfo value starting with revShrTok:. */
  async lookupRevocationToken(serial: string): Promise<TokenRecord> {
    const base = this.opts.certRepositoryBase;
    if (!base || !/^(0|[1-9]\d*)$/.test(serial)) throw new LookupFailure('none');
    const dn = `cn=${escapeDnValue(serial)},${base}`;
    let entries: RawEntry[];
    try {
      entries = await this.pool.run((c) =>
        rawSearch(
          c,
          {
            base: dn,
            scope: 'base',
            filter: { present: 'objectClass' },
            attributes: ['metaInfo', 'entryUUID'],
          },
          this.pool.operationTimeoutMs,
        ),
      );
    } catch (e) {
      if (resultOf(e) === ResultCode.noSuchObject) throw new LookupFailure('none');
      throw e;
    }
    const entry = entries[0];
    if (!entry) throw new LookupFailure('none');
    const prefix = Buffer.from(REV_SHR_TOK_PREFIX, 'latin1');
    const tokens = buffers(entry, 'metaInfo')
      .filter((v) => v.subarray(0, prefix.length).equals(prefix))
      .map((v) => v.subarray(prefix.length));
    if (tokens.length !== 1) throw new LookupFailure(tokens.length === 0 ? 'no-token' : 'several', entry.dn);
    return recordOf(entry, tokens[0]!);
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

function resultOf(e: unknown): number | undefined {
  return e instanceof LdapResultError ? e.result.resultCode : undefined;
}

/**
 * The values of an attribute (first matching type, case-insensitive): views of the received chunk, which
 * RawLdapConnection never reuses. A caller that keeps one for long copies it (so as not to hold the chunk).
 */
function buffers(entry: RawEntry, name: string): Buffer[] {
  const lower = name.toLowerCase();
  const attribute = entry.attributes.find((a) => a.type.toLowerCase() === lower);
  return attribute ? attribute.values : [];
}

/** The uuid is read only when asked for: a strict verification whose token is unchanged never needs it. */
function recordOf(entry: RawEntry, token: Buffer): TokenRecord {
  return {
    dn: entry.dn,
    token,
    get uuid() {
      return uuidOf(entry);
    },
  };
}

function uuidOf(entry: RawEntry): string | undefined {
  const v = entry.attributes.find((a) => a.type.toLowerCase() === 'entryuuid')?.values[0];
  if (v === undefined) return undefined;
  return v.toString('latin1').replace(/-/g, '').toLowerCase();
}
