#!/usr/bin/env node
// Runs the TypeScript command line directly (tsx compiles it on the fly): no build step between a clone and a run.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/catapult.ts');
process.exitCode = await main(process.argv.slice(2));
