// worker.mjs: Keystore Lab's hosted sandbox on Cloudflare Workers.
//
// The Worker serves the static site (dist/, as Workers static assets) and a
// KMS endpoint per sandbox. A sandbox is named by an unguessable token and
// lives in its own Durable Object (class Sandbox), which runs the same
// engine.wasm as the browser and wazero, through @bjorn3/browser_wasi_shim,
// and keeps the sandbox's snapshot in its storage.
//
//	POST /sandbox                      create a sandbox: {"SandboxToken", "Endpoint"}
//	POST /  X-Amz-Target: Simulator.CreateSandbox    the same, as an API call
//	POST /sandbox/<token>              one API call (X-Amz-Target, JSON body), as AWS
//	                                   answers it: aws ... --endpoint-url <Endpoint>
//	POST /sandbox/<token>  X-Amz-Target: Simulator.DeleteSandbox    delete the sandbox
//
// The ABI (the request and response frames, alloc/call/free) is written down
// once, at the top of wasm/main.go; callFrame below follows it.
import { DurableObject } from "cloudflare:workers";
import { WASI, File, OpenFile, ConsoleStdout } from "@bjorn3/browser_wasi_shim";
// Wrangler's bundler turns a .wasm import into a compiled WebAssembly.Module,
// once per isolate.
import engineModule from "../../build/engine.wasm";

const CONTENT_TYPE = "application/x-amz-json-1.1";
const MAX_BODY_BYTES = 1 << 20; // the local server's limit
const TOKEN = /^[a-z2-7]{32}$/; // 20 random bytes in base32: 160 bits
const CHUNK_BYTES = 128 * 1024; // the smallest value limit of any Durable Object storage backend
const SAVE_DELAY_MS = 5_000; // unsaved calls that did not move the generation are saved this long after
const IDLE_RELEASE_MS = 60_000; // an instance unused this long is dropped (its memory freed) after a save
const DEFAULT_CLOCK_SPEED = 60; // as the local server and the browser: a 20-minute connect takes 20 s

const enc = new TextEncoder();
const dec = new TextDecoder();

// ---- the Worker: routing --------------------------------------------------

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path === "/" && request.method === "POST") return root(request, env, url);
    const m = /^\/sandbox(?:\/([^/]*)(\/.*)?)?\/?$/.exec(path);
    if (!m) return env.ASSETS.fetch(request);
    const token = m[1];
    if (!token) {
      if (request.method === "POST") return createSandbox(request, env, url);
      return awsError(405, "UnknownOperationException", `${usage(url)}`);
    }
    if (!TOKEN.test(token)) {
      return awsError(400, "UnrecognizedClientException",
        `The sandbox token in the endpoint URL is not a Keystore Lab sandbox token (32 characters a-z and 2-7). ${usage(url)}`);
    }
    if (request.method !== "POST" || (m[2] && m[2] !== "/")) {
      return awsError(404, "UnknownOperationException",
        `A sandbox endpoint answers POST ${url.origin}/sandbox/<token> with the operation in the X-Amz-Target header, as the AWS CLI and SDKs send it.`);
    }
    const target = request.headers.get("X-Amz-Target");
    if (!target) {
      return awsError(400, "UnknownOperationException",
        "Missing X-Amz-Target header: the AWS JSON 1.1 protocol names the operation there, for example TrentService.ListKeys");
    }
    const body = await readBody(request);
    if (body.error) return body.error;
    const stub = env.SANDBOX.get(env.SANDBOX.idFromName(token));
    const r = await stub.call(target, body.text, testHostTime(request, env), testTrap(request, env));
    return awsResponse(r.status, r.body, r.generation);
  },
};

// usage says how to get a sandbox.
function usage(url) {
  return `Create a sandbox with POST ${url.origin}/sandbox (or X-Amz-Target: Simulator.CreateSandbox at ${url.origin}/) ` +
    `and use the Endpoint it returns, ${url.origin}/sandbox/<token>, as --endpoint-url.`;
}

