// abi.js: engine.wasm's ABI for the browser (written down once, in
// wasm/main.go): compile the module once per page, make instances, and make
// one call through alloc/call/free.
import { WASI, File, OpenFile, ConsoleStdout } from "/vendor/browser_wasi_shim/index.js";

const moduleURL = new URL("../engine.wasm", import.meta.url);
const enc = new TextEncoder();
const dec = new TextDecoder();
let compiled = null; // Promise<WebAssembly.Module>, fetched and compiled once

// instantiate returns the exports of a new, initialized instance.
export async function instantiate() {
  if (!compiled) {
    compiled = (async () => {
      const res = await fetch(moduleURL);
      if (!res.ok) throw new Error(`engine.wasm: HTTP ${res.status}`);
      return WebAssembly.compile(await res.arrayBuffer());
    })();
    compiled.catch(() => { compiled = null; }); // let a later call retry
  }
  const wasi = new WASI([], [], [
    new OpenFile(new File([])),
    ConsoleStdout.lineBuffered((l) => console.log(l)),
    ConsoleStdout.lineBuffered((l) => console.warn(l)),
  ], { debug: false });
  const instance = await WebAssembly.instantiate(await compiled, { wasi_snapshot_preview1: wasi.wasiImport });
  wasi.initialize(instance);
  return instance.exports;
}

// callFrame makes one call on an instance's exports: target and the JSON
// text of the body in, {status, generation, text} out. It traps (throws)
// when the module does.
export function callFrame(x, target, text) {
  const t = enc.encode(target);
  const b = enc.encode(text);
  const n = 12 + t.length + b.length;
  const ptr = x.alloc(n) >>> 0;
  const view = new DataView(x.memory.buffer, ptr, n);
  view.setBigInt64(0, BigInt(Date.now()), true);
  view.setUint32(8, t.length, true);
  const frame = new Uint8Array(x.memory.buffer, ptr, n);
  frame.set(t, 12);
  frame.set(b, 12 + t.length);
  const packed = BigInt.asUintN(64, x.call(ptr, n));
  const out = Number(packed >> 32n);
  const len = Number(packed & 0xffffffffn);
  const bytes = new Uint8Array(x.memory.buffer, out, len).slice(); // memory may have grown: a fresh view, copied out
  x.free(out);
  x.free(ptr);
  const head = new DataView(bytes.buffer);
  return { status: head.getUint32(0, true), generation: head.getBigUint64(4, true), text: dec.decode(bytes.subarray(12)) };
}
