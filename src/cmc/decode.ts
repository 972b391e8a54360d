// Bounded decoding of a CMC Full PKI Request (DER or base64) into a CmcRequest. Throws only CmcParseError.
// A strict DER walk (der.ts) bounds size and nesting, checks the CMS envelope and yields exact byte slices;
// the @peculiar/asn1-schema declarations (asn1.ts) check the PKIData structure and give the typed values.
// (Parsing the CMS envelope with asn1-cms as well tripled the decode time and added nothing.)
import { AsnParser } from '@peculiar/asn1-schema';
import { PKIData, RevokeRequest, WitnessV2 } from './asn1.js';
import { children, expectTag, oidOf, readOnly, unsignedInteger, validateDer } from './der.js';
import type { Tlv } from './der.js';
import { CmcParseError } from './errors.js';
import { nameToRfc4514 } from './names.js';
import { OID } from './oids.js';
import type {
  AlgorithmView,
  CertRequestView,
  CmcRequest,
  RevocationView,
  SignatureView,
  SignedEnvelope,
  SignerView,
  WitnessV2View,
} from './request.js';

export const CMC_LIMITS = {
  /** Raw input (base64 text included). */
  maxInputBytes: 256 * 1024,
  maxDerBytes: 128 * 1024,
  maxDepth: 32,
  maxNodes: 4096,
} as const;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const BER_OPTIONS = { maxDepth: CMC_LIMITS.maxDepth + 4, maxNodes: CMC_LIMITS.maxNodes + 16 };

/** Decodes a CMC request; DER or base64 text (optionally PEM-armoured) is detected. */
export function decodeCmcRequest(input: Buffer): CmcRequest {
  let stage = 'request';
  try {
    const der = toDer(input);
    stage = 'ContentInfo';
    const root = expectTag(validateDer(der, CMC_LIMITS), 0x30, 'ContentInfo');
    const [typeTlv, contentTlv, extra] = children(root);
    if (extra) throw new CmcParseError('ContentInfo: unexpected extra element');
    const contentType = oidOf(typeTlv, 'ContentInfo contentType');
    const explicit = children(expectTag(contentTlv, 0xa0, 'ContentInfo content'));
    if (explicit.length !== 1) throw new CmcParseError('ContentInfo content: expected one element');
    const inner = explicit[0] as Tlv;

    let signedData: SignedEnvelope | null = null;
    let eContent: Buffer;
    if (contentType === OID.data) {
      eContent = expectTag(inner, 0x04, 'id-data content').value;
    } else if (contentType === OID.signedData) {
      stage = 'SignedData';
      ({ signedData, eContent } = decodeSignedData(inner));
    } else {
      throw new CmcParseError(`ContentInfo: unsupported content type ${contentType}`);
    }
    stage = 'PKIData';
    return decodePkiData(der, signedData, eContent);
  } catch (e) {
    if (e instanceof CmcParseError) throw e;
    // Foreign parser messages are not passed on: they are not ours to vouch for in logs.
    throw new CmcParseError(`${stage} does not match its ASN.1 definition`);
  }
}

