import { destinationScenario, HungServer } from '../../test/helpers/peers/destinations.js';
import { silentlyLost, type Scenario } from '../scenario.js';

const scenario: Scenario = {
  name: 'destination-hung',
  description: 'Each network destination is replaced for 60 s (quick: 3 s) by a server on its port that accepts connections and never reads or answers, then the real one returns.',
  async run({ quick }) {
    const hung = new Map<string, HungServer>();
    let accepted = 0;
    const r = await destinationScenario(
      {
        async begin(d) {
          await d.stop();
          const h = new HungServer();
          await h.start(d.port);
          hung.set(d.name, h);
        },
        async end(d) {
          const h = hung.get(d.name)!;
          accepted += h.accepted;
          await h.stop();
          await d.start();
        },
      },
      { quick, faultMs: quick ? 3_000 : 60_000 },
    );
    if (accepted === 0) throw new Error('no sink ever connected to a hung destination: the fault was not exercised');
    return { ...r, silentlyLost: silentlyLost(r.made, r.received, r.counted), notes: `${accepted} connections accepted by hung servers. ${r.notes}` };
  },
};

export default scenario;
