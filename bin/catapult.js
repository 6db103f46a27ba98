#!/usr/bin/env node
// `catapult`: runs bin/main.js in a child process whose stderr passes through a filter. Dawn writes notes
// about the driver's limits ("Warning: maxDynamic… artificially reduced …") from native code straight to
// stderr whenever it opens an adapter; they say nothing a user can act on, so they are dropped here
// unless CATAPULT_DAWN_LOG=1. Everything else passes through as it comes (progress lines included), stdin
// and stdout are the child's own, signals are passed on and the exit code is the child's.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const DAWN_NOTE = /^Warning: max\w+ artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.\r?$/;
const keepAll = process.env.CATAPULT_DAWN_LOG === '1';

const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(new URL('./main.js', import.meta.url)), ...process.argv.slice(2)], {
  // The IPC channel is the child's tie to this process: if this one is killed outright (SIGKILL), the
  // channel closes and the child goes with it, as one process would.
  stdio: ['inherit', 'inherit', keepAll ? 'inherit' : 'pipe', 'ipc'],
  // The progress line is drawn only on a terminal: tell the child whether stderr is one.
  env: { ...process.env, CATAPULT_STDERR_TTY: process.stderr.isTTY ? '1' : '0', CATAPULT_WRAPPED: '1' },
});

if (!keepAll) {
  let pending = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop();
    const kept = lines.filter((l) => !DAWN_NOTE.test(l));
    if (kept.length) process.stderr.write(`${kept.join('\n')}\n`);
    // A line still being written is held only while it could become a Dawn note; anything else (the
    // progress line, redrawn with \r) goes out at once.
    if (pending !== '' && !'Warning: '.startsWith(pending.slice(0, 9))) {
      process.stderr.write(pending);
      pending = '';
    }
  });
  child.stderr.on('end', () => {
    if (pending !== '' && !DAWN_NOTE.test(pending)) process.stderr.write(pending);
  });
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  process.exitCode = code ?? 128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGKILL: 9 }[signal] ?? 1);
});