// root answers API calls sent to the Worker's root: Simulator.CreateSandbox,
// or an error that says where the sandboxes are.
async function root(request, env, url) {
  const target = request.headers.get("X-Amz-Target");
  if (target === "Simulator.CreateSandbox") return createSandbox(request, env, url);
  return awsError(400, "UnrecognizedClientException",
    `No sandbox token: this endpoint hosts many sandboxes, each at its own URL. ${usage(url)}`);
}

// createSandbox makes a new token and has its Durable Object set the
// sandbox up. The body may be empty, or hold ResetSandbox's members (Seed,
// Region, AccountId, ClockSpeed; ClockSpeed defaults to 60 and Seed to a
// random one), or a Snapshot to start from (what Simulator.ExportSnapshot
// answered, or the console's Export file).
async function createSandbox(request, env, url) {
  const body = await readBody(request);
  if (body.error) return body.error;
  let opts;
  try {
    opts = body.text.trim() === "" ? {} : JSON.parse(body.text);
  } catch {
    return awsError(400, "SerializationException", "The request body is not JSON.");
  }
  if (!opts || typeof opts !== "object" || Array.isArray(opts)) {
    return awsError(400, "SerializationException", "The request body must be a JSON object.");
  }
  let target, init;
  if (opts.Snapshot !== undefined) {
    if (Object.keys(opts).length !== 1) {
      return awsError(400, "ValidationException", "Snapshot cannot be combined with other members: the snapshot holds the whole sandbox.");
    }
    target = "Simulator.ImportSnapshot";
    init = JSON.stringify({ Snapshot: opts.Snapshot });
  } else {
    target = "Simulator.ResetSandbox";
    init = JSON.stringify({ ClockSpeed: DEFAULT_CLOCK_SPEED, Seed: randomHex(32), ...opts });
  }
  const token = newToken();
  const stub = env.SANDBOX.get(env.SANDBOX.idFromName(token));
  const r = await stub.create(target, init, testHostTime(request, env));
  if (r.status !== 200) return awsResponse(r.status, r.body, r.generation);
  return awsResponse(200, JSON.stringify({ SandboxToken: token, Endpoint: `${url.origin}/sandbox/${token}` }), r.generation);
}

// readBody reads at most MAX_BODY_BYTES, as text; {error} is the answer to
// a longer body.
async function readBody(request) {
  const tooLarge = (n) => ({
    error: awsError(413, "RequestEntityTooLargeException", `Request body of ${n} bytes exceeds the ${MAX_BODY_BYTES}-byte limit`),
  });
  const declared = Number(request.headers.get("Content-Length") || 0);
  if (declared > MAX_BODY_BYTES) return tooLarge(declared);
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > MAX_BODY_BYTES) return tooLarge(bytes.length);
  return { text: dec.decode(bytes) };
}

function newToken() {
  const b = crypto.getRandomValues(new Uint8Array(20));
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let out = "", bits = 0, acc = 0;
  for (const x of b) {
    acc = (acc << 8) | x;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += alphabet[(acc >>> bits) & 31];
    }
  }
  return out;
}

function randomHex(n) {
  return Array.from(crypto.getRandomValues(new Uint8Array(n)), (x) => x.toString(16).padStart(2, "0")).join("");
}

function awsResponse(status, body, generation) {
  const headers = { "Content-Type": CONTENT_TYPE, "x-amzn-RequestId": crypto.randomUUID() };
  if (generation !== undefined) headers["x-keystorelab-generation"] = generation;
  return new Response(body, { status, headers });
}

function awsError(status, type, message) {
  return awsResponse(status, errorBody(type, message));
}

function errorBody(type, message) {
  return JSON.stringify({ __type: type, message });
}

