export { ClientSession } from './client-session.js';
export type { SessionEnv, SessionOrigin } from './client-session.js';
export { ListenerTls, TLS_MIN_VERSION } from './tls-context.js';
export {
  ANONYMOUS,
  PASS,
  FORWARD,
  forward,
  respond,
  respondAndClose,
  answer,
  InterceptedRequest,
  buildInterceptorTable,
} from './interceptor.js';
export type {
  BindState,
  Interceptor,
  InterceptDecision,
  InterceptorTable,
  ObserveEnd,
  RequestRewriter,
  ResponseObserver,
  SessionContext,
} from './interceptor.js';
