// The documentation pages and their widgets (site/docs, web/static/widgets.js):
// every page loads without console errors, each widget drives its own
// sandbox to the states AWS documents, the widgets never touch the
// console's sandbox, and an embed page works inside an iframe on another
// page.

import assert from "node:assert/strict";
import { test } from "node:test";
import { baseURL, launch, screenshot } from "./lib.mjs";

const CONSOLE_KEY = "keystorelab.sandbox";

// openWidget waits for the widget in frame f to be built and idle.
async function openWidget(f, name) {
  const sel = `[data-testid="widget-${name}"]`;
  await f.waitForSelector(`${sel}[data-ready]`, { timeout: 30_000 });
  await idle(f, name);
  return f.locator(sel);
}

async function idle(f, name) {
  await f.waitForFunction(
    (sel) => document.querySelector(sel)?.getAttribute("aria-busy") === "false",
    `[data-testid="widget-${name}"]`,
    { timeout: 30_000 },
  );
}

// expectState waits until the widget shows state (and code, if given).
async function expectState(f, name, state, code) {
  const sel = `[data-testid="widget-${name}"]`;
  try {
    await f.waitForFunction(
      ([s, st, c]) => {
        const root = document.querySelector(s);
        const got = root?.querySelector("[data-testid=widget-state]")?.textContent;
        const gotCode = root?.querySelector("[data-testid=widget-error-code]")?.textContent || "";
        return root?.getAttribute("aria-busy") === "false" && got === st && (c === undefined || gotCode === c);
      },
      [sel, state, code],
      { timeout: 10_000 },
    );
  } catch (err) {
    const root = f.locator(sel);
    const got = await root.locator("[data-testid=widget-state]").textContent();
    const gotCode = await root.locator("[data-testid=widget-error-code]").textContent();
    const error = await root.locator("[data-testid=widget-error]").textContent();
    assert.fail(`widget ${name}: want ${state} ${code ?? ""}, have ${got} ${gotCode} (${error.trim()})`);
  }
}

// press clicks a button of the widget (scope narrows it down) and waits
// for the call to finish.
async function press(f, name, scope, testid) {
  await scope.locator(`[data-testid="${testid}"]`).click();
  await idle(f, name);
}

const pages = [
  { path: "/docs/", widget: null },
  { path: "/docs/custom-key-stores.html", widget: "connection-state" },
  { path: "/docs/connection-states.html", widget: "connection-state" },
  { path: "/docs/connection-error-codes.html", widget: "error-codes" },
  { path: "/docs/kmsuser.html", widget: "kmsuser" },
];

