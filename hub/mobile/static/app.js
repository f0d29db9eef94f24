/* Presensi ASN: the employee's app (issue 19). Sign in with NIP and activation code (the
   first phone binds), punch with a live camera selfie, the movement the hub asks for and the
   phone's location; without signal the punch is kept encrypted on the phone (queue.js) and
   sent when the network returns. Also: my month, my leave requests. Bahasa Indonesia first. */
(function () {
  "use strict";
  const Q = self.HubQueue;
  const VERSION = "m-1.0";
  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
  let lang = "id";
  let me = null;
  let stream = null;
  let position = null;
  let watch = null;
  let challenge = null;

  const EN = {
    "Presensi ASN": "ASN attendance", "Masuk": "Sign in", "NIP": "NIP", "Kode aktivasi": "Activation code",
    "login.hint": "Sign in with your NIP and the activation code from IT or BKPSDM. The first phone you use " +
      "becomes your phone.",
    "Hari ini": "Today", "Presensi sekarang": "Punch now", "Presensi": "Punch", "Ambil foto dan gerakan":
      "Take the photo and the movement", "Batal": "Cancel", "Kembali": "Back", "Presensi saya sebulan": "My month",
    "Bulan": "Month", "Arti kode": "What the codes mean", "Cuti dan izin": "Leave", "Jenis": "Type",
    "Dari tanggal": "From", "Sampai tanggal": "To", "Alasan": "Reason", "Nomor surat (bila ada)":
      "Letter number (if any)", "Foto surat": "Photo of the letter", "Ajukan ke atasan": "Send to my supervisor",
    "Bulan ini": "This month", "Cuti/izin": "Leave",
  };

  function w(id, en) { return lang === "en" ? en : id; }

  function applyLang() {
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-t]").forEach((el) => {
      if (!el.dataset.id) el.dataset.id = el.textContent;
      el.textContent = lang === "en" ? (EN[el.dataset.t] || el.dataset.id) : el.dataset.id;
    });
  }

  async function setLang(value) {
    lang = value;
    await Q.put("kv", value, "lang");
    applyLang();
    if (me) { await loadMe(); }
  }

  function show(name) {
    document.querySelectorAll(".screen").forEach((s) => s.classList.toggle("hidden", s.id !== name));
    // taking a punch has the whole screen: no tabs to press by mistake, nothing over the button
    document.body.classList.toggle("focus", name === "capture" || name === "result" || name === "login");
    document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("on", b.dataset.go === name));
    window.scrollTo(0, 0);
  }

  function say(id, text) {
    const el = $(id);
    el.textContent = text || "";
    el.classList.toggle("hidden", !text);
  }

  async function api(path, opts) {
    opts = opts || {};
    const token = await Q.get("kv", "token");
    const headers = Object.assign({ "Accept-Language": lang }, opts.headers || {});
    if (token) headers.Authorization = "Bearer " + token;
    const r = await fetch(path, Object.assign({}, opts, { headers, cache: "no-store" }));
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (r.status === 401 && path !== "/api/mobile/login") {
      await Q.del("kv", "token");
      $("tabs").classList.add("hidden");
      show("login");
      say("login-error", w("Sesi berakhir; masuk lagi.", "Your session ended; sign in again."));
    }
    return { status: r.status, body };
  }

  function problem(body) {
    return (body && body.error && body.error.message) || (body && body.detail) ||
      w("Terjadi kesalahan; coba lagi.", "Something went wrong; try again.");
  }

  // --- network and the queue -------------------------------------------------------------------

  async function netState() {
    say("net", navigator.onLine ? "" : w("Tidak ada sinyal. Presensi tetap bisa diambil; dikirim otomatis saat " +
      "sinyal kembali.", "No signal. You can still punch; it is sent by itself when the signal is back."));
    const waiting = (await Q.all("queue")).length;
    say("pending", waiting ? w(waiting + " presensi tersimpan di ponsel, menunggu sinyal.",
      waiting + " punch(es) kept on this phone, waiting for signal.") : "");
    $("pending").dataset.count = String(waiting);
  }

  async function flush() {
    if (!navigator.onLine) return;
    try { await Q.deliver(); } catch (e) { /* kept; the next round tries again */ }
    await netState();
    await showAnswers();
  }

  async function showAnswers() {
    const answers = await Q.all("answers");
    const box = $("refused");
    box.textContent = "";
    box.classList.toggle("hidden", !answers.length);
    for (const a of answers.sort((x, y) => x.seq - y.seq)) {
      const p = document.createElement("p");
      const kept = a.status >= 200 && a.status < 300;
      p.className = kept ? "answer kept" : "answer refused";
      p.textContent = kept
        ? w("Presensi tertunda terkirim: ", "A kept punch was sent: ") + (a.body.title || "") + ". " + (a.body.lines || []).join(" ")
        : w("Presensi tertunda ditolak hub: ", "A kept punch was refused: ") + problem(a.body);
      box.appendChild(p);
      await Q.del("answers", a.seq);
    }
  }

  async function keepSpare() {
    const spare = await Q.get("kv", "spare");
    if (spare && Date.parse(spare.expires_at) > Date.now() + 3600e3) return;
    try {
      const r = await api("/api/mobile/challenge?spare=true");
      if (r.status === 200) await Q.put("kv", r.body, "spare");
    } catch (e) { /* no signal */ }
  }

  async function takeChallenge() {
    if (navigator.onLine) {
      try {
        const r = await api("/api/mobile/challenge");
        if (r.status === 200) return r.body;
      } catch (e) { /* no signal after all: the spare one */ }
    }
    const spare = await Q.get("kv", "spare");
    if (spare && Date.parse(spare.expires_at) > Date.now()) {
      await Q.del("kv", "spare");  // a challenge answers one punch
      return spare;
    }
    return null;
  }

  // --- sign-in and home ----------------------------------------------------------------------

  function randomKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    return btoa(String.fromCharCode.apply(null, bytes)).replace(/[+/=]/g, (c) => ({ "+": "-", "/": "_", "=": "" }[c]));
  }

  async function login(event) {
    event.preventDefault();
    say("login-error", "");
    let device = await Q.get("kv", "device");
    if (!device) { device = randomKey(); await Q.put("kv", device, "device"); }
    const body = new URLSearchParams({ nip: $("nip").value.trim(), code: $("code").value.trim(), device_key: device });
    try {
      const r = await api("/api/mobile/login", { method: "POST", body });
      if (r.status !== 200) return say("login-error", problem(r.body));
      await Q.put("kv", r.body.token, "token");
      $("code").value = "";
      await enter();
    } catch (e) {
      say("login-error", w("Tidak ada sinyal; coba lagi saat tersambung.", "No signal; try again when connected."));
    }
  }

  async function enter() {
    $("tabs").classList.remove("hidden");
    await loadMe();
    show("home");
    await flush();
    keepSpare();
  }

  async function loadMe() {
    try {
      const r = await api("/api/mobile/me");
      if (r.status === 200) { me = r.body; await Q.put("kv", me, "me"); }
    } catch (e) {
      me = me || (await Q.get("kv", "me"));  // without signal: what the hub said last time
    }
    if (!me) return;
    $("who").textContent = me.name;
    $("office").textContent = (me.office || "") + " · NIP " + me.nip;
    const d = me.today;
    $("today").textContent = d ? (d.words.join(", ") + (d.check_in ? " · " + w("masuk ", "in ") + d.check_in : "") +
      (d.check_out ? " · " + w("pulang ", "out ") + d.check_out : "")) : w("Belum ada presensi hari ini.", "No punch today yet.");
    const list = $("punches");
    list.textContent = "";
    for (const p of me.punches || []) {
      const li = document.createElement("li");
      li.textContent = p.time + (p.held ? " · " + w("ditahan untuk diperiksa", "held for review") : "");
      list.appendChild(li);
    }
    const type = $("req-type");
    type.textContent = "";
    const none = document.createElement("option");
    none.value = "";
    none.textContent = w("— pilih jenis —", "— choose —");
    type.appendChild(none);
    for (const lt of me.leave_types || []) {
      const o = document.createElement("option");
      o.value = lt.code;
      o.textContent = lt.code + " · " + lt.name;
      type.appendChild(o);
    }
  }

  // --- the punch -----------------------------------------------------------------------------

  function metres(a, b) {
    const r = Math.PI / 180;
    const dp = (b.latitude - a.latitude) * r;
    const dl = (b.longitude - a.longitude) * r;
    const h = Math.sin(dp / 2) ** 2 + Math.cos(a.latitude * r) * Math.cos(b.latitude * r) * Math.sin(dl / 2) ** 2;
    return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
  }

  function distanceText(m) {
    return m < 1000 ? Math.round(m) + " m" : (m / 1000).toFixed(1).replace(".", lang === "en" ? "." : ",") + " km";
  }

  function onPosition(pos) {
    position = pos;
    const here = { latitude: pos.coords.latitude, longitude: pos.coords.longitude };
    const places = (me && me.places) || [];
    if (!places.length) {
      $("where").textContent = w("Lokasi didapat (akurasi ±", "Location found (accuracy ±") + Math.round(pos.coords.accuracy) + " m)";
      return ready();
    }
    const best = places.map((p) => ({ p, d: metres(here, p) })).sort((a, b) => (a.d - a.p.radius_m) - (b.d - b.p.radius_m))[0];
    const inside = best.d <= best.p.radius_m;
    const acc = " (" + w("akurasi", "accuracy") + " ±" + Math.round(pos.coords.accuracy) + " m)";
    $("where").className = "where " + (inside ? "in" : "out");
    $("where").dataset.inside = inside ? "1" : "0";
    $("where").textContent = inside
      ? w("Anda " + distanceText(best.d) + " dari " + best.p.name + " (batas " + best.p.radius_m + " m)",
        "You are " + distanceText(best.d) + " from " + best.p.name + " (limit " + best.p.radius_m + " m)") + acc
      : w("Anda " + distanceText(best.d) + " dari " + best.p.name + ", di luar batas " + best.p.radius_m + " m. " +
        "Presensi tetap dikirim tetapi ditahan untuk diperiksa verifikator.",
        "You are " + distanceText(best.d) + " from " + best.p.name + ", outside the " + best.p.radius_m + " m limit. " +
        "The punch is still sent but held for a reviewer.") + acc;
    drawMap(best.p, here, inside);
    ready();
  }

  function drawMap(place, here, inside) {
    const svg = $("map");
    const ns = "http://www.w3.org/2000/svg";
    const dx = (here.longitude - place.longitude) * Math.cos(place.latitude * Math.PI / 180) * 111320;
    const dy = (here.latitude - place.latitude) * 110540;
    const span = Math.max(place.radius_m * 1.3, Math.hypot(dx, dy) * 1.15, 1);
    const k = 90 / span;
    svg.textContent = "";
    const fence = document.createElementNS(ns, "circle");
    fence.setAttribute("class", "fence");
    fence.setAttribute("r", String(place.radius_m * k));
    svg.appendChild(fence);
    const dot = document.createElementNS(ns, "circle");
    dot.setAttribute("class", "me" + (inside ? "" : " out"));
    dot.setAttribute("cx", String(dx * k));
    dot.setAttribute("cy", String(-dy * k));
    dot.setAttribute("r", "6");
    svg.appendChild(dot);
  }

  function onPositionError(err) {
    $("where").className = "where out";
    $("where").textContent = err.code === 1
      ? w("Izin lokasi ditolak. Izinkan lokasi untuk aplikasi ini di pengaturan browser, lalu ulangi.",
        "Location permission denied. Allow location for this app in the browser settings, then try again.")
      : w("Lokasi belum didapat; pastikan GPS menyala dan Anda di tempat terbuka.",
        "No location yet; make sure GPS is on and you are in the open.");
  }

  function ready() {
    $("shoot").disabled = !(stream && position && challenge);
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    if (watch !== null) navigator.geolocation.clearWatch(watch);
    watch = null;
  }

  async function beginPunch() {
    show("capture");
    position = null;
    challenge = null;
    $("shoot").disabled = true;
    $("where").textContent = w("Mencari lokasi…", "Finding your location…");
    $("map").textContent = "";
    $("ask").textContent = w("Menyiapkan kamera…", "Starting the camera…");
    watch = navigator.geolocation.watchPosition(onPosition, onPositionError,
      { enableHighAccuracy: true, maximumAge: 10000, timeout: 20000 });
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: { ideal: 640 },
        height: { ideal: 480 } }, audio: false });
      $("video").srcObject = stream;
      await $("video").play();
    } catch (e) {
      $("ask").textContent = w("Kamera tidak dapat dibuka. Izinkan kamera untuk aplikasi ini, lalu ulangi.",
        "The camera cannot be opened. Allow the camera for this app, then try again.");
      return;
    }
    challenge = await takeChallenge();
    $("ask").textContent = challenge
      ? w("Tekan tombol, lalu ", "Press the button, then ") + challenge.ask
      : w("Tidak ada sinyal dan tidak ada tantangan cadangan di ponsel ini; tunggu sinyal lalu ulangi.",
        "No signal and no spare challenge on this phone; wait for signal and try again.");
    ready();
  }

  async function grab() {
    const video = $("video");
    const canvas = $("canvas");
    canvas.width = video.videoWidth || 640;
    canvas.height = video.videoHeight || 480;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((ok) => canvas.toBlob(ok, "image/jpeg", 0.9));
    return blob.arrayBuffer();
  }

  async function shoot() {
    $("shoot").disabled = true;
    const seq = await Q.nextSeq();
    const capturedAt = Q.isoNow();
    const selfie = await grab();
    $("ask").textContent = w("Sekarang: ", "Now: ") + challenge.ask;
    const frames = [];
    const n = Math.min(Math.max(challenge.frames_min || 3, 6), challenge.frames_max || 8);
    for (let i = 0; i < n; i++) {
      await sleep(350);
      frames.push(await grab());
    }
    const pos = position;
    stopCamera();
    $("ask").textContent = w("Mengirim…", "Sending…");
    const punch = {
      fields: { challenge_id: challenge.challenge_id, latitude: pos.coords.latitude.toFixed(7),
        longitude: pos.coords.longitude.toFixed(7), accuracy_m: String(Math.round(pos.coords.accuracy)),
        captured_at: capturedAt, capture_seq: String(seq), capture_source: "camera", mock_location: "false",
        app_version: VERSION },
      selfie, frames };
    await flush();  // older punches first: the hub takes a phone's captures in order
    if (navigator.onLine && !(await Q.all("queue")).length) {
      try {
        const r = await Q.send(punch, { sent_at: Q.isoNow() });
        if (r.status < 500 && r.status !== 401 && r.status !== 429) {
          return result(r.status, await r.json().catch(() => ({})));
        }
      } catch (e) { /* no signal after all: kept below */ }
    }
    await Q.keep(punch);
    try {
      const reg = await navigator.serviceWorker.ready;
      if (reg.sync) await reg.sync.register("presensi");
    } catch (e) { /* the page sends it when the network returns */ }
    await netState();
    result(0, { title: w("Tersimpan di ponsel", "Kept on this phone"), lines: [
      w("Belum ada sinyal. Presensi ini (" + capturedAt.slice(11, 16) + ") disimpan terenkripsi di ponsel dan " +
        "dikirim otomatis saat sinyal kembali; dihitung pada jam pengambilannya.",
      "No signal yet. This punch (" + capturedAt.slice(11, 16) + ") is kept encrypted on the phone and sent by " +
        "itself when the signal is back; it counts at the time it was taken.")] });
  }

  function result(status, body) {
    show("result");
    const card = $("result-lines");
    card.textContent = "";
    const kept = status >= 200 && status < 300;
    const outcome = status === 0 ? "queued" : kept ? body.outcome || "accepted" : "refused";
    card.className = "card " + (outcome === "accepted" ? "good" : outcome === "queued" ? "" : "held");
    card.dataset.outcome = outcome;
    $("result-title").textContent = status === 0 || kept ? body.title : w("Ditolak", "Refused");
    const lines = status === 0 || kept ? body.lines || [] : [problem(body),
      w("Presensi ini tidak disimpan; perbaiki lalu ulangi.", "This punch is not kept; fix it and try again.")];
    for (const line of lines) {
      const p = document.createElement("p");
      p.textContent = line;
      card.appendChild(p);
    }
    if (kept) loadMe();
  }

  // --- my month and my requests ------------------------------------------------------------------

  const rupiah = (n) => "Rp" + Number(n || 0).toLocaleString("id-ID");

  async function loadMonth() {
    const month = $("month-pick").value;
    let r;
    try { r = await api("/api/mobile/month" + (month ? "?month=" + month : "")); } catch (e) {
      return say("month-totals", w("Tidak ada sinyal.", "No signal."));
    }
    if (r.status !== 200) return say("month-totals", problem(r.body));
    const m = r.body;
    if (!month) $("month-pick").value = m.month;
    const t = m.totals;
    $("month-totals").textContent = t ? w("Hari kerja " + t.hari_kerja + " · hadir " + t.hadir + " (" + t.persen_kehadiran +
      "%) · potongan " + t.potongan_disiplin_pct + "% = " + rupiah(t.potongan_rp) + " dari " + rupiah(t.tpp_pagu),
    "Working days " + t.hari_kerja + " · present " + t.hadir + " (" + t.persen_kehadiran + "%) · deduction " +
      t.potongan_disiplin_pct + "% = " + rupiah(t.potongan_rp) + " of " + rupiah(t.tpp_pagu)) +
      (m.locked ? w(" · sudah dikunci BPKAD", " · locked by BPKAD") : "") : w("Belum ada data.", "No data yet.");
    const days = $("month-days");
    days.textContent = "";
    for (const d of m.days) {
      const li = document.createElement("li");
      li.dataset.day = d.day;
      li.dataset.status = d.status;
      const date = document.createElement("span");
      date.className = "date";
      date.textContent = d.weekday + " " + d.day.slice(8);
      const words = document.createElement("span");
      words.className = "words";
      words.textContent = d.words.join(", ") + (d.check_in ? " · " + d.check_in : "") + (d.check_out ? "–" + d.check_out : "");
      const pct = document.createElement("span");
      pct.className = "pct";
      pct.textContent = d.pct ? "−" + d.pct + "%" : "";
      li.append(date, words, pct);
      days.appendChild(li);
    }
    const legend = $("month-legend");
    legend.textContent = "";
    for (const l of m.legend) {
      const li = document.createElement("li");
      li.textContent = l.code + ": " + l.words + (l.pct ? " (" + l.pct + "%)" : "");
      legend.appendChild(li);
    }
  }

  async function shrink(file) {
    if (!file.type.startsWith("image/") || file.size < 1500000) return file;
    const bitmap = await createImageBitmap(file);
    const k = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * k);
    canvas.height = Math.round(bitmap.height * k);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((ok) => canvas.toBlob(ok, "image/jpeg", 0.85));
    return new File([blob], "surat.jpg", { type: "image/jpeg" });
  }

  async function loadRequests() {
    let r;
    try { r = await api("/api/mobile/requests"); } catch (e) { return; }
    if (r.status !== 200) return;
    const list = $("request-list");
    list.textContent = "";
    for (const q of r.body) {
      const li = document.createElement("li");
      li.dataset.request = String(q.id);
      const head = document.createElement("div");
      head.textContent = q.type + " · " + q.start + (q.end !== q.start ? " – " + q.end : "") + " · " + q.reason;
      const state = document.createElement("div");
      state.className = "state-" + q.state;
      state.textContent = q.state === "approved" ? w("Disetujui", "Approved") + (q.decided_by ? " (" + q.decided_by + ")" : "")
        : q.state === "rejected" ? w("Ditolak: ", "Rejected: ") + q.decision_note
          : w("Menunggu persetujuan atasan", "Waiting for your supervisor");
      li.append(head, state);
      list.appendChild(li);
    }
  }

  async function sendRequest(event) {
    event.preventDefault();
    say("req-error", "");
    const file = $("req-letter").files[0];
    if (!file) return say("req-error", w("Lampirkan foto surat.", "Attach a photo of the letter."));
    const fd = new FormData();
    fd.append("type", $("req-type").value);
    fd.append("start", $("req-start").value);
    fd.append("end", $("req-end").value || $("req-start").value);
    fd.append("reason", $("req-reason").value.trim());
    fd.append("reference", $("req-reference").value.trim());
    const letter = await shrink(file);
    fd.append("letter", letter, letter.name || "surat.jpg");
    $("req-send").disabled = true;
    try {
      const r = await api("/api/mobile/requests", { method: "POST", body: fd });
      if (r.status !== 201) return say("req-error", problem(r.body));
      $("request-form").reset();
      await loadRequests();
    } catch (e) {
      say("req-error", w("Tidak ada sinyal; permohonan belum terkirim.", "No signal; the request was not sent."));
    } finally {
      $("req-send").disabled = false;
    }
  }

  // --- wiring ----------------------------------------------------------------------------------

  async function start() {
    lang = (await Q.get("kv", "lang")) || "id";
    applyLang();
    $("lang-id").onclick = () => setLang("id");
    $("lang-en").onclick = () => setLang("en");
    $("login-form").onsubmit = login;
    $("start").onclick = beginPunch;
    $("shoot").onclick = shoot;
    $("cancel").onclick = () => { stopCamera(); show("home"); };
    $("done").onclick = () => { show("home"); loadMe(); };
    $("month-pick").onchange = loadMonth;
    $("request-form").onsubmit = sendRequest;
    document.querySelectorAll("#tabs button").forEach((b) => {
      b.onclick = () => {
        stopCamera();
        show(b.dataset.go);
        if (b.dataset.go === "month") loadMonth();
        if (b.dataset.go === "requests") loadRequests();
        if (b.dataset.go === "home") loadMe();
      };
    });
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/m/sw.js", { scope: "/m/" }).catch(() => {});
      navigator.serviceWorker.addEventListener("message", (e) => {
        if (e.data && e.data.delivered) { netState(); showAnswers(); loadMe(); }
      });
    }
    window.addEventListener("online", () => { netState(); flush().then(loadMe); keepSpare(); });
    window.addEventListener("offline", netState);
    setInterval(async () => { if (navigator.onLine && (await Q.all("queue")).length) await flush(); }, 10000);
    await netState();
    if (!(await Q.get("kv", "token"))) return show("login");
    await enter();
  }

  self.HubApp = { flush, netState };  // (the tests call flush to send twice at once)
  start();
})();
