// Throwaway PKI for TLS tests and the demo: a CA and a server certificate for 127.0.0.1 / localhost, made with the
// real `openssl` CLI in a temp dir. Nothing here is ever reused outside one test or demo run.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './process.js';

export interface TestPki {
  dir: string;
  caCertPath: string;
  caCertPem: string;
  certPath: string;
  certPem: string;
  keyPath: string;
  keyPem: string;
  /** Removes the temp dir. */
  destroy(): void;
}

async function openssl(args: string[]): Promise<void> {
  const r = await run('openssl', args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`openssl ${args[0] ?? ''} failed: ${r.stderr}`);
}

/** Creates a CA and a server cert (SAN IP:127.0.0.1, DNS:localhost) signed by it; EC P-256 keeps it fast. */
export async function makeTestPki(commonName = 'localhost'): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-pki-'));
  const p = (name: string): string => join(dir, name);
  try {
    await openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      p('ca.key'),
      '-out',
      p('ca.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=shrtok test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await openssl([
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      p('server.key'),
      '-out',
      p('server.csr'),
      '-subj',
      `/CN=${commonName}`,
    ]);
    writeFileSync(
      p('server.ext'),
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '',
      ].join('\n'),
    );
    await openssl([
      'x509',
      '-req',
      '-in',
      p('server.csr'),
      '-CA',
      p('ca.pem'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-out',
      p('server.pem'),
      '-days',
      '2',
      '-extfile',
      p('server.ext'),
    ]);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    caCertPath: p('ca.pem'),
    caCertPem: readFileSync(p('ca.pem'), 'utf8'),
    certPath: p('server.pem'),
    certPem: readFileSync(p('server.pem'), 'utf8'),
    keyPath: p('server.key'),
    keyPem: readFileSync(p('server.key'), 'utf8'),
    destroy: () => rmSync(dir, { recursive: true, force: true }),
  };
}
