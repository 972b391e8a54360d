// A throw-away NSS database (cert9/key4) holding the vector issuance-protection key and certificate, made
// with the real NSS tools (certutil, pk12util) the way a Dogtag CA's alias directory is.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';

export interface NssDb {
  dir: string;
  nickname: string;
  /** File with the database password (empty file when there is none). */
  passwordFile: string;
  destroy(): Promise<void>;
}

// stdin closed: the NSS tools exit without reading it (run()'s stdin write would hit EPIPE).
function must(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} failed: ${stderr || stdout || err.message}`)) : resolve(),
    );
    child.stdin?.destroy();
  });
}

export async function createNssDb(opts: {
  keyPem: string;
  certPem: string;
  nickname: string;
  password?: string;
}): Promise<NssDb> {
  const dir = await mkdtemp(join(tmpdir(), 'shrtok-nss-'));
  try {
    const passwordFile = join(dir, 'password.txt');
    await writeFile(passwordFile, opts.password ?? '', { mode: 0o600 });
    await must('certutil', ['-N', '-d', `sql:${dir}`, '-f', passwordFile]);
    const p12 = join(dir, 'import.p12');
    await must('openssl', [
      'pkcs12',
      '-export',
      '-inkey',
      opts.keyPem,
      '-in',
      opts.certPem,
      '-name',
      opts.nickname,
      '-passout',
      'pass:p12-transfer',
      '-out',
      p12,
    ]);
    await must('pk12util', ['-i', p12, '-d', `sql:${dir}`, '-W', 'p12-transfer', '-k', passwordFile]);
    await rm(p12);
    return {
      dir,
      nickname: opts.nickname,
      passwordFile,
      destroy: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
