import type { Command } from './command.js';

// Placeholder until the issue that owns this command lands.
export const command: Command = {
  name: 'config',
  summary: 'not yet available',
  usage: 'shrtok-proxy config',
  run: () => {
    process.stderr.write('shrtok-proxy: "config" is not yet available in this build\n');
    return Promise.resolve(1);
  },
};
