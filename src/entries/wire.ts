/** `zibrato/wire`: the wire format (docs/wire-format.md): batch writer and decoder, topics, legacy text. */
export * from '../wire/index.js';
