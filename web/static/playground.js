// playground.js: a key's "Try it" tab: Encrypt, Decrypt (with or without
// KeyId) and GenerateDataKey with an encryption context, and the ciphertext
// blob's structure from Simulator.InspectCiphertext (layers outermost first,
// every byte range colored). Loaded by keys.js the first time the tab opens.
import { $, $$, api, run, hideBanner, rebind } from "./ui.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const pg = { keyId: "", context: [{ Key: "purpose", Value: "demo" }], result: {}, blob: null };

function toBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text) {
  const s = atob(text);
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function byteLength(b64) {
  try {
    return b64 ? fromBase64(b64).length : 0;
  } catch {
    return 0;
  }
}

function context() {
  const out = {};
  for (const { Key, Value } of pg.context) if (Key) out[Key] = Value;
  return Object.keys(out).length ? out : null;
}

function renderContext() {
  rebind($('[data-bind="pg-context"]'), {
    Context: pg.context.map((c, i) => ({ ...c, Index: String(i), KeyLabel: `Context key ${i + 1}`, ValueLabel: `Context value ${i + 1}`, RemoveLabel: `Remove pair ${i + 1}` })),
  });
}

function renderResult() {
  rebind($('[data-bind="pg-result"]'), pg.result);
}

// Each byte range is colored by the layer it belongs to: the cleartext
// header (version, origin, key ID) in grey, the outermost layer in blue and
// the layer inside it in purple, as the layer boxes are.
const HEADER = new Set(["version", "origin", "key id"]);
const LAYER_COLORS = ["0", "4"];

function layerOf(name, layers) {
  if (HEADER.has(name.toLowerCase())) return -1;
  if (layers.length > 1 && !/outer|proxy|ciphertextmetadata/i.test(name)) return 1;
  return 0;
}

function blobView(b) {
  const raw = b.Layers || [];
  const layers = raw.map((l, i) => {
    const parts = [];
    if (l.Iv) parts.push(`IV ${byteLength(l.Iv)} bytes`);
    if (l.CiphertextMetadata) parts.push(`ciphertext metadata ${byteLength(l.CiphertextMetadata)} bytes`);
    if (l.Ciphertext) parts.push(`ciphertext ${byteLength(l.Ciphertext)} bytes`);
    if (l.AuthenticationTag) parts.push(`authentication tag ${byteLength(l.AuthenticationTag)} bytes`);
    return { ...l, Depth: String(i), Color: LAYER_COLORS[i] || "7", Sealed: Boolean(l.Sealed), Parts: parts.join(", ") };
  });
  const fields = (b.Fields || []).map((f) => {
    const n = layerOf(f.Name, raw);
    const layer = n < 0 ? "Header (cleartext)" : (raw[n] && raw[n].Name) || "";
    const hex = (f.Hex || "").replace(/(..)(?!$)/g, "$1 ");
    const end = f.Offset + f.Length - 1;
    const title = `${f.Name}: bytes ${f.Offset}–${end} (${f.Length} byte${f.Length === 1 ? "" : "s"}), ${layer}`;
    return { ...f, Layer: layer, Color: n < 0 ? "7" : LAYER_COLORS[n] || "7", HexShort: hex.length > 71 ? `${hex.slice(0, 71)} …` : hex, Title: title, Label: `${title}.` };
  });
  return { ...b, Layers: layers, Fields: fields };
}

async function inspect(blob) {
  pg.blob = null;
  if (blob) {
    const r = await api("Simulator.InspectCiphertext", { CiphertextBlob: blob });
    if (r.status === 200) pg.blob = blobView(r.body);
  }
  const el = $('[data-bind="blob"]');
  rebind(el, pg.blob || { Size: 0 });
  el.hidden = !pg.blob;
}

async function act(what) {
  const B = "pg-banner";
  const ctx = context();
  hideBanner(B);
  if (what === "encrypt") {
    const body = { KeyId: pg.keyId, Plaintext: toBase64(enc.encode($("#pg-plaintext").value)) };
    if (ctx) body.EncryptionContext = ctx;
    const out = await run(B, "TrentService.Encrypt", body);
    pg.result = {};
    renderResult();
    if (!out) return;
    $("#pg-ciphertext").value = out.CiphertextBlob;
    await inspect(out.CiphertextBlob);
  } else if (what === "decrypt") {
    const body = { CiphertextBlob: $("#pg-ciphertext").value.trim() };
    if (ctx) body.EncryptionContext = ctx;
    if ($("#pg-with-key").checked) body.KeyId = pg.keyId;
    const out = await run(B, "TrentService.Decrypt", body);
    pg.result = out ? { Decrypted: dec.decode(fromBase64(out.Plaintext || "")), DecryptedKeyId: out.KeyId || "" } : {};
    renderResult();
    if (out) await inspect(body.CiphertextBlob);
  } else if (what === "datakey") {
    const body = { KeyId: pg.keyId, KeySpec: "AES_256" };
    if (ctx) body.EncryptionContext = ctx;
    const out = await run(B, "TrentService.GenerateDataKey", body);
    pg.result = out ? { DataKey: out.Plaintext } : {};
    renderResult();
    if (!out) return;
    $("#pg-ciphertext").value = out.CiphertextBlob;
    await inspect(out.CiphertextBlob);
  }
}

// renderPlayground follows the key shown; a new key starts afresh.
export function renderPlayground(m) {
  if (pg.keyId === m.KeyId) return;
  pg.keyId = m.KeyId;
  pg.result = {};
  $("#pg-ciphertext").value = "";
  hideBanner("pg-banner");
  renderResult();
  inspect("");
}

export function setupPlayground() {
  const form = $("#pg-form");
  form.addEventListener("submit", (e) => e.preventDefault());
  form.addEventListener("click", async (e) => {
    const b = e.target.closest("[data-pg], [data-ctx-add], [data-ctx-remove]");
    if (!b) return;
    if (b.dataset.pg) {
      if (pg.busy) return;
      pg.busy = true;
      b.setAttribute("aria-busy", "true");
      try {
        await act(b.dataset.pg);
      } finally {
        pg.busy = false;
        b.removeAttribute("aria-busy");
      }
    } else if (b.hasAttribute("data-ctx-add")) {
      pg.context.push({ Key: "", Value: "" });
      renderContext();
      const keys = $$('[data-testid="pg-ctx-key"]', form);
      keys[keys.length - 1].focus();
    } else {
      pg.context.splice(Number(b.dataset.index), 1);
      renderContext();
      $('[data-testid="pg-ctx-add"]').focus();
    }
  });
  form.addEventListener("input", (e) => {
    const part = e.target.dataset.ctxPart;
    if (part) pg.context[Number(e.target.dataset.index)][part] = e.target.value;
  });
  renderContext();
}
