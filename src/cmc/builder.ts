// Builds CMC requests the way Dogtag's CMCRequest does (request.useSharedSecret=true), with knobs to break
// them on purpose. For tests and end-to-end clients; the proxy itself never builds requests.
import { createHash, createHmac, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AsnParser, OctetString } from '@peculiar/asn1-schema';
import { Attributes, CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import { Attribute as CsrAttribute, Extension, Extensions, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import {
  AttributeTypeAndValue,
  CertReqMsg,
  CertRequest,
  CertTemplate,
  POPOSigningKey,
  ProofOfPossession,
  ReqSequence,
  RevokeRequest,
  TaggedAttribute,
  TaggedCertificationRequest,
  TaggedRequest,
  WitnessV2,
} from './asn1.js';
import { ab, algorithm, der, envelope, keyIdentifier, nameFrom, signWith, tlv } from './builder-cms.js';
import type { SignerSpec } from './builder-cms.js';
import { HASH_OID, HMAC_OID, OID } from './oids.js';
import type { HashName } from './types.js';

export { nameFrom, keyIdentifier, oidTlv, tlv } from './builder-cms.js';
export type { SignerSpec } from './builder-cms.js';

/** Algorithms a witness names (any OID, so tests can name refused ones) and what it is computed with. */
export interface WitnessSpec {
  hashOid?: string;
  macOid?: string;
  /** Compute the witness with another secret / identification (tests of mismatches). */
  secret?: Buffer | string;
  identification?: string;
}

export interface EnrollmentSpec {
  format: 'pkcs10' | 'crmf';
  /** The request's private key (KeyObject or PEM). */
  key: KeyObject | string;
  secret: Buffer | string;
  /** id-cmc-identification; null omits the control. */
  identification: string | null;
  subject?: string;
  /** null omits identityProofV2. */
  identityProof?: WitnessSpec | null;
  /** Adds idPOPLinkRandom and a POPLinkWitnessV2 in the request. */
  popLink?: WitnessSpec | null;
  omitPopLinkRandom?: boolean;
  omitPopLinkWitness?: boolean;
  popLinkRandom?: Buffer;
  signatureHash?: HashName;
  /** RSASSA-PSS for the SignedData and the request's own POP. */
  pss?: boolean;
  /** sid form: plain SKI (default for PKCS#10) or Dogtag's DER-wrapped form (default for CRMF). */
  sid?: 'plain' | 'wrapped' | Buffer;
  /** Further controls (type, DER value), appended after the usual ones. */
  extraControls?: [string, Buffer][];
  /** SignedData signature named as bare rsaEncryption. */
  rsaEncryptionOid?: boolean;
  /** 'none' sends an unsigned ContentInfo id-data. */
  signedBy?: 'self' | 'none' | KeyObject;
  extraSigners?: SignerSpec[];
  /** false leaves the SubjectKeyIdentifier extension out of the request. */
  skiExtension?: boolean;
  /** Applied to DER(reqSequence) after the identityProofV2 was computed, before signing. */
  mutateReqSequence?: (reqSequence: Buffer) => Buffer;
  /** Applied to DER(PKIData) after the SignedData was signed. */
  mutatePkiData?: (pkiData: Buffer) => Buffer;
}

export interface BuiltRequest {
  der: Buffer;
  base64: string;
  pkiData: Buffer;
  reqSequence: Buffer;
  subjectKeyIdentifier: Buffer;
}

const NODE_HASH: Record<string, string> = { [OID.sha1]: 'sha1', [OID.hmacSha1]: 'sha1' };
for (const h of ['sha256', 'sha384', 'sha512'] as const) {
  NODE_HASH[HASH_OID[h]] = h;
  NODE_HASH[HMAC_OID[h]] = h;
}

const utf8 = (s: Buffer | string): Buffer => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s);

/** HMAC_mac(HASH_hash(secret || identification), data); unknown OIDs fall back to SHA-256 (tests of *_alg). */
export function computeWitness(
  hashOid: string,
  macOid: string,
  secret: Buffer,
  ident: string,
  data: Buffer,
): Buffer {
  const k = createHash(NODE_HASH[hashOid] ?? 'sha256')
    .update(secret)
    .update(ident, 'utf8')
    .digest();
  return createHmac(NODE_HASH[macOid] ?? 'sha256', k)
    .update(data)
    .digest();
}

function witnessDer(spec: WitnessSpec, secret: Buffer, ident: string, data: Buffer): Buffer {
  const hashOid = spec.hashOid ?? OID.sha256;
  const macOid = spec.macOid ?? OID.hmacSha256;
  const witness = computeWitness(
    hashOid,
    macOid,
    utf8(spec.secret ?? secret),
    spec.identification ?? ident,
    data,
  );
  return der(
    new WitnessV2({
      hashAlgorithm: algorithm(hashOid),
      macAlgorithm: algorithm(macOid),
      witness: ab(witness),
    }),
  );
}

function skiExtension(ski: Buffer): Extension {
  return new Extension({
    extnID: OID.subjectKeyIdentifier,
    critical: false,
    extnValue: new OctetString(ab(tlv(0x04, ski))),
  });
}

export function buildEnrollmentRequest(spec: EnrollmentSpec): BuiltRequest {
  const key = typeof spec.key === 'string' ? createPrivateKey(spec.key) : spec.key;
  const pub = createPublicKey(key);
  const ski = keyIdentifier(pub);
  const spki = AsnParser.parse(pub.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
  const secret = utf8(spec.secret);
  const ident = spec.identification ?? '';
  const hash = spec.signatureHash ?? 'sha256';
  const subject = nameFrom(spec.subject ?? `CN=${ident || 'nobody'},O=Example`);
  const random = spec.popLinkRandom ?? randomBytes(64);
  const popWitness =
    spec.popLink && !spec.omitPopLinkWitness ? witnessDer(spec.popLink, secret, ident, random) : null;
  const extensions = spec.skiExtension === false ? [] : [skiExtension(ski)];

  let tagged: TaggedRequest;
  if (spec.format === 'pkcs10') {
    const attributes = [];
    if (extensions.length)
      attributes.push(
        new CsrAttribute({ type: OID.extensionRequest, values: [ab(der(new Extensions(extensions)))] }),
      );
    if (popWitness)
      attributes.push(new CsrAttribute({ type: OID.popLinkWitnessV2, values: [ab(popWitness)] }));
    const cri = new CertificationRequestInfo({
      version: 0,
      subject,
      subjectPKInfo: spki,
      attributes: new Attributes(attributes),
    });
    const signed = signWith(key, hash, der(cri), spec.pss);
    const csr = new CertificationRequest({
      certificationRequestInfo: cri,
      signatureAlgorithm: signed.algorithm,
      signature: ab(signed.signature),
    });
    tagged = new TaggedRequest({
      tcr: new TaggedCertificationRequest({ bodyPartID: 1, certificationRequest: csr }),
    });
  } else {
    const controls = popWitness
      ? [new AttributeTypeAndValue({ type: OID.popLinkWitnessV2, value: ab(popWitness) })]
      : undefined;
    const certReq = new CertRequest({
      certReqId: 1n,
      certTemplate: new CertTemplate({
        subject,
        publicKey: spki,
        ...(extensions.length ? { extensions } : {}),
      }),
      ...(controls ? { controls } : {}),
    });
    const signed = signWith(key, hash, der(certReq), spec.pss);
    const popo = new POPOSigningKey({
      algorithmIdentifier: signed.algorithm,
      signature: ab(signed.signature),
    });
    tagged = new TaggedRequest({
      crm: new CertReqMsg({ certReq, popo: new ProofOfPossession({ signature: popo }) }),
    });
  }

  const reqSequence = der(new ReqSequence([tagged]));
  const controls: TaggedAttribute[] = [];
  const control = (bodyPartID: number, attrType: string, value: Buffer): void => {
    controls.push(new TaggedAttribute({ bodyPartID, attrType, attrValues: [ab(value)] }));
  };
  if (spec.popLink && !spec.omitPopLinkRandom) control(1, OID.popLinkRandom, tlv(0x04, random));
  if (spec.identification !== null) control(2, OID.identification, tlv(0x0c, Buffer.from(ident, 'utf8')));
  if (spec.identityProof !== null)
    control(3, OID.identityProofV2, witnessDer(spec.identityProof ?? {}, secret, ident, reqSequence));
  for (const [type, value] of spec.extraControls ?? []) control(4 + controls.length, type, value);

  const sentReqSequence = spec.mutateReqSequence ? spec.mutateReqSequence(reqSequence) : reqSequence;
  const pkiData = tlv(0x30, tlv(0x30, ...controls.map((c) => der(c))), sentReqSequence, tlv(0x30), tlv(0x30));
  const sidForm = spec.sid ?? (spec.format === 'crmf' ? 'wrapped' : 'plain');
  const sid = Buffer.isBuffer(sidForm) ? sidForm : sidForm === 'wrapped' ? tlv(0x04, ski) : ski;
  const signedBy = spec.signedBy ?? 'self';
  const sent = spec.mutatePkiData ? spec.mutatePkiData(pkiData) : pkiData;
  const digest = createHash(hash).update(pkiData).digest();
  const signers: SignerSpec[] | null =
    signedBy === 'none'
      ? null
      : [
          {
            key: signedBy === 'self' ? key : signedBy,
            sid,
            hash,
            messageDigest: digest,
            pss: spec.pss ?? false,
          },
          ...(spec.extraSigners ?? []),
        ];
  const out = envelope(sent, signers);
  return {
    der: out,
    base64: out.toString('base64'),
    pkiData: sent,
    reqSequence: sentReqSequence,
    subjectKeyIdentifier: ski,
  };
}

export interface RevocationSpec {
  /** RFC 4514 form, most specific RDN first. */
  issuer: string;
  serial: bigint;
  reason?: number;
  /** null leaves the passphrase out. */
  passphrase: Buffer | string | null;
  comment?: string;
  invalidityDate?: Date;
  /** Unsigned id-data (CMCRequest revRequest.sharedSecret) by default; a signer makes it SignedData. */
  signer?: SignerSpec;
}

export function buildRevocationRequest(spec: RevocationSpec): BuiltRequest {
  const rr = new RevokeRequest({
    issuerName: nameFrom(spec.issuer),
    serialNumber: spec.serial,
    reason: spec.reason ?? 0,
    ...(spec.invalidityDate ? { invalidityDate: spec.invalidityDate } : {}),
    ...(spec.passphrase !== null ? { passphrase: ab(utf8(spec.passphrase)) } : {}),
    ...(spec.comment !== undefined ? { comment: spec.comment } : {}),
  });
  const control = new TaggedAttribute({
    bodyPartID: 1,
    attrType: OID.revokeRequest,
    attrValues: [ab(der(rr))],
  });
  const pkiData = tlv(0x30, tlv(0x30, der(control)), tlv(0x30), tlv(0x30), tlv(0x30));
  const out = envelope(pkiData, spec.signer ? [spec.signer] : null);
  return {
    der: out,
    base64: out.toString('base64'),
    pkiData,
    reqSequence: tlv(0x30),
    subjectKeyIdentifier: Buffer.alloc(0),
  };
}