// Test hooks, honoured only when the Worker runs with the variable
// KEYSTORELAB_TEST_HOOKS=1 (tests/worker_test.go sets it; wrangler.jsonc
// leaves it empty): X-Keystorelab-Host-Time pins the host time (Unix
// milliseconds) of a call, so that golden scenarios replay at their fixed
// time, and X-Keystorelab-Test-Trap: 1 makes the call trap the module.
function testHostTime(request, env) {
  if (env.KEYSTORELAB_TEST_HOOKS !== "1") return null;
  const v = request.headers.get("X-Keystorelab-Host-Time");
  return v && /^\d+$/.test(v) ? Number(v) : null;
}

function testTrap(request, env) {
  return env.KEYSTORELAB_TEST_HOOKS === "1" && request.headers.get("X-Keystorelab-Test-Trap") === "1";
}

// ---- engine.wasm ------------------------------------------------------------

// instantiate returns the exports of a new, initialized instance. It runs
// inside a request: _initialize reads random values, which Workers refuse
// at global scope.
async function instantiate() {
  const wasi = new WASI([], [], [
    new OpenFile(new File([])),
    ConsoleStdout.lineBuffered((l) => console.log(l)),
    ConsoleStdout.lineBuffered((l) => console.warn(l)),
  ], { debug: false });
  const instance = await WebAssembly.instantiate(engineModule, { wasi_snapshot_preview1: wasi.wasiImport });
  wasi.initialize(instance);
  return instance.exports;
}

// callFrame makes one call: the request frame carries hostTime (Unix
// milliseconds), the target and the body; the answer is {status,
// generation (a BigInt), text}. It throws when the module traps. trap
// sends a frame longer than its buffer, which the module traps on (a test
// of the recovery path).
function callFrame(x, hostTime, target, text, trap = false) {
  const t = enc.encode(target);
  const b = enc.encode(text);
  const n = 12 + t.length + b.length;
  const ptr = x.alloc(n) >>> 0;
  const view = new DataView(x.memory.buffer, ptr, n);
  view.setBigInt64(0, BigInt(hostTime), true);
  view.setUint32(8, t.length, true);
  const frame = new Uint8Array(x.memory.buffer, ptr, n);
  frame.set(t, 12);
  frame.set(b, 12 + t.length);
  const packed = BigInt.asUintN(64, x.call(ptr, trap ? n + 1 : n));
  const out = Number(packed >> 32n);
  const len = Number(packed & 0xffffffffn);
  const bytes = new Uint8Array(x.memory.buffer, out, len).slice(); // memory may have grown: a fresh view, copied out
  x.free(out);
  x.free(ptr);
  const head = new DataView(bytes.buffer);
  return { status: head.getUint32(0, true), generation: head.getBigUint64(4, true), text: dec.decode(bytes.subarray(12)) };
}

// ---- the Durable Object: one sandbox ------------------------------------------

