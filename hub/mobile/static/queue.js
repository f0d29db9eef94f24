/* The phone's own store, shared by the page and the service worker (IndexedDB):
   the sign-in, the capture counter, a spare liveness challenge, and every punch taken
   without signal, encrypted (AES-GCM with a key that cannot leave this browser) until the
   hub has answered it. A punch leaves the queue only on the hub's answer: kept (200, 201,
   202) or refused with a reason (4xx, shown to the employee); no answer (no signal, a
   server error, signed out) keeps it for the next try. */
(function (root) {
  "use strict";
  const DB = "hub-presensi";

  function request(r) {
    return new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
  }

  function open() {
    return new Promise((ok, fail) => {
      const r = indexedDB.open(DB, 1);
      r.onupgradeneeded = () => {
        const db = r.result;
        db.createObjectStore("kv");
        db.createObjectStore("queue", { keyPath: "seq" });
        db.createObjectStore("answers", { keyPath: "seq" });
      };
      r.onsuccess = () => ok(r.result);
      r.onerror = () => fail(r.error);
    });
  }

  async function run(store, mode, work) {
    const db = await open();
    try {
      const t = db.transaction(store, mode);
      const done = new Promise((ok, fail) => { t.oncomplete = ok; t.onerror = () => fail(t.error); t.onabort = () => fail(t.error); });
      const out = await work(t.objectStore(store));
      await done;
      return out;
    } finally {
      db.close();
    }
  }

  const get = (store, key) => run(store, "readonly", (s) => request(s.get(key)));
  const put = (store, value, key) => run(store, "readwrite", (s) => request(key === undefined ? s.put(value) : s.put(value, key)));
  const del = (store, key) => run(store, "readwrite", (s) => request(s.delete(key)));
  const all = (store) => run(store, "readonly", (s) => request(s.getAll()));

  /* The capture counter: never smaller than the last one, nor than the clock in ms (a
     reinstalled app does not start again below what the hub has seen). */
  function nextSeq() {
    return run("kv", "readwrite", (s) => new Promise((ok, fail) => {
      const g = s.get("seq");
      g.onsuccess = () => {
        const n = Math.max((g.result || 0) + 1, Date.now());
        s.put(n, "seq");
        ok(n);
      };
      g.onerror = () => fail(g.error);
    }));
  }

  async function key() {
    let k = await get("kv", "key");
    if (!k) {
      k = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
      await put("kv", k, "key");
    }
    return k;
  }

  function b64(buf) {
    const bytes = new Uint8Array(buf);
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }

  function unb64(text) {
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out.buffer;
  }

  /* punch: {fields: {...text}, selfie: ArrayBuffer, frames: [ArrayBuffer]} */
  async function keep(punch) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const plain = new TextEncoder().encode(JSON.stringify({
      fields: punch.fields, selfie: b64(punch.selfie), frames: punch.frames.map(b64) }));
    const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await key(), plain);
    await put("queue", { seq: Number(punch.fields.capture_seq), kept_at: Date.now(), iv, sealed });
    return Number(punch.fields.capture_seq);
  }

  async function unseal(rec) {
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: rec.iv }, await key(), rec.sealed);
    const p = JSON.parse(new TextDecoder().decode(plain));
    return { fields: p.fields, selfie: unb64(p.selfie), frames: p.frames.map(unb64) };
  }

  function isoNow(d) {
    d = d || new Date();
    const off = -d.getTimezoneOffset();
    const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" +
      pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + (off >= 0 ? "+" : "-") + pad(off / 60) + ":" + pad(off % 60);
  }

  function form(punch, extra) {
    const fd = new FormData();
    const fields = Object.assign({}, punch.fields, extra || {});
    for (const k of Object.keys(fields)) if (fields[k] !== null && fields[k] !== undefined) fd.append(k, String(fields[k]));
    fd.append("selfie", new Blob([punch.selfie], { type: "image/jpeg" }), "selfie.jpg");
    punch.frames.forEach((f, i) => fd.append("frames", new Blob([f], { type: "image/jpeg" }), "frame" + i + ".jpg"));
    return fd;
  }

  async function send(punch, extra) {
    const token = await get("kv", "token");
    const lang = (await get("kv", "lang")) || "id";
    return fetch("/api/mobile/punch", { method: "POST", body: form(punch, extra), cache: "no-store",
      headers: { Authorization: "Bearer " + token, "Accept-Language": lang } });
  }

  let delivering = null;

  /* Send what waits, oldest capture first; the first failure to reach the hub stops the round.
     The page and the service worker take turns (a Web Lock): a punch is never in flight twice
     from this phone; a resend after a lost answer is stored once by the hub all the same. */
  function deliver() {
    if (delivering) return delivering;
    const round = () => deliverRound();
    delivering = self.navigator && navigator.locks ? navigator.locks.request("hub-presensi-deliver", round) : round();
    return delivering.finally(() => { delivering = null; });
  }

  function deliverRound() {
    return (async () => {
      let sent = 0;
      const items = (await all("queue")).sort((a, b) => a.seq - b.seq);
      for (const rec of items) {
        let r;
        try {
          r = await send(await unseal(rec), { queued: "true", sent_at: isoNow() });
        } catch (e) {
          break;  // no signal yet
        }
        if (r.status >= 500 || r.status === 401 || r.status === 429) break;  // not answered: kept
        const body = await r.json().catch(() => ({}));
        await put("answers", { seq: rec.seq, status: r.status, body, answered_at: Date.now() });
        await del("queue", rec.seq);
        sent++;
      }
      return { sent, waiting: (await all("queue")).length };
    })();
  }

  root.HubQueue = { get, put, del, all, nextSeq, keep, deliver, send, isoNow };
})(self);
