import { readFileSync } from 'node:fs';
import * as zmq from 'zeromq';
import { InvalidOptionError } from '../errors.js';

/**
 * CURVE keys as ZeroMQ takes them: 40-character Z85 strings (RFC 32), each
 * encoding 32 bytes. Key *values* come from options or the environment and key
 * *files* from the command line, never key values: `ps` shows a command line
 * to every local user.
 */

/** Keys a connecting socket (client, backend, tail, send, ingest) needs. */
export interface CurveClientKeys {
  /** The broker's public key. */
  serverKey: string;
  /** This peer's public key (the broker's allow-list names it). */
  publicKey: string;
  /** This peer's secret key. */
  secretKey: string;
}

/** Keys the broker needs: its own pair. */
export interface CurveServerKeys {
  publicKey: string;
  secretKey: string;
}

/** Environment variables that carry key values or key file paths. */
export const CURVE_ENV = {
  /** The broker's public key (Z85), for connecting peers. */
  serverKey: 'ZIBRATO_CURVE_SERVER_KEY',
  /** This peer's public key (Z85). */
  publicKey: 'ZIBRATO_CURVE_PUBLIC_KEY',
  /** This peer's secret key (Z85). */
  secretKey: 'ZIBRATO_CURVE_SECRET_KEY',
  /** A key pair file written by `zibrato keygen`, in place of the two above. */
  keyFile: 'ZIBRATO_CURVE_KEY_FILE',
  /** A file holding the broker's public key (its `.pub` or key pair file), in place of {@link CURVE_ENV.serverKey}. */
  serverKeyFile: 'ZIBRATO_CURVE_SERVER_KEY_FILE',
} as const;

const Z85_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const Z85_VALUE = new Map([...Z85_ALPHABET].map((c, i) => [c, i]));

/**
 * Decodes a Z85 string (RFC 32) whose length is a multiple of 5, or returns
 * undefined if it is not valid Z85. The ZAP handler compares the 32 raw bytes
 * libzmq hands it with the decoded allow-list.
 */
export function z85Decode(text: string): Buffer | undefined {
  if (text.length % 5 !== 0) return undefined;
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const digit = Z85_VALUE.get(text[i + j]!);
      if (digit === undefined) return undefined;
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) return undefined;
    out.writeUInt32BE(value, (i / 5) * 4);
  }
  return out;
}

/** Z85 of bytes whose length is a multiple of 4 (RFC 32); the ZAP handler logs refused public keys with it. */
export function z85Encode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i + 4 <= bytes.length; i += 4) {
    let value = ((bytes[i]! << 24) >>> 0) + (bytes[i + 1]! << 16) + (bytes[i + 2]! << 8) + bytes[i + 3]!;
    let chunk = '';
    for (let j = 0; j < 5; j++) {
      chunk = Z85_ALPHABET[value % 85]! + chunk;
      value = Math.floor(value / 85);
    }
    out += chunk;
  }
  return out;
}

/** True if `key` is a 40-character Z85 string of a 32-byte CURVE key. */
export function isCurveKey(key: string): boolean {
  return key.length === 40 && z85Decode(key) !== undefined;
}

function checkKey(key: string, what: string): string {
  if (!isCurveKey(key)) throw new InvalidOptionError(`${what} must be a 40-character Z85 CURVE key (zibrato keygen makes one)`);
  return key;
}

/** A new key pair (libzmq's `zmq_curve_keypair`). */
export function newKeyPair(): CurveServerKeys {
  return zmq.curveKeyPair();
}

/** The text of a key pair file: both keys, so one file configures a peer. */
export function keyPairFileText(keys: CurveServerKeys): string {
  return `# zibrato CURVE key pair: keep this file secret (mode 0600)\npublic-key = ${keys.publicKey}\nsecret-key = ${keys.secretKey}\n`;
}

/** The text of a public key file: give it to the broker's allow-list, or to peers as the server key. */
export function publicKeyFileText(publicKey: string): string {
  return `# zibrato CURVE public key\npublic-key = ${publicKey}\n`;
}

interface ParsedKeyFile {
  publicKeys: string[];
  secretKey?: string;
}

/**
 * Reads the key file grammar: `public-key = K`, `secret-key = K`, a bare key
 * (a public key), blank lines and `#` comments. Allow-lists are the same
 * grammar, so `cat a.pub b.pub > publishers.allow` makes one.
 */
export function parseKeyFile(text: string, origin: string): ParsedKeyFile {
  const parsed: ParsedKeyFile = { publicKeys: [] };
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(public-key|secret-key)\s*=\s*(\S+)$/.exec(line);
    const key = m ? m[2]! : line;
    // Never echo what might be a secret key.
    if (!isCurveKey(key)) throw new InvalidOptionError(`${origin} line ${i + 1}: not a 40-character Z85 CURVE key (expected "public-key = K", "secret-key = K" or a bare public key)`);
    if (m?.[1] === 'secret-key') parsed.secretKey = key;
    else parsed.publicKeys.push(key);
  }
  return parsed;
}

