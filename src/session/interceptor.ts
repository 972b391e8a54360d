// The interceptor API: how other modules handle an operation locally, or watch / rewrite it, without
// touching the forwarding path.
//
// * An Interceptor is registered for one or more protocolOp tags (ProtocolOp.bindRequest, ...). Requests
//   with a tag that has no interceptor are forwarded as the exact bytes received, without being decoded.
// * For each client request with its tag, the session calls intercept(request, session). Interceptors for
//   the same tag run in registration order; the first decision other than PASS wins, and when all pass the
//   request is forwarded unchanged.
// * Decisions:
//     PASS                         not mine: ask the next interceptor (or forward unchanged)
//     FORWARD                      forward the received bytes to the backend
//     forward({ frame, observe })  forward `frame` instead (same messageID; see withControl in ldap/), and/or
//                                  see every backend response frame for this messageID through `observe`
//     respond(frame, ...)          answer locally; nothing reaches the backend. Build frames with the ldap/
//                                  encoders or with answer(request, code, message) for the matching type.
//                                  { close: true } closes the connection after the frames are written.
// * intercept() may return a Promise. While it is pending the session stops reading further requests from
//   that client (so requests reach the backend in the order sent); backend responses keep flowing. Frames
//   are always written whole, so a local answer can never land inside a backend PDU.
// * A thrown error or rejected promise answers the request with `other` (80), or with the code of an
//   LdapResultError; a BerError from a lazy decoder answers protocolError (2).
// * `request.frame` may be a view into a socket chunk: copy it (Buffer.from) to keep it after the call.
// * StartTLS (RFC 4511 §4.14) is handled by the session before any interceptor sees extendedReq.
// * Bind state: a forwarded bind makes the session anonymous; a backend bindResponse with success sets
//   { kind: 'backend', dn } before the observer of that bind runs, so an observer (or an interceptor that
//   answers locally) calling setBindState() has the last word. Any non-anonymous state selects the
//   post-bind PDU and outstanding-operation limits.
// * session.setRequestRewriter(fn) rewrites every request this session forwards from then on (after
//   interceptors), e.g. to add a proxied-authorization control; setRequestRewriter(null) removes it.
//
// Example (a WhoAmI answer for virtually bound sessions):
//   const whoAmI: Interceptor = {
//     name: 'virtual-whoami',
//     opTags: [ProtocolOp.extendedReq],
//     intercept(req, session) {
//       if (req.extended.requestName !== Oid.whoAmI || session.bindState.kind !== 'virtual') return PASS;
//       return respond(encodeExtendedResponse(req.messageId, {
//         resultCode: ResultCode.success, matchedDN: '', diagnosticMessage: '',
//         responseValue: Buffer.from(`dn:${session.bindState.dn}`) }));
//     },
//   };
//   createProxyServer(config, { interceptors: [whoAmI] });
import type { Logger } from 'pino';
import {
  decodeAddRequest,
  decodeBindRequest,
  decodeEnvelope,
  decodeExtendedRequest,
  decodeModifyRequest,
} from '../ldap/index.js';
import type { AddRequest, BindRequest, Envelope, ExtendedRequest, ModifyRequest } from '../ldap/index.js';
import { ProtocolOp, RESPONSE_FOR_REQUEST, encodeResultResponse, opName } from '../ldap/index.js';
import { BerError } from '../ber/index.js';

/** Who the client is, as far as the proxy knows. */
export type BindState =
  | { readonly kind: 'anonymous' }
  /** A bind the backend accepted (simple DN, or SASL with the DN field as sent, often ''). */
  | { readonly kind: 'backend'; readonly dn: string; readonly mechanism: string }
  /** A bind answered by the proxy itself (for example the shared-token virtual bind). */
  | { readonly kind: 'virtual'; readonly dn: string };

export const ANONYMOUS: BindState = Object.freeze({ kind: 'anonymous' });

/** Called for every request this session forwards (after interceptors), e.g. to add a control. */
export type RequestRewriter = (
  frame: Buffer,
  messageId: number,
  opTag: number,
  session: SessionContext,
) => Buffer;

/** What an interceptor sees of the session. */
export interface SessionContext {
  readonly id: number;
  readonly clientAddress: string;
  readonly clientPort: number;
  /** The listener URL the client connected to. */
  readonly listener: string;
  /** TLS is active on the client connection (ldaps:// or after StartTLS). */
  readonly tls: boolean;
  readonly bindState: BindState;
  /** Sets the identity; also switches the PDU and outstanding limits (anonymous or not). */
  setBindState(state: BindState): void;
  /** Installs (or removes with null) a rewriter applied to every request this session forwards. */
  setRequestRewriter(rewriter: RequestRewriter | null): void;
  readonly outstandingCount: number;
  readonly log: Logger;
}

