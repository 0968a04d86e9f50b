// Measures a first visit to the playground in headless Chromium, with a
// cold cache (a fresh profile each run):
//
//   - bytes transferred: the sum over every response of what came over the
//     wire (CDP Network.loadingFinished encodedDataLength, so compressed
//     bodies plus response headers), and of the bodies alone;
//   - time from navigation start to data-engine="ready" (performance.now()
//     in the page when engine.js sets the attribute).
//
// make bench runs it after the Go benchmarks:
//
//	KEYSTORELAB_SERVER=build/keystorelab KEYSTORELAB_SITE=dist node web/e2e/measure.mjs
//
// starts that server binary on a free loopback port (-no-state) and stops it
// at the end. With KEYSTORELAB_URL set it measures that server instead.
// KEYSTORELAB_RUNS sets the number of runs (3).

import { spawn } from "node:child_process";
import { launch } from "./lib.mjs";

const runs = Number(process.env.KEYSTORELAB_RUNS || 3);

/** startServer runs the server binary and resolves to its base URL. */
function startServer(bin, site) {
  const child = spawn(bin, ["-addr", "127.0.0.1:0", "-no-state", "-site", site], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const url = new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${bin} is not serving after 60 s:\n${stderr}`)), 60_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /Keystore Lab is serving (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${bin} exited with ${code}:\n${stderr}`));
    });
  });
  return { child, url };
}

/** visit makes one cold first visit to base and returns what it measured. */
async function visit(base) {
  const b = await launch();
  try {
    // Record when engine.js marks the page ready, on the page's own clock
    // (performance.now() counts from navigation start).
    // The script runs before the document has an <html> element, so it
    // watches the whole document.
    await b.page.addInitScript(() => {
      new MutationObserver((_, obs) => {
        if (document.documentElement?.dataset.engine === "ready" && window.__keystorelabReadyAt === undefined) {
          window.__keystorelabReadyAt = performance.now();
          obs.disconnect();
        }
      }).observe(document, { attributes: true, attributeFilter: ["data-engine"], subtree: true });
    });

    const cdp = await b.context.newCDPSession(b.page);
    await cdp.send("Network.enable");
    const requests = new Map(); // requestId -> {url, headerBytes, bytes, decoded}
    cdp.on("Network.requestWillBeSent", (e) => requests.set(e.requestId, { url: e.request.url, headerBytes: 0, bytes: 0, decoded: 0 }));
    cdp.on("Network.responseReceived", (e) => {
      const r = requests.get(e.requestId);
      if (r) {
        r.headerBytes = e.response.encodedDataLength;
        r.status = e.response.status;
        r.encoding = e.response.headers["content-encoding"] || e.response.headers["Content-Encoding"] || "";
      }
    });
    cdp.on("Network.dataReceived", (e) => {
      const r = requests.get(e.requestId);
      if (r) r.decoded += e.dataLength;
    });
    cdp.on("Network.loadingFinished", (e) => {
      const r = requests.get(e.requestId);
      if (r) {
        r.bytes = e.encodedDataLength;
        r.done = true;
      }
    });

    await b.page.goto(base + "/");
    await b.page.waitForFunction(() => window.__keystorelabReadyAt !== undefined, null, { timeout: 60_000 });
    await b.page.waitForLoadState("networkidle");
    const readyMs = await b.page.evaluate(() => window.__keystorelabReadyAt);
    const nav = await b.page.evaluate(() => {
      const n = performance.getEntriesByType("navigation")[0];
      return { domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd };
    });
    const done = [...requests.values()].filter((r) => r.done);
    return {
      readyMs,
      nav,
      requests: done,
      wire: done.reduce((s, r) => s + r.bytes, 0),
      bodies: done.reduce((s, r) => s + Math.max(0, r.bytes - r.headerBytes), 0),
      decoded: done.reduce((s, r) => s + r.decoded, 0),
    };
  } finally {
    await b.close();
  }
}

const kB = (n) => `${(n / 1024).toFixed(1)} KiB`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  let server;
  let base = process.env.KEYSTORELAB_URL;
  if (!base) {
    const bin = process.env.KEYSTORELAB_SERVER;
    if (!bin) throw new Error("set KEYSTORELAB_URL, or KEYSTORELAB_SERVER (and KEYSTORELAB_SITE) to start one");
    server = startServer(bin, process.env.KEYSTORELAB_SITE || "dist");
    base = await server.url;
  }
  base = base.replace(/\/+$/, "");
  try {
    console.log(`first visit to ${base}/ in headless Chromium, cold cache, ${runs} runs`);
    const results = [];
    for (let i = 1; i <= runs; i++) {
      const r = await visit(base);
      results.push(r);
      console.log(
        `run ${i}: ready after ${r.readyMs.toFixed(0)} ms (DOMContentLoaded ${r.nav.domContentLoaded.toFixed(0)} ms); ` +
          `${r.requests.length} responses, ${r.wire} bytes transferred (${kB(r.wire)}; bodies ${kB(r.bodies)}, ${kB(r.decoded)} decoded)`,
      );
    }
    console.log("responses of the last run (bytes transferred, encoding, URL):");
    for (const r of [...results.at(-1).requests].sort((a, b) => b.bytes - a.bytes)) {
      console.log(`  ${String(r.bytes).padStart(9)}  ${(r.encoding || "-").padEnd(5)}  ${r.status} ${r.url.replace(base, "")}`);
    }
    console.log(
      `median: ${kB(median(results.map((r) => r.wire)))} transferred, ready after ${median(results.map((r) => r.readyMs)).toFixed(0)} ms`,
    );
  } finally {
    if (server) {
      server.child.kill("SIGTERM");
      await new Promise((resolve) => (server.child.exitCode !== null ? resolve() : server.child.once("exit", resolve)));
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
