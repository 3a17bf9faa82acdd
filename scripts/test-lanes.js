// The fast lane: `npm run test:unit` runs these, the tests that start no
// process and need no peer (no child process, no Prometheus, carbon, Python…),
// in well under 15 s. Everything else in test/ needs processes or peers and
// runs in `npm test` only. A new test that needs neither belongs here;
// test/packaging/test-lanes.test.ts checks that the list stays true.
export const UNIT_TESTS = [
  'test/backend/aggregators.test.ts',
  'test/backend/exp-histogram.test.ts',
  'test/backend/wal.test.ts',
  'test/client/api.test.ts',
  'test/config/config.test.ts',
  'test/config/wal-config.test.ts',
  'test/errors.test.ts',
  'test/ingest/statsd-parser.test.ts',
  'test/packaging/test-lanes.test.ts',
  'test/ingest/statsd-server.test.ts',
  'test/sinks/delivery.test.ts',
  'test/sinks/console.test.ts',
  'test/sinks/docs.test.ts',
  'test/wire/decoder.test.ts',
  'test/wire/vectors.test.ts',
  'test/security/keys.test.ts',
  'test/wire/shard.test.ts',
  'test/client/shards.test.ts',
  'test/store/recent-rows.test.ts',
  'test/backend/series-store.test.ts',
  'test/backend/receiver.test.ts',
];

// Tests that need root: they make Linux network namespaces (`ip netns`). They
// run in `npm test` like every other test outside the unit lane, and fail,
// saying so, when not run as root (CI runs the README test command as root).
export const ROOT_TESTS = ['test/multihost/netns.test.ts'];
