// A StatsD backend for the benchmarks: appends, per flush, the counters, the
// number of timer samples per timer and statsd's own packet counts to the file
// named by config.benchOutFile, so the harness can count what arrived.
'use strict';
const fs = require('fs');

exports.init = function (startupTime, config, events) {
  const out = config.benchOutFile;
  events.on('flush', function (timestamp, metrics) {
    const timers = {};
    for (const k of Object.keys(metrics.timers || {})) timers[k] = metrics.timers[k].length;
    fs.appendFileSync(out, JSON.stringify({ timestamp, counters: metrics.counters, timers }) + '\n');
  });
  events.on('status', function (writeCb) {
    writeCb(null, 'bench-count', 'ok', 1);
  });
  return true;
};
