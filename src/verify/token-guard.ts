// Guards the tokens stored behind the proxy: checks shrTok / revShrTok: values written through it, removes
// them from search results for everyone but the token readers, and invalidates the verifier cache after a
// successful write that touched an entry.
import { KeyUnavailableError, TokenError } from '../keys/provider.js';
import type { KeyProvider, WrapSetting } from '../keys/provider.js';
import {
  IS_FINAL_RESPONSE,
  ModifyOperation,
  ProtocolOp,
  ResultCode,
  decodeEnvelope,
  decodeSearchResultEntry,
  encodeSearchResultEntry,
  readResultCode,
} from '../ldap/index.js';
import type { Attribute } from '../ldap/index.js';
import { BerReader } from '../ber/index.js';
import { FORWARD, PASS, answer, forward, respond } from '../session/index.js';
import type {
  InterceptDecision,
  Interceptor,
  InterceptedRequest,
  ResponseObserver,
} from '../session/index.js';
import { decryptToken, parseToken } from '../token/index.js';
import { normalizeDn } from './cache.js';
import type { TokenVerifier } from './verifier.js';

export const REV_SHR_TOK_PREFIX = 'revShrTok:';
/** shrTok's numeric OID (schema/) and Dogtag's 389-DS pseudo-OID: a client may name the type either way. */
const SHR_TOK_ALIASES = ['shrtok', '2.16.840.1.117370.3.1.123', 'shrtok-oid'];

export interface TokenGuardOptions {
  verifier: TokenVerifier;
  keyProvider: KeyProvider;
  wrap: WrapSetting;
  /** Default shrTok. */
  tokenAttribute: string;
  checkTokenWrites: 'decrypt' | 'parse' | 'off';
  tokenReadFilter: boolean;
  tokenReaderDns: readonly string[];
  /** Counts refused writes (metrics.tokenWriteRejected). */
  onWriteRejected?: (reason: string) => void;
}

export function tokenGuardInterceptors(o: TokenGuardOptions): Interceptor[] {
  const tokenTypes = new Set([o.tokenAttribute.toLowerCase(), ...SHR_TOK_ALIASES]);
  const readers = new Set(o.tokenReaderDns.map(normalizeDn));
  // 'shrtok' also covers 'revShrTok:' values and the pseudo-OID.
  const needles = [...new Set(['shrtok', o.tokenAttribute.toLowerCase(), SHR_TOK_ALIASES[1]!])].map((n) =>
    Buffer.from(n, 'latin1'),
  );
  const isTokenType = (type: string): boolean => tokenTypes.has((type.split(';')[0] ?? '').toLowerCase());

  /** After a successful write, drop what the verifier remembers about the entry. */
  const invalidateOnSuccess = (dn: string): ResponseObserver => ({
    onResponse(frame, opTag) {
      if (IS_FINAL_RESPONSE[opTag] === 1) {
        try {
          if (readResultCode(frame) === ResultCode.success) o.verifier.invalidate(dn);
        } catch {
          // Unreadable response: invalidate anyway, it costs one directory read.
          o.verifier.invalidate(dn);
        }
      }
      return frame;
    },
  });

  /**
   * Values of shrTok, and revShrTok: values (prefix removed). The latter are recognised in any attribute,
   * not only metaInfo, so naming metaInfo by an OID cannot slip a token past the check or the filter.
   */
  const tokenValues = (attrs: readonly Attribute[]): Buffer[] => {
    const out: Buffer[] = [];
    for (const a of attrs) {
      if (isTokenType(a.type)) out.push(...a.values);
      else for (const v of a.values) if (isRevShrTok(v)) out.push(v.subarray(REV_SHR_TOK_PREFIX.length));
    }
    return out;
  };

  const refuse = (
    req: InterceptedRequest,
    reason: string,
    code: number,
    message: string,
  ): InterceptDecision => {
    o.onWriteRejected?.(reason);
    return respond(answer(req, code, message));
  };

  /** Checks every token value; undefined when all may be written. */
  async function checkValues(
    req: InterceptedRequest,
    values: Buffer[],
  ): Promise<InterceptDecision | undefined> {
    if (o.checkTokenWrites === 'off') return undefined;
    for (const value of values) {
      try {
        parseToken(value);
      } catch (e) {
        if (e instanceof TokenError) {
          return refuse(
            req,
            e.errorClass,
            ResultCode.invalidAttributeSyntax,
            `not a shared token (${e.errorClass})`,
          );
        }
        throw e;
      }
      if (o.checkTokenWrites !== 'decrypt') continue;
      try {
        (await decryptToken(value, o.keyProvider, o.wrap)).passphrase.fill(0);
      } catch (e) {
        if (e instanceof TokenError) {
          return refuse(
            req,
            e.errorClass,
            ResultCode.constraintViolation,
            `the shared token cannot be decrypted with the configured key (${e.errorClass})`,
          );
        }
        if (e instanceof KeyUnavailableError) {
          return respond(answer(req, ResultCode.unavailable, 'the token key is unavailable right now'));
        }
        throw e;
      }
    }
    return undefined;
  }

  const writes: Interceptor = {
    name: 'token-write-check',
    opTags: [ProtocolOp.addRequest, ProtocolOp.modifyRequest],
    async intercept(req) {
      let dn: string;
      let values: Buffer[];
      if (req.opTag === ProtocolOp.addRequest) {
        dn = req.add.entry;
        values = tokenValues(req.add.attributes);
      } else {
        dn = req.modify.object;
        values = tokenValues(
          req.modify.changes
            .filter((c) => c.operation === ModifyOperation.add || c.operation === ModifyOperation.replace)
            .map((c) => c.modification),
        );
      }
      const refused = values.length > 0 ? await checkValues(req, values) : undefined;
      return refused ?? forward({ observe: invalidateOnSuccess(dn) });
    },
  };

  const removals: Interceptor = {
    name: 'token-cache-invalidation',
    opTags: [ProtocolOp.delRequest, ProtocolOp.modDNRequest],
    intercept(req) {
      let dn: string;
      try {
        dn = targetDn(req);
      } catch {
        return FORWARD; // the backend answers a malformed request itself
      }
      return forward({ observe: invalidateOnSuccess(dn) });
    },
  };

  const filter: ResponseObserver = {
    onResponse(frame, opTag) {
      if (opTag !== ProtocolOp.searchResEntry) return frame;
      // Most entries hold neither attribute: a byte scan avoids decoding them.
      if (!needles.some((n) => includesAsciiCaseless(frame, n))) return frame;
      const entry = decodeSearchResultEntry(frame);
      let changed = false;
      const kept: Attribute[] = [];
      for (const a of entry.attributes) {
        if (isTokenType(a.type)) {
          changed = true;
          continue;
        }
        const values = a.values.filter((v) => !isRevShrTok(v));
        if (values.length !== a.values.length) {
          changed = true;
          if (values.length > 0) kept.push({ type: a.type, values });
          continue;
        }
        kept.push(a);
      }
      return changed ? encodeSearchResultEntry({ ...entry, attributes: kept }) : frame;
    },
  };

  const reads: Interceptor = {
    name: 'token-read-filter',
    opTags: [ProtocolOp.searchRequest],
    intercept(req, session) {
      const state = session.bindState;
      if (state.kind === 'backend' && readers.has(normalizeDn(state.dn))) return PASS;
      // A filter on the token attributes answers questions about values the results hide
      // ((metaInfo=*MIIB*) and so on, one character at a time): token readers only.
      if (filterNamesTokens(req.frame)) {
        return respond(
          answer(
            req,
            ResultCode.insufficientAccessRights,
            'filters on shrTok and metaInfo are reserved for token readers',
          ),
        );
      }
      return forward({ observe: filter });
    },
  };

  return o.tokenReadFilter ? [writes, removals, reads] : [writes, removals];
}

