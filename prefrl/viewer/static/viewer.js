// prefrl viewer: two clips side by side, looping in step; arrow keys answer as the paper's
// contractors did (left/right choose, up = equal, down = can't tell); Backspace undoes.
// Two slots of video elements: while one plays, the other holds the next pair, decoded and
// paused, so answering swaps them and the next comparison plays at once.
"use strict";

const token = new URLSearchParams(location.search).get("token");
const $ = (id) => document.getElementById(id);
const slots = ["slot0", "slot1"].map((id) => {
  const el = $(id);
  return { el, left: el.querySelector(".left"), right: el.querySelector(".right"), query: null };
});
let active = 0;                   // index of the slot on screen
let upcoming = null;              // the next query (loaded into the other slot when it can be)
const blobs = new Map();          // clip URL -> object URL
let busy = false;
let answeredAt = null;            // performance.now() of the last answer, until the next pair plays
window.prefrlMetrics = { answerToPlayMs: [] };
window.prefrlState = () => ({ current: current() && current().id, upcoming: upcoming && upcoming.id,
                              upcomingReady: upcomingReady() });
window.prefrlPlayback = () => [slots[active].left.currentTime, slots[active].right.currentTime];

function current() { return slots[active].query; }
function upcomingReady() {  // the next pair sits decoded in the spare slot
  const spare = slots[1 - active];
  return Boolean(upcoming && spare.query && spare.query.id === upcoming.id &&
                 spare.left.readyState >= 2 && spare.right.readyState >= 2);
}
function annotator() { return $("annotator").value.trim(); }

if (token) $("stats-link").href = "stats?token=" + encodeURIComponent(token);
$("annotator").value = localStorage.getItem("prefrl.annotator") || "";
$("annotator").addEventListener("change", () => {
  localStorage.setItem("prefrl.annotator", annotator());
  clearSlots();
  refresh();
});

function status(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

async function api(path, body) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers["X-Prefrl-Token"] = token;
  const response = await fetch(path, body === undefined ? { headers } :
    { method: "POST", headers, body: JSON.stringify(body) });
  const data = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

async function clipUrl(url) {
  if (blobs.has(url)) return blobs.get(url);
  const response = await fetch(url + (token ? "?token=" + encodeURIComponent(token) : ""));
  if (!response.ok) throw new Error("clip not ready");
  const objectUrl = URL.createObjectURL(await response.blob());
  blobs.set(url, objectUrl);
  return objectUrl;
}

function once(el, event) {
  return el.readyState >= 2 ? Promise.resolve() : new Promise((ok) => el.addEventListener(event, ok, { once: true }));
}

async function load(slot, query) {  // fetch and decode a pair into a slot, paused at the start
  const [l, r] = await Promise.all([clipUrl(query.left), clipUrl(query.right)]);
  slot.query = query;
  slot.left.src = l; slot.right.src = r;
  await Promise.all([once(slot.left, "loadeddata"), once(slot.right, "loadeddata")]);
  return slot.query === query;
}

function play(index) {  // put a slot on screen, both clips from the start together
  active = index;
  slots.forEach((s, i) => {
    s.el.hidden = false;
    s.el.classList.toggle("spare", i !== index);  // off screen but still decoding: not display:none
    if (i !== index) { s.left.pause(); s.right.pause(); }
  });
  $("empty").hidden = true;
  restart(slots[index]);
}

function restart(slot) {
  if (slot !== slots[active]) return;
  slot.left.currentTime = 0; slot.right.currentTime = 0;
  Promise.all([slot.left.play(), slot.right.play()]).then(() => {
    if (answeredAt !== null) {
      window.prefrlMetrics.answerToPlayMs.push(performance.now() - answeredAt);
      answeredAt = null;
    }
  }).catch(() => {});
}
for (const slot of slots) {
  slot.left.addEventListener("ended", () => restart(slot));
  slot.right.addEventListener("ended", () => { if (slot.left.paused) restart(slot); });
}

function clearSlots() {
  for (const s of slots) { s.query = null; s.el.hidden = true; s.left.pause(); s.right.pause(); }
  upcoming = null;
}

function showProgress(p) {
  $("progress").textContent = `${p.answered} answered · ${p.pending} waiting · budget ${p.budget}`;
}

async function refresh() {
  if (!annotator()) {
    $("need-name").hidden = false; clearSlots(); $("empty").hidden = true;
    return;
  }
  $("need-name").hidden = true;
  try {
    const data = await api("api/next?annotator=" + encodeURIComponent(annotator()));
    showProgress(data.progress);
    const [first, second] = data.queries;
    if (!first) { clearSlots(); $("empty").hidden = false; return; }
    if (!current() || current().id !== first.id) {
      const spare = 1 - active;
      try {
        if (slots[spare].query && slots[spare].query.id === first.id) play(spare);
        else if (await load(slots[active], first)) play(active);
      } catch { status("rendering clips…"); setTimeout(refresh, 1000); return; }
      status("");
    }
    upcoming = second || null;
    preloadUpcoming();
  } catch (err) { status(err.message, true); }
}

let preloading = false;
function preloadUpcoming() {  // into the spare slot; retried every second until its clips exist
  const spare = slots[1 - active];
  if (preloading || !upcoming || (spare.query && spare.query.id === upcoming.id)) return;
  preloading = true;
  load(spare, upcoming).catch(() => { spare.query = null; }).finally(() => { preloading = false; });
}

async function answer(choice) {
  if (busy || !current()) return;
  busy = true;
  answeredAt = performance.now();
  const query = current();
  try {
    const data = await api("api/answer", { query_id: query.id, choice, annotator: annotator() });
    showProgress(data.progress);
    status(`saved: ${choice}`);
    if (upcomingReady()) {
      play(1 - active);           // the preloaded pair plays at once
    } else { slots[active].query = null; }
    forget(query);
    refresh();
  } catch (err) { answeredAt = null; status(err.message, true); }
  finally { busy = false; }
}

function forget(query) {  // free the answered pair's clips unless a slot still shows them
  const keep = new Set(slots.filter((s) => s.query).flatMap((s) => [s.query.left, s.query.right]));
  for (const url of [query.left, query.right]) {
    if (!keep.has(url) && blobs.has(url)) { URL.revokeObjectURL(blobs.get(url)); blobs.delete(url); }
  }
}

async function undo() {
  if (busy) return;
  busy = true;
  try {
    await api("api/undo", { annotator: annotator() });
    status("undone");
    clearSlots();
    await refresh();
  } catch (err) { status(err.message, true); }
  finally { busy = false; }
}

document.querySelectorAll("button[data-choice]").forEach((b) => b.addEventListener("click", () => answer(b.dataset.choice)));
$("undo").addEventListener("click", undo);
document.addEventListener("keydown", (e) => {
  if (e.target.tagName === "INPUT") return;
  const keys = { ArrowLeft: "left", ArrowRight: "right", ArrowUp: "equal", ArrowDown: "incomparable" };
  if (keys[e.key]) { e.preventDefault(); answer(keys[e.key]); }
  else if (e.key === "Backspace" || e.key === "u") { e.preventDefault(); undo(); }
});

refresh();
setInterval(() => { if (busy) return; if (!current()) refresh(); else preloadUpcoming(); }, 1000);
