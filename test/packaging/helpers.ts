import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/processes.ts';

/** The TypeScript compiler of this repository. */
export const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/**
 * A throw-away consumer project whose `node_modules/zibrato` is this package
 * (built in dist/), as after `npm install zibrato`. `tsconfig` is merged over
 * a strict NodeNext config; `files` are written into it.
 */
export function consumerProject(name: string, tsconfig: Record<string, unknown>, files: Record<string, string>, packageType: 'module' | 'commonjs' = 'module'): string {
  const dir = mkdtempSync(join(tmpdir(), `zibrato-${name}-`));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules/zibrato'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, private: true, type: packageType }));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        outDir: 'out',
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules/@types')],
        ...tsconfig,
      },
      include: ['*.ts'],
    }),
  );
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}
