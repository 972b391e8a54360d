// The proxy side of shared-token verification: the virtual bind, WhoAmI for virtually bound sessions and the
// verify extended operation. Token write checks, the read filter and cache invalidation are in token-guard.ts.
import {
  Oid,
  ProtocolOp,
  ResultCode,
  encodeBindRequest,
  encodeBindResponse,
  encodeExtendedResponse,
  readResultCode,
  withControl,
} from '../ldap/index.js';
import { ANONYMOUS, PASS, forward, respond } from '../session/index.js';
import type { InterceptDecision, Interceptor, InterceptedRequest, SessionContext } from '../session/index.js';
import { VERIFY_OID, VerifyProtocolError, decodeVerifyRequest, encodeVerifyResponse } from './extop-codec.js';
import { normalizeDn } from './cache.js';
import type { Identity, VerifyOutcome } from './types.js';
import type { TokenVerifier } from './verifier.js';
import { VirtualDnParser } from './virtual-dn.js';
import type { VirtualDn } from './virtual-dn.js';

export interface VirtualBindOptions {
  verifier: TokenVerifier;
  virtualSuffix: string;
  allowPlaintextVirtualBind: boolean;
  /** anonymous: later operations reach the backend anonymously; proxy: as the service DN + RFC 4370. */
  authz: 'anonymous' | 'proxy';
  /** Needed for authz proxy: the backend connection binds as this account, which must hold proxy rights. */
  serviceBindDn?: string;
  servicePassword?: Buffer;
  /** Bind DNs allowed to call the verify extended operation. */
  verifierDns: readonly string[];
}

const RESULT_FOR: Record<VerifyOutcome['result'], number> = {
  success: ResultCode.success,
  failure: ResultCode.invalidCredentials,
  unavailable: ResultCode.unavailable,
};

