// Reads one simulated terminal with an npm ZK client and prints what it got as JSON.
// usage: node zk_client.js node-zklib|zkteco-js HOST PORT
'use strict';
const [, , which, host, portText] = process.argv;
const port = Number(portText);

function fail(step, err) {
  const msg = { ok: false, step, error: String((err && (err.message || err.err || err.toast)) || JSON.stringify(err)) };
  process.stdout.write(JSON.stringify(msg) + '\n', () => process.exit(1));
}

async function nodeZklib() {
  const ZKLib = require('node-zklib');
  const zk = new ZKLib(host, port, 10000, 4000);
  try { await zk.createSocket(); } catch (e) { fail('connect', e); }
  const out = { ok: true, client: 'node-zklib', type: zk.connectionType };
  try { out.info = await zk.getInfo(); } catch (e) { fail('info', e); }
  try { const r = await zk.getUsers(); out.users = r.data; out.users_err = r.err ? String(r.err.message || r.err) : null; } catch (e) { fail('users', e); }
  try { const r = await zk.getAttendances(); out.attendances = r.data; out.attendances_err = r.err ? String(r.err.message || r.err) : null; } catch (e) { fail('attendances', e); }
  // (node-zklib 1.3.0's ZKLib has no getTime)
  try { await zk.disconnect(); } catch (e) { /* the data is read; a failing goodbye changes nothing */ }
  return out;
}

async function zktecoJs() {
  const Zkteco = require('zkteco-js');
  const zk = new Zkteco(host, port, 10000, 4000);
  try { await zk.createSocket(); } catch (e) { fail('connect', e); }
  const out = { ok: true, client: 'zkteco-js' };
  try { out.info = await zk.getInfo(); } catch (e) { fail('info', e); }
  try { out.serial = await zk.getSerialNumber(); } catch (e) { fail('serial', e); }
  try { out.time = await zk.getTime(); } catch (e) { fail('time', e); }
  try { const r = await zk.getUsers(); out.users = r.data; out.users_err = r.err ? String(r.err.message || r.err) : null; } catch (e) { fail('users', e); }
  try { const r = await zk.getAttendances(); out.attendances = r.data; out.attendances_err = r.err ? String(r.err.message || r.err) : null; } catch (e) { fail('attendances', e); }
  try { await zk.disconnect(); } catch (e) { /* as above */ }
  return out;
}

// One shape for both clients' records: the PIN and the device-local time (run with TZ=UTC:
// both build a JS Date from the device's local time as if it were the process's zone).
function normalise(out) {
  out.attendances = (out.attendances || []).map((a) => ({
    pin: String(a.deviceUserId !== undefined ? a.deviceUserId : a.user_id),
    time: new Date(a.recordTime !== undefined ? a.recordTime : a.record_time).toISOString().slice(0, 19),
  }));
  return out;
}

const run = which === 'node-zklib' ? nodeZklib : which === 'zkteco-js' ? zktecoJs : null;
if (!run) fail('usage', 'client must be node-zklib or zkteco-js');
const timer = setTimeout(() => fail('timeout', 'no answer within 60 s'), 60000);
run().then((out) => {
  clearTimeout(timer);
  normalise(out);
  // exit only once the pipe took everything (a large answer is written in several parts)
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
}, (e) => fail('unexpected', e));
