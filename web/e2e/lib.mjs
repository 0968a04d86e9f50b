// Shared helpers for the end-to-end tests in this directory (node:test and
// playwright-core driving Debian's Chromium). tests/browser_test.go runs
//
//	node --test web/e2e/
//
// against a local server over a freshly built dist/, with KEYSTORELAB_URL
// (the server's base URL) and KEYSTORELAB_SCREENSHOTS (a directory for PNGs)
// set. To run them by hand: make site, start `make run` in one terminal, then
//
//	KEYSTORELAB_URL=http://127.0.0.1:8080 node --test web/e2e/

import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));

/** The site under test, without a trailing slash. */
export const baseURL = (process.env.KEYSTORELAB_URL || "http://127.0.0.1:8080").replace(/\/+$/, "");

/** Debian's Chromium; KEYSTORELAB_CHROMIUM points elsewhere. */
export const chromiumPath = process.env.KEYSTORELAB_CHROMIUM || "/usr/bin/chromium";

/**
 * The flags every test browser runs with. playwright-core adds --headless
 * itself (headless: true); the rest keep Chromium off the network and quiet.
 */
export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Console messages that say nothing about the site: Chromium asks for
 * /favicon.ico by itself, and the site may not have one.
 */
function ignorable(msg) {
  return /\/favicon\.ico$/.test(msg.location()?.url || "");
}

/**
 * launch starts Chromium with a fresh profile (so a fresh localStorage) and
 * opens one page. It records every console error and uncaught exception of
 * every page in the context, in `errors`; call assertNoErrors() at the end of
 * a test. Always call close(), in a finally block: it stops Chromium and
 * removes the profile.
 *
 *	const b = await launch();
 *	try {
 *	  await b.page.goto(baseURL + "/");
 *	  await waitForEngine(b.page);
 *	  b.assertNoErrors();
 *	} finally {
 *	  await b.close();
 *	}
 *
 * options are passed on to launchPersistentContext (viewport, locale, ...).
 */
export async function launch(options = {}) {
  const userDataDir = await mkdtemp(join(tmpdir(), "keystorelab-chromium-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
      baseURL: baseURL + "/",
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
      ...options,
    });
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true });
    throw err;
  }

  const errors = [];
  const watch = (page) => {
    page.on("console", (msg) => {
      if (msg.type() === "error" && !ignorable(msg)) {
        const loc = msg.location();
        errors.push(`console error: ${msg.text()}${loc?.url ? ` (${loc.url}:${loc.lineNumber})` : ""}`);
      }
    });
    page.on("pageerror", (err) => errors.push(`uncaught exception: ${err.stack || err}`));
  };
  context.pages().forEach(watch);
  context.on("page", watch);
  const page = context.pages()[0] ?? (await context.newPage());

  let closed = false;
  return {
    browser: context.browser(), // null for a persistent context; use context
    context,
    page,
    errors,
    /** Fails the test when any page logged an error or threw. */
    assertNoErrors() {
      assert.deepEqual(errors, [], `the page reported errors:\n${errors.join("\n")}`);
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await context.close();
      } finally {
        await rm(userDataDir, { recursive: true, force: true });
      }
    },
  };
}

/** waitForEngine waits until engine.js has set data-engine="ready". */
export async function waitForEngine(page, timeout = 30_000) {
  await page.waitForFunction(() => document.documentElement.dataset.engine === "ready", null, { timeout });
}

/**
 * call makes one engine call in the page through window.keystorelab.call
 * and returns {status, body}.
 */
export async function call(page, target, body = {}) {
  return page.evaluate(([t, b]) => window.keystorelab.call(t, b), [target, body]);
}

/**
 * screenshot saves a full-page PNG as $KEYSTORELAB_SCREENSHOTS/<name>.png
 * and returns its path, or does nothing (and returns null) when that
 * variable is not set.
 */
export async function screenshot(page, name) {
  const dir = process.env.KEYSTORELAB_SCREENSHOTS;
  if (!dir) return null;
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name.replace(/[^A-Za-z0-9._-]+/g, "-")}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** The directory of the golden SDK requests that tests/sdk_requests_test.go keeps. */
export const sdkRequestsDir = join(here, "..", "..", "tests", "testdata", "sdk-requests");

/**
 * sdkRequest reads one golden SDK request, {target, body}, by its file name
 * without .json (for example "kms-CreateCustomKeyStore").
 */
export async function sdkRequest(fixtureName) {
  const text = await readFile(join(sdkRequestsDir, `${fixtureName}.json`), "utf8");
  return JSON.parse(text);
}

/**
 * assertSameAsSDK checks that a request body the page sent is the JSON the
 * AWS SDK for Go v2 sends for the same call. The golden body holds
 * placeholders such as "$name" and "$cluster"; substitutions maps each to
 * the value this test used ({"$name": "Ops", "$cluster": "cluster-..."}).
 * A string equal to a placeholder is replaced by the value (of any JSON
 * type); a placeholder inside a longer string is replaced textually. Both
 * sides are parsed and compared with deepStrictEqual, so member order and
 * white space do not matter, but member names, types, and left-out members
 * do. It returns the golden request's target (X-Amz-Target), to compare
 * too if the test knows it.
 */
export async function assertSameAsSDK(fixtureName, sentBodyString, substitutions = {}) {
  const golden = await sdkRequest(fixtureName);
  // Longest placeholders first, so "$name" does not eat into "$name2".
  const keys = Object.keys(substitutions).sort((a, b) => b.length - a.length);
  const left = new Set();
  const substitute = (v) => {
    if (typeof v === "string") {
      for (const m of v.matchAll(/\$[A-Za-z][A-Za-z0-9]*/g)) {
        if (!Object.hasOwn(substitutions, m[0])) left.add(m[0]);
      }
      if (Object.hasOwn(substitutions, v)) return substitutions[v];
      let out = v;
      for (const k of keys) out = out.split(k).join(String(substitutions[k]));
      return out;
    }
    if (Array.isArray(v)) return v.map(substitute);
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x)]));
    }
    return v;
  };
  const want = substitute(golden.body);
  assert.deepEqual([...left], [], `${fixtureName}: no substitution given for ${[...left].join(", ")}`);
  let sent;
  try {
    sent = JSON.parse(sentBodyString);
  } catch (err) {
    assert.fail(`${fixtureName}: the page sent a body that is not JSON (${err.message}): ${sentBodyString}`);
  }
  assert.deepStrictEqual(sent, want, `${fixtureName}: the page's request differs from the AWS SDK's`);
  return golden.target;
}
