#!/usr/bin/env node
// dist/cjs holds the CommonJS build of the client entry (tsconfig.cjs.json).
// The package is "type": "module", so without this marker Node would load
// those .js files as ES modules and require('zibrato') would fail.
import { writeFileSync } from 'node:fs';

writeFileSync(new URL('../dist/cjs/package.json', import.meta.url), JSON.stringify({ type: 'commonjs' }) + '\n');
