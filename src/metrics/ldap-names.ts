// Bounded label values for LDAP operations and result codes (RFC 4511 §4.1.9 names, plus the
// registered codes servers actually send). Anything else becomes `other`, so a hostile peer
// cannot grow the label space.

/** Operation label values, in slot order; `other` is last. */
export const OP_NAMES = [
  'bind',
  'unbind',
  'search',
  'modify',
  'add',
  'delete',
  'moddn',
  'compare',
  'abandon',
  'extended',
  'other',
] as const;
export type OpName = (typeof OP_NAMES)[number];

/** Request protocolOp tags (RFC 4511 APPLICATION tags, constructed or primitive as encoded). */
const REQUEST_TAGS: readonly (readonly [number, OpName])[] = [
  [0x60, 'bind'], // [APPLICATION 0] bindRequest
  [0x42, 'unbind'], // [APPLICATION 2] unbindRequest (NULL, primitive)
  [0x63, 'search'], // [APPLICATION 3] searchRequest
  [0x66, 'modify'], // [APPLICATION 6] modifyRequest
  [0x68, 'add'], // [APPLICATION 8] addRequest
  [0x4a, 'delete'], // [APPLICATION 10] delRequest (LDAPDN, primitive)
  [0x6c, 'moddn'], // [APPLICATION 12] modDNRequest
  [0x6e, 'compare'], // [APPLICATION 14] compareRequest
  [0x50, 'abandon'], // [APPLICATION 16] abandonRequest (MessageID, primitive)
  [0x77, 'extended'], // [APPLICATION 23] extendedRequest
];

const OTHER_OP = OP_NAMES.length - 1;

/** tag byte → operation slot, built once so the hot path is one array read. */
const OP_SLOT_BY_TAG = new Uint8Array(256).fill(OTHER_OP);
for (const [tag, name] of REQUEST_TAGS) OP_SLOT_BY_TAG[tag] = OP_NAMES.indexOf(name);

export function opSlot(requestTag: number): number {
  return OP_SLOT_BY_TAG[requestTag & 0xff] ?? OTHER_OP;
}

/** Final response tags → the operation they answer (RFC 4511 APPLICATION 1, 5, 7, 9, 11, 13, 15, 24). */
const RESPONSE_TAGS: readonly (readonly [number, OpName])[] = [
  [0x61, 'bind'],
  [0x65, 'search'], // searchResDone
  [0x67, 'modify'],
  [0x69, 'add'],
  [0x6b, 'delete'],
  [0x6d, 'moddn'],
  [0x6f, 'compare'],
  [0x78, 'extended'],
];
const OP_SLOT_BY_RESPONSE_TAG = new Uint8Array(256).fill(OTHER_OP);
for (const [tag, name] of RESPONSE_TAGS) OP_SLOT_BY_RESPONSE_TAG[tag] = OP_NAMES.indexOf(name);

export function opSlotForResponse(responseTag: number): number {
  return OP_SLOT_BY_RESPONSE_TAG[responseTag & 0xff] ?? OTHER_OP;
}

/** Result code → name. Names as in RFC 4511 and the IANA LDAP result code registry. */
export const RESULT_CODE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'success'],
  [1, 'operationsError'],
  [2, 'protocolError'],
  [3, 'timeLimitExceeded'],
  [4, 'sizeLimitExceeded'],
  [5, 'compareFalse'],
  [6, 'compareTrue'],
  [7, 'authMethodNotSupported'],
  [8, 'strongerAuthRequired'],
  [10, 'referral'],
  [11, 'adminLimitExceeded'],
  [12, 'unavailableCriticalExtension'],
  [13, 'confidentialityRequired'],
  [14, 'saslBindInProgress'],
  [16, 'noSuchAttribute'],
  [17, 'undefinedAttributeType'],
  [18, 'inappropriateMatching'],
  [19, 'constraintViolation'],
  [20, 'attributeOrValueExists'],
  [21, 'invalidAttributeSyntax'],
  [32, 'noSuchObject'],
  [33, 'aliasProblem'],
  [34, 'invalidDNSyntax'],
  [36, 'aliasDereferencingProblem'],
  [48, 'inappropriateAuthentication'],
  [49, 'invalidCredentials'],
  [50, 'insufficientAccessRights'],
  [51, 'busy'],
  [52, 'unavailable'],
  [53, 'unwillingToPerform'],
  [54, 'loopDetect'],
  [64, 'namingViolation'],
  [65, 'objectClassViolation'],
  [66, 'notAllowedOnNonLeaf'],
  [67, 'notAllowedOnRDN'],
  [68, 'entryAlreadyExists'],
  [69, 'objectClassModsProhibited'],
  [71, 'affectsMultipleDSAs'],
  [80, 'other'],
  [118, 'canceled'],
  [119, 'noSuchOperation'],
  [120, 'tooLate'],
  [121, 'cannotCancel'],
  [122, 'assertionFailed'],
  [123, 'authorizationDenied'],
  [4096, 'e-syncRefreshRequired'],
]);

