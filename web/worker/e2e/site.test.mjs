// The site served by the Worker (web/worker/, under wrangler dev): the
// console comes up in Chromium with its own engine.wasm from the Worker's
// static assets, and the page can make and use a hosted sandbox on the same
// origin. tests/worker_test.go runs this with KEYSTORELAB_URL set to the
// Worker; by hand, with make worker-dev running:
//
//	KEYSTORELAB_URL=http://127.0.0.1:8787 node --test web/worker/e2e/

import assert from "node:assert/strict";
import { test } from "node:test";
import { baseURL, call, launch, screenshot, waitForEngine } from "../../e2e/lib.mjs";

test("the console loads from the Worker and its engine answers", { timeout: 120_000 }, async () => {
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
    assert.equal(wasm[0].status(), 200);
    assert.equal(wasm[0].headers()["content-type"], "application/wasm");

    const out = await call(b.page, "TrentService.DescribeCustomKeyStores", {});
    assert.equal(out.status, 200, `DescribeCustomKeyStores answered ${JSON.stringify(out)}`);
    assert.ok(Array.isArray(out.body.CustomKeyStores));
    await screenshot(b.page, "worker-root");

    // The hosted sandbox, from the page: create one, call it.
    const hosted = await b.page.evaluate(async () => {
      const created = await (await fetch("/sandbox", { method: "POST" })).json();
      const res = await fetch(created.Endpoint, {
        method: "POST",
        headers: { "X-Amz-Target": "TrentService.DescribeCustomKeyStores", "Content-Type": "application/x-amz-json-1.1" },
        body: "{}",
      });
      return { created, status: res.status, body: await res.json() };
    });
    assert.match(hosted.created.SandboxToken, /^[a-z2-7]{32}$/);
    assert.equal(hosted.created.Endpoint, `${baseURL}/sandbox/${hosted.created.SandboxToken}`);
    assert.equal(hosted.status, 200, JSON.stringify(hosted));
    assert.deepEqual(hosted.body, { CustomKeyStores: [], Truncated: false });

    // The docs pages come from the assets too.
    const docs = await b.page.goto(baseURL + "/docs/");
    assert.equal(docs.status(), 200, "GET /docs/");
    b.assertNoErrors();
  } finally {
    await b.close();
  }
});
