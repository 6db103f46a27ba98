#!/bin/bash
# The installable package's JavaScript (npm pack runs this as prepack): lib/ compiled from the TypeScript
# sources with type declarations, the built lab that `catapult lab` serves (lib/site), and the commit it
# was built at (an installed package is no git checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf lib
npx tsc -p tsconfig.build.json
npx vite build --outDir lib/site --emptyOutDir --logLevel error
git describe --always --dirty=' + uncommitted changes' > lib/code-version.txt 2>/dev/null || echo unknown > lib/code-version.txt
