// One search on a RawLdapConnection, collected until SearchResultDone (the service lookups read one or two
// small entries, so buffering is fine and avoids ldapts' per-request objects and filter parsing).
import { BerWriter } from '../ber/index.js';
import { ProtocolOp, resultFromEnvelope, searchEntryFromEnvelope } from '../ldap/index.js';
import type { Attribute } from '../ldap/index.js';
import { LdapResultError } from './raw-ldap.js';
import type { RawLdapConnection } from './raw-ldap.js';

const EQUALITY_FILTER_TAG = 0xa3;
const PRESENT_FILTER_TAG = 0x87;
const SCOPES = { base: 0, one: 1, sub: 2 } as const;

/** (attribute=value) with the value as raw bytes, or (attribute=*). */
export type RawFilter = { equality: string; value: Buffer } | { present: string };

export interface RawSearch {
  base: string;
  scope: keyof typeof SCOPES;
  filter: RawFilter;
  sizeLimit?: number;
  attributes: string[];
}

export interface RawEntry {
  dn: string;
  attributes: Attribute[];
}

export function encodeRawSearch(s: RawSearch): Buffer {
  const w = new BerWriter(128)
    .startSequence(ProtocolOp.searchRequest)
    .writeOctetString(s.base)
    .writeEnumerated(SCOPES[s.scope])
    .writeEnumerated(0) // derefAliases never
    .writeInteger(s.sizeLimit ?? 0)
    .writeInteger(0) // timeLimit
    .writeBoolean(false); // typesOnly
  if ('equality' in s.filter) {
    w.startSequence(EQUALITY_FILTER_TAG)
      .writeOctetString(s.filter.equality)
      .writeOctetString(s.filter.value)
      .endSequence();
  } else {
    w.writeOctetString(s.filter.present, PRESENT_FILTER_TAG);
  }
  w.startSequence();
  for (const a of s.attributes) w.writeOctetString(a);
  return w.endSequence().endSequence().toBuffer();
}

/**
 * A search whose only varying part is the value of its equality filter: everything else is encoded once,
 * so a lookup encodes just (attribute=value). Produces the same bytes as encodeRawSearch.
 */
export function equalitySearchEncoder(
  s: Omit<RawSearch, 'filter'> & { attribute: string },
): (value: Buffer) => Buffer {
  const head = new BerWriter(128)
    .writeOctetString(s.base)
    .writeEnumerated(SCOPES[s.scope])
    .writeEnumerated(0)
    .writeInteger(s.sizeLimit ?? 0)
    .writeInteger(0)
    .writeBoolean(false)
    .toBuffer();
  const type = new BerWriter(32).writeOctetString(s.attribute).toBuffer();
  const tail = new BerWriter(64).startSequence();
  for (const a of s.attributes) tail.writeOctetString(a);
  const attributes = tail.endSequence().toBuffer();
  return (value) =>
    new BerWriter(head.length + attributes.length + value.length + 32)
      .startSequence(ProtocolOp.searchRequest)
      .writeRaw(head)
      .startSequence(EQUALITY_FILTER_TAG)
      .writeRaw(type)
      .writeOctetString(value)
      .endSequence()
      .writeRaw(attributes)
      .endSequence()
      .toBuffer();
}

/**
 * Runs a search (a RawSearch, or one already encoded) and resolves with its entries when the result is success; any other result rejects with
 * LdapResultError. A closed connection or no answer within `timeoutMs` rejects (and the latter drops it).
 */
export function rawSearch(
  conn: RawLdapConnection,
  s: RawSearch | Buffer,
  timeoutMs = 10_000,
): Promise<RawEntry[]> {
  const entries: RawEntry[] = [];
  return conn.exchange(
    Buffer.isBuffer(s) ? s : encodeRawSearch(s),
    (m) => {
      if (m.opTag === ProtocolOp.searchResEntry) {
        const e = searchEntryFromEnvelope(m);
        entries.push({ dn: e.objectName, attributes: e.attributes });
      } else if (m.opTag === ProtocolOp.searchResDone) {
        const result = resultFromEnvelope(m);
        if (result.resultCode !== 0) throw new LdapResultError(result);
        return entries;
      }
      // searchResRef: continuation references are not followed (ldapts did not follow them either).
      return undefined;
    },
    timeoutMs,
  );
}
