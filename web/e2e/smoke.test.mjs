// Smoke test: the site root loads engine.wasm (compressed, with the right
// type) in Chromium, and the engine answers a call, without a single
// console error.

import assert from "node:assert/strict";
import { test } from "node:test";
import { baseURL, call, launch, screenshot, waitForEngine } from "./lib.mjs";

test("the site root starts the engine and answers DescribeCustomKeyStores", { timeout: 120_000 }, async () => {
  const b = await launch();
  try {
    const wasm = [];
    b.page.on("response", (r) => {
      if (new URL(r.url()).pathname === "/engine.wasm") wasm.push(r);
    });

    const resp = await b.page.goto(baseURL + "/");
    assert.equal(resp.status(), 200, "GET /");
    assert.match(resp.headers()["content-type"] || "", /^text\/html/);
    await waitForEngine(b.page);

    assert.equal(wasm.length, 1, "engine.wasm is fetched once");
    const h = wasm[0].headers();
    assert.equal(wasm[0].status(), 200);
    assert.equal(h["content-type"], "application/wasm");
    assert.ok(["zstd", "gzip"].includes(h["content-encoding"]), `engine.wasm is sent precompressed (got ${h["content-encoding"]})`);

    const out = await call(b.page, "TrentService.DescribeCustomKeyStores", {});
    assert.equal(out.status, 200, `DescribeCustomKeyStores answered ${JSON.stringify(out)}`);
    assert.ok(Array.isArray(out.body.CustomKeyStores), `no CustomKeyStores list in ${JSON.stringify(out.body)}`);

    await screenshot(b.page, "smoke-root");
    b.assertNoErrors();
  } finally {
    await b.close();
  }
});
