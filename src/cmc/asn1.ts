// ASN.1 declarations for CMC Full PKI Requests (RFC 5272/6402) and the CRMF subset (RFC 4211) Dogtag uses.
// CMS, PKCS#10 and X.509 pieces come from @peculiar/asn1-cms, -csr and -x509.
import {
  AsnArray,
  AsnIntegerBigIntConverter,
  AsnProp,
  AsnPropTypes,
  AsnType,
  AsnTypeTypes,
} from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { AlgorithmIdentifier, Extension, Name, SubjectPublicKeyInfo, Time } from '@peculiar/asn1-x509';

/** TaggedAttribute ::= SEQUENCE { bodyPartID BodyPartID, attrType OID, attrValues SET OF AttributeValue } */
@AsnType({ type: AsnTypeTypes.Sequence })
export class TaggedAttribute {
  @AsnProp({ type: AsnPropTypes.Integer }) bodyPartID = 0;
  @AsnProp({ type: AsnPropTypes.ObjectIdentifier }) attrType = '';
  @AsnProp({ type: AsnPropTypes.Any, repeated: 'set' }) attrValues: ArrayBuffer[] = [];
  constructor(params: Partial<TaggedAttribute> = {}) {
    Object.assign(this, params);
  }
}

/** TaggedCertificationRequest ::= SEQUENCE { bodyPartID, certificationRequest } (sent as [0] IMPLICIT). */
@AsnType({ type: AsnTypeTypes.Sequence })
export class TaggedCertificationRequest {
  @AsnProp({ type: AsnPropTypes.Integer }) bodyPartID = 0;
  @AsnProp({ type: CertificationRequest }) certificationRequest = new CertificationRequest();
  constructor(params: Partial<TaggedCertificationRequest> = {}) {
    Object.assign(this, params);
  }
}

/** AttributeTypeAndValue as used by CRMF Controls. */
@AsnType({ type: AsnTypeTypes.Sequence })
export class AttributeTypeAndValue {
  @AsnProp({ type: AsnPropTypes.ObjectIdentifier }) type = '';
  @AsnProp({ type: AsnPropTypes.Any }) value: ArrayBuffer = new ArrayBuffer(0);
  constructor(params: Partial<AttributeTypeAndValue> = {}) {
    Object.assign(this, params);
  }
}

/** OptionalValidity ::= SEQUENCE { notBefore [0] Time OPTIONAL, notAfter [1] Time OPTIONAL } */
@AsnType({ type: AsnTypeTypes.Sequence })
export class OptionalValidity {
  @AsnProp({ type: Time, context: 0, optional: true }) notBefore?: Time;
  @AsnProp({ type: Time, context: 1, optional: true }) notAfter?: Time;
}

/** CertTemplate (RFC 4211 §5, IMPLICIT TAGS; Name is a CHOICE so its tags are explicit). */
@AsnType({ type: AsnTypeTypes.Sequence })
export class CertTemplate {
  @AsnProp({ type: AsnPropTypes.Integer, context: 0, implicit: true, optional: true }) version?: number;
  @AsnProp({ type: AsnPropTypes.Integer, context: 1, implicit: true, optional: true })
  serialNumber?: number;
  @AsnProp({ type: AlgorithmIdentifier, context: 2, implicit: true, optional: true })
  signingAlg?: AlgorithmIdentifier;
  @AsnProp({ type: Name, context: 3, optional: true }) issuer?: Name;
  @AsnProp({ type: OptionalValidity, context: 4, implicit: true, optional: true })
  validity?: OptionalValidity;
  @AsnProp({ type: Name, context: 5, optional: true }) subject?: Name;
  @AsnProp({ type: SubjectPublicKeyInfo, context: 6, implicit: true, optional: true })
  publicKey?: SubjectPublicKeyInfo;
  @AsnProp({ type: AsnPropTypes.BitString, context: 7, implicit: true, optional: true })
  issuerUID?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.BitString, context: 8, implicit: true, optional: true })
  subjectUID?: ArrayBuffer;
  @AsnProp({ type: Extension, context: 9, implicit: true, repeated: 'sequence', optional: true })
  extensions?: Extension[];
  constructor(params: Partial<CertTemplate> = {}) {
    Object.assign(this, params);
  }
}

/** CertRequest ::= SEQUENCE { certReqId INTEGER, certTemplate CertTemplate, controls Controls OPTIONAL } */
@AsnType({ type: AsnTypeTypes.Sequence })
export class CertRequest {
  @AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerBigIntConverter }) certReqId = 0n;
  @AsnProp({ type: CertTemplate }) certTemplate = new CertTemplate();
  @AsnProp({ type: AttributeTypeAndValue, repeated: 'sequence', optional: true })
  controls?: AttributeTypeAndValue[];
  constructor(params: Partial<CertRequest> = {}) {
    Object.assign(this, params);
  }
}

