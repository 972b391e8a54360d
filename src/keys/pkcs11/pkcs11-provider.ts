// PKCS#11 key provider: the private key stays in the token. The session key is unwrapped into the token as a
// sensitive, non-extractable session object and the passphrase decrypted there with AES-CBC-PAD. Where the
// token lacks the RSA mechanism (SoftHSM 2.6: no OAEP SHA-256), raw RSA in the token + unpadding here.
import type { KeyObject } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import type { Pkcs11KeyOptions } from '../options.js';
import { WrapUnsupportedError } from '../errors.js';
import { KeyUnavailableError, TokenError, WRAP_ALGORITHMS } from '../provider.js';
import type { KeyProvider, WrapAlgorithm } from '../provider.js';
import { publicWrap } from '../rsa-wrap.js';
import {
  checkCiphertextShape,
  decryptPassphrase,
  DOGTAG_IV,
  encryptPassphrase,
  wipe,
} from '../session-cipher.js';
import { unpadSessionKey } from '../unpad.js';
import {
  AMBIGUOUS,
  ckrCode,
  ckrName,
  DECRYPT_DATA_ERRORS,
  MECHANISM_UNSUPPORTED,
  RECOVERABLE,
  SESSION_KEY_ERRORS,
  UNWRAP_DATA_ERRORS,
} from './errors.js';
import { RSA_MECHANISM, SESSION_KEY_TEMPLATE } from './mechanisms.js';
import { acquireModule } from './module-registry.js';
import type { LoadedModule } from './module-registry.js';
import { SessionPool } from './session-pool.js';
import { openToken, readPinFile } from './token-session.js';
import type { OpenToken } from './token-session.js';

type Handle = pkcs11js.Handle;
/** How a wrap is decrypted: C_UnwrapKey in the token, raw RSA in the token + unpadding here, or not at all. */
export type WrapMode = 'unwrap' | 'raw' | 'unavailable';
type Stage = 'unwrap' | 'aes-init' | 'decrypt';

/** After a failed recovery, calls fail fast for this long before the next attempt. */
const RECOVERY_BACKOFF_MS = 500;

export interface Pkcs11ProviderHooks {
  /** Startup notices (mechanism fallbacks); never secrets. Default: stderr. */
  log?: (message: string) => void;
}

interface State extends OpenToken {
  pool: SessionPool;
}

function nssParameters(dir: string): string {
  return `configdir='sql:${dir}' certPrefix='' keyPrefix='' secmod='secmod.db' flags=readOnly`;
}

export async function openPkcs11Provider(
  opts: Pkcs11KeyOptions,
  hooks: Pkcs11ProviderHooks = {},
): Promise<Pkcs11KeyProvider> {
  let module: LoadedModule;
  try {
    module = acquireModule(opts.module, opts.nssDb === undefined ? undefined : nssParameters(opts.nssDb));
  } catch (e) {
    throw new KeyUnavailableError(`cannot load PKCS#11 module ${opts.module}: ${ckrName(e)}`);
  }
  const provider = new Pkcs11KeyProvider(
    opts,
    module,
    hooks.log ?? ((m) => process.stderr.write(`shrtok-proxy: ${m}\n`)),
  );
  try {
    await provider.start();
  } catch (e) {
    await provider.close();
    throw e;
  }
  return provider;
}

export class Pkcs11KeyProvider implements KeyProvider {
  readonly description: string;
  private state: State | undefined;
  private stale = false;
  private closed = false;
  private recovering: Promise<State> | undefined;
  private lastFailure = { at: 0, reason: '' };
  private readonly modes: Record<WrapAlgorithm, WrapMode> = {
    'rsa-pkcs1v15': 'unavailable',
    'rsa-oaep-sha256': 'unavailable',
  };
  private readonly poolSize: number;

