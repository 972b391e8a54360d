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
    public certFile: string | undefined,
    public keyFile: string | undefined,
  ) {
    this.reload();
  }

  /**
   * Reads the PEM files again (new paths when given); throws, keeping the previous files and context, when
   * they are unreadable or do not match.
   */
  reload(certFile = this.certFile, keyFile = this.keyFile): void {
    this.prepare(certFile, keyFile)();
  }

  /** Reads and checks the files now; the returned function switches to them (so a caller can stage it). */
  prepare(certFile = this.certFile, keyFile = this.keyFile): () => void {
    if (!certFile || !keyFile) return () => undefined;
    const options: SecureContextOptions = {
      cert: readFileSync(certFile),
      key: readFileSync(keyFile),
      minVersion: TLS_MIN_VERSION,
    };
    const context = createSecureContext(options);
    return () => {
      this.options = options;
      this.context = context;
      this.certFile = certFile;
      this.keyFile = keyFile;
    };
  }
}
