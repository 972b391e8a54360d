// The one table of serve settings. Each row is a config-file key (snake_case), the CLI flag with the same
// name in kebab-case, its type, its default and its help. Flags, the file loader and --help all read it.
// Limit defaults follow slapd(8)/slapd-config(5): sockbuf_max_incoming 262143 (anonymous) and
// sockbuf_max_incoming_auth 4194303, conn_max_pending 100 and conn_max_pending_auth 1000, idletimeout 0.

export type SettingType = 'string' | 'int' | 'boolean' | 'list';

export interface SettingSpec {
  key: string;
  type: SettingType;
  help: string;
  valueName?: string;
  default?: string | number | boolean | readonly string[];
  min?: number;
  max?: number;
  choices?: readonly string[];
}

import { KEY_PROVIDER_SETTINGS, VERIFY_SETTINGS } from '../verify/settings.js';

const INT32_MAX = 2147483647;

export const SERVE_SETTINGS = [
  {
    key: 'listen',
    type: 'list',
    valueName: 'URL',
    help: 'listener URL, ldap://HOST:PORT or ldaps://HOST:PORT',
    default: [],
  },
  { key: 'backend', type: 'list', valueName: 'URL', help: 'backend URL in order of preference', default: [] },
  {
    key: 'tls_cert',
    type: 'string',
    valueName: 'PEM',
    help: 'listener certificate chain (ldaps:// and StartTLS)',
  },
  { key: 'tls_key', type: 'string', valueName: 'PEM', help: 'listener private key' },
  {
    key: 'backend_starttls',
    type: 'boolean',
    help: 'use StartTLS on ldap:// backends (certificate verified against --backend-ca)',
    default: false,
  },
  {
    key: 'backend_ca',
    type: 'string',
    valueName: 'PEM',
    help: 'CA certificates that backend certificates must chain to',
  },
  {
    key: 'max_pdu_bytes_anonymous',
    type: 'int',
    valueName: 'BYTES',
    help: 'largest client PDU before a successful bind',
    default: 262143,
    min: 64,
    max: INT32_MAX,
  },
  {
    key: 'max_pdu_bytes',
    type: 'int',
    valueName: 'BYTES',
    help: 'largest client PDU after a successful bind',
    default: 4194303,
    min: 64,
    max: INT32_MAX,
  },
  {
    key: 'max_backend_pdu_bytes',
    type: 'int',
    valueName: 'BYTES',
    help: 'largest backend response PDU',
    default: 67108864,
    min: 64,
    max: INT32_MAX,
  },
  {
    key: 'max_outstanding_anonymous',
    type: 'int',
    valueName: 'N',
    help: 'operations in progress per connection before a successful bind (past it the connection is not read until one completes)',
    default: 100,
    min: 1,
    max: INT32_MAX,
  },
  {
    key: 'max_outstanding',
    type: 'int',
    valueName: 'N',
    help: 'operations in progress per connection after a successful bind (past it the connection is not read until one completes)',
    default: 1000,
    min: 1,
    max: INT32_MAX,
  },
  {
    key: 'max_backend_inflight',
    type: 'int',
    valueName: 'N',
    help: 'operations of one connection sent to the backend at a time; the rest wait in order in the proxy, so one pipelining client cannot queue the backend in front of everyone else (0: no cap; raise it for clients that keep more persistent searches open on one connection)',
    default: 32,
    min: 0,
    max: INT32_MAX,
  },
  {
    key: 'idle_timeout_ms',
    type: 'int',
    valueName: 'MS',
    help: 'close a connection with no operation in progress after this long idle, and one whose PDU takes longer to arrive (0: never)',
    default: 0,
    min: 0,
    max: INT32_MAX,
  },
  {
    key: 'max_connections',
    type: 'int',
    valueName: 'N',
    help: 'client connections across all listeners; more are told unavailable and closed',
    default: 4096,
    min: 1,
    max: INT32_MAX,
  },
  {
    key: 'backend_connect_timeout_ms',
    type: 'int',
    valueName: 'MS',
    help: 'time allowed for a backend TCP + TLS connect',
    default: 5000,
    min: 1,
    max: INT32_MAX,
  },
  {
    key: 'backend_operation_timeout_ms',
    type: 'int',
    valueName: 'MS',
    help: 'answer unavailable (52) and mark the backend down when it sends nothing for an operation this long; a search stops waiting at its first entry (0: never; keep 0 for persistent searches that start silent)',
    default: 0,
    min: 0,
    max: INT32_MAX,
  },
  {
    key: 'backend_down_ms',
    type: 'int',
    valueName: 'MS',
    help: 'how long a backend that failed to connect is skipped',
    default: 30000,
    min: 0,
    max: INT32_MAX,
  },
  {
    key: 'shutdown_grace_ms',
    type: 'int',
    valueName: 'MS',
    help: 'on SIGTERM, time for operations in progress to finish',
    default: 10000,
    min: 0,
    max: INT32_MAX,
  },
  {
    key: 'proxy_protocol',
    type: 'boolean',
    help: 'expect a PROXY protocol v1/v2 header (load balancer) before anything else on every listener',
    default: false,
  },
  {
    key: 'allow_sasl_security_layer',
    type: 'boolean',
    help: 'relay SASL security layers (e.g. DIGEST-MD5 auth-conf) opaquely; they hide operations from the proxy checks and read filter',
    default: false,
  },
  { key: 'pid_file', type: 'string', valueName: 'FILE', help: 'write the process id to this file' },
  {
    key: 'log_level',
    type: 'string',
    valueName: 'LEVEL',
    help: 'log level',
    default: 'info',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
  },
  {
    key: 'metrics_listen',
    type: 'string',
    valueName: 'HOST:PORT',
    help: 'serve /metrics, /healthz and /readyz over HTTP here, e.g. 127.0.0.1:9464',
  },
  {
    key: 'install_schema',
    type: 'boolean',
    help: 'at startup, install the shrTok attribute type in the first backend as the service account (idempotent)',
    default: false,
  },
  {
    key: 'require_schema',
    type: 'boolean',
    help: '/readyz also requires the shrTok attribute type in the first backend schema',
    default: false,
  },
  // Shared-token verification and its key provider (src/verify/settings.ts).
  ...KEY_PROVIDER_SETTINGS,
  ...VERIFY_SETTINGS,
] as const satisfies readonly SettingSpec[];

type Setting = (typeof SERVE_SETTINGS)[number];
type ValueOf<T extends SettingType> = T extends 'int'
  ? number
  : T extends 'boolean'
    ? boolean
    : T extends 'list'
      ? string[]
      : string;

/** The validated serve configuration; keys are the config-file keys. */
export type ServeConfig = {
  [S in Setting as S extends { default: unknown } ? S['key'] : never]: ValueOf<S['type']>;
} & {
  [S in Setting as S extends { default: unknown } ? never : S['key']]?: ValueOf<S['type']>;
};

export type ServeKey = Setting['key'];

/** kebab-case flag name of a config key. */
export function flagName(key: string): string {
  return key.replaceAll('_', '-');
}
