// prefrl viewer: two clips side by side, looping in step; arrow keys answer as the paper's
// contractors did (left/right choose, up = equal, down = can't tell); Backspace undoes.
"use strict";

const token = new URLSearchParams(location.search).get("token");
const $ = (id) => document.getElementById(id);
const left = $("left"), right = $("right");
const blobs = new Map();          // clip URL -> object URL, so a preloaded pair plays at once
let current = null;               // the query on screen
let upcoming = null;              // the next query, preloaded
let busy = false;
let answeredAt = null;            // performance.now() of the last answer, until the next pair plays
window.prefrlMetrics = { answerToPlayMs: [] };
window.prefrlState = () => ({ current: current && current.id, upcoming: upcoming && upcoming.id });

if (token) $("stats-link").href = "stats?token=" + encodeURIComponent(token);
$("annotator").value = localStorage.getItem("prefrl.annotator") || "";
$("annotator").addEventListener("change", () => {
  localStorage.setItem("prefrl.annotator", $("annotator").value.trim());
  current = upcoming = null;
  refresh();
});

function annotator() { return $("annotator").value.trim(); }

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

async function preload(query) {
  if (!query) return false;
  try { await Promise.all([clipUrl(query.left), clipUrl(query.right)]); return true; }
  catch { return false; }
}

function showProgress(p) {
  $("progress").textContent = `${p.answered} answered · ${p.pending} waiting · budget ${p.budget}`;
}

async function show(query) {
  current = query;
  const [l, r] = await Promise.all([clipUrl(query.left), clipUrl(query.right)]);
  if (current !== query) return;
  left.src = l; right.src = r;
  $("pair").hidden = false; $("empty").hidden = true;
  await Promise.all([once(left, "loadeddata"), once(right, "loadeddata")]);
  restart();
}

function once(el, event) {
  return el.readyState >= 2 ? Promise.resolve() : new Promise((ok) => el.addEventListener(event, ok, { once: true }));
}

function restart() {  // both clips from the start together, so they stay in step
  left.currentTime = 0; right.currentTime = 0;
  Promise.all([left.play(), right.play()]).then(() => {
    if (answeredAt !== null) {
      window.prefrlMetrics.answerToPlayMs.push(performance.now() - answeredAt);
      answeredAt = null;
    }
  }).catch(() => {});
}
left.addEventListener("ended", restart);
right.addEventListener("ended", () => { if (!left.ended && left.paused) restart(); });

async function refresh() {
  if (!annotator()) {
    $("need-name").hidden = false; $("pair").hidden = true; $("empty").hidden = true;
    return;
  }
  $("need-name").hidden = true;
  try {
    const data = await api("api/next?annotator=" + encodeURIComponent(annotator()));
    showProgress(data.progress);
    const [first, second] = data.queries;
    if (!first) { current = upcoming = null; $("pair").hidden = true; $("empty").hidden = false; return; }
    if (!current || current.id !== first.id) {
      if (!(await preload(first))) { status("rendering clips…"); setTimeout(refresh, 1000); return; }
      await show(first);
      status("");
    }
    upcoming = second || null;
    preload(upcoming);
  } catch (err) { status(err.message, true); }
}

async function answer(choice) {
  if (busy || !current) return;
  busy = true;
  answeredAt = performance.now();
  const query = current;
  try {
    const data = await api("api/answer", { query_id: query.id, choice, annotator: annotator() });
    showProgress(data.progress);
    status(`saved: ${choice}`);
    if (upcoming && upcoming.id !== query.id && blobs.has(upcoming.left) && blobs.has(upcoming.right)) {
      const next = upcoming; upcoming = null;
      await show(next);           // the preloaded pair plays at once
    } else { current = null; }
    forget(query);
    refresh();
  } catch (err) { answeredAt = null; status(err.message, true); }
  finally { busy = false; }
}

function forget(query) {  // free the answered pair's clips unless the next pairs reuse them
  const keep = new Set([current, upcoming].filter(Boolean).flatMap((q) => [q.left, q.right]));
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
    current = upcoming = null;
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
setInterval(() => { if (!current && !busy) refresh(); }, 2000);