  constructor(
    private readonly opts: Pkcs11KeyOptions,
    private readonly module: LoadedModule,
    private readonly log: (message: string) => void,
  ) {
    const key = opts.keyId !== undefined ? `id=${opts.keyId}` : `label=${opts.keyLabel}`;
    const where = opts.nssDb !== undefined ? `nss:${opts.nssDb}` : opts.module;
    this.description = `pkcs11:${where} token=${opts.token ?? '*'} key ${key}`;
    this.poolSize = opts.sessions ?? Math.max(Number(process.env.UV_THREADPOOL_SIZE) || 4, 1);
  }

  private get lib(): pkcs11js.PKCS11 {
    return this.module.lib;
  }

  /** Which path each wrap takes on this token (for logs and `token inspect`). */
  get wrapModes(): Readonly<Record<WrapAlgorithm, WrapMode>> {
    return this.modes;
  }

  async start(): Promise<void> {
    this.state = await this.connect();
    for (const wrap of WRAP_ALGORITHMS) {
      this.modes[wrap] = await this.probe(this.state, wrap);
    }
    if (this.modes['rsa-pkcs1v15'] === 'unavailable' && this.modes['rsa-oaep-sha256'] === 'unavailable')
      throw new KeyUnavailableError(`${this.description}: the key can decrypt neither wrap`);
  }

  private async connect(): Promise<State> {
    const pin =
      this.opts.pinFile === undefined
        ? undefined
        : await readPinFile(this.opts.pinFile).catch((e: NodeJS.ErrnoException) => {
            throw new KeyUnavailableError(`cannot read PIN file ${this.opts.pinFile}: ${e.code ?? 'error'}`);
          });
    let opened: OpenToken;
    try {
      opened = openToken(this.lib, this.opts, pin, this.poolSize, this.opts.nssDb !== undefined);
    } catch (e) {
      throw new KeyUnavailableError(`${this.description}: ${ckrName(e)}`, { cause: e });
    }
    return { ...opened, pool: new SessionPool(opened.sessions) };
  }

  /** Decrypts a token made here with a known passphrase through one mode; true when the result matches. */
  private async selfTest(state: State, wrap: WrapAlgorithm, mode: WrapMode): Promise<void> {
    const sessionKey = randomBytes(16);
    const expected = randomBytes(12);
    const wrapped = publicWrap(state.publicKey, sessionKey, wrap);
    const ciphertext = encryptPassphrase(sessionKey, expected);
    wipe(sessionKey);
    const got = await this.run(state, wrapped, ciphertext, wrap, mode);
    if (!got.equals(expected)) throw new Error('self-test decrypted to other bytes');
  }

  private async probe(state: State, wrap: WrapAlgorithm): Promise<WrapMode> {
    let why: string;
    try {
      await this.selfTest(state, wrap, 'unwrap');
      return 'unwrap';
    } catch (e) {
      why = e instanceof KeyUnavailableError && e.cause !== undefined ? ckrName(e.cause) : ckrName(e);
    }
    try {
      await this.selfTest(state, wrap, 'raw');
      this.log(
        `pkcs11: ${wrap}: C_UnwrapKey refused (${why}); using raw RSA (CKM_RSA_X_509) in the token with unpadding in the process`,
      );
      return 'raw';
    } catch (e) {
      this.log(
        `pkcs11: ${wrap}: not available on this token (unwrap: ${why}; raw RSA: ${ckrName(e instanceof KeyUnavailableError && e.cause !== undefined ? e.cause : e)})`,
      );
      return 'unavailable';
    }
  }

  async decrypt(wrappedKey: Buffer, ciphertext: Buffer, wrap: WrapAlgorithm): Promise<Buffer> {
    const mode = this.modes[wrap];
    for (let attempt = 0; ; attempt++) {
      const state = await this.ready();
      if (wrappedKey.length !== state.modulusBytes)
        throw new TokenError('unwrap', 'wrapped key length differs from the modulus length');
      if (mode === 'unavailable') throw new WrapUnsupportedError(`${wrap} is not supported by this token`);
      try {
        return await this.run(state, wrappedKey, ciphertext, wrap, mode);
      } catch (e) {
        // A queued call whose pool was closed by a recovery, or a call that lost its session or login,
        // tries once more on re-opened sessions.
        if (attempt === 0 && (e instanceof PoolClosed || isRecoverable(e))) continue;
        throw e instanceof PoolClosed ? new KeyUnavailableError(e.message) : e;
      }
    }
  }