function toDer(input: Buffer): Buffer {
  if (input.length === 0) throw new CmcParseError('empty request');
  if (input.length > CMC_LIMITS.maxInputBytes)
    throw new CmcParseError(`request larger than ${CMC_LIMITS.maxInputBytes} bytes`);
  let der = input;
  if (input[0] !== 0x30) {
    const text = input
      .toString('latin1')
      .replace(/-----(BEGIN|END) [A-Z0-9 #]+-----/g, '')
      .replace(/[ \t\r\n]/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0 || text.length === 0)
      throw new CmcParseError('request is neither DER nor base64');
    der = Buffer.from(text, 'base64');
  }
  if (der.length > CMC_LIMITS.maxDerBytes)
    throw new CmcParseError(`DER larger than ${CMC_LIMITS.maxDerBytes} bytes`);
  return der;
}

function algorithmOf(tlv: Tlv | undefined, what: string): AlgorithmView {
  const [oid, params, extra] = children(expectTag(tlv, 0x30, what));
  if (extra) throw new CmcParseError(`${what}: unexpected extra element`);
  return { oid: oidOf(oid, what), params: params ? params.raw : null };
}

function bitStringBytes(tlv: Tlv | undefined, what: string): Buffer {
  const v = expectTag(tlv, 0x03, what).value;
  if (v.length === 0 || v[0] !== 0) throw new CmcParseError(`${what}: BIT STRING with unused bits`);
  return v.subarray(1);
}

function decodeSignedData(sd: Tlv): { signedData: SignedEnvelope; eContent: Buffer } {
  const parts = children(expectTag(sd, 0x30, 'SignedData'));
  unsignedInteger(parts[0], 'SignedData version');
  children(expectTag(parts[1], 0x31, 'digestAlgorithms')).forEach((a) => algorithmOf(a, 'digestAlgorithm'));
  const optional = parts
    .slice(3, -1)
    .map((p) => p.tag.toString(16))
    .join(',');
  if (parts.length < 4 || !['', 'a0', 'a1', 'a0,a1'].includes(optional))
    throw new CmcParseError('SignedData: unexpected elements before signerInfos');
  const encap = children(expectTag(parts[2], 0x30, 'encapContentInfo'));
  const eContentType = oidOf(encap[0], 'eContentType');
  if (eContentType !== OID.pkiData)
    throw new CmcParseError(`SignedData carries ${eContentType}, not PKIData`);
  const wrapper = children(expectTag(encap[1], 0xa0, 'eContent'));
  if (wrapper.length !== 1) throw new CmcParseError('eContent: expected one OCTET STRING');
  const eContent = expectTag(wrapper[0], 0x04, 'eContent').value;
  const signerInfos = expectTag(parts[parts.length - 1], 0x31, 'signerInfos');
  const signers = children(signerInfos).map(decodeSigner);
  return { signedData: { eContentType, signers }, eContent };
}

function decodeSigner(si: Tlv): SignerView {
  const parts = children(expectTag(si, 0x30, 'SignerInfo'));
  let i = 1;
  const sid = parts[i++];
  const subjectKeyIdentifier = sid?.tag === 0x80 ? sid.value : null;
  if (sid?.tag !== 0x80 && sid?.tag !== 0x30) throw new CmcParseError('SignerInfo: bad sid');
  const digestAlgorithm = algorithmOf(parts[i++], 'SignerInfo digestAlgorithm');
  const attrs = parts[i]?.tag === 0xa0 ? (parts[i++] as Tlv) : null;
  const algorithm = algorithmOf(parts[i++], 'SignerInfo signatureAlgorithm');
  const signature = expectTag(parts[i++], 0x04, 'SignerInfo signature').value;
  unsignedInteger(parts[0], 'SignerInfo version');
  const rest = parts.slice(i);
  if (rest.length > 1 || (rest[0] && rest[0].tag !== 0xa1))
    throw new CmcParseError('SignerInfo: unexpected elements');
  const contentTypes: string[] = [];
  const messageDigests: Buffer[] = [];
  let signed: SignatureView | null = null;
  if (attrs) {
    for (const attr of children(attrs)) {
      const [type, values] = children(expectTag(attr, 0x30, 'signed attribute'));
      const oid = oidOf(type, 'signed attribute type');
      const vals = children(expectTag(values, 0x31, 'signed attribute values'));
      if (oid === OID.contentType) contentTypes.push(...vals.map((v) => oidOf(v, 'contentType')));
      if (oid === OID.messageDigest)
        messageDigests.push(...vals.map((v) => expectTag(v, 0x04, 'messageDigest').value));
    }
    const setOf = Buffer.from(attrs.raw);
    setOf[0] = 0x31; // the signature covers the attributes with their universal SET tag (RFC 5652 §5.4)
    signed = { signedBytes: setOf, algorithm, signature };
  }
  return { subjectKeyIdentifier, digestAlgorithm, contentTypes, messageDigests, signed };
}

function decodePkiData(der: Buffer, signedData: SignedEnvelope | null, eContent: Buffer): CmcRequest {
  const root = expectTag(validateDer(eContent, CMC_LIMITS), 0x30, 'PKIData');
  const pki = AsnParser.parse(eContent, PKIData, { berOptions: BER_OPTIONS });
  const seqs = children(root);
  if (seqs.length !== 4) throw new CmcParseError('PKIData: expected four sequences');
  const reqSeq = expectTag(seqs[1], 0x30, 'reqSequence');

  const single = (oid: string): Buffer[] => {
    const found = pki.controlSequence.filter((c) => c.attrType === oid);
    if (found.length > 1) throw new CmcParseError(`control ${oid} appears more than once`);
    const values = found[0]?.attrValues ?? [];
    if (found.length === 1 && values.length !== 1)
      throw new CmcParseError(`control ${oid}: expected one value`);
    return values.map((v) => Buffer.from(v));
  };

  const [identValue] = single(OID.identification);
  let identification: string | null = null;
  if (identValue) {
    const t = expectTag(readOnly(identValue, 'identification'), 0x0c, 'identification UTF8String');
    try {
      identification = utf8.decode(t.value);
    } catch {
      throw new CmcParseError('identification is not valid UTF-8');
    }
  }
  const [proofValue] = single(OID.identityProofV2);
  const [randomValue] = single(OID.popLinkRandom);
  const [revokeValue] = single(OID.revokeRequest);
  const revocation = revokeValue ? decodeRevokeRequest(revokeValue) : null;

  const requests: CertRequestView[] = [];
  let otherRequests = 0;
  for (const tagged of children(reqSeq)) {
    if (tagged.tag === 0xa0) requests.push(decodePkcs10(tagged));
    else if (tagged.tag === 0xa1) requests.push(decodeCrmf(tagged));
    else if (tagged.tag === 0xa2) otherRequests++;
    else throw new CmcParseError('reqSequence: unknown TaggedRequest choice');
  }

  return {
    kind: revocation ? 'revocation' : 'enrollment',
    der,
    signedData,
    eContent,
    reqSequence: reqSeq.raw,
    requests,
    otherRequests,
    identification,
    identityProofV2: proofValue ? decodeWitness(proofValue, 'identityProofV2') : null,
    identityProofV1: pki.controlSequence.some((c) => c.attrType === OID.identityProof),
    popLinkRandom: randomValue
      ? expectTag(readOnly(randomValue, 'popLinkRandom'), 0x04, 'popLinkRandom').value
      : null,
    revocation,
    ...(revocation ? { serial: revocation.serial, issuer: revocation.issuer } : {}),
  };
}

function decodeWitness(value: Buffer, what: string): WitnessV2View {
  expectTag(readOnly(value, what), 0x30, what);
  const w = AsnParser.parse(value, WitnessV2, { berOptions: BER_OPTIONS });
  return {
    hashOid: w.hashAlgorithm.algorithm,
    macOid: w.macAlgorithm.algorithm,
    witness: Buffer.from(w.witness),
  };
}

function decodeRevokeRequest(value: Buffer): RevocationView {
  const tlv = expectTag(readOnly(value, 'RevokeRequest'), 0x30, 'RevokeRequest');
  const rr = AsnParser.parse(value, RevokeRequest, { berOptions: BER_OPTIONS });
  const [issuerTlv, serialTlv] = children(tlv);
  return {
    serial: unsignedInteger(serialTlv, 'RevokeRequest serialNumber').toString(10),
    issuer: nameToRfc4514(expectTag(issuerTlv, 0x30, 'RevokeRequest issuerName').raw),
    reason: rr.reason,
    invalidityDate: rr.invalidityDate ?? null,
    passphrase: rr.passphrase === undefined ? null : Buffer.from(rr.passphrase),
    comment: rr.comment ?? null,
  };
}

/** keyIdentifier from a SubjectKeyIdentifier extension (extnValue = DER OCTET STRING). */
function extensionsSki(extensions: Tlv[]): Buffer | null {
  let ski: Buffer | null = null;
  for (const ext of extensions) {
    const parts = children(expectTag(ext, 0x30, 'Extension'));
    if (oidOf(parts[0], 'extnID') !== OID.subjectKeyIdentifier) continue;
    if (ski) throw new CmcParseError('SubjectKeyIdentifier extension appears twice');
    const extnValue = expectTag(parts[parts.length - 1], 0x04, 'extnValue').value;
    ski = expectTag(readOnly(extnValue, 'SubjectKeyIdentifier'), 0x04, 'SubjectKeyIdentifier').value;
  }
  return ski;
}

function decodePkcs10(tagged: Tlv): CertRequestView {
  const [bodyPartId, csr, extra] = children(tagged);
  if (extra) throw new CmcParseError('TaggedCertificationRequest: unexpected extra element');
  const id = unsignedInteger(bodyPartId, 'bodyPartID').toString(10);
  const [cri, sigAlg, sig] = children(expectTag(csr, 0x30, 'CertificationRequest'));
  const criTlv = expectTag(cri, 0x30, 'CertificationRequestInfo');
  const criParts = children(criTlv);
  const publicKey = expectTag(criParts[2], 0x30, 'subjectPKInfo').raw;
  let subjectKeyIdentifier: Buffer | null = null;
  let popLinkWitness: WitnessV2View | null = null;
  for (const attr of criParts[3] ? children(expectTag(criParts[3], 0xa0, 'attributes')) : []) {
    const [type, values] = children(expectTag(attr, 0x30, 'Attribute'));
    const oid = oidOf(type, 'attribute type');
    const vals = children(expectTag(values, 0x31, 'attribute values'));
    if (oid === OID.extensionRequest || oid === OID.popLinkWitnessV2) {
      if (vals.length !== 1) throw new CmcParseError(`attribute ${oid}: expected one value`);
      const v = vals[0] as Tlv;
      if (oid === OID.popLinkWitnessV2) {
        if (popLinkWitness) throw new CmcParseError('POPLinkWitnessV2 attribute appears twice');
        popLinkWitness = decodeWitness(v.raw, 'POPLinkWitnessV2');
      } else {
        if (subjectKeyIdentifier) throw new CmcParseError('extensionRequest appears twice');
        subjectKeyIdentifier = extensionsSki(children(expectTag(v, 0x30, 'Extensions')));
      }
    }
  }
  const pop: SignatureView = {
    signedBytes: criTlv.raw,
    algorithm: algorithmOf(sigAlg, 'CSR signatureAlgorithm'),
    signature: bitStringBytes(sig, 'CSR signature'),
  };
  return {
    format: 'pkcs10',
    id,
    publicKey,
    subjectKeyIdentifier,
    popLinkWitness,
    pop,
    popInputPresent: false,
  };
}

function decodeCrmf(tagged: Tlv): CertRequestView {
  const msg = children(tagged);
  const certReq = expectTag(msg[0], 0x30, 'CertRequest');
  const [reqId, template, controls] = children(certReq);
  const id = unsignedInteger(reqId, 'certReqId').toString(10);
  let publicKey: Buffer | null = null;
  let subjectKeyIdentifier: Buffer | null = null;
  for (const field of children(expectTag(template, 0x30, 'CertTemplate'))) {
    if (field.tag === 0xa6) {
      const spki = Buffer.from(field.raw);
      spki[0] = 0x30; // [6] IMPLICIT SubjectPublicKeyInfo
      publicKey = spki;
    } else if (field.tag === 0xa9) subjectKeyIdentifier = extensionsSki(children(field));
  }
  let popLinkWitness: WitnessV2View | null = null;
  for (const atv of controls ? children(expectTag(controls, 0x30, 'Controls')) : []) {
    const [type, value] = children(expectTag(atv, 0x30, 'control'));
    if (oidOf(type, 'control type') !== OID.popLinkWitnessV2) continue;
    if (popLinkWitness) throw new CmcParseError('POPLinkWitnessV2 control appears twice');
    if (!value) throw new CmcParseError('POPLinkWitnessV2 control has no value');
    popLinkWitness = decodeWitness(value.raw, 'POPLinkWitnessV2');
  }
  let pop: SignatureView | null = null;
  let popInputPresent = false;
  const popo = msg[1];
  if (popo?.tag === 0xa1) {
    const parts = children(popo);
    if (parts[0]?.tag === 0xa0) popInputPresent = true;
    const rest = popInputPresent ? parts.slice(1) : parts;
    pop = {
      signedBytes: certReq.raw,
      algorithm: algorithmOf(rest[0], 'POPOSigningKey algorithm'),
      signature: bitStringBytes(rest[1], 'POPOSigningKey signature'),
    };
  }
  return { format: 'crmf', id, publicKey, subjectKeyIdentifier, popLinkWitness, pop, popInputPresent };
}
