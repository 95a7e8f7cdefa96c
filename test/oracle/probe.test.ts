import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScriptOnKvm } from '../../src/oracle/backend.ts';
import { kvmDevice, oracleMode, probeKvm } from '../../src/oracle/probe.ts';
import { ScriptSchema } from '../../src/script/schema.ts';

const script = ScriptSchema.parse({ kind: 'script', ops: [{ op: 'rdmsr', msr: 'MSR_KVM_ASYNC_PF_EN' }] });
const missing = { KVM_ORACLE: 'auto', KVM_ORACLE_DEVICE: '/nonexistent/kvm' };

test('KVM_ORACLE is off, auto (the default) or require', () => {
  assert.equal(oracleMode({}), 'auto');
  assert.equal(oracleMode({ KVM_ORACLE: 'REQUIRE' }), 'require');
  assert.equal(oracleMode({ KVM_ORACLE: 'off' }), 'off');
  assert.throws(() => oracleMode({ KVM_ORACLE: 'yes' }), /off, auto or require/);
  assert.equal(kvmDevice({}), '/dev/kvm');
  assert.equal(kvmDevice({ KVM_ORACLE_DEVICE: 'fixtures/kvm-stand-in' }), 'fixtures/kvm-stand-in');
});

test('probe: a missing device is a reason, not an error', async (t) => {
  const p = await probeKvm(missing);
  assert.equal(p.ok, false);
  assert.ok(!p.ok && /\/nonexistent\/kvm is not accessible .*ENOENT/.test(p.reason), !p.ok ? p.reason : '');
  t.diagnostic(`skip reason: ${!p.ok ? p.reason : ''}`);
});

test('probe: KVM_ORACLE=off never touches the device', async () => {
  const p = await probeKvm({ KVM_ORACLE: 'off' });
  assert.deepEqual(!p.ok && p.reason, 'KVM_ORACLE=off');
});

test('runScriptOnKvm without a usable device: unavailable, with the reason', async (t) => {
  const r = await runScriptOnKvm(script, { env: missing });
  assert.equal(r.status, 'unavailable');
  assert.ok('reason' in r && r.reason.includes('ENOENT'));
  t.diagnostic(`unavailable: ${'reason' in r ? r.reason : ''}`);
});

test('probe of this machine: ok, or skipped with its reason', async (t) => {
  const p = await probeKvm();
  if (!p.ok) {
    if (p.mode === 'require') assert.fail(`KVM_ORACLE=require: ${p.reason}`);
    t.skip(p.reason);
    return;
  }
  assert.equal(p.device, '/dev/kvm');
});
