export { ProtocolOp, opName, RESPONSE_FOR_REQUEST, IS_FINAL_RESPONSE, IS_REQUEST } from './protocol-op.js';
export type { ProtocolOpName, ProtocolOpTag } from './protocol-op.js';
export { ResultCode, resultCodeName, LdapResultError } from './result-code.js';
export type { ResultCodeName, ResultCodeValue } from './result-code.js';
export { Oid } from './oids.js';
export {
  CONTROLS_TAG,
  MAX_MESSAGE_ID,
  decodeEnvelope,
  encodeMessage,
  withControl,
  opReader,
} from './message.js';
export type { Control, Envelope } from './message.js';
export {
  encodeResultResponse,
  encodeBindResponse,
  encodeExtendedResponse,
  encodeNoticeOfDisconnection,
  decodeBindResponse,
  decodeExtendedResponse,
  decodeResultResponse,
  resultFromEnvelope,
  readResultCode,
  readResult,
} from './result.js';
export type { LdapResult, BindResponse, ExtendedResponse } from './result.js';
export {
  ModifyOperation,
  decodeBindRequest,
  encodeBindRequest,
  decodeExtendedRequest,
  encodeExtendedRequest,
  decodeAbandonRequest,
  decodeSearchResultEntry,
  searchEntryFromEnvelope,
  encodeSearchResultEntry,
  decodeAddRequest,
  encodeAddRequest,
  decodeModifyRequest,
  encodeModifyRequest,
  attributeTypesOf,
} from './requests.js';
export type {
  BindAuthentication,
  BindRequest,
  ExtendedRequest,
  Attribute,
  SearchResultEntry,
  AddRequest,
  Change,
  ModifyRequest,
} from './requests.js';
