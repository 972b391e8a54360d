// A self-signed certificate for an issuance-protection key, signed by whoever holds the key (token or PEM).
import { createHash, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';

const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const COMMON_NAME = '2.5.4.3';

export interface SelfSignedOptions {
  commonName: string;
  publicKey: KeyObject;
  /** RSASSA-PKCS1-v1_5 with SHA-256 over the given bytes. */
  sign: (tbs: Buffer) => Promise<Buffer>;
  days?: number;
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function extension(id: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** Returns the certificate DER and its subject Name DER (CKA_SUBJECT). */
export async function buildSelfSignedCert(
  opts: SelfSignedOptions,
): Promise<{ der: Buffer; subject: Buffer }> {
  const spkiDer = opts.publicKey.export({ type: 'spki', format: 'der' });
  const spki = AsnConvert.parse(spkiDer, SubjectPublicKeyInfo);
  const name = new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({
        type: COMMON_NAME,
        value: new AttributeValue({ utf8String: opts.commonName }),
      }),
    ]),
  ]);
  const serial = randomBytes(16);
  // Positive, and minimal in DER: a first octet of 0x00 followed by one below 0x80 is padding that
  // OpenSSL refuses ("illegal padding"), which clearing only the sign bit produced once in 256 serials.
  serial[0] = ((serial[0] as number) & 0x3f) | 0x40;
  const now = new Date();
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + (opts.days ?? 3650) * 86_400_000);
  const ski = createHash('sha1').update(Buffer.from(spki.subjectPublicKey)).digest();
  const algorithm = new AlgorithmIdentifier({ algorithm: SHA256_WITH_RSA, parameters: null });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: toArrayBuffer(serial),
    signature: algorithm,
    issuer: name,
    validity: new Validity({ notBefore, notAfter }),
    subject: name,
    subjectPublicKeyInfo: spki,
    extensions: new Extensions([
      extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
      extension(
        id_ce_keyUsage,
        true,
        new KeyUsage(KeyUsageFlags.keyEncipherment | KeyUsageFlags.digitalSignature),
      ),
      extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(toArrayBuffer(ski))),
    ]),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = await opts.sign(tbsDer);
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: algorithm,
    signatureValue: toArrayBuffer(signature),
  });
  return { der: Buffer.from(AsnConvert.serialize(cert)), subject: Buffer.from(AsnConvert.serialize(name)) };
}

export function certificatePem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
}
