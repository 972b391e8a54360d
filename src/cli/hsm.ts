import type { Command } from './command.js';

// Placeholder until the issue that owns this command lands.
export const command: Command = {
  name: 'hsm',
  summary: 'not yet available',
  usage: 'shrtok-proxy hsm',
  run: () => {
    process.stderr.write('shrtok-proxy: "hsm" is not yet available in this build\n');
    return Promise.resolve(1);
  },
};
