// KMS keys in the console, end to end through the UI: the Create key wizard
// for an AWS_KMS key, an AWS CloudHSM key store key and an external key
// store key (only CONNECTED stores can be chosen; XKS errors come back as
// AWS's banners); a key's page with its tabs and Key actions; the Try it
// playground (Encrypt, Decrypt with and without KeyId, GenerateDataKey, the
// ciphertext blob's layers); key states that follow the key store live
// (Unavailable while it is disconnected); the key table's column chooser;
// and hostile descriptions and tags shown as text. Stores are set up
// through the page's engine, as the other tests do.

import assert from "node:assert/strict";
import { test } from "node:test";
import { baseURL, launch, screenshot, waitForEngine } from "./lib.mjs";

const tid = (page, id) => page.locator(`[data-testid="${id}"]`);
const HOSTILE = `<img src=x onerror="window.__xss=1">`;
const HOSTILE_TAG = `<script>window.__xss=2</script>`;

async function ready(page) {
  await waitForEngine(page);
  await page.waitForFunction(() => document.documentElement.dataset.console === "ready");
}

async function open(page, hash) {
  await page.goto(`${baseURL}/${hash}`);
  await ready(page);
}

async function lastRequest(page, target) {
  const rec = await page.evaluate((t) => window.keystorelab.requests.filter((r) => r.target === t).pop(), target);
  assert.ok(rec, `the page sent no ${target}`);
  return rec;
}

async function apiCall(page, target, body) {
  const r = await page.evaluate(([t, b]) => window.keystorelab.call(t, b), [target, body]);
  assert.equal(r.status, 200, `${target}: ${JSON.stringify(r.body)}`);
  return r.body;
}

// keyState waits until the key page's status badge shows state.
async function keyState(page, state, timeout = 15_000) {
  await page.locator(`[data-view="key-detail"] [data-testid="key-status"][data-key-state="${state}"]`).waitFor({ timeout });
}

// banner waits for an error banner naming the exception.
async function banner(page, id, type) {
  await tid(page, `${id}-type`).filter({ hasText: type }).waitFor();
  assert.equal(await tid(page, id).getAttribute("role"), "alert");
}

// wizardTo walks the Create key wizard from step `from` to the Review.
async function nextTo(page, step) {
  for (;;) {
    const cur = Number(await page.locator("[data-step-nav][aria-current=step]").getAttribute("data-step-nav"));
    if (cur >= step) return;
    await tid(page, "key-create-next").click();
    await page.locator(`[data-step-nav="${cur + 1}"][aria-current=step]`).waitFor();
  }
}

// tryIt opens the key's Try it tab.
async function tryIt(page) {
  await tid(page, "key-tab-try").click();
  await tid(page, "pg-encrypt").waitFor();
}

async function encrypt(page) {
  await tid(page, "pg-ciphertext").fill("");
  await tid(page, "pg-encrypt").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="pg-ciphertext"]').value.length > 20);
  await tid(page, "blob").waitFor();
  return tid(page, "pg-ciphertext").inputValue();
}

async function decrypt(page, withKey = true) {
  await tid(page, "pg-with-key").setChecked(withKey);
  const before = await page.evaluate(() => window.keystorelab.requests.filter((r) => r.target === "TrentService.Decrypt").length);
  await tid(page, "pg-decrypt").click();
  await page.waitForFunction((n) => window.keystorelab.requests.filter((r) => r.target === "TrentService.Decrypt").length > n, before);
  return lastRequest(page, "TrentService.Decrypt");
}

// storePage opens a key store's page and, for an external key store, waits
// for the Monitoring graphs to be read afresh.
async function storePage(page, store, monitoring = false) {
  const before = await page.evaluate(() => Number(document.querySelector('[data-testid="monitoring"]').dataset.loaded || 0));
  await page.goto(`${baseURL}/#/keystores/${store}`);
  if (monitoring) await page.waitForFunction((n) => Number(document.querySelector('[data-testid="monitoring"]').dataset.loaded || 0) > n, before, { timeout: 15_000 });
}

async function keyAction(page, action) {
  await tid(page, "key-actions-button").click();
  const item = tid(page, `key-action-${action}`);
  await item.waitFor();
  assert.equal(await item.getAttribute("aria-disabled"), "false", `${action} is disabled`);
  await item.click();
}

