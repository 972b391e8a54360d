import type { Command } from './command.js';

// Placeholder until the issue that owns this command lands.
export const command: Command = {
  name: 'demo',
  summary: 'not yet available',
  usage: 'shrtok-proxy demo',
  run: () => {
    process.stderr.write('shrtok-proxy: "demo" is not yet available in this build\n');
    return Promise.resolve(1);
  },
};
