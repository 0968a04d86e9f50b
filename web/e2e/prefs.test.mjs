// The AWS CloudHSM key stores table's Preferences (AWS's gear: which columns
// show, kept across reloads apart from the sandbox, usable from the
// keyboard), the kmsuser "Show password" toggles, and the page banner that
// follows a connect to CONNECTED or FAILED and a disconnect to DISCONNECTED.

import assert from "node:assert/strict";
import { test } from "node:test";
import { baseURL, launch, screenshot, waitForEngine } from "./lib.mjs";

const tid = (page, id) => page.locator(`[data-testid="${id}"]`);
const focused = (page) => page.evaluate(() => document.activeElement && document.activeElement.dataset.testid);

async function open(page, hash) {
  await page.goto(`${baseURL}/${hash}`);
  await ready(page);
}

async function ready(page) {
  await waitForEngine(page);
  await page.waitForFunction(() => document.documentElement.dataset.console === "ready");
}

// setUp makes, through the API, a cluster with two active HSMs and kmsuser,
// and a DISCONNECTED key store "Lab" for it; then reloads the console.
async function setUp(page) {
  const out = await page.evaluate(async () => {
    const k = window.keystorelab;
    const ok = async (target, body) => {
      const r = await k.call(target, body);
      if (r.status !== 200) throw new Error(`${target}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const wait = (s) => ok("Simulator.AdvanceClock", { Seconds: s });
    await k.reset();
    const subnets = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"];
    const cluster = (await ok("BaldrApiService.CreateCluster", { HsmType: "hsm2m.medium", SubnetIds: subnets })).Cluster.ClusterId;
    await wait(300);
    await ok("BaldrApiService.CreateHsm", { AvailabilityZone: "us-east-1a", ClusterId: cluster });
    await wait(600);
    const signed = await ok("Simulator.SignClusterCsr", { ClusterId: cluster });
    await ok("BaldrApiService.InitializeCluster", { ClusterId: cluster, SignedCert: signed.SignedCert, TrustAnchor: signed.TrustAnchor });
    await wait(300);
    await ok("Simulator.ActivateCluster", { AdminPassword: "adminPassword1", ClusterId: cluster });
    await ok("BaldrApiService.CreateHsm", { AvailabilityZone: "us-east-1b", ClusterId: cluster });
    await wait(600);
    await ok("Simulator.CreateCryptoUser", { ClusterId: cluster, Password: "kmsPassword1", Username: "kmsuser" });
    const store = (await ok("TrentService.CreateCustomKeyStore", {
      CloudHsmClusterId: cluster, CustomKeyStoreName: "Lab", KeyStorePassword: "kmsPassword1", TrustAnchorCertificate: signed.TrustAnchor,
    })).CustomKeyStoreId;
    return { cluster, store };
  });
  await page.reload();
  await ready(page);
  return out;
}

async function apiCall(page, target, body) {
  const r = await page.evaluate(([t, b]) => window.keystorelab.call(t, b), [target, body]);
  assert.equal(r.status, 200, `${target}: ${JSON.stringify(r.body)}`);
  return r.body;
}

async function storeAction(page, action) {
  await tid(page, "store-radio").first().check();
  await tid(page, "actions-button").click();
  assert.equal(await tid(page, `action-${action}`).getAttribute("aria-disabled"), "false", `${action} is disabled`);
  await tid(page, `action-${action}`).click();
}

// closedToGear waits until the Preferences dialog is closed, the gear says
// so, and the gear has keyboard focus (the dialog's close event is async).
async function closedToGear(page) {
  await tid(page, "prefs-dialog").waitFor({ state: "hidden" });
  await page.waitForFunction(() => {
    const gear = document.querySelector('[data-testid="prefs-button"]');
    return gear.getAttribute("aria-expanded") === "false" && document.activeElement === gear;
  }, null, { timeout: 5_000 });
}

const columnsSaved = (page) => page.evaluate(() => JSON.parse(localStorage.getItem("keystorelab.columns") || "null"));

test("the key store table's Preferences hide and show columns, and keep the choice", { timeout: 120_000 }, async () => {
  const b = await launch();
  try {
    const page = b.page;
    await open(page, "#/keystores");

    // No key stores yet: the empty row spans the visible columns.
    await tid(page, "stores-empty").waitFor();
    assert.equal(await tid(page, "stores-empty").getAttribute("colspan"), "6", "radio, name, ID, cluster, HSMs, status");

    const { store } = await setUp(page);
    await tid(page, "store-row").waitFor();
    const gear = tid(page, "prefs-button");
    const dialog = tid(page, "prefs-dialog");
    assert.equal(await gear.getAttribute("aria-haspopup"), "dialog");
    assert.equal(await gear.getAttribute("aria-expanded"), "false");
    assert.equal(await page.getByRole("button", { name: "Preferences" }).count(), 1, "the gear's accessible name");
    // AWS's defaults: every column but Creation date.
    for (const col of ["id", "cluster", "hsms", "status"]) assert.equal(await tid(page, `col-head-${col}`).isVisible(), true, col);
    assert.equal(await tid(page, "col-head-created").isVisible(), false);
    assert.equal(await tid(page, "store-created").isVisible(), false);
    assert.equal(await tid(page, "store-id").textContent(), store);

    // Open with the mouse; the name column cannot be hidden.
    await gear.click();
    await dialog.waitFor({ state: "visible" });
    assert.equal(await gear.getAttribute("aria-expanded"), "true");
    assert.equal(await focused(page), "col-id", "focus moves into the dialog");
    assert.equal(await tid(page, "col-name").isChecked(), true);
    assert.equal(await tid(page, "col-name").isDisabled(), true);
    assert.equal(await tid(page, "col-created").isChecked(), false);

    // Choices apply at once.
    await tid(page, "col-id").uncheck();
    assert.equal(await tid(page, "col-head-id").isVisible(), false);
    assert.equal(await tid(page, "store-id").isVisible(), false);
    await tid(page, "col-created").check();
    await tid(page, "store-created").waitFor({ state: "visible" });
    assert.ok((await tid(page, "store-created").textContent()).length > 5, "the creation date is shown");
    assert.equal(await tid(page, "col-head-created").textContent(), "Creation date");
    assert.deepEqual(await columnsSaved(page), { id: false, created: true });
    await screenshot(page, "console-preferences");

    // Escape closes it and gives focus back to the gear.
    await page.keyboard.press("Escape");
    await closedToGear(page);

    // The choice survives a reload, and the table re-rendering on each poll.
    await page.reload();
    await ready(page);
    await tid(page, "store-row").waitFor();
    await page.waitForTimeout(1200);
    assert.equal(await tid(page, "col-head-id").isVisible(), false);
    assert.equal(await tid(page, "store-id").isVisible(), false);
    assert.equal(await tid(page, "store-created").isVisible(), true);
    assert.equal(await tid(page, "store-name").isVisible(), true);

    // From the keyboard: Enter opens it, Space toggles, Escape closes.
    await gear.focus();
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "visible" });
    assert.equal(await tid(page, "col-id").isChecked(), false, "the dialog shows the saved choice");
    assert.equal(await tid(page, "col-created").isChecked(), true);
    assert.equal(await focused(page), "col-id");
    await page.keyboard.press("Space");
    assert.equal(await tid(page, "col-id").isChecked(), true);
    await tid(page, "store-id").waitFor({ state: "visible" });
    await page.keyboard.press("Tab"); // cluster
    await page.keyboard.press("Tab"); // hsms
    await page.keyboard.press("Space");
    assert.equal(await focused(page), "col-hsms");
    assert.equal(await tid(page, "store-hsms").isVisible(), false);
    await page.keyboard.press("Escape");
    await closedToGear(page);
    assert.deepEqual(await columnsSaved(page), { id: true, created: true, hsms: false });

    // A click inside the dialog keeps it open; the backdrop and Close close it.
    await gear.click();
    await dialog.waitFor({ state: "visible" });
    const box = await dialog.boundingBox();
    await page.mouse.click(box.x + 4, box.y + 4); // the dialog's padding
    assert.equal(await dialog.isVisible(), true, "a click in the dialog's padding closed it");
    await page.mouse.click(box.x - 20, box.y - 20); // the backdrop
    await closedToGear(page);
    await gear.click();
    await tid(page, "prefs-close").click();
    await closedToGear(page);

    // The columns are kept apart from the sandbox: a reset keeps them.
    await page.evaluate(() => window.keystorelab.reset());
    await page.reload();
    await ready(page);
    await tid(page, "stores-empty").waitFor();
    assert.equal(await tid(page, "col-head-hsms").isVisible(), false);
    assert.equal(await tid(page, "col-head-created").isVisible(), true);
    assert.equal(await tid(page, "stores-empty").getAttribute("colspan"), "6", "radio, name, ID, cluster, status, created");
    b.assertNoErrors();
  } finally {
    await b.close();
  }
});

test("Show password reveals the kmsuser password in the create and edit forms", { timeout: 120_000 }, async () => {
  const b = await launch();
  try {
    const page = b.page;
    await open(page, "#/keystores");
    const { store } = await setUp(page);

    await tid(page, "create-store").click();
    const pw = tid(page, "create-password");
    const toggle = tid(page, "create-password-toggle");
    await pw.fill("kmsPassword1");
    assert.equal(await pw.getAttribute("type"), "password");
    assert.equal(await toggle.getAttribute("aria-pressed"), "false");
    assert.equal(await toggle.textContent(), "Show password");
    await toggle.click();
    assert.equal(await pw.getAttribute("type"), "text");
    assert.equal(await toggle.getAttribute("aria-pressed"), "true");
    assert.equal(await pw.inputValue(), "kmsPassword1", "the value is kept");
    await toggle.press("Space"); // a button: the keyboard works too
    assert.equal(await pw.getAttribute("type"), "password");
    assert.equal(await toggle.getAttribute("aria-pressed"), "false");
    await toggle.click();
    // Leaving the form hides it again.
    await page.goto(`${baseURL}/#/keystores`);
    await page.waitForFunction(() => document.querySelector('[data-testid="create-password"]').type === "password");
    assert.equal(await toggle.getAttribute("aria-pressed"), "false");

    // The edit form, while DISCONNECTED.
    await page.goto(`${baseURL}/#/keystores/${store}/edit`);
    await tid(page, "edit-form").waitFor();
    const epw = tid(page, "edit-password");
    const etoggle = tid(page, "edit-password-toggle");
    await epw.fill("newPassword1");
    assert.equal(await epw.getAttribute("type"), "password");
    await etoggle.click();
    assert.equal(await epw.getAttribute("type"), "text");
    assert.equal(await etoggle.getAttribute("aria-pressed"), "true");
    assert.equal(await epw.inputValue(), "newPassword1");
    await screenshot(page, "console-show-password");
    await etoggle.click();
    assert.equal(await epw.getAttribute("type"), "password");
    b.assertNoErrors();
  } finally {
    await b.close();
  }
});

test("the Connecting banner becomes Connection failed (with its code) or Connected", { timeout: 120_000 }, async () => {
  const b = await launch();
  try {
    const page = b.page;
    await open(page, "#/keystores");
    const { cluster, store } = await setUp(page);
    const banner = tid(page, "page-banner");
    // KMS no longer knows kmsuser's password: the connect ends FAILED INVALID_CREDENTIALS.
    await apiCall(page, "Simulator.ChangeCryptoUserPassword", { ClusterId: cluster, Username: "kmsuser", NewPassword: "otherPassword1" });

    await storeAction(page, "connect");
    await tid(page, "page-banner-type").filter({ hasText: /^Connecting$/ }).waitFor();
    assert.equal(await banner.getAttribute("class"), "banner success");
    assert.equal(await tid(page, "page-banner-link").isVisible(), false);
    await apiCall(page, "Simulator.AdvanceClock", { Seconds: 1200 });
    await tid(page, "page-banner-type").filter({ hasText: /^Connection failed$/ }).waitFor({ timeout: 10_000 });
    assert.equal(await banner.getAttribute("class"), "banner error");
    assert.equal(await banner.getAttribute("role"), "alert");
    assert.match(await tid(page, "page-banner-message").textContent(), /Lab.*ConnectionErrorCode: INVALID_CREDENTIALS/);
    const link = tid(page, "page-banner-link");
    assert.equal(await link.isVisible(), true);
    assert.equal(await link.textContent(), "How to fix it");
    assert.equal(await link.getAttribute("href"), "#/troubleshoot/INVALID_CREDENTIALS");
    assert.equal(await page.locator('[data-testid="status"][data-state="FAILED"]').count(), 1);
    await screenshot(page, "console-failed-banner");

    // Disconnect: Disconnecting, then Disconnected.
    await storeAction(page, "disconnect");
    await tid(page, "page-banner-type").filter({ hasText: /^Disconnecting$/ }).waitFor();
    assert.equal(await tid(page, "page-banner-link").isVisible(), false);
    await apiCall(page, "Simulator.AdvanceClock", { Seconds: 120 });
    await tid(page, "page-banner-type").filter({ hasText: /^Disconnected$/ }).waitFor({ timeout: 10_000 });
    assert.equal(await banner.getAttribute("class"), "banner success");

    // AWS's fix (tell KMS the password), then Connecting becomes Connected.
    await apiCall(page, "TrentService.UpdateCustomKeyStore", { CustomKeyStoreId: store, KeyStorePassword: "otherPassword1" });
    await storeAction(page, "connect");
    await tid(page, "page-banner-type").filter({ hasText: /^Connecting$/ }).waitFor();
    await apiCall(page, "Simulator.AdvanceClock", { Seconds: 1200 });
    await tid(page, "page-banner-type").filter({ hasText: /^Connected$/ }).waitFor({ timeout: 10_000 });
    assert.equal(await banner.getAttribute("class"), "banner success");
    assert.match(await tid(page, "page-banner-message").textContent(), /Key store Lab is connected/);
    assert.equal(await tid(page, "page-banner-link").isVisible(), false);
    assert.equal(await page.locator('[data-testid="status"][data-state="CONNECTED"]').count(), 1);

    // The link leads to the code's fix.
    await apiCall(page, "Simulator.InjectConnectFault", { CustomKeyStoreId: store, ConnectionErrorCode: "NETWORK_ERRORS" });
    await storeAction(page, "disconnect");
    await apiCall(page, "Simulator.AdvanceClock", { Seconds: 120 });
    await tid(page, "page-banner-type").filter({ hasText: /^Disconnected$/ }).waitFor({ timeout: 10_000 });
    await storeAction(page, "connect");
    await apiCall(page, "Simulator.AdvanceClock", { Seconds: 1200 });
    await link.filter({ hasText: "How to fix it" }).waitFor({ timeout: 10_000 });
    assert.match(await tid(page, "page-banner-message").textContent(), /NETWORK_ERRORS/);
    await link.click();
    await page.waitForFunction(() => location.hash === "#/troubleshoot/NETWORK_ERRORS");
    await tid(page, "ts-NETWORK_ERRORS").waitFor({ state: "visible" });
    b.assertNoErrors();
  } finally {
    await b.close();
  }
});
