// The command line run in this process, through its own entry point (src/cli/catapult.ts main): what a child
// process would print and exit with, without starting Node and Dawn again. For tests of the command's logic;
// what only a process shows (signals, Dawn's own notes on stderr, the adapter a fresh process picks, a lock's
// pid) is tested on a child process.
import { format } from 'node:util';
import { vi } from 'vitest';
import { main } from '../src/cli/catapult.ts';

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export async function catapultHere(...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)),
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)),
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += `${format(...a)}\n`)),
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += `${format(...a)}\n`)),
    vi.spyOn(console, 'warn').mockImplementation((...a: unknown[]) => void (stderr += `${format(...a)}\n`)),
  ];
  try {
    return { status: await main(args), stdout, stderr };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}
