// The listener certificate, shared by ldaps:// listeners and StartTLS, replaceable at runtime (SIGHUP)
// without touching established connections.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { SecureContext, SecureContextOptions } from 'node:tls';

export const TLS_MIN_VERSION = 'TLSv1.2';

export class ListenerTls {
  context: SecureContext | null = null;
  options: SecureContextOptions | null = null;

  constructor(
    readonly certFile: string | undefined,
    readonly keyFile: string | undefined,
  ) {
    this.reload();
  }

  /** Reads the PEM files again; throws (keeping the previous context) when they are unreadable or mismatched. */
  reload(): void {
    if (!this.certFile || !this.keyFile) return;
    const options: SecureContextOptions = {
      cert: readFileSync(this.certFile),
      key: readFileSync(this.keyFile),
      minVersion: TLS_MIN_VERSION,
    };
    const context = createSecureContext(options);
    this.options = options;
    this.context = context;
  }
}
