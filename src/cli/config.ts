import { ConfigError, loadServeConfig } from '../config/index.js';
import { printDefaults } from '../config/print-defaults.js';
import { UsageError } from './args.js';
import type { Command } from './command.js';

const check: Command = {
  name: 'check',
  summary: 'validate a configuration file (exit 0 when valid, 1 with the reason when not)',
  usage: 'shrtok-proxy config check FILE',
  run: ({ positionals }) => {
    if (positionals.length !== 1) throw new UsageError('config check takes exactly one FILE');
    const file = positionals[0] as string;
    try {
      loadServeConfig(file, {});
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      process.stderr.write(`shrtok-proxy: ${e.message}\n`);
      return Promise.resolve(1);
    }
    process.stdout.write(`${file}: ok\n`);
    return Promise.resolve(0);
  },
};

const defaults: Command = {
  name: 'print-defaults',
  summary: 'print a commented example configuration with every key and its default',
  usage: 'shrtok-proxy config print-defaults',
  run: ({ positionals }) => {
    if (positionals.length) throw new UsageError('config print-defaults takes no arguments');
    process.stdout.write(printDefaults());
    return Promise.resolve(0);
  },
};

export const command: Command = {
  name: 'config',
  summary: 'check a configuration file or print the defaults',
  usage: 'shrtok-proxy config <check|print-defaults>',
  subcommands: [check, defaults],
};
