// Measures what a request to the hosted sandbox costs under `wrangler dev`
// (web/worker, offline, on a free loopback port), as seen by a client on
// the same machine:
//
//   - create: POST /sandbox, the first request to a new Durable Object
//     (instantiate engine.wasm, ResetSandbox, save the snapshot);
//   - first call: the first API call after wrangler dev restarted, which
//     rebuilds the instance from the stored snapshot;
//   - warm read: DescribeCustomKeyStores on a live instance (no save);
//   - warm write: CreateCluster on a live instance (the generation moves,
//     so the snapshot is exported, gzipped and written before the answer);
//   - the same with 200 clusters in the sandbox (the clock paused, so that
//     no read moves the generation).
//
// make bench runs it after make worker-assets:
//
//	node web/worker/measure.mjs
//
// KEYSTORELAB_RUNS sets the number of warm calls of each kind (200).

import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const wrangler = join(here, "..", "node_modules", ".bin", "wrangler");
const runs = Number(process.env.KEYSTORELAB_RUNS || 200);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** start runs wrangler dev in its own process group and waits until the Worker answers. */
async function start(state) {
  const port = await freePort();
  const inspector = await freePort();
  const child = spawn(wrangler, ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector),
    "--persist-to", state], {
    cwd: here,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_SEND_ERROR_REPORTS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" },
  });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  for (;;) {
    try {
      const r = await fetch(url + "/sandbox");
      if (r.status === 405) break;
    } catch {}
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${log}`);
    if (performance.now() - t0 > 90_000) throw new Error(`wrangler dev not ready after 90 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const ready = performance.now() - t0;
  const stop = async () => {
    const exited = new Promise((r) => child.once("exit", r));
    try { process.kill(-child.pid, "SIGTERM"); } catch {}
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    try { process.kill(-child.pid, "SIGKILL"); } catch {}
  };
  return { url, ready, stop };
}

async function timed(fn) {
  const t = performance.now();
  const r = await fn();
  return [performance.now() - t, r];
}

async function api(endpoint, target, body) {
  const r = await fetch(endpoint, {
    method: "POST",
    headers: { "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1" },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${target}: ${r.status} ${text}`);
  return JSON.parse(text);
}

function stats(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `median ${q(0.5).toFixed(2)} ms, p90 ${q(0.9).toFixed(2)} ms, min ${s[0].toFixed(2)} ms (${s.length} calls)`;
}

const state = await mkdtemp(join(tmpdir(), "keystorelab-wrangler-"));
try {
  let w = await start(state);
  console.log(`wrangler dev ready in ${w.ready.toFixed(0)} ms`);
  const [create, created] = await timed(async () => (await fetch(w.url + "/sandbox", { method: "POST" })).json());
  console.log(`create (POST /sandbox, a new Durable Object and instance): ${create.toFixed(2)} ms`);
  const ep = created.Endpoint;
  const [first] = await timed(() => api(ep, "TrentService.DescribeCustomKeyStores", {}));
  console.log(`first call on the new sandbox: ${first.toFixed(2)} ms`);

  const reads = [];
  for (let i = 0; i < runs; i++) reads.push((await timed(() => api(ep, "TrentService.DescribeCustomKeyStores", {})))[0]);
  console.log(`warm read (DescribeCustomKeyStores): ${stats(reads)}`);
  const writes = [];
  for (let i = 0; i < runs; i++) {
    const subnet = `subnet-0a${(i + 1).toString(16).padStart(15, "0")}`;
    writes.push((await timed(() => api(ep, "BaldrApiService.CreateCluster", { HsmType: "hsm2m.medium", SubnetIds: [subnet] })))[0]);
  }
  console.log(`warm write (CreateCluster, snapshot saved before the answer): ${stats(writes)}`);
  await api(ep, "Simulator.SetClockSpeed", { Speed: 0 }); // no cluster changes state from here on
  const [snapTime, snap] = await timed(() => api(ep, "Simulator.ExportSnapshot", {}));
  console.log(`snapshot after ${runs} clusters: ${JSON.stringify(snap).length} bytes of JSON (export ${snapTime.toFixed(2)} ms)`);
  const readsBig = [];
  for (let i = 0; i < runs; i++) readsBig.push((await timed(() => api(ep, "TrentService.DescribeCustomKeyStores", {})))[0]);
  console.log(`warm read with ${runs} clusters: ${stats(readsBig)}`);
  const writesBig = [];
  for (let i = 0; i < 20; i++) {
    writesBig.push((await timed(() => api(ep, "Simulator.AdvanceClock", { Seconds: 1 })))[0]);
  }
  console.log(`warm write with ${runs} clusters (AdvanceClock): ${stats(writesBig)}`);

  await w.stop();
  w = await start(state);
  const [restored] = await timed(() => api(ep.replace(/^http:\/\/[^/]+/, w.url), "TrentService.DescribeCustomKeyStores", {}));
  console.log(`first call after a restart of wrangler dev (restore ${runs} clusters from storage): ${restored.toFixed(2)} ms`);
  await w.stop();
} finally {
  await rm(state, { recursive: true, force: true });
}
