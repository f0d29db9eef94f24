// Reads one simulated terminal with an npm ZK client and prints what it got as JSON.
// usage: node zk_client.js node-zklib|zkteco-js|js_zklib HOST PORT [INPORT]
'use strict';
const [, , which, host, portText, inportText] = process.argv;
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

// js_zklib (npm `zklib` 0.2.11, 2018): UDP, callbacks, the direct reads of old clients:
// USERTEMP_RRQ (9) with 0x05 for users and ATTLOG_RRQ (13) for the log, no 1503 at all.
function jsZklib() {
  const ZKLib = require('zklib');
  const zk = new ZKLib({ ip: host, port, inport: Number(inportText), timeout: 5000,
    attendanceParser: 'v6.60', connectionType: 'udp' });
  const step = (name, fn) => new Promise((resolve) => fn((err, data) => (err ? fail(name, err) : resolve(data))));
  const out = { ok: true, client: 'js_zklib' };
  return step('connect', (cb) => zk.connect(cb))
    .then(() => step('users', (cb) => zk.getUser(cb)))
    .then((users) => { out.users = users.map((u) => ({ userId: u.userid, name: u.name })); })
    // js_zklib returns once it has counted the bytes, before the stream's closing ACK_OK
    // (zkproto data-user.md: PREPARE_DATA, DATA, ACK_OK); a read started at once takes that
    // ACK_OK for its first packet and throws. Its users wait a moment between reads; so do we.
    .then(() => new Promise((resolve) => setTimeout(resolve, 300)))
    .then(() => step('attendances', (cb) => zk.getAttendance(cb)))
    .then((atts) => {
      out.attendances = atts.map((a) => ({ user_id: String(a.uid), record_time: a.timestamp,
        verify: a.verificationType, state: a.inOutStatus }));
    })
    .then(() => new Promise((resolve) => zk.disconnect(() => resolve())))
    .then(() => out);
}

// One shape for every client's records: the PIN and the device-local time (run with TZ=UTC:
// both build a JS Date from the device's local time as if it were the process's zone).
function normalise(out) {
  out.attendances = (out.attendances || []).map((a) => ({
    pin: String(a.deviceUserId !== undefined ? a.deviceUserId : a.user_id),
    time: new Date(a.recordTime !== undefined ? a.recordTime : a.record_time).toISOString().slice(0, 19),
    ...(a.verify !== undefined ? { verify: a.verify, state: a.state } : {}),
  }));
  return out;
}

const clients = { 'node-zklib': nodeZklib, 'zkteco-js': zktecoJs, js_zklib: jsZklib };
const run = clients[which];
if (!run) fail('usage', 'client must be node-zklib, zkteco-js or js_zklib');
const timer = setTimeout(() => fail('timeout', 'no answer within 60 s'), 60000);
run().then((out) => {
  clearTimeout(timer);
  normalise(out);
  // exit only once the pipe took everything (a large answer is written in several parts)
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
}, (e) => fail('unexpected', e));