export function virtualBindInterceptors(o: VirtualBindOptions): Interceptor[] {
  if (o.authz === 'proxy' && (o.serviceBindDn === undefined || o.servicePassword === undefined)) {
    throw new Error('virtual_bind_authz proxy needs service_bind_dn and service_password_file');
  }
  const parser = new VirtualDnParser(o.virtualSuffix);
  const verifiers = new Set(o.verifierDns.map(normalizeDn));

  /**
   * Answers a virtual bind. When the backend connection must change identity (it was bound before, or
   * authz proxy wants the service DN), a replacement bind goes to the backend and its response is replaced
   * by ours; the client's DN and password never leave the proxy.
   */
  function finishBind(
    req: InterceptedRequest,
    session: SessionContext,
    previouslyBound: boolean,
    code: number,
    message: string,
    entryDn?: string,
  ): InterceptDecision {
    const ok = code === ResultCode.success && entryDn !== undefined;
    const asService = ok && o.authz === 'proxy';
    const ours = (c: number, m: string): Buffer =>
      encodeBindResponse(req.messageId, { resultCode: c, matchedDN: '', diagnosticMessage: m });
    const succeed = (): void => {
      const state = { kind: 'virtual', dn: entryDn! } as const;
      session.setBindState(state);
      // The session records a successful backend bind (here: the service DN) right after this observer
      // runs; the virtual identity is re-asserted once it has.
      if (asService) queueMicrotask(() => session.setBindState(state));
      if (asService) {
        const control = {
          type: Oid.proxiedAuthorization,
          critical: true,
          value: Buffer.from(`dn:${entryDn}`),
        };
        session.setRequestRewriter((frame, _id, opTag) =>
          WITH_AUTHZ.has(opTag) ? withControl(frame, control) : frame,
        );
      }
    };
    if (!asService && !previouslyBound) {
      if (ok) succeed();
      return respond(ours(code, message));
    }
    const frame = encodeBindRequest({
      messageId: req.messageId,
      version: 3,
      name: asService ? o.serviceBindDn! : '',
      authentication: { kind: 'simple', password: asService ? o.servicePassword! : Buffer.alloc(0) },
    });
    return forward({
      frame,
      observe: {
        onResponse(backendFrame, opTag) {
          if (opTag !== ProtocolOp.bindResponse) return null;
          let backendCode: number;
          try {
            backendCode = readResultCode(backendFrame);
          } catch {
            backendCode = ResultCode.other;
          }
          if (backendCode !== ResultCode.success) {
            return ours(ResultCode.unavailable, 'the backend refused to switch the connection identity');
          }
          if (ok) succeed();
          return ours(code, message);
        },
      },
    });
  }

  /** A bind to a DN under the virtual suffix: verified here, never forwarded with the client's password. */
  async function answerVirtualBind(
    req: InterceptedRequest,
    session: SessionContext,
    password: Buffer,
    target: Exclude<VirtualDn, { kind: 'none' }>,
  ): Promise<InterceptDecision> {
    const previouslyBound = session.bindState.kind === 'backend';
    session.setBindState(ANONYMOUS);
    if (!session.tls && !o.allowPlaintextVirtualBind) {
      return finishBind(
        req,
        session,
        previouslyBound,
        ResultCode.confidentialityRequired,
        'virtual binds need TLS',
      );
    }
    if (target.kind === 'invalid') {
      return finishBind(req, session, previouslyBound, ResultCode.invalidCredentials, 'invalid credentials');
    }
    const identity: Identity =
      target.kind === 'uid' ? { uid: target.identification } : { serial: target.serial };
    const out = await o.verifier.verifyPassword(identity, password, {
      clientAddress: session.clientAddress,
      kind: 'bind',
    });
    const message =
      out.result === 'unavailable'
        ? 'verification is unavailable right now'
        : out.result === 'failure'
          ? 'invalid credentials'
          : '';
    return finishBind(
      req,
      session,
      previouslyBound,
      RESULT_FOR[out.result],
      message,
      out.result === 'success' ? out.entryDn : undefined,
    );
  }

  const virtualBind: Interceptor = {
    name: 'virtual-bind',
    opTags: [ProtocolOp.bindRequest],
    intercept(req, session) {
      // Any bind ends what an earlier virtual bind set up.
      session.setRequestRewriter(null);
      const bind = req.bind;
      if (bind.authentication.kind !== 'simple') return PASS;
      const target = parser.parse(bind.name);
      // Binds to other DNs pass synchronously, so the session does not wait a turn for them.
      if (target.kind === 'none') return PASS;
      return answerVirtualBind(req, session, bind.authentication.password, target);
    },
  };

  const extended: Interceptor = {
    name: 'verify-extop',
    opTags: [ProtocolOp.extendedReq],
    async intercept(req, session) {
      const ext = req.extended;
      if (ext.requestName === Oid.whoAmI && session.bindState.kind === 'virtual') {
        return respond(
          encodeExtendedResponse(req.messageId, {
            resultCode: ResultCode.success,
            matchedDN: '',
            diagnosticMessage: '',
            responseValue: Buffer.from(`dn:${session.bindState.dn}`),
          }),
        );
      }
      if (ext.requestName !== VERIFY_OID) return PASS;
      const reply = (code: number, message: string, value?: Buffer): InterceptDecision =>
        respond(
          encodeExtendedResponse(req.messageId, {
            resultCode: code,
            matchedDN: '',
            diagnosticMessage: message,
            responseName: VERIFY_OID,
            ...(value ? { responseValue: value } : {}),
          }),
        );
      const state = session.bindState;
      if (state.kind !== 'backend' || !verifiers.has(normalizeDn(state.dn))) {
        return reply(ResultCode.insufficientAccessRights, 'only verifier DNs may call this operation');
      }
      let request;
      try {
        request = decodeVerifyRequest(ext.requestValue);
      } catch (e) {
        if (e instanceof VerifyProtocolError) return reply(ResultCode.protocolError, e.message);
        throw e;
      }
      const ctx = { clientAddress: session.clientAddress, kind: 'extop' as const };
      const subject: Identity | undefined = request.subject
        ? 'identification' in request.subject
          ? { uid: request.subject.identification }
          : { serial: request.subject.serial }
        : undefined;
      const out =
        'passphrase' in request
          ? await o.verifier.verifyPassword(subject!, request.passphrase, ctx)
          : await o.verifier.verifyCmc(request.cmcRequest, ctx, subject);
      if (out.result === 'unavailable')
        return reply(ResultCode.unavailable, 'verification is unavailable right now');
      const value = encodeVerifyResponse({
        entryDn: out.entryDn ?? '',
        ...(out.identification !== undefined ? { identification: out.identification } : {}),
        ...(out.failedCheck !== undefined ? { failedCheck: out.failedCheck } : {}),
      });
      return out.result === 'success'
        ? reply(ResultCode.success, '', value)
        : reply(ResultCode.invalidCredentials, `verification failed: ${out.failedCheck ?? 'unknown'}`, value);
    },
  };

  return [virtualBind, extended];
}

/** Requests that carry the proxied-authorization control (RFC 4370 §3: not bind, unbind or abandon). */
const WITH_AUTHZ = new Set<number>([
  ProtocolOp.searchRequest,
  ProtocolOp.modifyRequest,
  ProtocolOp.addRequest,
  ProtocolOp.delRequest,
  ProtocolOp.modDNRequest,
  ProtocolOp.compareRequest,
  ProtocolOp.extendedReq,
]);
