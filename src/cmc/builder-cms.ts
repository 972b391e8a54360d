// CMS envelope and Name helpers for the request builder (tests and end-to-end clients, not the proxy path).
import { constants, createHash, createPublicKey, sign as cryptoSign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  Attribute,
  ContentInfo,
  EncapsulatedContent,
  EncapsulatedContentInfo,
  SignedData,
  SignerIdentifier,
  SignerInfo,
  SignerInfos,
  DigestAlgorithmIdentifiers,
  CertificateSet,
} from '@peculiar/asn1-cms';
import { AsnSerializer, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { OID, SIGNATURE_OID } from './oids.js';
import type { HashName } from './types.js';

export const der = (value: unknown): Buffer => Buffer.from(AsnSerializer.serialize(value));
export const ab = (b: Buffer): ArrayBuffer =>
  b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;

/** DER TLV with a definite minimal length. */
export function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const value = Buffer.concat(parts);
  const n = value.length;
  const len =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : n < 0x10000
          ? Buffer.from([0x82, n >> 8, n & 0xff])
          : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, value]);
}

export function algorithm(oid: string, nullParams = false): AlgorithmIdentifier {
  return new AlgorithmIdentifier({ algorithm: oid, ...(nullParams ? { parameters: null } : {}) });
}

const NAME_TYPES: Record<string, string> = {
  CN: '2.5.4.3',
  OU: '2.5.4.11',
  O: '2.5.4.10',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  DC: '0.9.2342.19200300.100.1.25',
  UID: '0.9.2342.19200300.100.1.1',
};

/** A Name from a simple RFC 4514 string (most specific first, no escaped commas), UTF8String values. */
export function nameFrom(dn: string): Name {
  const rdns = dn
    .split(',')
    .filter((s) => s.length > 0)
    .map((part) => {
      const eq = part.indexOf('=');
      const type = NAME_TYPES[part.slice(0, eq).trim().toUpperCase()] ?? part.slice(0, eq).trim();
      const value = new AttributeValue({ utf8String: part.slice(eq + 1) });
      return new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value })]);
    });
  return new Name(rdns.reverse());
}

/** RFC 5280 method 1 key identifier: SHA-1 of the subjectPublicKey bits (an identifier, not a security use). */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  const pub = publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey;
  const spki = pub.export({ type: 'spki', format: 'der' });
  return createHash('sha1').update(spki).digest();
}

const ECDSA_OID: Record<HashName, string> = {
  sha256: OID.ecdsaWithSha256,
  sha384: OID.ecdsaWithSha384,
  sha512: OID.ecdsaWithSha512,
};

/** Signs with RSA PKCS#1 v1.5 (or RSASSA-PSS, salt = hash length) or ECDSA, naming the algorithm to match. */
export function signWith(
  key: KeyObject,
  hash: HashName,
  data: Buffer,
  pss = false,
): { algorithm: AlgorithmIdentifier; signature: Buffer } {
  if (key.asymmetricKeyType === 'ec')
    return { algorithm: algorithm(ECDSA_OID[hash]), signature: cryptoSign(hash, data, key) };
  if (!pss)
    return { algorithm: algorithm(SIGNATURE_OID[hash], true), signature: cryptoSign(hash, data, key) };
  const saltLength = createHash(hash).digest().length;
  const hashAlg = tlv(0x30, oidTlv(OID[hash]), tlv(0x05));
  const params = tlv(
    0x30,
    tlv(0xa0, hashAlg),
    tlv(0xa1, tlv(0x30, oidTlv(OID.mgf1), hashAlg)),
    tlv(0xa2, tlv(0x02, Buffer.from([saltLength]))),
  );
  return {
    algorithm: new AlgorithmIdentifier({ algorithm: OID.rsaPss, parameters: ab(params) }),
    signature: cryptoSign(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }),
  };
}

export interface SignerSpec {
  key: KeyObject;
  /** The sid bytes (plain SKI, or Dogtag's wrapped 04 14 <SKI> form). */
  sid: Buffer;
  hash?: HashName;
  /** Override the signed messageDigest (tests). */
  messageDigest?: Buffer;
  /** Override the signed contentType (tests). */
  contentType?: string;
  /** RSASSA-PSS instead of PKCS#1 v1.5. */
  pss?: boolean;
  /** Name the signature algorithm as bare rsaEncryption (hash from digestAlgorithm), as some CMS signers do. */
  rsaEncryptionOid?: boolean;
}

function signerInfo(spec: SignerSpec, eContent: Buffer): SignerInfo {
  const hash = spec.hash ?? 'sha256';
  const digest = spec.messageDigest ?? createHash(hash).update(eContent).digest();
  const attrs = [
    new Attribute({ attrType: OID.contentType, attrValues: [ab(oidTlv(spec.contentType ?? OID.pkiData))] }),
    new Attribute({ attrType: OID.messageDigest, attrValues: [ab(tlv(0x04, digest))] }),
  ]
    .map((a) => ({ a, bytes: der(a) }))
    .sort((x, y) => Buffer.compare(x.bytes, y.bytes)); // DER SET OF order
  const signedSet = tlv(0x31, ...attrs.map((x) => x.bytes));
  const signed = signWith(spec.key, hash, signedSet, spec.pss);
  return new SignerInfo({
    version: 3,
    sid: new SignerIdentifier({ subjectKeyIdentifier: new SubjectKeyIdentifier(ab(spec.sid)) }),
    digestAlgorithm: algorithm(OID[hash], true),
    signedAttrs: attrs.map((x) => x.a),
    signatureAlgorithm: spec.rsaEncryptionOid ? algorithm(OID.rsaEncryption, true) : signed.algorithm,
    signature: new OctetString(ab(signed.signature)),
  });
}

/** DER OBJECT IDENTIFIER from dotted form. */
export function oidTlv(oid: string): Buffer {
  const arcs = oid.split('.').map(BigInt);
  const out: number[] = [];
  const push = (n: bigint): void => {
    const bytes = [Number(n & 0x7fn)];
    for (let v = n >> 7n; v > 0n; v >>= 7n) bytes.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...bytes);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return tlv(0x06, Buffer.from(out));
}

/** ContentInfo{id-signedData, SignedData} over DER(PKIData), in CMCRequest's layout; or id-data when unsigned. */
export function envelope(pkiData: Buffer, signers: SignerSpec[] | null): Buffer {
  if (!signers) {
    return der(new ContentInfo({ contentType: OID.data, content: ab(tlv(0x04, pkiData)) }));
  }
  const hashes = [...new Set(signers.map((s) => s.hash ?? 'sha256'))];
  const sd = new SignedData({
    version: 3,
    digestAlgorithms: new DigestAlgorithmIdentifiers(hashes.map((h) => algorithm(OID[h], true))),
    encapContentInfo: new EncapsulatedContentInfo({
      eContentType: OID.pkiData,
      eContent: new EncapsulatedContent({ single: new OctetString(ab(pkiData)) }),
    }),
    certificates: new CertificateSet([]),
    signerInfos: new SignerInfos(signers.map((s) => signerInfo(s, pkiData))),
  });
  return der(new ContentInfo({ contentType: OID.signedData, content: ab(der(sd)) }));
}
