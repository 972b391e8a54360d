// `shrtok-proxy hsm init`: a SoftHSM2 token with an issuance-protection key, for development and tests.
import { initSoftHsmToken, SOFTHSM_MODULE } from '../keys/pkcs11/softhsm-init.js';
import { bool, requireStr, str, UsageError } from './args.js';
import type { Command } from './command.js';

const init: Command = {
  name: 'init',
  summary: 'create a SoftHSM2 token and an RSA-2048 issuance-protection key',
  usage: 'shrtok-proxy hsm init --softhsm-dir DIR [--import-key KEY.pem] --label L [--key-label K] [--json]',
  description:
    'Creates DIR/softhsm2.conf and a token labelled L holding an RSA-2048 key, generated in the token (sensitive, non-extractable) or imported from a PKCS#8/PKCS#1 PEM, plus a self-signed certificate (DIR/L-cert.pem, also stored in the token). The user PIN is written to DIR/L.pin (mode 0600), the SO PIN to DIR/L.so-pin. Prints the environment and flags to use the key.',
  flags: [
    {
      name: 'softhsm-dir',
      type: 'string',
      valueName: 'DIR',
      help: 'directory for softhsm2.conf, tokens and PIN files',
    },
    { name: 'label', type: 'string', valueName: 'L', help: 'token label' },
    {
      name: 'key-label',
      type: 'string',
      valueName: 'K',
      help: 'key and certificate label (default: the token label)',
    },
    {
      name: 'import-key',
      type: 'string',
      valueName: 'FILE',
      help: 'import this RSA private key instead of generating one',
    },
    {
      name: 'pkcs11-module',
      type: 'string',
      valueName: 'PATH',
      help: `SoftHSM2 module (default ${SOFTHSM_MODULE})`,
    },
    { name: 'json', type: 'boolean', help: 'print the result as JSON' },
  ],
  run: async ({ flags }) => {
    const label = requireStr(flags, 'label');
    if (label.length > 32) throw new UsageError('--label is limited to 32 characters by PKCS#11');
    const opts = { dir: requireStr(flags, 'softhsm-dir'), label } as Parameters<typeof initSoftHsmToken>[0];
    const keyLabel = str(flags, 'key-label');
    const importKeyPem = str(flags, 'import-key');
    const module = str(flags, 'pkcs11-module');
    if (keyLabel !== undefined) opts.keyLabel = keyLabel;
    if (importKeyPem !== undefined) opts.importKeyPem = importKeyPem;
    if (module !== undefined) opts.module = module;
    let result;
    try {
      result = await initSoftHsmToken(opts);
    } catch (e) {
      process.stderr.write(`shrtok-proxy: hsm init: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
    if (bool(flags, 'json')) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return 0;
    }
    const quote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);
    process.stdout.write(
      [
        `Token "${result.tokenLabel}" created with an RSA-2048 key (${result.keySource}), key label "${result.keyLabel}", CKA_ID ${result.keyIdHex}.`,
        `Certificate: ${result.certificate}`,
        `User PIN file: ${result.pinFile}`,
        'Use it with:',
        `export SOFTHSM2_CONF=${quote(result.softhsm2Conf)}`,
        result.flags.map(quote).join(' '),
        '',
      ].join('\n'),
    );
    return 0;
  },
};

export const command: Command = {
  name: 'hsm',
  summary: 'prepare a SoftHSM2 token with an issuance-protection key',
  usage: 'shrtok-proxy hsm <init> [options]',
  subcommands: [init],
};
