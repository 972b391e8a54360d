// The decoded view of a CMC request: typed values plus the raw DER slices the checks cover.

/** IdentityProofV2 or PopLinkWitnessV2: algorithm OIDs (parameters ignored, as JSS does) and the witness. */
export interface WitnessV2View {
  hashOid: string;
  macOid: string;
  witness: Buffer;
}

export interface AlgorithmView {
  oid: string;
  /** DER of the parameters, null when absent. */
  params: Buffer | null;
}

/** A signature over exact bytes: CMS signed attributes, a PKCS#10 CertificationRequestInfo, or a CRMF CertRequest. */
export interface SignatureView {
  signedBytes: Buffer;
  algorithm: AlgorithmView;
  signature: Buffer;
}

export interface SignerView {
  /** subjectKeyIdentifier sid bytes; null when the sid is issuerAndSerialNumber. */
  subjectKeyIdentifier: Buffer | null;
  digestAlgorithm: AlgorithmView;
  /** Values of the contentType / messageDigest signed attributes (each should hold exactly one). */
  contentTypes: string[];
  messageDigests: Buffer[];
  /** Null when the SignerInfo has no signedAttrs. signedBytes is the SET OF Attribute (tag 0x31). */
  signed: SignatureView | null;
}

export interface SignedEnvelope {
  eContentType: string;
  signers: SignerView[];
}

export interface CertRequestView {
  format: 'pkcs10' | 'crmf';
  /** bodyPartID (PKCS#10) or certReqId (CRMF), decimal. */
  id: string;
  /** DER SubjectPublicKeyInfo (tag 0x30); null when a CRMF template carries no public key. */
  publicKey: Buffer | null;
  /** keyIdentifier of the SubjectKeyIdentifier extension; null when absent. */
  subjectKeyIdentifier: Buffer | null;
  popLinkWitness: WitnessV2View | null;
  /** PKCS#10 self-signature or CRMF POPOSigningKey; null when a CRMF request has no signature POP. */
  pop: SignatureView | null;
  /** CRMF POPOSigningKey with poposkInput (signature not over the CertRequest): not supported. */
  popInputPresent: boolean;
}

export interface RevocationView {
  serial: string;
  issuer: string;
  reason: number;
  invalidityDate: Date | null;
  /** Null when absent. */
  passphrase: Buffer | null;
  comment: string | null;
}

export interface CmcRequest {
  kind: 'enrollment' | 'revocation';
  /** The whole ContentInfo DER. */
  der: Buffer;
  /** Null for an unsigned ContentInfo id-data. */
  signedData: SignedEnvelope | null;
  /** The DER PKIData, exactly as carried in the eContent / id-data OCTET STRING. */
  eContent: Buffer;
  /** The reqSequence TLV exactly as received: the identityProofV2 MAC input. */
  reqSequence: Buffer;
  requests: CertRequestView[];
  /** Count of otherRequestMsg (orm) entries, which are not supported. */
  otherRequests: number;
  identification: string | null;
  identityProofV2: WitnessV2View | null;
  /** True when only the obsolete identityProof (v1) control is present. */
  identityProofV1: boolean;
  popLinkRandom: Buffer | null;
  revocation: RevocationView | null;
  /** Revocation convenience: decimal serial and RFC 4514 issuer. */
  serial?: string;
  issuer?: string;
}
