// playground.js: a key's "Try it" tab: Encrypt, Decrypt (with or without
// KeyId) and GenerateDataKey with an encryption context, and the ciphertext
// blob's structure from Simulator.InspectCiphertext (layers outermost first,
// every byte range colored). Loaded by keys.js the first time the tab opens.
import { $, $$, api, run, hideBanner, rebind } from "./ui.js";
import { blobView } from "./blob.js";

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
