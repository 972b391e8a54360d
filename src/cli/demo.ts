import { startDemo } from '../demo/index.js';
import { bool, int } from './args.js';
import type { FlagSpec } from './args.js';
import type { Command } from './command.js';

const flags: FlagSpec[] = [
  {
    name: 'port',
    type: 'int',
    valueName: 'PORT',
    help: 'proxy listener port on 127.0.0.1 (default 1389)',
    min: 1,
    max: 65535,
  },
  {
    name: 'metrics-port',
    type: 'int',
    valueName: 'PORT',
    help: 'metrics port on 127.0.0.1 (default 9464)',
    min: 1,
    max: 65535,
  },
  { name: 'skip-install', type: 'boolean', help: 'do not check or install the Debian packages' },
];

export const command: Command = {
  name: 'demo',
  summary: 'run a self-contained demo (slapd, SoftHSM, proxy)',
  usage: 'shrtok-proxy demo [--port PORT] [--metrics-port PORT]',
  description:
    'Starts a local slapd, a SoftHSM2 token with an issuance-protection key, installs the shrTok schema,\n' +
    'gives a demo user a shared token and runs the proxy with StartTLS and metrics, then prints commands\n' +
    'to try. Ctrl-C stops everything and removes the temp dir. Installs missing Debian packages as root.',
  flags,
  run: async ({ flags: values }) => {
    const log = (line: string): void => void process.stderr.write(`demo: ${line}\n`);
    const demo = await startDemo({
      listenPort: int(values, 'port') ?? 1389,
      metricsPort: int(values, 'metrics-port') ?? 9464,
      skipInstall: bool(values, 'skip-install'),
      out: log,
    });
    process.stdout.write(
      [
        '',
        `shrtok-proxy is listening on ${demo.proxyUrl} (StartTLS) in front of a local slapd;`,
        `the issuance-protection key is in a SoftHSM2 token under ${demo.dir}.`,
        '',
        'Try these (virtual bind of uid=demo; set a token for uid=user1 through the proxy; bind as user1; metrics):',
        ...demo.commands.map((c) => `  $ ${c}`),
        '',
        'Ctrl-C stops everything and removes the temp dir.',
        '',
      ].join('\n'),
    );
    return new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (code: number): void => {
        if (stopping) return;
        stopping = true;
        void demo.stop().then(() => resolve(code));
      };
      // `on`, not `once`: a second Ctrl-C while cleaning up must not kill the process half-way.
      process.on('SIGINT', () => stop(0));
      process.on('SIGTERM', () => stop(0));
      void demo.exited.then((code) => {
        if (!stopping) log(`the proxy exited with code ${code}`);
        stop(code === 0 ? 0 : 1);
      });
    });
  },
};
