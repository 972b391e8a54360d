// One loaded PKCS#11 library per path per process: C_Initialize may run only once per library, so providers
// share it, and the last one to close finalizes it (which also makes SoftHSM re-read its token directory).
import pkcs11js from 'pkcs11js';

export interface LoadedModule {
  readonly path: string;
  readonly lib: pkcs11js.PKCS11;
  /** Finalize and initialize again: the only way SoftHSM and softokn notice a token that came back. */
  reinitialize(): void;
  release(): void;
}

interface Entry {
  lib: pkcs11js.PKCS11;
  initArgs: string;
  users: number;
}

const loaded = new Map<string, Entry>();

function initialize(lib: pkcs11js.PKCS11, libraryParameters: string | undefined): void {
  // Without CKF_OS_LOCKING_OK, concurrent sessions crash SoftHSM (node-stack-notes §4).
  // pkcs11js drops the last character of libraryParameters (its buffer has no room for the NUL): pad it.
  lib.C_Initialize(
    libraryParameters === undefined
      ? { flags: pkcs11js.CKF_OS_LOCKING_OK }
      : { flags: pkcs11js.CKF_OS_LOCKING_OK, libraryParameters: `${libraryParameters} ` },
  );
}

/** Loads and initialises a module, or shares the one already loaded with the same parameters. */
export function acquireModule(path: string, libraryParameters?: string): LoadedModule {
  const initArgs = libraryParameters ?? '';
  let entry = loaded.get(path);
  if (entry && entry.initArgs !== initArgs)
    throw new Error(`PKCS#11 module ${path} is already initialised with other parameters in this process`);
  if (!entry) {
    const lib = new pkcs11js.PKCS11();
    lib.load(path);
    try {
      initialize(lib, libraryParameters);
    } catch (e) {
      lib.close();
      throw e;
    }
    entry = { lib, initArgs, users: 0 };
    loaded.set(path, entry);
  }
  entry.users++;
  const current = entry;
  let released = false;
  return {
    path,
    lib: current.lib,
    reinitialize: () => {
      if (current.users !== 1) throw new Error(`PKCS#11 module ${path} is shared; not re-initialising it`);
      try {
        current.lib.C_Finalize();
      } catch {
        // already unusable; initialise again regardless
      }
      initialize(current.lib, libraryParameters);
    },
    release: () => {
      if (released) return;
      released = true;
      if (--current.users > 0) return;
      loaded.delete(path);
      try {
        current.lib.C_Finalize();
      } finally {
        current.lib.close();
      }
    },
  };
}
