// Signature checks: the self-signed CMS SignedData (signer = the request's own key, named by its SKI) and the
// request's own proof of possession (PKCS#10 self-signature, CRMF POPOSigningKey).
import { constants, createHash, createPublicKey, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { children, expectTag, oidOf, readOnly, unsignedInteger } from './der.js';
import type { Tlv } from './der.js';
import { HASH_BY_OID, OID, SIGNATURE_BY_OID } from './oids.js';
import type { CertRequestView, CmcRequest, SignatureView } from './request.js';
import type { HashName } from './types.js';

/** Null when the SignedData is a valid self-signature over the PKIData and the request's own POP holds. */
export function signedDataProblem(req: CmcRequest, request: CertRequestView): string | null {
  const sd = req.signedData;
  if (!sd) return 'the request is not signed (ContentInfo id-data)';
  if (sd.signers.length !== 1) return `SignedData has ${sd.signers.length} SignerInfos, expected exactly one`;
  const signer = sd.signers[0]!;
  const ski = request.subjectKeyIdentifier;
  if (!ski) return 'the certificate request has no SubjectKeyIdentifier extension';
  const sid = signer.subjectKeyIdentifier;
  if (!sid) return 'SignerInfo sid is not a subjectKeyIdentifier';
  // Dogtag's CRMF path uses the DER OCTET STRING of the identifier (04 14 <SKI>) as the sid.
  const wrapped = ski.length < 0x80 ? Buffer.concat([Buffer.from([0x04, ski.length]), ski]) : null;
  if (!sid.equals(ski) && !(request.format === 'crmf' && wrapped && sid.equals(wrapped)))
    return "SignerInfo sid does not match the request's SubjectKeyIdentifier";
  const digest = HASH_BY_OID.get(signer.digestAlgorithm.oid);
  if (!digest) return `unsupported SignerInfo digest algorithm ${signer.digestAlgorithm.oid}`;
  if (!signer.signed) return 'SignerInfo has no signed attributes';
  if (signer.contentTypes.length !== 1 || signer.contentTypes[0] !== OID.pkiData)
    return 'signed contentType attribute is not exactly id-cct-PKIData';
  if (signer.messageDigests.length !== 1) return 'signed messageDigest attribute is missing or repeated';
  if (!createHash(digest).update(req.eContent).digest().equals(signer.messageDigests[0]!))
    return 'messageDigest does not match the PKIData';
  if (!request.publicKey) return 'the certificate request carries no public key';
  const key = publicKeyOf(request.publicKey);
  if (!key) return "the request's public key cannot be read";
  const bad = signatureProblem(signer.signed, key, digest);
  if (bad) return `SignedData signature: ${bad}`;
  return popProblem(request, key);
}

/** The request's own POP: PKCS#10 self-signature, or CRMF POPOSigningKey over DER(CertRequest). */
function popProblem(request: CertRequestView, key: KeyObject): string | null {
  if (request.popInputPresent) return 'POPOSigningKey with poposkInput is not supported';
  // A CRMF request without a signature POP is still bound to its key by the SignedData self-signature.
  if (!request.pop) return null;
  const bad = signatureProblem(request.pop, key, null);
  return bad
    ? `${request.format === 'pkcs10' ? 'PKCS#10 self-signature' : 'CRMF POPOSigningKey'}: ${bad}`
    : null;
}

function publicKeyOf(spki: Buffer): KeyObject | null {
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    return null;
  }
}

/** Verifies RSA PKCS#1 v1.5, RSASSA-PSS or ECDSA with SHA-256/384/512. `digestHint` serves bare rsaEncryption. */
export function signatureProblem(
  view: SignatureView,
  key: KeyObject,
  digestHint: HashName | null,
): string | null {
  const { oid } = view.algorithm;
  const keyType = key.asymmetricKeyType;
  let ok: boolean;
  try {
    const fixed = SIGNATURE_BY_OID.get(oid);
    if (fixed) {
      if (fixed.key === 'rsa' ? keyType !== 'rsa' : keyType !== 'ec')
        return `key type ${keyType} does not fit ${oid}`;
      ok = verify(fixed.hash, view.signedBytes, key, view.signature);
    } else if (oid === OID.rsaEncryption && digestHint) {
      if (keyType !== 'rsa') return `key type ${keyType} does not fit rsaEncryption`;
      ok = verify(digestHint, view.signedBytes, key, view.signature);
    } else if (oid === OID.rsaPss) {
      const pss = pssParams(view.algorithm.params);
      if (!pss) return 'unsupported RSASSA-PSS parameters';
      if (keyType !== 'rsa' && keyType !== 'rsa-pss') return `key type ${keyType} does not fit RSASSA-PSS`;
      ok = verify(
        pss.hash,
        view.signedBytes,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: pss.saltLength },
        view.signature,
      );
    } else return `unsupported signature algorithm ${oid}`;
  } catch {
    ok = false;
  }
  return ok ? null : 'signature does not verify';
}

/** RSASSA-PSS-params with an explicit SHA-2 hash, MGF1 over the same hash and trailerField 1. */
function pssParams(params: Buffer | null): { hash: HashName; saltLength: number } | null {
  if (!params) return null;
  try {
    let hash: HashName | undefined;
    let mgfHash: HashName | undefined;
    let saltLength = 20;
    for (const field of children(expectTag(readOnly(params, 'RSASSA-PSS-params'), 0x30, 'PSS params'))) {
      const inner = children(field)[0] as Tlv;
      if (field.tag === 0xa0) hash = HASH_BY_OID.get(oidOf(children(inner)[0], 'PSS hash'));
      else if (field.tag === 0xa1) {
        const [mgf, mgfParams] = children(inner);
        if (oidOf(mgf, 'PSS mgf') !== OID.mgf1) return null;
        mgfHash = HASH_BY_OID.get(oidOf(children(expectTag(mgfParams, 0x30, 'MGF1 hash'))[0], 'MGF1 hash'));
      } else if (field.tag === 0xa2) saltLength = Number(unsignedInteger(inner, 'PSS saltLength'));
      else if (field.tag === 0xa3) {
        if (unsignedInteger(inner, 'PSS trailerField') !== 1n) return null;
      } else return null;
    }
    return hash && mgfHash === hash && saltLength <= 1024 ? { hash, saltLength } : null;
  } catch {
    return null;
  }
}