function isRevShrTok(v: Buffer): boolean {
  return (
    v.length >= REV_SHR_TOK_PREFIX.length &&
    v.toString('latin1', 0, REV_SHR_TOK_PREFIX.length).toLowerCase() === 'revshrtok:'
  );
}

const FILTER_NEEDLES = ['shrtok', 'metainfo', '2.16.840.1.117370.3.1.123'].map((n) =>
  Buffer.from(n, 'latin1'),
);

/** Whether a SearchRequest's filter mentions shrTok or metaInfo (by name or OID) or a revShrTok: value. */
function filterNamesTokens(frame: Buffer): boolean {
  // Cheap test first: most searches do not contain the bytes anywhere.
  if (!FILTER_NEEDLES.some((n) => includesAsciiCaseless(frame, n))) return false;
  const env = decodeEnvelope(frame);
  // SearchRequest: baseObject, scope, derefAliases, sizeLimit, timeLimit, typesOnly, filter, attributes
  const op = new BerReader(env.op);
  const r = op.readSequence(op.peekTag());
  for (let i = 0; i < 6 && !r.atEnd(); i++) r.skip();
  if (r.atEnd()) return false;
  // The filter's contents, whatever its CHOICE tag.
  const filter = r.readOctetString(r.peekTag());
  return FILTER_NEEDLES.some((n) => includesAsciiCaseless(filter, n));
}

/** The entry a delete or modDN names. */
function targetDn(req: InterceptedRequest): string {
  const env = decodeEnvelope(req.frame);
  const r = new BerReader(env.op);
  return req.opTag === ProtocolOp.delRequest
    ? r.readString(ProtocolOp.delRequest)
    : r.readSequence(ProtocolOp.modDNRequest).readString();
}

/** `needle` must be lower-case ASCII. */
export function includesAsciiCaseless(hay: Buffer, needle: Buffer): boolean {
  const n = needle.length;
  if (n === 0) return false;
  const first = needle[0]!;
  outer: for (let i = 0; i + n <= hay.length; i++) {
    if ((hay[i]! | 0x20) !== first) continue;
    for (let j = 1; j < n; j++) if ((hay[i + j]! | 0x20) !== needle[j]) continue outer;
    return true;
  }
  return false;
}
