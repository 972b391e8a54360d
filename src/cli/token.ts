import type { Command } from './command.js';

// Placeholder until the issue that owns this command lands.
export const command: Command = {
  name: 'token',
  summary: 'not yet available',
  usage: 'shrtok-proxy token',
  run: () => {
    process.stderr.write('shrtok-proxy: "token" is not yet available in this build\n');
    return Promise.resolve(1);
  },
};