  private async run(
    state: State,
    wrappedKey: Buffer,
    ciphertext: Buffer,
    wrap: WrapAlgorithm,
    mode: WrapMode,
  ): Promise<Buffer> {
    const session = await state.pool.acquire();
    try {
      return mode === 'unwrap'
        ? await this.unwrapAndDecrypt(state, session, wrappedKey, ciphertext, wrap)
        : await this.rawDecrypt(state, session, wrappedKey, ciphertext, wrap);
    } finally {
      state.pool.release(session);
    }
  }

  private async unwrapAndDecrypt(
    state: State,
    session: Handle,
    wrappedKey: Buffer,
    ciphertext: Buffer,
    wrap: WrapAlgorithm,
  ): Promise<Buffer> {
    const lib = this.lib;
    const aesKey = await this.step(state, session, 'unwrap', () =>
      lib.C_UnwrapKeyAsync(session, RSA_MECHANISM[wrap], state.key, wrappedKey, SESSION_KEY_TEMPLATE),
    );
    try {
      // Tokens that report the unwrapped length let us refuse AES-192/256 keys; SoftHSM reports 0.
      const len = lib.C_GetAttributeValue(session, aesKey, [{ type: pkcs11js.CKA_VALUE_LEN }])[0]?.value;
      const n = len && len.length > 0 ? len.readUIntLE(0, Math.min(len.length, 6)) : 0;
      if (n !== 0 && n !== 16) throw new TokenError('unwrap', 'unwrapped session key is not 16 bytes');
      // Checked after the unwrap, as Dogtag fails in that order.
      checkCiphertextShape(ciphertext);
      await this.step(state, session, 'aes-init', () =>
        lib.C_DecryptInit(session, { mechanism: pkcs11js.CKM_AES_CBC_PAD, parameter: DOGTAG_IV }, aesKey),
      );
      const out = Buffer.alloc(ciphertext.length);
      // AES over a few blocks takes microseconds: run it here rather than queue it in the thread pool behind
      // RSA operations while this session sits idle (that cost ~30% of throughput).
      const plain = await this.step(state, session, 'decrypt', () => lib.C_Decrypt(session, ciphertext, out));
      const result = Buffer.from(plain);
      wipe(out);
      return result;
    } finally {
      try {
        lib.C_DestroyObject(session, aesKey);
      } catch {
        // a session object also disappears with its session
      }
    }
  }

  private async rawDecrypt(
    state: State,
    session: Handle,
    wrappedKey: Buffer,
    ciphertext: Buffer,
    wrap: WrapAlgorithm,
  ): Promise<Buffer> {
    const lib = this.lib;
    const k = state.modulusBytes;
    const out = Buffer.alloc(k);
    const raw = await this.step(state, session, 'unwrap', async () => {
      lib.C_DecryptInit(session, { mechanism: pkcs11js.CKM_RSA_X_509 }, state.key);
      return lib.C_DecryptAsync(session, wrappedKey, out);
    });
    // Some modules strip leading zero bytes of the raw result.
    const em = Buffer.alloc(k);
    raw.copy(em, k - raw.length);
    wipe(out);
    let sessionKey: Buffer;
    try {
      sessionKey = unpadSessionKey(em, wrap);
    } finally {
      wipe(em);
    }
    return decryptPassphrase(sessionKey, ciphertext);
  }

