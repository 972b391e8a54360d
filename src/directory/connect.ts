// The proxy's and the CLI's own connections to the directory (ldapts), with TLS that verifies or fails.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Client } from 'ldapts';

export interface DirectoryConnectOptions {
  /** ldap:// or ldaps:// URL (scheme, host, port). */
  url: string;
  /** Upgrade an ldap:// connection with StartTLS before binding. */
  starttls?: boolean;
  /** PEM file of the CA that signed the server certificate; without it the system CAs are used. */
  caFile?: string;
  bindDn?: string;
  /** Bind password bytes as read from a file; not logged, not kept after the bind. */
  password?: string | Buffer;
  connectTimeoutMs?: number;
  operationTimeoutMs?: number;
}

export function tlsOptionsFor(opts: Pick<DirectoryConnectOptions, 'url' | 'caFile'>): ConnectionOptions {
  const host = new URL(opts.url).hostname;
  return {
    ca: opts.caFile ? readFileSync(opts.caFile) : undefined,
    // A certificate that does not verify is a hard error; there is no silent fallback.
    rejectUnauthorized: true,
    servername: /^[\d.]+$|:/.test(host) ? undefined : host,
    minVersion: 'TLSv1.2',
  };
}

/** Opens a client, runs StartTLS when asked, and binds when a DN is given. Throws on any failure. */
export async function connectDirectory(opts: DirectoryConnectOptions): Promise<Client> {
  const tlsOptions = tlsOptionsFor(opts);
  const client = new Client({
    url: opts.url,
    connectTimeout: opts.connectTimeoutMs ?? 5000,
    timeout: opts.operationTimeoutMs ?? 10_000,
    // ldapts treats any tlsOptions as "connect with TLS", so plain ldap:// (StartTLS or not) must get none.
    tlsOptions: /^ldaps:/i.test(opts.url) ? tlsOptions : undefined,
    strictDN: false,
  });
  try {
    if (opts.starttls) await client.startTLS(tlsOptions);
    if (opts.bindDn !== undefined) {
      const password = Buffer.isBuffer(opts.password)
        ? opts.password.toString('utf8')
        : (opts.password ?? '');
      await client.bind(opts.bindDn, password);
    }
    return client;
  } catch (e) {
    await client.unbind().catch(() => undefined);
    throw e;
  }
}

/** RFC 4515 escaping of an assertion value, so `*`, `(`, `)`, `\` and NUL cannot change a filter. */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out +=
      byte === 0x2a || byte === 0x28 || byte === 0x29 || byte === 0x5c || byte === 0 || byte > 0x7e
        ? `\\${byte.toString(16).padStart(2, '0')}`
        : c;
  }
  return out;
}

/** RFC 4514 escaping of an attribute value placed in a DN. */
export function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ')
    .replace(/\0/g, '\\00');
}
