import { ZibratoError } from '../errors.js';

/** The `@duckdb/node-api` module, loaded on demand. */
export type DuckDbModule = typeof import('@duckdb/node-api');

/**
 * Loads DuckDB only when a store backend starts: it is an optional peer
 * dependency, so an app that only instruments never installs its ~60 MB binary.
 */
export async function loadDuckDb(): Promise<DuckDbModule> {
  try {
    return await import('@duckdb/node-api');
  } catch (err) {
    throw new ZibratoError('ZIB_ERR_STORE_DEPENDENCY_MISSING', `the store backend needs the optional dependency @duckdb/node-api; install it with: npm install @duckdb/node-api (${(err as Error).message})`, { cause: err });
  }
}
