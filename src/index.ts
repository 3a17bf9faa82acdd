/**
 * Zibrato: cheap in-app metrics over ZeroMQ. This entry point is the app-side
 * client only ({@link Zibrato}, its handles, scopes and types), so an app that
 * imports it type-checks and loads nothing of the backend. The other pieces
 * have their own entry points:
 *
 * - `zibrato/backend`: Backend, sinks and their types (to embed a backend)
 * - `zibrato/broker`: Broker (to embed the forwarder)
 * - `zibrato/wire`: the wire format (encoders and decoders)
 *
 * `require('zibrato')` loads a CommonJS build of this entry (dist/index.cjs).
 */
export * from './client/index.js';
export { LEVELS, type Level } from './levels.js';
export { ZibratoError, InvalidOptionError, ERROR_CODES, type ZibratoErrorCode } from './errors.js';