function readText(path: string, origin: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidOptionError(`${origin}: cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Reads a key pair file (`zibrato keygen` output). */
export function readKeyPairFile(path: string, origin: string): CurveServerKeys {
  const parsed = parseKeyFile(readText(path, origin), `${origin} ${path}`);
  const publicKey = parsed.publicKeys[0];
  if (!publicKey || !parsed.secretKey) throw new InvalidOptionError(`${origin} ${path}: a key pair file needs a public-key and a secret-key line (zibrato keygen writes one)`);
  return { publicKey, secretKey: parsed.secretKey };
}

/** Reads one public key from a `.pub` or key pair file. */
export function readPublicKeyFile(path: string, origin: string): string {
  const key = parseKeyFile(readText(path, origin), `${origin} ${path}`).publicKeys[0];
  if (!key) throw new InvalidOptionError(`${origin} ${path}: no public key in the file`);
  return key;
}

/** Reads an allow-list file: every public key in it (an empty list admits nobody). */
export function readAllowListFile(path: string, origin: string): string[] {
  return parseKeyFile(readText(path, origin), `${origin} ${path}`).publicKeys;
}

/** Checks client keys given as an option. */
export function checkClientKeys(keys: CurveClientKeys, origin: string): CurveClientKeys {
  return {
    serverKey: checkKey(keys.serverKey, `${origin}.serverKey`),
    publicKey: checkKey(keys.publicKey, `${origin}.publicKey`),
    secretKey: checkKey(keys.secretKey, `${origin}.secretKey`),
  };
}

/** Where a connecting peer's keys may come from: files named on the command line, else the environment. */
export interface ClientKeySources {
  /** Key pair file (`--curve-key-file`). */
  keyFile?: string;
  /** Broker public key file (`--curve-server-key-file`). */
  serverKeyFile?: string;
}

/**
 * A connecting peer's keys from files, else from {@link CURVE_ENV}, or
 * undefined when none is configured (plain, unauthenticated ZeroMQ). Half a
 * configuration is an error, never a silent fallback to plain text.
 */
export function resolveClientKeys(sources: ClientKeySources = {}, env: NodeJS.ProcessEnv = process.env): CurveClientKeys | undefined {
  const keyFile = sources.keyFile ?? env[CURVE_ENV.keyFile];
  const serverKeyFile = sources.serverKeyFile ?? env[CURVE_ENV.serverKeyFile];
  const pair = keyFile ? readKeyPairFile(keyFile, sources.keyFile ? '--curve-key-file' : CURVE_ENV.keyFile) : undefined;
  const publicKey = pair?.publicKey ?? env[CURVE_ENV.publicKey];
  const secretKey = pair?.secretKey ?? env[CURVE_ENV.secretKey];
  const serverKey = serverKeyFile ? readPublicKeyFile(serverKeyFile, sources.serverKeyFile ? '--curve-server-key-file' : CURVE_ENV.serverKeyFile) : env[CURVE_ENV.serverKey];
  if (!publicKey && !secretKey && !serverKey) return undefined;
  if (!serverKey) throw new InvalidOptionError(`CURVE keys are set but not the broker's public key: pass --curve-server-key-file or set ${CURVE_ENV.serverKey}`);
  if (!publicKey || !secretKey) throw new InvalidOptionError(`the broker's public key is set but not this peer's key pair: pass --curve-key-file or set ${CURVE_ENV.keyFile} (or ${CURVE_ENV.publicKey} and ${CURVE_ENV.secretKey})`);
  return checkClientKeys({ serverKey, publicKey, secretKey }, 'curve');
}

/** Socket options that make a connecting socket a CURVE client. */
export function clientSocketOptions(keys: CurveClientKeys): { curveServerKey: string; curvePublicKey: string; curveSecretKey: string } {
  return { curveServerKey: keys.serverKey, curvePublicKey: keys.publicKey, curveSecretKey: keys.secretKey };
}

/** The broker's key pair from `--curve-key-file`, else {@link CURVE_ENV}, or undefined (no CURVE). */
export function resolveServerKeys(keyFile: string | undefined, env: NodeJS.ProcessEnv = process.env): CurveServerKeys | undefined {
  const file = keyFile ?? env[CURVE_ENV.keyFile];
  if (file) return readKeyPairFile(file, keyFile ? '--curve-key-file' : CURVE_ENV.keyFile);
  const publicKey = env[CURVE_ENV.publicKey];
  const secretKey = env[CURVE_ENV.secretKey];
  if (!publicKey && !secretKey) return undefined;
  if (!publicKey || !secretKey) throw new InvalidOptionError(`set both ${CURVE_ENV.publicKey} and ${CURVE_ENV.secretKey}, or ${CURVE_ENV.keyFile}`);
  return { publicKey: checkKey(publicKey, CURVE_ENV.publicKey), secretKey: checkKey(secretKey, CURVE_ENV.secretKey) };
}