  /** Runs one PKCS#11 call and sorts its failure into a bad token (TokenError) or an unusable HSM. */
  private async step<T>(state: State, session: Handle, stage: Stage, call: () => T | Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      if (e instanceof TokenError || e instanceof KeyUnavailableError) throw e;
      const code = ckrCode(e);
      const errorClass = stage === 'decrypt' ? 'decrypt' : 'unwrap';
      const dataErrors =
        stage === 'unwrap'
          ? UNWRAP_DATA_ERRORS
          : stage === 'aes-init'
            ? SESSION_KEY_ERRORS
            : DECRYPT_DATA_ERRORS;
      if (code !== undefined && dataErrors.has(code)) throw new TokenError(errorClass, `${stage} failed`);
      if (code !== undefined && AMBIGUOUS.has(code) && this.stillWorking(state, session))
        throw new TokenError(errorClass, `${stage} failed`);
      // An unsupported mechanism is a property of the token, not a lost session: no recovery.
      if (!(code !== undefined && stage === 'unwrap' && MECHANISM_UNSUPPORTED.has(code)))
        this.markStale(state);
      throw new KeyUnavailableError(`PKCS#11 ${stage} failed: ${ckrName(e)}`, { cause: e });
    }
  }

  /** Only a failure on the current sessions triggers a recovery; late failures of replaced ones do not. */
  private markStale(state: State): void {
    if (state === this.state) this.stale = true;
  }

  private stillWorking(state: State, session: Handle): boolean {
    try {
      this.lib.C_GetSessionInfo(session);
      this.lib.C_GetAttributeValue(session, state.key, [{ type: pkcs11js.CKA_KEY_TYPE }]);
      return true;
    } catch {
      return false;
    }
  }

  /** The current state, re-opening sessions (and, if needed, the module) after an HSM failure. */
  private ready(): Promise<State> {
    if (this.closed) return Promise.reject(new KeyUnavailableError('key provider is closed'));
    if (this.state && !this.stale) return Promise.resolve(this.state);
    this.recovering ??= this.recover().finally(() => (this.recovering = undefined));
    return this.recovering;
  }

  private async recover(): Promise<State> {
    if (Date.now() - this.lastFailure.at < RECOVERY_BACKOFF_MS)
      throw new KeyUnavailableError(`HSM unavailable: ${this.lastFailure.reason}`);
    await this.dropState();
    try {
      this.state = await this.connect();
    } catch {
      // SoftHSM and softokn notice a token that was removed and put back only after C_Initialize.
      try {
        this.module.reinitialize();
        this.state = await this.connect();
      } catch (e) {
        const reason = e instanceof KeyUnavailableError ? e.message : ckrName(e);
        this.lastFailure = { at: Date.now(), reason };
        throw new KeyUnavailableError(`HSM unavailable: ${reason}`, { cause: e });
      }
    }
    this.stale = false;
    this.log(`pkcs11: sessions re-opened on token "${this.state.tokenLabel}"`);
    return this.state;
  }

  private async dropState(): Promise<void> {
    const old = this.state;
    this.state = undefined;
    if (!old) return;
    await old.pool.close(new PoolClosed('PKCS#11 sessions are being re-opened'));
    // Only our own sessions: C_CloseAllSessions would also end other providers' sessions on this token.
    for (const session of old.sessions) {
      try {
        this.lib.C_CloseSession(session);
      } catch {
        // already invalid (token removed, module re-initialised)
      }
    }
  }

  publicKey(): Promise<KeyObject> {
    return this.ready().then((s) => s.publicKey);
  }

  async healthy(): Promise<boolean> {
    try {
      const state = await this.ready();
      const session = await state.pool.acquire();
      try {
        const ok = this.stillWorking(state, session);
        if (!ok) this.markStale(state);
        return ok;
      } finally {
        state.pool.release(session);
      }
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.recovering?.catch(() => undefined);
    await this.dropState();
    this.module.release();
  }
}

function isRecoverable(e: unknown): boolean {
  const code = e instanceof KeyUnavailableError ? ckrCode(e.cause) : undefined;
  return code !== undefined && RECOVERABLE.has(code);
}

class PoolClosed extends Error {
  override name = 'PoolClosed';
}
