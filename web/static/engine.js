// engine.js: loads engine.wasm (the wasip1 reactor documented in
// wasm/main.go) once per page and keeps the sandbox in localStorage.
import { instantiate as newInstance, callFrame } from "./abi.js";

const STORAGE_KEY = "keystorelab.sandbox";
const enc = new TextEncoder();
const dec = new TextDecoder();
let inst = null; // the current instance's exports
let generation = -1n;
let starting = null;
const requests = [];

async function instantiate() {
  inst = await newInstance();
  generation = -1n;
}

// raw makes one ABI call and returns {status, text, generation}.
function raw(target, text) {
  return callFrame(inst, target, text);
}

// invoke is raw with trap recovery: a trapped instance is replaced by a
// new one restored from the last saved snapshot.
async function invoke(target, text) {
  try {
    return raw(target, text);
  } catch (err) {
    console.error("engine.wasm trapped; restarting from the saved sandbox", err);
    await instantiate();
    restoreSaved();
    return { status: 500, generation: 0n, text: JSON.stringify({ __type: "KMSInternalException", message: String(err) }) };
  }
}

function save() {
  const r = raw("Simulator.ExportSnapshot", "{}");
  if (r.status !== 200) return;
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(JSON.parse(r.text).Snapshot));
  } catch (err) {
    console.warn("cannot save the sandbox", err);
  }
}

// Cryptographic calls change only data-plane state (metrics, the request
// quota, randomness) and do not move the generation: such changes are saved
// a moment later, or when the page is hidden, whichever comes first.
const DATA_PLANE = /^TrentService\.(Encrypt|Decrypt|ReEncrypt|GenerateDataKey|GenerateDataKeyWithoutPlaintext|GenerateRandom)$/;
let dirty = false;
let saveTimer = 0;

function saveIfMoved(r, target) {
  if (r.generation !== generation) {
    generation = r.generation;
    save();
    dirty = false;
  } else if (DATA_PLANE.test(target)) {
    dirty = true;
    if (!saveTimer) {
      saveTimer = setTimeout(() => {
        saveTimer = 0;
        if (dirty) save();
        dirty = false;
      }, 2000);
    }
  }
}

addEventListener("pagehide", () => {
  if (dirty && inst) save();
  dirty = false;
});

function restoreSaved() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (!saved) return false;
  const r = raw("Simulator.ImportSnapshot", `{"Snapshot":${saved}}`);
  if (r.status !== 200) return false;
  generation = r.generation;
  return true;
}

function randomSeed() {
  const b = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// call sends one request, as an SDK would, and returns {status, body}.
export async function call(target, body = {}) {
  await start();
  return callNow(target, body);
}

async function callNow(target, body) {
  const request = typeof body === "string" ? body : JSON.stringify(body);
  const r = await invoke(target, request);
  saveIfMoved(r, target);
  requests.push({ target, request, status: r.status, response: r.text });
  let parsed = {};
  try {
    parsed = r.text ? JSON.parse(r.text) : {};
  } catch {
    parsed = { __type: "SerializationException", message: r.text };
  }
  return { status: r.status, body: parsed };
}

async function importSnapshot(snapshot) {
  const res = await callNow("Simulator.ImportSnapshot", { Snapshot: snapshot });
  if (res.status === 200) save();
  return res;
}

// reset replaces the sandbox with a new, empty one.
export async function reset() {
  const res = await call("Simulator.ResetSandbox", { ClockSpeed: 60, Seed: randomSeed() });
  save();
  return res;
}

// snapshot returns the saved sandbox (the Snapshot object), or null.
export function snapshot() {
  const saved = localStorage.getItem(STORAGE_KEY);
  return saved ? JSON.parse(saved) : null;
}

// exportFile downloads the sandbox as keystorelab-sandbox.json.
export async function exportFile() {
  await start();
  save();
  const blob = new Blob([localStorage.getItem(STORAGE_KEY) || "{}"], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "keystorelab-sandbox.json";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// importFile replaces the sandbox with one from a file exportFile wrote
// (a Snapshot object, or the {"Snapshot": ...} answer of ExportSnapshot).
export async function importFile(file) {
  await start();
  const data = JSON.parse(await file.text());
  return importSnapshot(data && data.Snapshot ? data.Snapshot : data);
}

function toBase64url(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

async function pipe(bytes, stream) {
  const out = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

// shareLink returns this page's URL with the whole sandbox in its hash.
export async function shareLink() {
  await start();
  save();
  const gz = await pipe(enc.encode(localStorage.getItem(STORAGE_KEY) || "{}"), new CompressionStream("gzip"));
  return `${location.origin}${location.pathname}#sandbox=${toBase64url(gz)}`;
}

async function openShared(hash) {
  const json = dec.decode(await pipe(fromBase64url(hash.slice("#sandbox=".length)), new DecompressionStream("gzip")));
  const res = await importSnapshot(JSON.parse(json));
  history.replaceState(null, "", location.pathname + location.search);
  return res;
}

// start loads the module and the sandbox; it runs once per page.
export function start() {
  if (!starting) {
    starting = (async () => {
      await instantiate();
      let shared = null;
      if (location.hash.startsWith("#sandbox=")) {
        try {
          shared = await openShared(location.hash);
        } catch (err) {
          console.error("cannot open the shared sandbox", err);
        }
      }
      if (!(shared && shared.status === 200) && !restoreSaved()) {
        const r = raw("Simulator.ResetSandbox", JSON.stringify({ ClockSpeed: 60, Seed: randomSeed() }));
        saveIfMoved(r);
      }
      window.keystorelab = Object.assign(window.keystorelab || {}, {
        call, reset, exportFile, importFile, shareLink, snapshot, requests,
      });
      document.documentElement.dataset.engine = "ready";
    })();
  }
  return starting;
}