export type ObserveEnd = 'done' | 'abandoned' | 'backendLost' | 'closed';

export interface ResponseObserver {
  /**
   * Every backend frame with the observed messageID: entries, references, intermediate and final responses.
   * Return the frame to forward (the same one or a re-encoded one) or null to drop it. Synchronous.
   */
  onResponse(frame: Buffer, opTag: number, session: SessionContext): Buffer | null;
  /** Called once when the operation ends: after the final response, or when it can no longer complete. */
  onEnd?(reason: ObserveEnd, session: SessionContext): void;
}

export type InterceptDecision =
  | { readonly action: 'pass' }
  | { readonly action: 'forward'; readonly frame?: Buffer; readonly observe?: ResponseObserver }
  | { readonly action: 'respond'; readonly frames: readonly Buffer[]; readonly close?: boolean };

export const PASS: InterceptDecision = Object.freeze({ action: 'pass' });
export const FORWARD: InterceptDecision = Object.freeze({ action: 'forward' });

export function forward(opts: { frame?: Buffer; observe?: ResponseObserver }): InterceptDecision {
  return { action: 'forward', ...opts };
}

export function respond(...frames: Buffer[]): InterceptDecision {
  return { action: 'respond', frames };
}

export function respondAndClose(...frames: Buffer[]): InterceptDecision {
  return { action: 'respond', frames, close: true };
}

export interface Interceptor {
  /** Short name for logs. */
  readonly name: string;
  readonly opTags: readonly number[];
  intercept(
    request: InterceptedRequest,
    session: SessionContext,
  ): InterceptDecision | Promise<InterceptDecision>;
}

/** A client request handed to interceptors, with decoders that run at most once, on first use. */
export class InterceptedRequest {
  private env: Envelope | undefined;
  private decoded: BindRequest | ExtendedRequest | AddRequest | ModifyRequest | undefined;

  constructor(
    /** The whole LDAPMessage as received. */
    readonly frame: Buffer,
    readonly messageId: number,
    readonly opTag: number,
  ) {}

  get envelope(): Envelope {
    return (this.env ??= decodeEnvelope(this.frame));
  }
  /** Decoded BindRequest; a BerError if the bytes are malformed or this is not a bind. */
  get bind(): BindRequest {
    this.expect(ProtocolOp.bindRequest);
    return (this.decoded ??= decodeBindRequest(this.frame)) as BindRequest;
  }
  get extended(): ExtendedRequest {
    this.expect(ProtocolOp.extendedReq);
    return (this.decoded ??= decodeExtendedRequest(this.frame)) as ExtendedRequest;
  }
  get add(): AddRequest {
    this.expect(ProtocolOp.addRequest);
    return (this.decoded ??= decodeAddRequest(this.frame)) as AddRequest;
  }
  get modify(): ModifyRequest {
    this.expect(ProtocolOp.modifyRequest);
    return (this.decoded ??= decodeModifyRequest(this.frame)) as ModifyRequest;
  }

  private expect(tag: number): void {
    if (this.opTag !== tag) throw new BerError(`request is ${opName(this.opTag)}, not ${opName(tag)}`, 0);
  }
}

/**
 * The response of the type that matches the request (bindResponse for a bind, searchResDone for a search,
 * ...) with the given result. Throws for abandon and unbind, which have no response.
 */
export function answer(request: InterceptedRequest, resultCode: number, diagnosticMessage: string): Buffer {
  const responseTag = RESPONSE_FOR_REQUEST[request.opTag] ?? 0;
  if (responseTag === 0) throw new Error(`operation 0x${request.opTag.toString(16)} has no response`);
  return encodeResultResponse(request.messageId, responseTag, {
    resultCode,
    matchedDN: '',
    diagnosticMessage,
  });
}

/** Interceptors indexed by op tag; undefined where none is registered (the forwarding fast path). */
export type InterceptorTable = readonly (readonly Interceptor[] | undefined)[];

export function buildInterceptorTable(interceptors: readonly Interceptor[]): InterceptorTable {
  const table: Interceptor[][] = [];
  for (const i of interceptors) {
    for (const tag of i.opTags) {
      if (!Number.isInteger(tag) || tag < 0 || tag > 255)
        throw new Error(`interceptor ${i.name}: bad op tag ${tag}`);
      (table[tag] ??= []).push(i);
    }
  }
  return table;
}
