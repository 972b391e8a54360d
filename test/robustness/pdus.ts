// Well-formed LDAP requests of every operation, built with the project's BER writer and LDAP encoders, as
// seeds for mutation and as the "sentinel" requests of the network tests.
import { BerWriter } from '../../src/ber/index.js';
import {
  Oid,
  ProtocolOp,
  encodeAddRequest,
  encodeBindRequest,
  encodeExtendedRequest,
  encodeMessage,
  encodeModifyRequest,
} from '../../src/ldap/index.js';
import type { Control } from '../../src/ldap/index.js';

export const SUFFIX = 'dc=example,dc=com';
export const PEOPLE = `ou=People,${SUFFIX}`;

/** A filter as BER: equality (uid=v), presence, substrings, and/or/not nesting. */
export type Filter =
  | { eq: [string, string] }
  | { present: string }
  | { sub: [string, string] }
  | { and: Filter[] }
  | { or: Filter[] }
  | { not: Filter }
  /** Already-encoded filter bytes. */
  | { raw: Buffer };

export function writeFilter(w: BerWriter, f: Filter): void {
  if ('raw' in f) w.writeRaw(f.raw);
  else if ('eq' in f) w.startSequence(0xa3).writeOctetString(f.eq[0]).writeOctetString(f.eq[1]).endSequence();
  else if ('present' in f) w.writeOctetString(f.present, 0x87);
  else if ('sub' in f)
    w.startSequence(0xa4)
      .writeOctetString(f.sub[0])
      .startSequence()
      .writeOctetString(f.sub[1], 0x81)
      .endSequence()
      .endSequence();
  else if ('not' in f) {
    w.startSequence(0xa2);
    writeFilter(w, f.not);
    w.endSequence();
  } else {
    w.startSequence('and' in f ? 0xa0 : 0xa1);
    for (const x of 'and' in f ? f.and : f.or) writeFilter(w, x);
    w.endSequence();
  }
}

export interface SearchSpec {
  base: string;
  scope: 0 | 1 | 2;
  filter: Filter;
  attributes?: string[];
  sizeLimit?: number;
  typesOnly?: boolean;
  controls?: Control[];
}

export function searchRequest(messageId: number, s: SearchSpec): Buffer {
  const w = new BerWriter(128);
  w.startSequence(ProtocolOp.searchRequest)
    .writeOctetString(s.base)
    .writeEnumerated(s.scope)
    .writeEnumerated(0)
    .writeInteger(s.sizeLimit ?? 0)
    .writeInteger(0)
    .writeBoolean(s.typesOnly ?? false);
  writeFilter(w, s.filter);
  w.startSequence();
  for (const a of s.attributes ?? []) w.writeOctetString(a);
  w.endSequence().endSequence();
  return encodeMessage(messageId, w.toBuffer(), s.controls);
}

/** The root DSE read: answered by any slapd, whatever the state of the connection's bind. */
export function rootDseSearch(messageId: number): Buffer {
  return searchRequest(messageId, {
    base: '',
    scope: 0,
    filter: { present: 'objectClass' },
    attributes: ['1.1'],
  });
}

/** A filter `depth` levels deep, (&(|(&(...(uid=user1)...)))), built iteratively (no recursion). */
export function deepFilter(depth: number): Filter {
  let b = Buffer.from([0xa3, 0x0d, 0x04, 0x03, 0x75, 0x69, 0x64, 0x04, 0x05, 0x75, 0x73, 0x65, 0x72, 0x31]);
  for (let i = 0; i < depth; i++) {
    const n = b.length;
    const len =
      n < 0x80
        ? [n]
        : n < 0x100
          ? [0x81, n]
          : n < 0x10000
            ? [0x82, n >> 8, n & 0xff]
            : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
    b = Buffer.concat([Buffer.from([i % 2 === 0 ? 0xa0 : 0xa1, ...len]), b]);
  }
  return { raw: b };
}

function primitive(messageId: number, tag: number, content: Buffer): Buffer {
  const w = new BerWriter(32);
  w.writeOctetString(content, tag);
  return encodeMessage(messageId, w.toBuffer());
}

function compareRequest(messageId: number, dn: string, attr: string, value: string): Buffer {
  const w = new BerWriter(64);
  w.startSequence(ProtocolOp.compareRequest)
    .writeOctetString(dn)
    .startSequence()
    .writeOctetString(attr)
    .writeOctetString(value)
    .endSequence()
    .endSequence();
  return encodeMessage(messageId, w.toBuffer());
}

function modDnRequest(messageId: number, dn: string, newRdn: string): Buffer {
  const w = new BerWriter(64);
  w.startSequence(ProtocolOp.modDNRequest)
    .writeOctetString(dn)
    .writeOctetString(newRdn)
    .writeBoolean(true)
    .endSequence();
  return encodeMessage(messageId, w.toBuffer());
}

const pagedControl = (size: number): Control => {
  const w = new BerWriter(16);
  w.startSequence().writeInteger(size).writeOctetString('').endSequence();
  return { type: '1.2.840.113556.1.4.319', critical: true, value: w.toBuffer() };
};

/**
 * One of each operation, with controls and binary values. Writes target entries under ou=Fuzz, which the
 * tests never create, so a mutated write that slapd accepts cannot change the data other tests read.
 */
