/** `zibrato/broker`: the XSUB/XPUB forwarder, to embed instead of running `zibrato broker`. */
export { Broker, type BrokerOptions, type BrokerStats } from '../broker/broker.js';