test("every docs and embed page loads without errors, with its widget built, and gets a screenshot", async () => {
  const b = await launch();
  try {
    for (const p of pages) {
      await b.page.goto(baseURL + p.path);
      assert.ok(await b.page.locator("main h1").count(), `${p.path} has an h1 in main`);
      if (p.widget) {
        const w = await openWidget(b.page.mainFrame(), p.widget);
        const state = await w.locator("[data-testid=widget-state]").textContent();
        assert.equal(state, p.widget === "kmsuser" ? "CONNECTED" : "DISCONNECTED", `${p.path}: the widget's first state`);
        assert.equal(await w.locator("[role=status][aria-live=polite]").count(), 1, `${p.path}: a live status region`);
      }
      // The iframe snippets name this server.
      await b.page.waitForFunction(() => document.documentElement.dataset.widgets === "ready");
      for (const snippet of await b.page.locator("[data-snippet]").allTextContents()) {
        assert.match(snippet, new RegExp(`src="${baseURL.replace(/[.]/g, "\\.")}/embed/[a-z-]+\\.html"`), `${p.path}: snippet ${snippet}`);
      }
      const base = p.path.replace(/^\/docs\//, "").replace(/\.html$/, "");
      await screenshot(b.page, `docs-${base || "index"}`);
    }
    for (const name of ["connection-state", "error-codes", "kmsuser"]) {
      await b.page.goto(`${baseURL}/embed/${name}.html`);
      await openWidget(b.page.mainFrame(), name);
      assert.equal(await b.page.locator("main h1").count(), 1, `/embed/${name}.html has one h1`);
      await screenshot(b.page, `embed-${name}`);
    }
    assert.equal(await b.page.evaluate((k) => localStorage.getItem(k), CONSOLE_KEY), null,
      "the docs pages made no console sandbox");
    b.assertNoErrors();
  } finally {
    await b.close();
  }
});

test("the connection-state widget connects, disconnects and refuses what AWS refuses", async () => {
  const b = await launch();
  try {
    const f = b.page.mainFrame();
    await b.page.goto(baseURL + "/docs/connection-states.html");
    // The console's sandbox, as the console would have left it: the widget must not touch it.
    await b.page.evaluate((k) => localStorage.setItem(k, '{"sentinel":true}'), CONSOLE_KEY);
    const name = "connection-state";
    const w = await openWidget(f, name);
    await expectState(f, name, "DISCONNECTED");

    await press(f, name, w, "widget-connect");
    await expectState(f, name, "CONNECTING");
    await press(f, name, w, "widget-jump-20");
    await expectState(f, name, "CONNECTED");
    await screenshot(b.page, "docs-connection-state-connected");

    await press(f, name, w, "widget-disconnect");
    await expectState(f, name, "DISCONNECTING");
    await press(f, name, w, "widget-connect");
    assert.equal(await w.locator("[data-testid=widget-error-type]").textContent(), "CustomKeyStoreInvalidStateException");
    await press(f, name, w, "widget-jump-2");
    await expectState(f, name, "DISCONNECTED");
    await press(f, name, w, "widget-disconnect");
    assert.equal(await w.locator("[data-testid=widget-error-type]").textContent(), "CustomKeyStoreInvalidStateException");

    // Virtual time runs by itself too: connect and let the live badge move on.
    await press(f, name, w, "widget-connect");
    await expectState(f, name, "CONNECTING");
    await b.page.waitForFunction(
      () => document.querySelector("[data-testid=widget-connection-state] [data-testid=widget-state]")?.textContent === "CONNECTED",
      null,
      { timeout: 30_000 },
    );

    assert.equal(await b.page.evaluate((k) => localStorage.getItem(k), CONSOLE_KEY), '{"sentinel":true}');
    b.assertNoErrors();
  } finally {
    await b.close();
  }
});

test("the error-code widget causes and fixes every code it offers", async () => {
  const b = await launch();
  try {
    const f = b.page.mainFrame();
    await b.page.goto(baseURL + "/docs/connection-error-codes.html");
    const name = "error-codes";
    const w = await openWidget(f, name);
    const codes = await w.locator("[data-testid=widget-code-select] option").evaluateAll((os) => os.map((o) => o.value));
    assert.ok(codes.length >= 7, `codes offered: ${codes}`);
    for (const code of codes) {
      await w.locator("[data-testid=widget-code-select]").selectOption(code);
      await idle(f, name);
      await expectState(f, name, "DISCONNECTED");
      const panel = w.locator(`[data-testid="widget-panel-${code}"]`);
      assert.ok(await panel.isVisible(), `${code}: its panel shows`);
      const reproduce = await panel.locator("[data-testid^=widget-reproduce-]").count();
      for (let i = 1; i <= reproduce; i++) await press(f, name, panel, `widget-reproduce-${i}`);
      await press(f, name, panel, "widget-connect");
      await press(f, name, panel, "widget-jump-20");
      await expectState(f, name, "FAILED", code);
      if (code === "USER_LOGGED_IN") await screenshot(b.page, "docs-error-codes-failed");
      const fix = await panel.locator("[data-testid^=widget-fix-]").count();
      for (let i = 1; i <= fix; i++) await press(f, name, panel, `widget-fix-${i}`);
      await expectState(f, name, "CONNECTED");
    }
    b.assertNoErrors();
  } finally {
    await b.close();
  }
});

test("the kmsuser widget follows How to log out and reconnect", async () => {
  const b = await launch();
  try {
    const f = b.page.mainFrame();
    await b.page.goto(baseURL + "/docs/kmsuser.html");
    const name = "kmsuser";
    const w = await openWidget(f, name);
    await expectState(f, name, "CONNECTED");
    const kmsRow = w.locator('tr[data-user="kmsuser"] td').nth(2);
    assert.match(await kmsRow.textContent(), /^cks-/, "AWS KMS holds the kmsuser session");

    const steps = await w.locator("[data-testid^=widget-step-]").count();
    assert.equal(steps, 8);
    await press(f, name, w, "widget-step-1");
    await expectState(f, name, "DISCONNECTING");
    await press(f, name, w, "widget-step-2");
    await expectState(f, name, "DISCONNECTED");
    for (let i = 3; i <= 5; i++) {
      await press(f, name, w, `widget-step-${i}`);
      assert.equal(await w.locator("[data-testid=widget-error] p").isVisible(), false, `step ${i} succeeded`);
    }
    await press(f, name, w, "widget-step-6");
    await press(f, name, w, "widget-step-7");
    await expectState(f, name, "CONNECTING");
    await press(f, name, w, "widget-step-8");
    await expectState(f, name, "CONNECTED");
    assert.match(await kmsRow.textContent(), /^cks-/);
    await screenshot(b.page, "docs-kmsuser-done");
    b.assertNoErrors();
  } finally {
    await b.close();
  }
});

test("an embed page works inside an iframe on someone else's page", async () => {
  const b = await launch();
  try {
    const host = `<!DOCTYPE html><html lang="en"><head><title>Host page</title></head><body>
      <h1>A page that embeds Keystore Lab</h1>
      <iframe id="kl" src="${baseURL}/embed/connection-state.html" title="Keystore Lab" width="800" height="560"></iframe>
      </body></html>`;
    await b.page.setContent(host, { waitUntil: "load" });
    const frame = await (await b.page.$("#kl")).contentFrame();
    assert.ok(frame, "the iframe has a frame");
    const name = "connection-state";
    const w = await openWidget(frame, name);
    assert.equal(await frame.locator(".skip, nav.side").count(), 0, "no console chrome in the embed");
    assert.equal(await frame.locator("main h1").count(), 1, "the widget's title is the embed page's h1");
    await press(frame, name, w, "widget-connect");
    await expectState(frame, name, "CONNECTING");
    await press(frame, name, w, "widget-jump-20");
    await expectState(frame, name, "CONNECTED");
    await screenshot(b.page, "docs-embed-iframe");

    // The error-code widget, with one cause chosen by the embedding page.
    await b.page.setContent(`<!DOCTYPE html><html lang="en"><head><title>Host page</title></head><body>
      <iframe id="kl" src="${baseURL}/embed/error-codes.html?code=USER_LOGGED_IN" title="Keystore Lab" width="900" height="960"></iframe>
      </body></html>`, { waitUntil: "load" });
    const codes = await (await b.page.$("#kl")).contentFrame();
    const ew = await openWidget(codes, "error-codes");
    assert.equal(await ew.locator("[data-testid=widget-code-select]").inputValue(), "USER_LOGGED_IN");
    const panel = ew.locator('[data-testid="widget-panel-USER_LOGGED_IN"]');
    for (let i = 1; i <= 3; i++) await press(codes, "error-codes", panel, `widget-reproduce-${i}`);
    await press(codes, "error-codes", panel, "widget-connect");
    await press(codes, "error-codes", panel, "widget-jump-20");
    await expectState(codes, "error-codes", "FAILED", "USER_LOGGED_IN");
    b.assertNoErrors();
  } finally {
    await b.close();
  }
});
