import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScenarioError } from '../../../src/scenario/scenario_error.ts';
import { parseS390Sim, variantNames } from '../../../src/sim/s390/scenario.ts';

const base = {
  arch: 's390',
  kind: 'sim',
  duration: '1ms',
  vms: [{ name: 'a', vcpus: 1, run: '10us', wake_latency: '5us', devices: [{ isc: 3, interval: '100us' }] }],
};

const fails = (raw: unknown, re: RegExp) =>
  assert.throws(
    () => parseS390Sim(raw, 'x.yaml'),
    (e: unknown) => e instanceof ScenarioError && re.test(e.message) && !e.message.includes('\n'),
  );

test('durations and distributions come in with units, converted to ns', () => {
  const s = parseS390Sim(
    { ...base, host: { expires: '50us', gal_latency: { dist: 'uniform', min: '1us', max: '3us' } } },
    'x.yaml',
  );
  assert.equal(s.duration, 1_000_000);
  assert.equal(s.host?.expires, 50_000);
  assert.deepEqual(s.host?.gal_latency, { dist: 'uniform', min: 1000, max: 3000 });
  assert.deepEqual(variantNames(s), ['current']);
});

test('errors are one line naming the field', () => {
  fails({ ...base, duration: '1 min' }, /^x\.yaml: duration: unknown duration unit/);
  fails({ ...base, strategy: 'v8' }, /^x\.yaml: strategy: expected one of/);
  fails(
    { ...base, vms: [{ ...base.vms[0], devices: [{ isc: 9, interval: '1ms' }] }] },
    /vms\[0\]\.devices\[0\]\.isc/,
  );
  fails({ ...base, vms: [base.vms[0], base.vms[0]] }, /vms\[1\]\.name: VM name "a" is used twice/);
  fails(
    { ...base, expect: [{ metric: 'ais', variant: 'v9', lt: 1 }] },
    /expect\[0\]\.variant: unknown variant "v9"/,
  );
  fails(
    { ...base, expect: [{ metric: 'nope', variant: 'current', lt: 1 }] },
    /expect\[0\]\.metric: expected one of/,
  );
  fails(
    { ...base, expect: [{ metric: 'ais', variant: 'current', lt: 1, gt: 0 }] },
    /give exactly one of lt, le, gt, ge/,
  );
  fails({ ...base, extra: 1 }, /unknown field\(s\) "extra"/);
});