// cloudHsmStore makes, through the API, a cluster with two active HSMs and
// kmsuser, and a DISCONNECTED AWS CloudHSM key store "Lab" for it.
async function cloudHsmStore(page) {
  return page.evaluate(async () => {
    const k = window.keystorelab;
    const ok = async (target, body) => {
      const r = await k.call(target, body);
      if (r.status !== 200) throw new Error(`${target}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const wait = (s) => ok("Simulator.AdvanceClock", { Seconds: s });
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
}

// xksStore makes, through the API, a simulated proxy with a path, a
// credential and the external keys "bar" (enabled) and "off" (disabled),
// and a CONNECTED external key store "Xks" for it.
async function xksStore(page) {
  return page.evaluate(async () => {
    const k = window.keystorelab;
    const ok = async (target, body) => {
      const r = await k.call(target, body);
      if (r.status !== 200) throw new Error(`${target}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const UriEndpoint = "https://xks.example.com";
    const UriPath = "/example/kms/xks/v1";
    const AccessKeyId = "BE2J6Q2RE7ZRRCONB2M2RKBT5M";
    const SecretAccessKey = "oTbh0uA9Z3M5tJr1dDqHsbQn7sAkH+3v9XhXxKZbVmk=";
    await ok("Simulator.CreateXksProxy", { UriEndpoint });
    await ok("Simulator.PutXksProxyPath", { UriEndpoint, UriPath, Credentials: [{ AccessKeyId, SecretAccessKey }] });
    await ok("Simulator.CreateExternalKey", { UriEndpoint, UriPath, KeyId: "bar" });
    await ok("Simulator.CreateExternalKey", { UriEndpoint, UriPath, KeyId: "off", KeyStatus: "DISABLED" });
    const store = (await ok("TrentService.CreateCustomKeyStore", {
      CustomKeyStoreName: "Xks", CustomKeyStoreType: "EXTERNAL_KEY_STORE", XksProxyConnectivity: "PUBLIC_ENDPOINT",
      XksProxyUriEndpoint: UriEndpoint, XksProxyUriPath: UriPath,
      XksProxyAuthenticationCredential: { AccessKeyId, RawSecretAccessKey: SecretAccessKey },
    })).CustomKeyStoreId;
    await ok("TrentService.ConnectCustomKeyStore", { CustomKeyStoreId: store });
    await ok("Simulator.AdvanceClock", { Seconds: 600 });
    return { store };
  });
}

test("an AWS KMS key: wizard, page, playground, key actions, columns, hostile text", { timeout: 180_000 }, async () => {
  const b = await launch();
  try {
    const page = b.page;
    await open(page, "#/keys");
    await tid(page, "keys-empty").waitFor();
    assert.equal(await tid(page, "nav-keys").getAttribute("aria-current"), "page");

    // The wizard: KMS origin (the default), an alias, a hostile description and tag.
    await tid(page, "create-key").click();
    await tid(page, "key-create-form").waitFor();
    assert.equal(await tid(page, "key-origin-AWS_KMS").isChecked(), true);
    assert.equal(await tid(page, "key-origin-EXTERNAL").isDisabled(), true, "importing key material is shown but refused");
    assert.equal(await tid(page, "key-store-part").isVisible(), false);
    await nextTo(page, 2);
    assert.ok(await page.evaluate(() => document.activeElement.id === "step2-title"), "focus moves to the step's heading");
    await tid(page, "key-alias").fill("aws/reserved");
    await tid(page, "key-create-next").click();
    assert.equal(await tid(page, "key-alias").getAttribute("aria-invalid"), "true");
    await tid(page, "key-alias").fill("demo-key");
    await tid(page, "key-description").fill(HOSTILE);
    await tid(page, "key-tag-add").click();
    await tid(page, "key-tag-key").fill("team");
    await tid(page, "key-tag-value").fill(HOSTILE_TAG);
    await nextTo(page, 5);
    assert.equal(await tid(page, "review-origin").textContent(), "AWS KMS");
    assert.equal(await tid(page, "review-alias").textContent(), "alias/demo-key");
    assert.equal(await tid(page, "review-description").textContent(), HOSTILE);
    await screenshot(page, "keys-wizard-review");
    await tid(page, "key-create-finish").click();
    await tid(page, "key-detail-title").filter({ hasText: "demo-key" }).waitFor();
    await keyState(page, "Enabled");
    const created = await lastRequest(page, "TrentService.CreateKey");
    assert.deepEqual(JSON.parse(created.request), {
      Description: HOSTILE, KeySpec: "SYMMETRIC_DEFAULT", KeyUsage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS", Tags: [{ TagKey: "team", TagValue: HOSTILE_TAG }],
    });
    const keyId = JSON.parse(created.response).KeyMetadata.KeyId;
    assert.deepEqual(JSON.parse((await lastRequest(page, "TrentService.CreateAlias")).request), { AliasName: "alias/demo-key", TargetKeyId: keyId });
    await tid(page, "key-banner").filter({ hasText: "Key created" }).waitFor();
    assert.equal(await tid(page, "key-detail-description").textContent(), HOSTILE);
    assert.match(await tid(page, "key-detail-arn").textContent(), new RegExp(`^arn:aws:kms:[a-z0-9-]+:\\d{12}:key/${keyId}$`));
    assert.equal(await tid(page, "crypto-origin").textContent(), "AWS KMS");
    assert.equal(await tid(page, "crypto-store").isVisible(), false);
    await tid(page, "key-tab-tags").click();
    await tid(page, "tag-value").filter({ hasText: HOSTILE_TAG }).waitFor();
    await tid(page, "key-tab-policy").click();
    await tid(page, "key-policy").filter({ hasText: "kms:*" }).waitFor();
    await tid(page, "key-tab-aliases").click();
    await tid(page, "alias-name").filter({ hasText: "alias/demo-key" }).waitFor();
    // A second alias (CreateAlias), deleted again (DeleteAlias); a tag added and removed.
    await tid(page, "alias-new").fill("second");
    await tid(page, "alias-add").click();
    await tid(page, "alias-name").filter({ hasText: "alias/second" }).waitFor();
    await tid(page, "key-detail-alias").filter({ hasText: "demo-key, second" }).waitFor();
    await page.getByRole("button", { name: "Delete alias/second" }).click();
    await tid(page, "aliases-banner").filter({ hasText: "Deleted alias/second" }).waitFor();
    assert.deepEqual(JSON.parse((await lastRequest(page, "TrentService.DeleteAlias")).request), { AliasName: "alias/second" });
    await tid(page, "key-tab-tags").click();
    await tid(page, "tag-new-key").fill("stage");
    await tid(page, "tag-new-value").fill("test");
    await tid(page, "tag-add").click();
    await tid(page, "tag-key").filter({ hasText: "stage" }).waitFor();
    await page.getByRole("button", { name: "Remove tag stage" }).click();
    await page.waitForFunction(() => ![...document.querySelectorAll('[data-testid="tag-key"]')].some((e) => e.textContent === "stage"));
    assert.deepEqual(JSON.parse((await lastRequest(page, "TrentService.UntagResource")).request), { KeyId: keyId, TagKeys: ["stage"] });

    // The keyboard: arrow keys move between the tabs, the Key actions menu opens with ArrowDown and closes with Escape.
    await tid(page, "key-tab-crypto").focus();
    await page.keyboard.press("ArrowRight");
    assert.equal(await tid(page, "key-tab-tags").getAttribute("aria-selected"), "true");
    assert.ok(await page.evaluate(() => document.activeElement.dataset.testid === "key-tab-tags"));
    await page.keyboard.press("End");
    assert.equal(await tid(page, "key-tab-try").getAttribute("aria-selected"), "true");
    await page.keyboard.press("Home");
    assert.equal(await tid(page, "key-tab-policy").getAttribute("aria-selected"), "true");
    await tid(page, "key-actions-button").focus();
    await page.keyboard.press("ArrowDown");
    assert.ok(await page.evaluate(() => document.activeElement.dataset.testid === "key-action-enable"));
    assert.equal(await tid(page, "key-action-enable").getAttribute("aria-disabled"), "true", "an Enabled key cannot be enabled");
    await page.keyboard.press("Escape");
    assert.ok(await page.evaluate(() => document.activeElement.dataset.testid === "key-actions-button"));

    // Try it: Encrypt, Decrypt with and without KeyId, a wrong context, a tampered blob, GenerateDataKey.
    await tryIt(page);
    const blob = await encrypt(page);
    assert.equal(await tid(page, "blob-origin").textContent(), "AWS_KMS");
    assert.equal(await tid(page, "blob-layer").count(), 1);
    assert.ok(await tid(page, "blob-field").count() > 2, "the byte map shows the blob's fields");
    const enc = JSON.parse((await lastRequest(page, "TrentService.Encrypt")).request);
    assert.deepEqual(enc, { KeyId: keyId, Plaintext: Buffer.from("Hello, custom key store!").toString("base64"), EncryptionContext: { purpose: "demo" } });
    let dec = await decrypt(page, true);
    assert.equal(JSON.parse(dec.request).KeyId, keyId);
    await tid(page, "pg-decrypted-text").filter({ hasText: "Hello, custom key store!" }).waitFor();
    dec = await decrypt(page, false);
    assert.equal(JSON.parse(dec.request).KeyId, undefined);
    assert.equal(dec.status, 200);
    await tid(page, "pg-ctx-value").fill("other");
    await decrypt(page, true);
    await banner(page, "pg-banner", "InvalidCiphertextException");
    await tid(page, "pg-ctx-value").fill("demo");
    const tampered = blob.slice(0, -6) + (blob.at(-6) === "A" ? "B" : "A") + blob.slice(-5);
    await tid(page, "pg-ciphertext").fill(tampered);
    await decrypt(page, true);
    await banner(page, "pg-banner", "InvalidCiphertextException");
    await tid(page, "pg-datakey").click();
    await tid(page, "pg-datakey-plain").filter({ hasText: /^[A-Za-z0-9+/]{43}=$/ }).waitFor();
    const dataKey = await tid(page, "pg-datakey-plain").textContent();
    await decrypt(page, true);
    assert.equal(JSON.parse((await lastRequest(page, "TrentService.Decrypt")).response).Plaintext, dataKey, "Decrypt gives the data key back");
    await screenshot(page, "keys-playground");

    // API activity shows the calls with their AWS CLI commands.
    const entry = page.locator('[data-testid="activity-entry"][data-target="TrentService.Encrypt"]').first();
    assert.match(await entry.locator('[data-testid="activity-cli"]').textContent(), /^aws kms encrypt --key-id \S+ --plaintext fileb:\/\/<\(echo \S+ \| base64 -d\) --encryption-context/);

    // Key actions: Disable (Encrypt gives DisabledException), Enable, schedule and cancel deletion.
    await keyAction(page, "disable");
    await keyState(page, "Disabled");
    await tid(page, "pg-encrypt").click();
    await banner(page, "pg-banner", "DisabledException");
    await keyAction(page, "enable");
    await keyState(page, "Enabled");
    await keyAction(page, "schedule-deletion");
    await tid(page, "key-delete-dialog").waitFor();
    await tid(page, "key-delete-days").fill("5");
    await tid(page, "key-delete-submit").click();
    assert.equal(await tid(page, "key-delete-days").getAttribute("aria-invalid"), "true");
    assert.equal(await tid(page, "key-delete-dialog").isVisible(), true, "an invalid waiting period keeps the dialog open");
    await tid(page, "key-delete-days").fill("7");
    await tid(page, "key-delete-submit").click();
    assert.equal(await tid(page, "key-delete-confirm").getAttribute("aria-invalid"), "true", "the checkbox must be ticked");
    await tid(page, "key-delete-confirm").check();
    await tid(page, "key-delete-submit").click();
    await keyState(page, "PendingDeletion");
    assert.deepEqual(JSON.parse((await lastRequest(page, "TrentService.ScheduleKeyDeletion")).request), { KeyId: keyId, PendingWindowInDays: 7 });
    await tid(page, "key-detail-deletion").filter({ hasText: "Deletion date" }).waitFor();
    await keyAction(page, "cancel-deletion");
    await keyState(page, "Disabled");

    // The keys table, and its gear: Origin and Custom key store ID, kept across a reload.
    await tid(page, "nav-keys").click();
    const row = tid(page, "key-row").filter({ hasText: "demo-key" });
    await row.locator('[data-testid="key-status"][data-key-state="Disabled"]').waitFor();
    // The table's Key actions work on the chosen row.
    await tid(page, "keys-actions-button").click();
    assert.equal(await tid(page, "keys-action-enable").getAttribute("aria-disabled"), "true", "nothing chosen yet");
    await page.keyboard.press("Escape");
    await row.locator('[data-testid="key-radio"]').check();
    await tid(page, "keys-actions-button").click();
    assert.equal(await tid(page, "keys-action-disable").getAttribute("aria-disabled"), "true", "a Disabled key cannot be disabled");
    await tid(page, "keys-action-enable").click();
    await row.locator('[data-testid="key-status"][data-key-state="Enabled"]').waitFor();
    await tid(page, "keys-banner").filter({ hasText: "Key enabled" }).waitFor();
    assert.equal(await row.locator('[data-testid="key-origin"]').isVisible(), false);
    await tid(page, "key-prefs-button").click();
    await tid(page, "key-prefs-dialog").waitFor();
    await tid(page, "key-col-origin").check();
    await tid(page, "key-col-cks").check();
    await page.keyboard.press("Escape");
    assert.equal(await row.locator('[data-testid="key-origin"]').textContent(), "AWS_KMS");
    assert.equal(await row.locator('[data-testid="key-cks"]').textContent(), "-");
    await screenshot(page, "keys-table");
    await page.reload();
    await ready(page);
    assert.equal(await tid(page, "key-col-head-origin").isVisible(), true, "the column choice survives a reload");
    assert.equal(await tid(page, "key-col-head-cks").isVisible(), true);
    // The key itself lives in the saved sandbox.
    await row.locator('[data-testid="key-origin"]', { hasText: "AWS_KMS" }).waitFor();
    assert.deepEqual(await page.evaluate(() => JSON.parse(localStorage.getItem("keystorelab.keyColumns"))), { origin: true, cks: true });

    assert.equal(await page.evaluate(() => window.__xss), undefined, "no hostile markup ran");
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    b.assertNoErrors();
  } finally {
    await b.close();
  }
});

test("a key in an AWS CloudHSM key store follows its store: Unavailable while disconnected", { timeout: 180_000 }, async () => {
  const b = await launch();
  try {
    const page = b.page;
    await open(page, "#/keys");
    const { cluster, store } = await cloudHsmStore(page);

    // Only CONNECTED stores can be chosen.
    await page.goto(`${baseURL}/#/keys/create`);
    await tid(page, "key-origin-AWS_CLOUDHSM").check();
    const storeRow = tid(page, "key-store-row").filter({ hasText: "Lab" });
    await storeRow.locator('[data-testid="status"][data-state="DISCONNECTED"]').waitFor();
    assert.equal(await storeRow.locator('[data-testid="key-store-radio"]').isDisabled(), true);
    await tid(page, "key-create-next").click();
    await tid(page, "key-store-error").filter({ hasText: "CONNECTED" }).waitFor();
    await apiCall(page, "TrentService.ConnectCustomKeyStore", { CustomKeyStoreId: store });
    await apiCall(page, "Simulator.AdvanceClock", { Seconds: 1200 });
    await storeRow.locator('[data-testid="status"][data-state="CONNECTED"]').waitFor();
    assert.equal(await storeRow.locator('[data-testid="key-store-radio"]').isDisabled(), false, "the table follows the store live");

    // Create a KMS key from the store's page: the wizard starts with the store chosen.
    await page.goto(`${baseURL}/#/keystores/${store}`);
    await tid(page, "detail-keys-empty").waitFor();
    await tid(page, "detail-create-key").click();
    await page.waitForFunction((s) => location.hash === `#/keys/create/${s}`, store);
    assert.equal(await tid(page, "key-origin-AWS_CLOUDHSM").isChecked(), true);
    assert.equal(await storeRow.locator('[data-testid="key-store-radio"]').isChecked(), true);
    await nextTo(page, 2);
    await tid(page, "key-alias").fill("hsm-key");
    await nextTo(page, 5);
    assert.equal(await tid(page, "review-store").textContent(), "Lab");
    // A cluster left with one HSM cannot take a new key: AWS's banner, then fix it and finish.
    const hsms = (await apiCall(page, "BaldrApiService.DescribeClusters", { Filters: { clusterIds: [cluster] } })).Clusters[0].Hsms;
    await apiCall(page, "BaldrApiService.DeleteHsm", { ClusterId: cluster, HsmId: hsms[1].HsmId });
    await apiCall(page, "Simulator.AdvanceClock", { Seconds: 120 });
    await tid(page, "key-create-finish").click();
    await banner(page, "key-create-banner", "CloudHsmClusterInvalidConfigurationException");
    await apiCall(page, "BaldrApiService.CreateHsm", { AvailabilityZone: hsms[1].AvailabilityZone, ClusterId: cluster });
    await apiCall(page, "Simulator.AdvanceClock", { Seconds: 600 });
    await tid(page, "key-create-finish").click();
    await tid(page, "key-detail-title").filter({ hasText: "hsm-key" }).waitFor();
    await keyState(page, "Enabled");
    const created = await lastRequest(page, "TrentService.CreateKey");
    assert.deepEqual(JSON.parse(created.request), { CustomKeyStoreId: store, KeySpec: "SYMMETRIC_DEFAULT", KeyUsage: "ENCRYPT_DECRYPT", Origin: "AWS_CLOUDHSM" });
    const meta = JSON.parse(created.response).KeyMetadata;
    assert.equal(await tid(page, "crypto-origin").textContent(), "AWS CloudHSM");
    assert.equal(await tid(page, "crypto-store-id").textContent(), store);
    assert.equal(await tid(page, "crypto-store-name").textContent(), "Lab");
    assert.equal(await tid(page, "crypto-cluster").textContent(), cluster);
    assert.equal(await tid(page, "crypto-xks").isVisible(), false);
    await page.locator('[data-testid="crypto-store-state"][data-state="CONNECTED"]').waitFor();

    await tryIt(page);
    await encrypt(page);
    assert.equal(await tid(page, "blob-origin").textContent(), "AWS_CLOUDHSM");
    await decrypt(page, false);
    await tid(page, "pg-decrypted-text").filter({ hasText: "Hello, custom key store!" }).waitFor();

    // Disconnect the store from its page: the key's badge turns Unavailable by itself.
    await page.goto(`${baseURL}/#/keystores/${store}`);
    await tid(page, "detail-key-row").filter({ hasText: meta.KeyId }).waitFor();
    assert.equal(await tid(page, "monitoring").isVisible(), false, "a CloudHSM key store has no Monitoring section");
    await tid(page, "detail-disconnect").click();
    await tid(page, "detail-key-row").locator('[data-testid="key-status"][data-key-state="Unavailable"]').waitFor({ timeout: 15_000 });
    await tid(page, "detail-key-id").click();
    await keyState(page, "Unavailable");
    await tid(page, "key-unavailable-hint").waitFor();
    await tryIt(page);
    await tid(page, "pg-encrypt").click();
    await banner(page, "pg-banner", "KMSInvalidStateException");
    await screenshot(page, "keys-unavailable");
    // Reconnect: Enabled again, live.
    await apiCall(page, "Simulator.AdvanceClock", { Seconds: 120 });
    await apiCall(page, "TrentService.ConnectCustomKeyStore", { CustomKeyStoreId: store });
    await apiCall(page, "Simulator.AdvanceClock", { Seconds: 1200 });
    await keyState(page, "Enabled");
    await encrypt(page);

    // The Simulator lists the key material in the cluster, labelled with the
    // key's ARN; kmsuser (logged in while the store is disconnected) deletes it.
    await tid(page, "nav-simulator").click();
    await tid(page, "hsm-key-label").filter({ hasText: meta.Arn }).waitFor();
    await apiCall(page, "TrentService.DisconnectCustomKeyStore", { CustomKeyStoreId: store });
    await apiCall(page, "Simulator.AdvanceClock", { Seconds: 120 });
    await tid(page, "sim-change-password").click();
    await tid(page, "sim-banner").filter({ hasText: "password is now" }).waitFor();
    await tid(page, "sim-login").click();
    await tid(page, "sim-banner").filter({ hasText: "logged in as kmsuser" }).waitFor();
    await tid(page, "hsm-key-delete").click();
    await tid(page, "hsm-keys-banner").filter({ hasText: "Key material deleted" }).waitFor();
    await tid(page, "hsm-keys-empty").waitFor();
    assert.deepEqual(JSON.parse((await lastRequest(page, "Simulator.DeleteHsmKey")).request).Username, "kmsuser");
    await screenshot(page, "keys-hsm-material");
    b.assertNoErrors();
  } finally {
    await b.close();
  }
});

test("a key in an external key store: XKS errors, two layers, Monitoring", { timeout: 180_000 }, async () => {
  const b = await launch();
  try {
    const page = b.page;
    await open(page, "#/keys");
    const { store } = await xksStore(page);
    await page.goto(`${baseURL}/#/keystores/${store}`);
    await tid(page, "detail-title").filter({ hasText: "Xks" }).waitFor();
    await tid(page, "detail-create-key").click();
    await page.waitForFunction((s) => location.hash === `#/keys/create/${s}`, store);
    assert.equal(await tid(page, "key-origin-EXTERNAL_KEY_STORE").isChecked(), true);

    // The external key ID and the acknowledgement are required.
    await tid(page, "key-create-next").click();
    assert.equal(await tid(page, "key-xks-id").getAttribute("aria-invalid"), "true");
    assert.equal(await tid(page, "key-xks-ack").getAttribute("aria-invalid"), "true");
    await tid(page, "key-xks-id").fill("missing");
    await tid(page, "key-xks-ack").check();
    await nextTo(page, 5);
    assert.equal(await tid(page, "review-xks-key").textContent(), "missing");
    await tid(page, "key-create-finish").click();
    await banner(page, "key-create-banner", "XksKeyNotFoundException");
    await screenshot(page, "keys-xks-not-found");
    // A disabled external key: XksKeyInvalidConfigurationException.
    for (let i = 0; i < 4; i++) await tid(page, "key-create-previous").click();
    await tid(page, "key-xks-id").fill("off");
    await nextTo(page, 5);
    await tid(page, "key-create-finish").click();
    await banner(page, "key-create-banner", "XksKeyInvalidConfigurationException");
    for (let i = 0; i < 4; i++) await tid(page, "key-create-previous").click();
    await tid(page, "key-xks-id").fill("bar");
    await nextTo(page, 5);
    await tid(page, "key-create-finish").click();
    await keyState(page, "Enabled");
    assert.deepEqual(JSON.parse((await lastRequest(page, "TrentService.CreateKey")).request),
      { CustomKeyStoreId: store, KeySpec: "SYMMETRIC_DEFAULT", KeyUsage: "ENCRYPT_DECRYPT", Origin: "EXTERNAL_KEY_STORE", XksKeyId: "bar" });
    assert.equal(await tid(page, "crypto-origin").textContent(), "External key store");
    assert.equal(await tid(page, "crypto-xks-id").textContent(), "bar");
    assert.equal(await tid(page, "crypto-cluster").isVisible(), false);

    // Both layers: the proxy's outer AES_GCM layer and the sealed KMS layer.
    await tryIt(page);
    await encrypt(page);
    assert.equal(await tid(page, "blob-origin").textContent(), "EXTERNAL_KEY_STORE");
    assert.equal(await tid(page, "blob-layer").count(), 2);
    assert.equal(await tid(page, "blob-layer").nth(1).getAttribute("data-sealed"), "");
    const layersOfFields = await tid(page, "blob-field-layer").allTextContents();
    assert.ok(layersOfFields.includes("Header (cleartext)"));
    assert.ok(layersOfFields.some((l) => /External key/.test(l)), "fields of the proxy's layer");
    assert.ok(layersOfFields.some((l) => /AWS KMS key material/.test(l)), "fields of the KMS layer");
    await decrypt(page, true);
    await tid(page, "pg-decrypted-text").filter({ hasText: "Hello, custom key store!" }).waitFor();
    for (let i = 0; i < 3; i++) await encrypt(page);
    await screenshot(page, "keys-xks-layers");

    // Monitoring: five graphs with data, 3 hours by default, other ranges on demand.
    await apiCall(page, "Simulator.AdvanceClock", { Seconds: 300 });
    await storePage(page, store, true);
    assert.equal(await tid(page, "range-3h").getAttribute("aria-pressed"), "true");
    assert.ok(Number(await tid(page, "graph-requests").getAttribute("data-points")) > 0);
    for (const g of ["requests", "reliability", "latency"]) {
      assert.equal(await tid(page, `graph-${g}-nodata`).isVisible(), false, `${g} has data`);
      assert.equal(await tid(page, `graph-${g}`).locator("svg").isVisible(), true, `${g} is shown`);
      assert.equal(await tid(page, `graph-${g}`).locator("svg path, svg circle").count() > 0, true, `${g} is drawn`);
    }
    assert.match(await tid(page, "graph-reliability").locator("[data-legend]").textContent(), /100%/);
    assert.match(await tid(page, "graph-requests").locator("svg circle title").first().textContent(), /^Requests, .+: \d+$/, "each point has its value as a tooltip");
    assert.match(await tid(page, "graph-latency").locator("[data-legend]").textContent(), /Encrypt/);
    assert.match(await tid(page, "graph-exceptions").locator("[data-legend]").textContent(), /KeyNotFoundException/, "the proxy's answer to GetKeyMetadata for a missing key");
    const req = JSON.parse((await lastRequest(page, "Simulator.GetMetricData")).request);
    assert.equal(req.Period, 300);
    assert.equal(req.EndTime - req.StartTime >= 3 * 3600, true);
    await screenshot(page, "keys-monitoring");
    await tid(page, "range-1w").click();
    assert.equal(await tid(page, "range-1w").getAttribute("aria-pressed"), "true");
    assert.equal(await tid(page, "range-3h").getAttribute("aria-pressed"), "false");
    await page.waitForFunction(() => window.keystorelab.requests.some((r) => r.target === "Simulator.GetMetricData" && JSON.parse(r.request).EndTime - JSON.parse(r.request).StartTime >= 7 * 86400));
    await tid(page, "range-1h").click();
    await page.waitForFunction(() => {
      const r = window.keystorelab.requests.filter((x) => x.target === "Simulator.GetMetricData").pop();
      const b = JSON.parse(r.request);
      return b.EndTime - b.StartTime < 2 * 3600;
    });
    // A failing proxy: the exceptions graph shows them.
    await apiCall(page, "Simulator.SetXksProxyFaults", { UriEndpoint: "https://xks.example.com", Internal: true });
    await page.goto(`${baseURL}/#/keys`);
    await tid(page, "key-id").first().click();
    await tryIt(page);
    await tid(page, "pg-encrypt").click();
    await banner(page, "pg-banner", "KMSInvalidStateException");
    await apiCall(page, "Simulator.SetXksProxyFaults", { UriEndpoint: "https://xks.example.com" });
    await storePage(page, store, true);
    assert.ok(Number(await tid(page, "graph-exceptions").getAttribute("data-points")) > 0);
    assert.match(await tid(page, "graph-exceptions").locator("[data-legend]").textContent(), /InternalException/);
    // The metrics live in the saved sandbox: a reload keeps them.
    await page.waitForTimeout(2500);
    await page.reload();
    await ready(page);
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="monitoring"]').dataset.loaded || 0) > 0, null, { timeout: 15_000 });
    assert.match(await tid(page, "graph-latency").locator("[data-legend]").textContent(), /Encrypt \/ Encrypt/);
    // Disconnected: No data available.
    await tid(page, "detail-disconnect").click();
    await apiCall(page, "Simulator.AdvanceClock", { Seconds: 600 });
    await tid(page, "graph-requests-nodata").waitFor({ timeout: 15_000 });
    for (const g of ["reliability", "latency", "exceptions", "certificate"]) assert.equal(await tid(page, `graph-${g}-nodata`).isVisible(), true);
    b.assertNoErrors();
  } finally {
    await b.close();
  }
});

test("the ciphertext blob docs page takes a blob of each origin apart", { timeout: 60_000 }, async () => {
  const b = await launch();
  try {
    const page = b.page;
    await page.goto(`${baseURL}/docs/ciphertext-blob.html`);
    await page.waitForFunction(() => document.documentElement.dataset.blobWidget === "ready", null, { timeout: 30_000 });
    for (const [origin, layers] of [["AWS_KMS", 1], ["AWS_CLOUDHSM", 1], ["EXTERNAL_KEY_STORE", 2]]) {
      await tid(page, `blob-origin-${origin}`).check();
      await tid(page, "blob-encrypt").click();
      await tid(page, "blob-origin").filter({ hasText: origin }).waitFor();
      assert.equal(await tid(page, "blob-layer").count(), layers, origin);
    }
    await screenshot(page, "docs-ciphertext-blob");
    await tid(page, "blob-input").fill("bm90IGEgYmxvYg==");
    await tid(page, "blob-inspect").click();
    await tid(page, "blob-widget-error").filter({ hasText: "InvalidCiphertextException" }).waitFor();
    assert.equal(await tid(page, "blob").isVisible(), false);
    assert.equal(await page.evaluate(() => localStorage.getItem("keystorelab.sandbox")), null, "the page never touches the console's sandbox");
    b.assertNoErrors();
  } finally {
    await b.close();
  }
});
