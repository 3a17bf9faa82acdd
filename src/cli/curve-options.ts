import { Option, type Command } from 'commander';
import { CURVE_ENV, resolveClientKeys, type CurveClientKeys } from '../security/keys.js';

/** The key options every connecting command (backend, tail, send, ingest) takes: files only, never key values. */
export interface ClientKeyOptions {
  curveKeyFile?: string;
  curveServerKeyFile?: string;
}

/** `--curve-key-file`: a connecting peer's key pair file. */
export function curveKeyFileOption(): Option {
  return new Option('--curve-key-file <file>', `this peer's CURVE key pair file from zibrato keygen (env ${CURVE_ENV.keyFile}, or ${CURVE_ENV.publicKey} + ${CURVE_ENV.secretKey})`);
}

/** `--curve-server-key-file`: the broker's public key file. */
export function curveServerKeyFileOption(): Option {
  return new Option('--curve-server-key-file <file>', `the broker's public key file (env ${CURVE_ENV.serverKeyFile}, or ${CURVE_ENV.serverKey})`);
}

/** Adds `--curve-key-file` and `--curve-server-key-file` to a connecting command. */
export function addClientKeyOptions(cmd: Command): Command {
  return cmd.addOption(curveKeyFileOption()).addOption(curveServerKeyFileOption());
}

/** The keys those options (or the environment) name, or undefined for plain ZeroMQ. */
export function clientKeysOf(opts: ClientKeyOptions): CurveClientKeys | undefined {
  return resolveClientKeys({ keyFile: opts.curveKeyFile, serverKeyFile: opts.curveServerKeyFile });
}
