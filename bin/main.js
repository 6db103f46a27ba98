// The command line itself, run by bin/catapult.js in a child process. A checkout runs its TypeScript
// sources (tsx compiles them on the fly: no build step between a clone and a run); an installed package,
// which ships no sources, runs the JavaScript compiled into lib/.
import { existsSync } from 'node:fs';

// Started by bin/catapult.js: go when it goes (its channel closes), without the channel keeping us alive.
if (process.channel) {
  process.channel.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
}

// A reader that stopped reading (catapult list | head) is no failure: stop quietly, as Unix tools do.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const sources = new URL('../src/cli/catapult.ts', import.meta.url);
let main;
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(sources.href));
} else {
  ({ main } = await import(new URL('../lib/src/cli/catapult.js', import.meta.url).href));
}
process.exitCode = await main(process.argv.slice(2));
