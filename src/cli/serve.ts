import type { Command } from './command.js';

// Placeholder until the issue that owns this command lands.
export const command: Command = {
  name: 'serve',
  summary: 'not yet available',
  usage: 'shrtok-proxy serve',
  run: () => {
    process.stderr.write('shrtok-proxy: "serve" is not yet available in this build\n');
    return Promise.resolve(1);
  },
};
