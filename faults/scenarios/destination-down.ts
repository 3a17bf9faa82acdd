import { destinationScenario } from '../../test/helpers/peers/destinations.js';
import { silentlyLost, type Scenario } from '../scenario.js';

const scenario: Scenario = {
  name: 'destination-down',
  description: 'Each network destination (statsd over TCP, carbon, Prometheus remote write, OTLP, Librato) is stopped for 60 s (quick: 3 s) while flushes continue, then started again.',
  async run({ quick }) {
    const r = await destinationScenario(
      {
        begin: (d) => d.stop(),
        end: (d) => d.start(),
      },
      { quick, faultMs: quick ? 3_000 : 60_000 },
    );
    return { ...r, silentlyLost: silentlyLost(r.made, r.received, r.counted) };
  },
};

export default scenario;