// Storage layout: "meta" = {created, chunks, bytes, generation, hostTime,
// savedAt};
// "snap/0" .. "snap/<chunks-1>" = the gzip of Simulator.ExportSnapshot's
// answer ({"Snapshot": ...}, which Simulator.ImportSnapshot takes as it is),
// in pieces of at most CHUNK_BYTES. A Durable Object with no "meta" was
// never created: its token is unknown.
export class Sandbox extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.x = null; // the live instance's exports, made by the first call
    this.meta = undefined; // the stored meta, once read (null: never created)
    this.savedGen = null; // the generation when the stored snapshot was taken
    this.unsaved = false; // calls since the last save that did not move the generation
    this.lastCall = 0; // Date.now() at the last call
    this.lastHostTime = 0; // the host time the last call carried
    this.alarmAt = 0; // when the alarm this instance set goes off (0: none)
    this.queue = Promise.resolve(); // serialises create, call and alarm
  }

  // serial runs fn after everything queued before it. Durable Objects hold
  // other events back only while storage is awaited; gzip and instantiation
  // are awaited too, and a save must never interleave with a call.
  serial(fn) {
    const p = this.queue.then(fn);
    this.queue = p.catch(() => {});
    return p;
  }

  // create sets up a new sandbox with one engine call (ResetSandbox or
  // ImportSnapshot) and saves it. It refuses a Durable Object that already
  // holds a sandbox.
  create(target, body, pinnedTime) {
    return this.serial(() => this.createNow(target, body, pinnedTime));
  }

  async createNow(target, body, pinnedTime) {
    if (await this.readMeta()) {
      return { status: 409, body: errorBody("KMSInternalException", "This sandbox token is already taken; create another sandbox.") };
    }
    const now = pinnedTime ?? Date.now();
    this.x = await instantiate();
    let r;
    try {
      r = callFrame(this.x, now, target, body);
    } catch (err) {
      this.x = null;
      console.error("engine.wasm trapped while creating a sandbox", err);
      return { status: 500, body: errorBody("KMSInternalException", "The sandbox could not be created because of an internal error.") };
    }
    if (r.status !== 200) {
      this.x = null;
      return { status: r.status, body: r.text, generation: String(r.generation) };
    }
    this.lastCall = Date.now();
    this.lastHostTime = now;
    await this.save(now, Date.now());
    await this.armAlarm(this.lastCall + IDLE_RELEASE_MS);
    return { status: 200, body: "{}", generation: String(r.generation) };
  }

  // call serves one API call of the sandbox.
  call(target, body, pinnedTime, trap) {
    return this.serial(async () => {
      try {
        return await this.callNow(target, body, pinnedTime, trap);
      } catch (err) {
        console.error(`sandbox: ${target} failed`, err);
        this.x = null; // whatever happened, the next call starts from storage
        return { status: 500, body: errorBody("KMSInternalException", "The request could not be completed because of an internal error.") };
      }
    });
  }

  async callNow(target, body, pinnedTime, trap) {
    const meta = await this.readMeta();
    if (!meta) {
      return {
        status: 400,
        body: errorBody("UnrecognizedClientException",
          "The sandbox token in the endpoint URL is unknown: no sandbox was created with it. " +
          "Create one with POST /sandbox (or X-Amz-Target: Simulator.CreateSandbox at the Worker's root) and use the Endpoint it returns."),
      };
    }
    if (target === "Simulator.DeleteSandbox") {
      // Everything goes: the snapshot, the meta (so the token is unknown
      // from now on) and the alarm.
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      this.x = null;
      this.meta = null;
      this.unsaved = false;
      this.alarmAt = 0;
      return { status: 200, body: "{}" };
    }
    const now = pinnedTime ?? Date.now();
    if (!this.x) {
      const failed = await this.restore();
      if (failed) return failed;
    }
    this.lastCall = Date.now();
    this.lastHostTime = now;
    let r;
    try {
      r = callFrame(this.x, now, target, body, trap);
    } catch (err) {
      // The instance's state is undefined after a trap: throw it away and
      // rebuild it from the stored snapshot. The request is not retried.
      console.error(`engine.wasm trapped on ${target}; rebuilding the sandbox from its stored snapshot`, err);
      this.x = null;
      this.unsaved = false;
      await this.restore();
      return {
        status: 500,
        body: errorBody("KMSInternalException",
          "The request could not be completed because of an internal error. The sandbox was restored to its last saved state; the request was not applied."),
        generation: this.x ? String(this.savedGen) : undefined,
      };
    }
    if (r.generation !== this.savedGen) {
      await this.save(now, meta.created);
      await this.armAlarm(this.lastCall + IDLE_RELEASE_MS);
    } else {
      // Calls that do not move the generation may still change what a
      // snapshot holds (the clock's last reading, random state): save them
      // a little later, with one alarm for many calls.
      this.unsaved = true;
      await this.armAlarm(this.lastCall + SAVE_DELAY_MS);
    }
    return { status: r.status, body: r.text, generation: String(r.generation) };
  }

  // alarm saves what calls left unsaved, then frees an idle instance (a
  // later call restores it from storage).
  alarm() {
    return this.serial(() => this.alarmNow());
  }

  async alarmNow() {
    this.alarmAt = 0;
    if (!this.x) return;
    if (this.unsaved) {
      const meta = await this.readMeta();
      if (meta) await this.save(this.lastHostTime, meta.created);
    }
    const idle = Date.now() - this.lastCall;
    if (idle >= IDLE_RELEASE_MS) {
      this.x = null;
    } else {
      await this.armAlarm(this.lastCall + IDLE_RELEASE_MS);
    }
  }

  async armAlarm(at) {
    if (this.alarmAt && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  async readMeta() {
    if (this.meta === undefined) this.meta = (await this.ctx.storage.get("meta")) ?? null;
    return this.meta;
  }

  // restore builds an instance from the stored snapshot. It returns an
  // error answer, or null when the instance is ready. The snapshot is
  // imported at the host time it was taken at, so the virtual clock runs on
  // through the time the instance was gone (evicted, released when idle, or
  // wrangler dev restarted), as it would have if it had stayed.
  async restore() {
    const meta = await this.readMeta();
    const keys = Array.from({ length: meta.chunks }, (_, i) => `snap/${i}`);
    const got = new Map();
    for (let i = 0; i < keys.length; i += 128) { // get() takes at most 128 keys
      for (const [k, v] of await this.ctx.storage.get(keys.slice(i, i + 128))) got.set(k, v);
    }
    const parts = keys.map((k) => got.get(k));
    if (parts.some((p) => !p)) {
      return { status: 500, body: errorBody("KMSInternalException", "The sandbox's stored snapshot is incomplete.") };
    }
    const text = dec.decode(await gunzip(concat(parts)));
    const x = await instantiate();
    const r = callFrame(x, meta.hostTime, "Simulator.ImportSnapshot", text);
    if (r.status !== 200) {
      console.error("the stored snapshot does not import", r.text);
      return { status: 500, body: errorBody("KMSInternalException", "The sandbox's stored snapshot cannot be loaded.") };
    }
    this.x = x;
    this.savedGen = r.generation; // the instance holds exactly what is stored
    this.unsaved = false;
    return null;
  }

  // save writes the instance's snapshot, taken at host time now (that of
  // the last call), to storage. The puts are not
  // awaited one by one, so Durable Objects commit them together, and the
  // answer to the request waits for them (the output gate).
  async save(now, created) {
    const r = callFrame(this.x, now, "Simulator.ExportSnapshot", "{}");
    if (r.status !== 200) throw new Error(`Simulator.ExportSnapshot answered ${r.status}: ${r.text}`);
    const gz = await gzip(enc.encode(r.text));
    const chunks = Math.max(1, Math.ceil(gz.length / CHUNK_BYTES));
    const old = this.meta?.chunks ?? 0;
    const meta = { created, chunks, bytes: gz.length, generation: String(r.generation), hostTime: now, savedAt: Date.now() };
    const writes = [];
    for (let i = 0; i < chunks; i++) writes.push(this.ctx.storage.put(`snap/${i}`, gz.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES)));
    for (let i = chunks; i < old; i++) writes.push(this.ctx.storage.delete(`snap/${i}`));
    writes.push(this.ctx.storage.put("meta", meta));
    await Promise.all(writes);
    this.meta = meta;
    this.savedGen = r.generation;
    this.unsaved = false;
  }
}

async function pipe(bytes, stream) {
  const out = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

const gzip = (b) => pipe(b, new CompressionStream("gzip"));
const gunzip = (b) => pipe(b, new DecompressionStream("gzip"));

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    const u = p instanceof Uint8Array ? p : new Uint8Array(p);
    out.set(u, o);
    o += u.byteLength;
  }
  return out;
}
