// Where the package's own files are (data/, package.json): the nearest folder above this module that holds
// catapult-lab's package.json. The same in a checkout (src/cli/) and in an installed package (lib/src/cli/),
// and independent of the folder the command is run from.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'catapult-lab') return dir;
    if (dirname(dir) === dir) throw new Error(`catapult-lab's package.json is in no folder above ${from}`);
  }
}

export const packageRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
