import type { Command } from 'commander';
import { ZibratoError } from '../errors.js';
import { dirname } from 'node:path';
import { makePrivateDirSync, writePrivateFileSync } from '../security/files.js';
import { keyPairFileText, newKeyPair, publicKeyFileText } from '../security/keys.js';

/** Public key files are meant to be copied around: readable by all, still never written through a link. */
const PUBLIC_FILE_MODE = 0o644;

export function registerKeygenCommand(program: Command): void {
  program
    .command('keygen')
    .description('Make a CURVE key pair: <name>.key (secret, mode 0600) and <name>.pub; print the public key.')
    .argument('<name>', 'path prefix of the two files, e.g. keys/broker')
    .option('--force', 'overwrite existing files')
    .addHelpText(
      'after',
      `
The .key file holds both keys: give it to the peer it belongs to
(--curve-key-file, or env ZIBRATO_CURVE_KEY_FILE). The .pub file holds the
public key only: put it in the broker's allow-lists, or give the broker's to
its peers (--curve-server-key-file). See docs/security.md.

Example:
  zibrato keygen keys/broker && zibrato keygen keys/app
  cat keys/app.pub >> keys/publishers.allow`,
    )
    .action((name: string, opts: { force?: boolean }) => {
      const keys = newKeyPair();
      const mode = opts.force ? 'truncate' : 'exclusive';
      const cannotWrite = (err: unknown) => (err instanceof ZibratoError ? err : new ZibratoError('ZIB_ERR_INVALID_OPTION', `<name> ${name}: cannot write its key files: ${(err as Error).message}`, { cause: err }));
      try {
        // `zibrato keygen keys/broker` in a fresh checkout: make keys/ (0700), as the help's example expects.
        makePrivateDirSync(dirname(name));
      } catch (err) {
        throw cannotWrite(err);
      }
      try {
        writePrivateFileSync(`${name}.key`, keyPairFileText(keys), mode);
        writePrivateFileSync(`${name}.pub`, publicKeyFileText(keys.publicKey), mode, PUBLIC_FILE_MODE);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new ZibratoError('ZIB_ERR_INVALID_OPTION', `${name}.key or ${name}.pub exists; pass --force to replace it`);
        throw cannotWrite(err);
      }
      process.stdout.write(`${keys.publicKey}\n`);
    });
}