export function seedPdus(): Buffer[] {
  const fuzz = `cn=x,ou=Fuzz,${SUFFIX}`;
  return [
    encodeBindRequest({
      messageId: 1,
      version: 3,
      name: `uid=user1,${PEOPLE}`,
      authentication: { kind: 'simple', password: Buffer.from('wrong-pass') },
    }),
    encodeBindRequest({
      messageId: 2,
      version: 3,
      name: '',
      authentication: { kind: 'sasl', mechanism: 'EXTERNAL', credentials: Buffer.from('dn:x') },
    }),
    searchRequest(3, {
      base: PEOPLE,
      scope: 2,
      filter: {
        and: [
          { eq: ['objectClass', 'inetOrgPerson'] },
          { or: [{ sub: ['cn', 'User'] }, { present: 'mail' }] },
        ],
      },
      attributes: ['cn', 'mail'],
      sizeLimit: 5,
    }),
    searchRequest(4, {
      base: PEOPLE,
      scope: 1,
      filter: { not: { eq: ['uid', 'nobody'] } },
      controls: [pagedControl(3)],
    }),
    encodeModifyRequest({
      messageId: 5,
      object: fuzz,
      changes: [
        { operation: 2, modification: { type: 'description', values: [Buffer.from('x')] } },
        { operation: 0, modification: { type: 'jpegPhoto', values: [Buffer.from([0, 0xff, 0x80])] } },
      ],
    }),
    encodeAddRequest({
      messageId: 6,
      entry: fuzz,
      attributes: [
        { type: 'objectClass', values: [Buffer.from('organizationalRole')] },
        { type: 'cn', values: [Buffer.from('x')] },
      ],
    }),
    primitive(7, ProtocolOp.delRequest, Buffer.from(fuzz)),
    compareRequest(8, `uid=user2,${PEOPLE}`, 'cn', 'User 2'),
    modDnRequest(9, fuzz, 'cn=y'),
    encodeExtendedRequest({ messageId: 10, requestName: Oid.whoAmI }),
    encodeExtendedRequest({
      messageId: 11,
      requestName: '1.3.6.1.4.1.99999.1',
      requestValue: Buffer.from([0x30, 0x03, 0x02, 0x01, 0xff]),
    }),
    primitive(12, ProtocolOp.abandonRequest, Buffer.from([0x05])),
  ];
}

/** The verify extended operation (issue 5), by OID, so this file does not depend on src/verify. */
const VERIFY_OID = '2.25.151240746369731152492527378165000953831.1';

/**
 * Requests that reach the verification interceptors: virtual binds (uid and serialNumber forms), the verify
 * extended operation with passphrase and CMC values, WhoAmI, and writes carrying a token value.
 */
export function verificationSeeds(tokenValue: Buffer, cmcRequest: Buffer): Buffer[] {
  const virtualBind = (id: number, name: string, password: string): Buffer =>
    encodeBindRequest({
      messageId: id,
      version: 3,
      name,
      authentication: { kind: 'simple', password: Buffer.from(password) },
    });
  const verifyValue = (subject: Buffer, proofTag: number, proof: Buffer): Buffer => {
    const w = new BerWriter(64);
    w.startSequence().writeRaw(subject).writeOctetString(proof, proofTag).endSequence();
    return w.toBuffer();
  };
  const ident = new BerWriter(16).writeOctetString('alice', 0x80).toBuffer();
  const serial = new BerWriter(16).writeInteger(4660, 0x81).toBuffer();
  return [
    virtualBind(21, 'uid=alice,cn=shared-token', 'not-the-passphrase'),
    virtualBind(22, 'serialNumber=4660,cn=shared-token', 'x'),
    virtualBind(23, 'uid=nobody,cn=shared-token', ''),
    encodeExtendedRequest({
      messageId: 24,
      requestName: VERIFY_OID,
      requestValue: verifyValue(ident, 0x82, Buffer.from('wrong')),
    }),
    encodeExtendedRequest({
      messageId: 25,
      requestName: VERIFY_OID,
      requestValue: verifyValue(serial, 0x83, cmcRequest),
    }),
    encodeExtendedRequest({
      messageId: 26,
      requestName: VERIFY_OID,
      requestValue: verifyValue(Buffer.alloc(0), 0x83, cmcRequest),
    }),
    encodeAddRequest({
      messageId: 27,
      entry: `uid=fuzz-token,ou=Fuzz,${SUFFIX}`,
      attributes: [
        { type: 'objectClass', values: [Buffer.from('inetOrgPerson'), Buffer.from('extensibleObject')] },
        { type: 'shrTok', values: [tokenValue] },
      ],
    }),
    encodeModifyRequest({
      messageId: 28,
      object: `uid=user1,${PEOPLE}`,
      changes: [{ operation: 2, modification: { type: 'shrTok;binary', values: [tokenValue] } }],
    }),
  ];
}

/** A simple bind that succeeds, as the verifier DN of the mutation run (uid=user1 / pass1). */
export function verifierBind(messageId = 1): Buffer {
  return encodeBindRequest({
    messageId,
    version: 3,
    name: `uid=user1,${PEOPLE}`,
    authentication: { kind: 'simple', password: Buffer.from('pass1') },
  });
}
