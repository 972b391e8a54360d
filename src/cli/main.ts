import { runCommand, subcommandHelp } from './command.js';
import type { Command } from './command.js';

interface TopLevel {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

// Commands load lazily so `token verify` does not pay for the proxy, and the proxy not for the CLI tools.
const commands: readonly TopLevel[] = [
  { name: 'serve', summary: 'run the LDAP proxy', load: async () => (await import('./serve.js')).command },
  {
    name: 'demo',
    summary: 'run a self-contained demo (slapd, SoftHSM, proxy)',
    load: async () => (await import('./demo.js')).command,
  },
  {
    name: 'token',
    summary: 'create, verify, inspect and provision shared tokens',
    load: async () => (await import('./token.js')).command,
  },
  {
    name: 'hsm',
    summary: 'prepare a SoftHSM2 token with an issuance-protection key',
    load: async () => (await import('./hsm.js')).command,
  },
  {
    name: 'cmc',
    summary: 'verify CMC requests against a shared secret',
    load: async () => (await import('./cmc.js')).command,
  },
  {
    name: 'schema',
    summary: 'install, check or print the shrTok schema',
    load: async () => (await import('./schema.js')).command,
  },
  {
    name: 'config',
    summary: 'check a configuration file or print the defaults',
    load: async () => (await import('./config.js')).command,
  },
];

const root: Command = {
  name: 'shrtok-proxy',
  summary: 'LDAP proxy that verifies Dogtag CMC shared tokens with the key in an HSM',
  usage: 'shrtok-proxy <command> [options]',
  subcommands: commands.map((c) => ({ name: c.name, summary: c.summary, usage: c.name })),
};

export async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--version') {
    process.stdout.write('shrtok-proxy 0.1.0\n');
    return 0;
  }
  const entry = commands.find((c) => c.name === first);
  if (!entry) {
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      process.stdout.write(subcommandHelp(root));
      return first === undefined ? 2 : 0;
    }
    process.stderr.write(`shrtok-proxy: unknown command "${first}" (try --help)\n`);
    return 2;
  }
  return runCommand(await entry.load(), rest);
}
