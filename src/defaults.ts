/**
 * One source of truth for Zibrato's well-known endpoints and limits.
 * ZeroMQ socket options live in wire/socket-options.ts.
 */

/** Where publishers connect: the broker's XSUB side. */
export const DEFAULT_PUBLISH_ENDPOINT = 'tcp://127.0.0.1:5550';
/** Where backends and `zibrato tail` connect: the broker's XPUB side. */
export const DEFAULT_SUBSCRIBE_ENDPOINT = 'tcp://127.0.0.1:5551';
/** Default flush interval of a backend. */
export const DEFAULT_FLUSH_INTERVAL_MS = 10_000;
/**
 * Default flush interval of the in-app client (`flushIntervalMs`). Each flush wakes libzmq's I/O thread, the broker and
 * every backend: at 10 ms (the default until issue 10) that cost a service
 * ~40 µs of CPU per request at 2,000 requests/s, several times the calls
 * themselves. Backends aggregate over seconds (10 s by default), so a quarter
 * second more in the app changes no figure; a burst still leaves at once,
 * because a full batch is sent on the next turn of the event loop.
 */
export const DEFAULT_CLIENT_FLUSH_INTERVAL_MS = 250;
/** Shortest flush interval a backend accepts (shorter ones are almost always a missing unit). */
export const MIN_FLUSH_INTERVAL_MS = 10;
/** Default series limit of a backend (`--max-series`). */
export const DEFAULT_MAX_SERIES = 100_000;
/** Environment variable the examples and `zibrato send` read for the broker's publisher endpoint. */
export const BROKER_ENV = 'ZIBRATO_BROKER';
/** Default StatsD ingest port (the StatsD convention). */
export const DEFAULT_STATSD_PORT = 8125;
/** The file the embedded `zibrato up` defaults write. */
export const DEFAULT_FILE_SINK_PATH = './zibrato-data/metrics.jsonl';
/** Where the embedded store backend keeps its database (beside the JSONL file). */
export const DEFAULT_STORE_DIR = './zibrato-data';
/** The store's HTTP API and web UI: loopback only unless a token is set. */
export const DEFAULT_STORE_HOST = '127.0.0.1';
export const DEFAULT_STORE_PORT = 5580;

/**
 * How long a subscriber (a backend, `zibrato tail`) waits for the broker's
 * handshake before saying none has answered: ZeroMQ retries a connect
 * silently, and a local broker answers within milliseconds.
 */
export const NO_BROKER_NOTICE_MS = 3000;

/** Where backends under `zibrato up` keep their publishers' sequence positions (relative to up's working directory). */
export const DEFAULT_BACKEND_STATE_DIR = './zibrato-data/state';
