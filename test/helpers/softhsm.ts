// A throw-away SoftHSM2 token in a temp dir with its own SOFTHSM2_CONF, made with the real SoftHSM tools.
// SoftHSM reads SOFTHSM2_CONF once, at C_Initialize: in one process, use one token directory at a time (close
// every provider before destroy(), then create the next), or pass `env` to child processes.
import { chmod, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run.js';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmToken {
  dir: string;
  conf: string;
  module: string;
  tokenLabel: string;
  pin: string;
  pinFile: string;
  keyLabel: string;
  keyIdHex: string;
  /** Environment for child processes (SOFTHSM2_CONF set). */
  env: NodeJS.ProcessEnv;
  /** Moves the token's directory away (as if the token were removed) and back. */
  removeToken(): Promise<void>;
  restoreToken(): Promise<void>;
  /** Changes the user PIN with pkcs11-tool (another process); the PIN file is left as it was. */
  changePin(newPin: string): Promise<void>;
  destroy(): Promise<void>;
}

export interface SoftHsmOptions {
  /** PKCS#8 PEM to import; without it an RSA-2048 key is generated in the token. */
  importKeyPem?: string;
  tokenLabel?: string;
  keyLabel?: string;
  /** Point this process's SOFTHSM2_CONF at the token (read by SoftHSM at C_Initialize). Default true. */
  setProcessEnv?: boolean;
}

async function must(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const r = await run(cmd, args, { env });
  if (r.code !== 0) throw new Error(`${cmd} ${args[0]} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

export async function createSoftHsmToken(opts: SoftHsmOptions = {}): Promise<SoftHsmToken> {
  const dir = await mkdtemp(join(tmpdir(), 'shrtok-softhsm-'));
  const tokens = join(dir, 'tokens');
  const conf = join(dir, 'softhsm2.conf');
  await writeFile(
    conf,
    `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
  );
  await mkdir(tokens);
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  const tokenLabel = opts.tokenLabel ?? 'shrtok-test';
  const keyLabel = opts.keyLabel ?? 'issuance-protection';
  const keyIdHex = '01';
  let pin = '1234-test';
  const pinFile = join(dir, 'user.pin');
  await writeFile(pinFile, pin, { mode: 0o600 });
  await chmod(pinFile, 0o600);
  const savedConf = process.env.SOFTHSM2_CONF;
  /** pkcs11-tool logged in to this token with the PIN of the moment. */
  const pkcs11Tool = (...args: string[]): Promise<string> =>
    must(
      'pkcs11-tool',
      ['--module', SOFTHSM_MODULE, '--token-label', tokenLabel, '--login', '--pin', pin, ...args],
      env,
    );
  try {
    await must(
      'softhsm2-util',
      ['--init-token', '--free', '--label', tokenLabel, '--pin', pin, '--so-pin', '5678-so'],
      env,
    );
    if (opts.importKeyPem) {
      await must(
        'softhsm2-util',
        [
          '--import',
          opts.importKeyPem,
          '--token',
          tokenLabel,
          '--label',
          keyLabel,
          '--id',
          keyIdHex,
          '--pin',
          pin,
        ],
        env,
      );
    } else {
      await pkcs11Tool('--keypairgen', '--key-type', 'rsa:2048', '--label', keyLabel, '--id', keyIdHex);
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  if (opts.setProcessEnv !== false) process.env.SOFTHSM2_CONF = conf;
  const [tokenDirName] = await readdir(tokens);
  const away = join(dir, 'removed-token');
  return {
    dir,
    conf,
    module: SOFTHSM_MODULE,
    tokenLabel,
    pinFile,
    keyLabel,
    keyIdHex,
    env,
    get pin() {
      return pin;
    },
    removeToken: () => rename(join(tokens, tokenDirName!), away),
    restoreToken: () => rename(away, join(tokens, tokenDirName!)),
    changePin: async (newPin: string) => {
      await pkcs11Tool('--change-pin', '--new-pin', newPin);
      pin = newPin;
    },
    destroy: async () => {
      if (opts.setProcessEnv !== false) {
        if (savedConf === undefined) delete process.env.SOFTHSM2_CONF;
        else process.env.SOFTHSM2_CONF = savedConf;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