/** POPOSigningKey ::= SEQUENCE { poposkInput [0] OPTIONAL, algorithmIdentifier, signature BIT STRING } */
@AsnType({ type: AsnTypeTypes.Sequence })
export class POPOSigningKey {
  @AsnProp({ type: AsnPropTypes.Any, context: 0, implicit: true, optional: true }) poposkInput?: ArrayBuffer;
  @AsnProp({ type: AlgorithmIdentifier }) algorithmIdentifier = new AlgorithmIdentifier();
  @AsnProp({ type: AsnPropTypes.BitString }) signature: ArrayBuffer = new ArrayBuffer(0);
  constructor(params: Partial<POPOSigningKey> = {}) {
    Object.assign(this, params);
  }
}

/** ProofOfPossession ::= CHOICE { raVerified [0] NULL, signature [1] POPOSigningKey, keyEncipherment [2], keyAgreement [3] } */
@AsnType({ type: AsnTypeTypes.Choice })
export class ProofOfPossession {
  @AsnProp({ type: AsnPropTypes.Null, context: 0, implicit: true }) raVerified?: null;
  @AsnProp({ type: POPOSigningKey, context: 1, implicit: true }) signature?: POPOSigningKey;
  @AsnProp({ type: AsnPropTypes.Any, context: 2 }) keyEncipherment?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.Any, context: 3 }) keyAgreement?: ArrayBuffer;
  constructor(params: Partial<ProofOfPossession> = {}) {
    Object.assign(this, params);
  }
}

/** CertReqMsg ::= SEQUENCE { certReq CertRequest, popo ProofOfPossession OPTIONAL, regInfo OPTIONAL } */
@AsnType({ type: AsnTypeTypes.Sequence })
export class CertReqMsg {
  @AsnProp({ type: CertRequest }) certReq = new CertRequest();
  @AsnProp({ type: ProofOfPossession, optional: true }) popo?: ProofOfPossession;
  @AsnProp({ type: AttributeTypeAndValue, repeated: 'sequence', optional: true })
  regInfo?: AttributeTypeAndValue[];
  constructor(params: Partial<CertReqMsg> = {}) {
    Object.assign(this, params);
  }
}

/** TaggedRequest ::= CHOICE { tcr [0] TaggedCertificationRequest, crm [1] CertReqMsg, orm [2] SEQUENCE {...} } */
@AsnType({ type: AsnTypeTypes.Choice })
export class TaggedRequest {
  @AsnProp({ type: TaggedCertificationRequest, context: 0, implicit: true }) tcr?: TaggedCertificationRequest;
  @AsnProp({ type: CertReqMsg, context: 1, implicit: true }) crm?: CertReqMsg;
  @AsnProp({ type: AsnPropTypes.Any, context: 2, implicit: true }) orm?: ArrayBuffer;
  constructor(params: Partial<TaggedRequest> = {}) {
    Object.assign(this, params);
  }
}

/** PKIData ::= SEQUENCE { controlSequence, reqSequence, cmsSequence, otherMsgSequence } */
@AsnType({ type: AsnTypeTypes.Sequence })
export class PKIData {
  @AsnProp({ type: TaggedAttribute, repeated: 'sequence' }) controlSequence: TaggedAttribute[] = [];
  @AsnProp({ type: TaggedRequest, repeated: 'sequence' }) reqSequence: TaggedRequest[] = [];
  @AsnProp({ type: AsnPropTypes.Any, repeated: 'sequence' }) cmsSequence: ArrayBuffer[] = [];
  @AsnProp({ type: AsnPropTypes.Any, repeated: 'sequence' }) otherMsgSequence: ArrayBuffer[] = [];
  constructor(params: Partial<PKIData> = {}) {
    Object.assign(this, params);
  }
}

/** IdentityProofV2 / PopLinkWitnessV2 ::= SEQUENCE { hash/keyGen AlgId, macAlgId AlgId, witness OCTET STRING } */
@AsnType({ type: AsnTypeTypes.Sequence })
export class WitnessV2 {
  @AsnProp({ type: AlgorithmIdentifier }) hashAlgorithm = new AlgorithmIdentifier();
  @AsnProp({ type: AlgorithmIdentifier }) macAlgorithm = new AlgorithmIdentifier();
  @AsnProp({ type: AsnPropTypes.OctetString }) witness: ArrayBuffer = new ArrayBuffer(0);
  constructor(params: Partial<WitnessV2> = {}) {
    Object.assign(this, params);
  }
}

/** RevokeRequest (RFC 5272 §6.11). */
@AsnType({ type: AsnTypeTypes.Sequence })
export class RevokeRequest {
  @AsnProp({ type: Name }) issuerName = new Name();
  @AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerBigIntConverter }) serialNumber = 0n;
  @AsnProp({ type: AsnPropTypes.Enumerated }) reason = 0;
  @AsnProp({ type: AsnPropTypes.GeneralizedTime, optional: true }) invalidityDate?: Date;
  @AsnProp({ type: AsnPropTypes.OctetString, optional: true }) passphrase?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.Utf8String, optional: true }) comment?: string;
  constructor(params: Partial<RevokeRequest> = {}) {
    Object.assign(this, params);
  }
}

/** A SEQUENCE OF TaggedRequest on its own, to serialize reqSequence for the builder's MAC. */
@AsnType({ type: AsnTypeTypes.Sequence, itemType: TaggedRequest })
export class ReqSequence extends AsnArray<TaggedRequest> {}