/** Result label values in slot order. `unknown` collects codes outside the table; `none` is for
 *  operations that have no response (unbind, abandon) or were cut off by a disconnect. */
export const RESULT_NAMES: readonly string[] = [...RESULT_CODE_NAMES.values(), 'unknown', 'none'];
export const RESULT_UNKNOWN = RESULT_NAMES.length - 2;
export const RESULT_NONE = RESULT_NAMES.length - 1;
/** Pass as the result code for an operation without a response. */
export const NO_RESULT = -1;

const RESULT_SLOT_SMALL = new Int16Array(128).fill(RESULT_UNKNOWN);
{
  let slot = 0;
  for (const code of RESULT_CODE_NAMES.keys()) {
    if (code < 128) RESULT_SLOT_SMALL[code] = slot;
    slot++;
  }
}
const E_SYNC_SLOT = RESULT_NAMES.indexOf('e-syncRefreshRequired');

export function resultSlot(resultCode: number): number {
  if (resultCode >= 0 && resultCode < 128) return RESULT_SLOT_SMALL[resultCode] ?? RESULT_UNKNOWN;
  if (resultCode === 4096) return E_SYNC_SLOT;
  return resultCode === NO_RESULT ? RESULT_NONE : RESULT_UNKNOWN;
}

/**
 * The resultCode of an LDAPResult-bearing response frame (whole LDAPMessage), read in place without
 * allocating: SEQUENCE { messageID INTEGER, [APPLICATION n] { resultCode ENUMERATED, … } }.
 * Returns -2 when the frame does not have that shape (counted as `unknown`).
 */
export function peekResultCode(frame: Uint8Array): number {
  let p = skipHeader(frame, 0); // LDAPMessage SEQUENCE
  if (p < 0 || frame[0] !== 0x30 || frame[p] !== 0x02) return -2;
  const idStart = skipHeader(frame, p);
  if (idStart < 0) return -2;
  p = idStart + lengthAt(frame, p);
  p = skipHeader(frame, p); // protocolOp
  if (p < 0 || frame[p] !== 0x0a) return -2;
  const len = frame[p + 1] ?? 0;
  if (len < 1 || len > 4 || p + 2 + len > frame.length) return -2;
  let code = 0;
  for (let i = 0; i < len; i++) code = code * 256 + (frame[p + 2 + i] ?? 0);
  return code;
}

/** Offset of the contents of the TLV at `p`, or -1. */
function skipHeader(frame: Uint8Array, p: number): number {
  if (p < 0 || p + 2 > frame.length) return -1;
  const first = frame[p + 1] ?? 0;
  if (first < 0x80) return p + 2;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || p + 2 + n > frame.length) return -1;
  return p + 2 + n;
}

/** Content length of the TLV at `p` (header already validated by skipHeader). */
function lengthAt(frame: Uint8Array, p: number): number {
  const first = frame[p + 1] ?? 0;
  if (first < 0x80) return first;
  let len = 0;
  for (let i = 0; i < (first & 0x7f); i++) len = len * 256 + (frame[p + 2 + i] ?? 0);
  return len;
}
