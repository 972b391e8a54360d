// protocolOp CHOICE tags of RFC 4511 §4.2–4.14 (APPLICATION class; constructed unless noted).

export const ProtocolOp = {
  bindRequest: 0x60,
  bindResponse: 0x61,
  unbindRequest: 0x42, // primitive NULL
  searchRequest: 0x63,
  searchResEntry: 0x64,
  searchResDone: 0x65,
  searchResRef: 0x73,
  modifyRequest: 0x66,
  modifyResponse: 0x67,
  addRequest: 0x68,
  addResponse: 0x69,
  delRequest: 0x4a, // primitive LDAPDN
  delResponse: 0x6b,
  modDNRequest: 0x6c,
  modDNResponse: 0x6d,
  compareRequest: 0x6e,
  compareResponse: 0x6f,
  abandonRequest: 0x50, // primitive MessageID
  extendedReq: 0x77,
  extendedResp: 0x78,
  intermediateResponse: 0x79,
} as const;
export type ProtocolOpName = keyof typeof ProtocolOp;
export type ProtocolOpTag = (typeof ProtocolOp)[ProtocolOpName];

const names: string[] = [];
for (const [name, tag] of Object.entries(ProtocolOp)) names[tag] = name;

/** The RFC 4511 name of an operation tag, for logs and metric labels (bounded: unknown tags share one name). */
export function opName(tag: number): string {
  return names[tag] ?? 'unknown';
}

/**
 * Response tag that completes each request (the one a local or error answer must use); 0 for requests that
 * get no response (abandon, unbind) and for tags that are not requests.
 */
export const RESPONSE_FOR_REQUEST: Uint8Array = (() => {
  const t = new Uint8Array(256);
  t[ProtocolOp.bindRequest] = ProtocolOp.bindResponse;
  t[ProtocolOp.searchRequest] = ProtocolOp.searchResDone;
  t[ProtocolOp.modifyRequest] = ProtocolOp.modifyResponse;
  t[ProtocolOp.addRequest] = ProtocolOp.addResponse;
  t[ProtocolOp.delRequest] = ProtocolOp.delResponse;
  t[ProtocolOp.modDNRequest] = ProtocolOp.modDNResponse;
  t[ProtocolOp.compareRequest] = ProtocolOp.compareResponse;
  t[ProtocolOp.extendedReq] = ProtocolOp.extendedResp;
  return t;
})();

/** 1 for response tags that end an operation; entries, references and intermediate responses do not. */
export const IS_FINAL_RESPONSE: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const tag of RESPONSE_FOR_REQUEST) if (tag !== 0) t[tag] = 1;
  return t;
})();

/** 1 for every tag a client may send. */
export const IS_REQUEST: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let tag = 0; tag < 256; tag++) if (RESPONSE_FOR_REQUEST[tag] !== 0) t[tag] = 1;
  t[ProtocolOp.abandonRequest] = 1;
  t[ProtocolOp.unbindRequest] = 1;
  return t;
})();
