import type { Command } from './command.js';

// Placeholder until the issue that owns this command lands.
export const command: Command = {
  name: 'cmc',
  summary: 'not yet available',
  usage: 'shrtok-proxy cmc',
  run: () => {
    process.stderr.write('shrtok-proxy: "cmc" is not yet available in this build\n');
    return Promise.resolve(1);
  },
};
