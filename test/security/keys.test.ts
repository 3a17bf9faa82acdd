import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as zmq from 'zeromq';
import { InvalidOptionError, ZibratoError } from '../../src/errors.ts';
import { isCurveKey, keyPairFileText, parseKeyFile, publicKeyFileText, resolveClientKeys, z85Decode, z85Encode } from '../../src/security/keys.ts';
import { Broker } from '../../src/broker/broker.ts';
import { Zibrato } from '../../src/client/zibrato.ts';
import { parseConfig } from '../../src/config/config.ts';

test('Z85 decoding inverts encoding for any bytes whose length is a multiple of 4', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }).filter((b) => b.length % 4 === 0), (bytes) => {
      assert.deepEqual(z85Decode(z85Encode(bytes)), Buffer.from(bytes));
    }),
  );
});

test('Z85 encoding matches libzmq: a key pair from zmq_curve_keypair decodes to 32 bytes and encodes back', () => {
  const kp = zmq.curveKeyPair();
  for (const k of [kp.publicKey, kp.secretKey]) {
    const raw = z85Decode(k);
    assert.equal(raw?.length, 32);
    assert.equal(z85Encode(raw!), k);
  }
});

test('the key file parser reads back what keygen writes, and throws only InvalidOptionError on any other text', () => {
  const kp = zmq.curveKeyPair();
  assert.deepEqual(parseKeyFile(keyPairFileText(kp), 'f'), { publicKeys: [kp.publicKey], secretKey: kp.secretKey });
  assert.deepEqual(parseKeyFile(publicKeyFileText(kp.publicKey) + `\n# old key\n${kp.secretKey}\n`, 'f').publicKeys, [kp.publicKey, kp.secretKey]);
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (text) => {
      try {
        for (const k of parseKeyFile(text, 'f').publicKeys) assert.ok(isCurveKey(k));
      } catch (err) {
        assert.ok(err instanceof InvalidOptionError, String(err));
      }
    }),
  );
});

test('an error in a key file names the line but never echoes the key', () => {
  const secretish = 'x'.repeat(39);
  assert.throws(() => parseKeyFile(`# c\nsecret-key = ${secretish}\n`, 'k.key'), (e: unknown) => e instanceof InvalidOptionError && /k\.key line 2/.test(e.message) && !e.message.includes(secretish));
});

test('half a client key configuration in the environment is an error, not plain text', () => {
  const kp = zmq.curveKeyPair();
  assert.equal(resolveClientKeys({}, {}), undefined);
  assert.throws(() => resolveClientKeys({}, { ZIBRATO_CURVE_PUBLIC_KEY: kp.publicKey, ZIBRATO_CURVE_SECRET_KEY: kp.secretKey }), /broker's public key/);
  assert.throws(() => resolveClientKeys({}, { ZIBRATO_CURVE_SERVER_KEY: kp.publicKey }), /key pair/);
  assert.deepEqual(resolveClientKeys({}, { ZIBRATO_CURVE_SERVER_KEY: kp.publicKey, ZIBRATO_CURVE_PUBLIC_KEY: kp.publicKey, ZIBRATO_CURVE_SECRET_KEY: kp.secretKey }), { serverKey: kp.publicKey, publicKey: kp.publicKey, secretKey: kp.secretKey });
});

test('a client given a malformed CURVE key throws ZIB_ERR_INVALID_OPTION at construction', () => {
  const kp = zmq.curveKeyPair();
  assert.throws(() => new Zibrato({ curve: { serverKey: 'short', publicKey: kp.publicKey, secretKey: kp.secretKey } }), (e: unknown) => e instanceof ZibratoError && e.code === 'ZIB_ERR_INVALID_OPTION' && /curve\.serverKey/.test(e.message));
});

test('a broker with CURVE keys but without both allow-lists refuses to start: CURVE without ZAP admits everyone', () => {
  const kp = zmq.curveKeyPair();
  assert.throws(() => new Broker({ curve: kp, allowPublishers: [kp.publicKey] }), (e: unknown) => e instanceof ZibratoError && e.code === 'ZIB_ERR_INVALID_OPTION' && /both allow-lists/.test(e.message));
});

test('a config with only some of the security key files is refused, naming the missing ones', () => {
  assert.throws(
    () => parseConfig('security:\n  brokerKeyFile: keys/broker.key\n  clientKeyFile: keys/z.key\n'),
    (e: unknown) => e instanceof ZibratoError && e.code === 'ZIB_ERR_INVALID_CONFIG' && /missing allowPublishersFile, allowSubscribersFile/.test(e.message),
  );
  assert.throws(() => parseConfig('security:\n  secretKey: abc\n'), (e: unknown) => e instanceof ZibratoError && e.code === 'ZIB_ERR_INVALID_CONFIG');
  assert.deepEqual(parseConfig('security: { insecure: true }\n').security, { insecure: true });
});
