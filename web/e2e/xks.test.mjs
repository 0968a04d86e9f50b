// External key stores in the console, end to end and through the UI only:
// a simulated proxy with a path, a credential and an external key (Simulator
// page); Create external key store, once with a wrong secret and once from
// a configuration file; connect; break it with a TLS fault, troubleshoot
// and fix it; edit the credential while connected; the detail page, which
// never shows the secret. Requests are compared with the AWS SDK's.

import assert from "node:assert/strict";
import { test } from "node:test";
import { assertSameAsSDK, baseURL, launch, screenshot, waitForEngine } from "./lib.mjs";

const tid = (page, id) => page.locator(`[data-testid="${id}"]`);
const ENDPOINT = "https://xks.example.com";
const PATH = "/example/kms/xks/v1";
const NAME = "ExampleXksKeyStore";

async function open(page, hash) {
  await page.goto(`${baseURL}/${hash}`);
  await waitForEngine(page);
  await page.waitForFunction(() => document.documentElement.dataset.console === "ready");
}

async function go(page, nav) {
  await tid(page, `nav-${nav.replace("/", "-")}`).click();
  await page.waitForFunction((n) => location.hash.startsWith(`#/${n}`), nav);
}

async function lastRequest(page, target) {
  const rec = await page.evaluate((t) => window.keystorelab.requests.filter((r) => r.target === t).pop(), target);
  assert.ok(rec, `the page sent no ${target}`);
  return rec;
}

async function simBanner(page, text) {
  await tid(page, "xks-sim-banner").filter({ hasText: text }).waitFor();
}

// openDetail opens the external key store's detail page from its tab.
async function openDetail(page, name) {
  await go(page, "keystores/external");
  await tid(page, "xks-name").filter({ hasText: name }).click();
  await tid(page, "detail-title").filter({ hasText: name }).waitFor();
}

async function detailState(page, state, timeout = 10_000) {
  await page.locator(`[data-view="detail"] [data-testid="status"][data-state="${state}"]`).waitFor({ timeout });
}

// jump5 jumps the sandbox clock 5 minutes from the Simulator page.
async function jump5(page) {
  await go(page, "simulator");
  const count = () => page.evaluate(() => window.keystorelab.requests.filter((r) => r.target === "Simulator.AdvanceClock").length);
  const before = await count();
  await tid(page, "jump-5").click();
  await page.waitForFunction((n) => window.keystorelab.requests.filter((r) => r.target === "Simulator.AdvanceClock").length > n, before);
}

test("external key stores through the UI", { timeout: 240_000 }, async () => {
  const b = await launch();
  try {
    const page = b.page;
    await open(page, "#/simulator");

    // A simulated proxy with a path, a credential and an external key.
    await tid(page, "xks-sim-new-endpoint").fill(ENDPOINT);
    await tid(page, "xks-sim-create-proxy").click();
    await simBanner(page, "A simulated proxy answers");
    assert.deepEqual(JSON.parse((await lastRequest(page, "Simulator.CreateXksProxy")).request), { UriEndpoint: ENDPOINT });
    await tid(page, "xks-sim-path").fill(PATH);
    await tid(page, "xks-sim-generate").click();
    const accessKey = await tid(page, "xks-sim-access-key").inputValue();
    const secret = await tid(page, "xks-sim-secret").inputValue();
    assert.match(accessKey, /^[A-Z2-7]{26}$/);
    assert.match(secret, /^[A-Za-z0-9/+=]{44}$/);
    await tid(page, "xks-sim-put-path").click();
    await simBanner(page, `serves ${PATH}`);
    assert.deepEqual(JSON.parse((await lastRequest(page, "Simulator.PutXksProxyPath")).request),
      { Credentials: [{ AccessKeyId: accessKey, SecretAccessKey: secret }], UriEndpoint: ENDPOINT, UriPath: PATH });
    await tid(page, "xks-sim-key-id").fill("bar");
    await tid(page, "xks-sim-create-key").click();
    await simBanner(page, "External key bar is ENABLED");
    const row = tid(page, "xks-proxy-row").filter({ hasText: ENDPOINT });
    await row.locator('[data-testid="xks-proxy-keys"]', { hasText: "bar (AES_256, ENABLED, ENCRYPT/DECRYPT)" }).waitFor();
    assert.equal(await row.locator('[data-testid="xks-proxy-access-keys"]').textContent(), accessKey);
    // Disable and enable the key again (UpdateExternalKey).
    await tid(page, "xks-sim-key-status").selectOption("DISABLED");
    await tid(page, "xks-sim-update-key").click();
    await row.locator('[data-testid="xks-proxy-keys"]', { hasText: "bar (AES_256, DISABLED" }).waitFor();
    await tid(page, "xks-sim-key-status").selectOption("ENABLED");
    await tid(page, "xks-sim-update-key").click();
    await row.locator('[data-testid="xks-proxy-keys"]', { hasText: "bar (AES_256, ENABLED" }).waitFor();
    // A fleet of three healthy instances.
    await tid(page, "xks-sim-fleet-size").fill("3");
    await tid(page, "xks-sim-set-fleet").click();
    await row.locator('[data-testid="xks-proxy-fleet"]', { hasText: "3 instances: ACTIVE, ACTIVE, ACTIVE" }).waitFor();
    // A VPC endpoint service in front of the proxy.
    await tid(page, "xks-sim-create-vpc").click();
    await tid(page, "xks-service-row").filter({ hasText: "xks.example.com" }).filter({ hasText: "verified" }).waitFor();
    assert.equal(await tid(page, "xks-proxies").innerText().then((t) => t.includes(secret)), false, "DescribeXksProxies never shows a secret");
    await screenshot(page, "xks-simulator");

    // Create external key store: the client-side checks first.
    await go(page, "keystores/external");
    await tid(page, "create-xks").click();
    await tid(page, "xks-create-form").waitFor();
    await tid(page, "xks-create-submit").click();
    assert.equal(await tid(page, "xks-create-name").getAttribute("aria-invalid"), "true");
    assert.ok(await page.evaluate(() => document.activeElement.dataset.testid === "xks-create-name"), "focus moves to the first invalid field");
    await tid(page, "xks-create-name").fill(NAME);
    await tid(page, "xks-create-endpoint").fill("http://xks.example.com:8443");
    await tid(page, "xks-create-path").fill("/example");
    await tid(page, "xks-create-access-key").fill("lowercase");
    await tid(page, "xks-create-secret").fill("short");
    await tid(page, "xks-create-submit").click();
    for (const f of ["endpoint", "access-key", "secret"]) {
      assert.equal(await tid(page, `xks-create-${f}`).getAttribute("aria-invalid"), "true", `${f} is not checked`);
    }
    // VPC connectivity asks for an endpoint service name.
    assert.equal(await tid(page, "xks-create-vpc-service").isVisible(), false);
    await tid(page, "xks-create-vpc").check();
    await tid(page, "xks-create-vpc-service").waitFor({ state: "visible" });
    await tid(page, "xks-create-public").check();
    await tid(page, "xks-create-vpc-service").waitFor({ state: "hidden" });

    // A wrong secret: the proxy refuses the health check.
    const wrong = "W".repeat(43) + "=";
    await tid(page, "xks-create-endpoint").fill(ENDPOINT);
    await tid(page, "xks-create-access-key").fill(accessKey);
    await tid(page, "xks-create-secret").fill(wrong);
    assert.equal(await tid(page, "xks-create-secret").getAttribute("type"), "password", "the secret is masked");
    await tid(page, "xks-create-submit").click();
    await tid(page, "xks-create-banner-type").filter({ hasText: "XksProxyIncorrectAuthenticationCredentialException" }).waitFor();
    const failed = await lastRequest(page, "TrentService.CreateCustomKeyStore");
    assert.equal(failed.status, 400);
    await assertSameAsSDK("kms-CreateCustomKeyStore-external", failed.request,
      { $name: NAME, $endpoint: ENDPOINT, $path: PATH, $accessKeyId: accessKey, $secret: wrong });
    await screenshot(page, "xks-create-wrong-secret");

    // The configuration file fills in the path and the credential.
    await tid(page, "xks-create-path").fill("");
    await tid(page, "xks-create-file").setInputFiles({
      name: "xks-proxy-config.json",
      mimeType: "application/json",
      buffer: Buffer.from(JSON.stringify({ XksProxyUriPath: PATH, XksProxyAuthenticationCredential: { AccessKeyId: accessKey, RawSecretAccessKey: secret } })),
    });
    await tid(page, "xks-create-banner").filter({ hasText: "Configuration file read" }).waitFor();
    assert.equal(await tid(page, "xks-create-path").inputValue(), "/example");
    assert.equal(await tid(page, "xks-create-access-key").inputValue(), accessKey);
    assert.equal(await tid(page, "xks-create-secret").inputValue(), secret);
    await tid(page, "xks-create-show-secret").check();
    assert.equal(await tid(page, "xks-create-secret").getAttribute("type"), "text");
    await tid(page, "xks-create-show-secret").uncheck();
    assert.equal(await tid(page, "xks-create-secret").getAttribute("type"), "password");
    await screenshot(page, "xks-create");
    await tid(page, "xks-create-submit").click();
    await page.waitForFunction(() => location.hash === "#/keystores/external");
    const created = await lastRequest(page, "TrentService.CreateCustomKeyStore");
    assert.equal(created.status, 200, created.response);
    assert.equal(await assertSameAsSDK("kms-CreateCustomKeyStore-external", created.request,
      { $name: NAME, $endpoint: ENDPOINT, $path: PATH, $accessKeyId: accessKey, $secret: secret }), "TrentService.CreateCustomKeyStore");
    const ks = JSON.parse(created.response).CustomKeyStoreId;
    const xrow = tid(page, "xks-row").filter({ hasText: NAME });
    await xrow.locator('[data-testid="status"][data-state="DISCONNECTED"]').waitFor();
    assert.equal(await xrow.locator('[data-testid="xks-connectivity"]').textContent(), "Public endpoint");
    await tid(page, "page-banner").filter({ hasText: ks }).waitFor();

    // The detail page: the proxy configuration, never the secret.
    await openDetail(page, NAME);
    assert.equal(await tid(page, "detail-type").textContent(), "External key store");
    await tid(page, "detail-xks").waitFor({ state: "visible" });
    assert.equal(await tid(page, "detail-xks-connectivity").textContent(), "Public endpoint");
    assert.equal(await tid(page, "detail-xks-endpoint").textContent(), ENDPOINT);
    assert.equal(await tid(page, "detail-xks-path").textContent(), PATH);
    assert.equal(await tid(page, "detail-xks-access-key").textContent(), accessKey);
    assert.equal(await tid(page, "detail-xks-vpc-service").isVisible(), false);
    assert.equal(await tid(page, "detail-cluster-id").isVisible(), false, "no CloudHSM section for an external key store");
    assert.equal((await page.locator('[data-view="detail"]').innerText()).includes(secret), false, "the detail page shows the secret");
    assert.equal(await tid(page, "detail-connect").isDisabled(), false);
    assert.equal(await tid(page, "detail-disconnect").isDisabled(), true);
    assert.equal(await tid(page, "detail-delete").isDisabled(), false);
    assert.equal(await tid(page, "detail-edit").isDisabled(), false);

    // Connect, and see CONNECTED.
    await tid(page, "detail-connect").click();
    await detailState(page, "CONNECTING");
    assert.equal(await tid(page, "detail-delete").isDisabled(), true);
    await jump5(page);
    await openDetail(page, NAME);
    await detailState(page, "CONNECTED");
    await screenshot(page, "xks-detail");

    // Break it: the proxy's TLS certificate expires; the next connect fails.
    await tid(page, "detail-disconnect").click();
    await jump5(page);
    await tid(page, "xks-sim-proxy").selectOption(ENDPOINT);
    await tid(page, "xks-sim-tls").selectOption("EXPIRED_CERTIFICATE");
    await tid(page, "xks-sim-set-faults").click();
    await simBanner(page, "TLS EXPIRED_CERTIFICATE");
    assert.deepEqual(JSON.parse((await lastRequest(page, "Simulator.SetXksProxyFaults")).request), { Tls: "EXPIRED_CERTIFICATE", UriEndpoint: ENDPOINT });
    await row.locator('[data-testid="xks-proxy-faults"]', { hasText: "TLS EXPIRED_CERTIFICATE" }).waitFor();
    await openDetail(page, NAME);
    await detailState(page, "DISCONNECTED");
    await tid(page, "detail-connect").click();
    await jump5(page);
    await go(page, "keystores/external");
    const badge = xrow.locator('[data-testid="failed-badge"]');
    await badge.waitFor();
    await badge.hover();
    const tip = xrow.locator('[data-testid="failed-tooltip"]');
    await tip.waitFor({ state: "visible" });
    assert.match(await tip.textContent(), /XKS_PROXY_INVALID_TLS_CONFIGURATION/);
    await screenshot(page, "xks-failed");

    // Its troubleshooting view, and the fix one click at a time.
    await tip.locator('[data-testid="troubleshoot-link"]').click();
    await page.waitForFunction(() => location.hash === "#/troubleshoot/xks/XKS_PROXY_INVALID_TLS_CONFIGURATION");
    const art = tid(page, "ts-xks-XKS_PROXY_INVALID_TLS_CONFIGURATION");
    await art.waitFor({ state: "visible" });
    assert.match(await art.textContent(), /TLS 1\.2/);
    assert.equal(await tid(page, "ts-INVALID_CREDENTIALS").isVisible(), false);
    assert.equal(await tid(page, "ts-store").inputValue(), ks);
    await screenshot(page, "xks-troubleshoot");
    // A link without the xks/ scope (as the connect banner's) finds it too.
    await page.evaluate(() => (location.hash = "#/troubleshoot/XKS_PROXY_INVALID_TLS_CONFIGURATION"));
    await page.waitForFunction(() => location.hash === "#/troubleshoot/XKS_PROXY_INVALID_TLS_CONFIGURATION");
    await art.waitFor({ state: "visible" });
    assert.equal(await tid(page, "ts-unknown").isVisible(), false);
    const steps = art.locator(":scope > ol.steps > li > button[data-step]");
    const n = await steps.count();
    assert.equal(n, 5);
    for (let i = 0; i < n; i++) {
      await steps.nth(i).click();
      await tid(page, "ts-banner").filter({ hasText: "succeeded" }).waitFor();
    }
    assert.deepEqual(JSON.parse((await lastRequest(page, "Simulator.SetXksProxyFaults")).request), { UriEndpoint: ENDPOINT });
    await tid(page, "ts-state").filter({ hasText: /^CONNECTED$/ }).waitFor();

    // Rotate the credential on the proxy, then edit it while connected.
    await go(page, "simulator");
    await tid(page, "xks-sim-generate").click();
    const accessKey2 = await tid(page, "xks-sim-access-key").inputValue();
    const secret2 = await tid(page, "xks-sim-secret").inputValue();
    await tid(page, "xks-sim-path").fill(PATH);
    await tid(page, "xks-sim-put-path").click();
    await simBanner(page, accessKey2);
    await openDetail(page, NAME);
    await detailState(page, "CONNECTED");
    await tid(page, "detail-edit").click();
    await page.waitForFunction((id) => location.hash === `#/keystores/${id}/edit`, ks);
    await tid(page, "xks-edit-form").waitFor({ state: "visible" });
    assert.equal(await tid(page, "xks-edit-endpoint").isDisabled(), true, "the endpoint needs DISCONNECTED");
    assert.equal(await tid(page, "xks-edit-public").isDisabled(), true, "the connectivity needs DISCONNECTED");
    assert.equal(await tid(page, "xks-edit-path").isDisabled(), false);
    assert.equal(await tid(page, "xks-edit-access-key").isDisabled(), false);
    assert.equal(await tid(page, "xks-edit-name").isDisabled(), false);
    await tid(page, "xks-edit-needs-disconnect").waitFor({ state: "visible" });
    assert.equal(await tid(page, "xks-edit-path").inputValue(), "/example");
    assert.equal(await tid(page, "xks-edit-access-key").inputValue(), accessKey);
    assert.equal(await tid(page, "xks-edit-secret").inputValue(), "", "the secret is never filled in");
    await tid(page, "xks-edit-access-key").fill(accessKey2);
    await tid(page, "xks-edit-submit").click();
    assert.equal(await tid(page, "xks-edit-secret").getAttribute("aria-invalid"), "true", "a new access key ID needs its secret");
    await tid(page, "xks-edit-secret").fill(secret2);
    await tid(page, "xks-edit-submit").click();
    const dlg = tid(page, "xks-edit-dialog");
    await dlg.waitFor({ state: "visible" });
    assert.match(await dlg.textContent(), /Warning/);
    assert.equal(await tid(page, "xks-edit-changes").textContent(), "proxy credential.");
    await screenshot(page, "xks-edit-warning");
    const before = await page.evaluate(() => window.keystorelab.requests.filter((r) => r.target === "TrentService.UpdateCustomKeyStore").length);
    await tid(page, "xks-edit-cancel-confirm").click();
    await dlg.waitFor({ state: "hidden" });
    assert.equal(await page.evaluate(() => window.keystorelab.requests.filter((r) => r.target === "TrentService.UpdateCustomKeyStore").length), before, "Cancel sent an update");
    await tid(page, "xks-edit-submit").click();
    await dlg.waitFor({ state: "visible" });
    await tid(page, "xks-edit-confirm").click();
    await page.waitForFunction((id) => location.hash === `#/keystores/${id}`, ks);
    const upd = await lastRequest(page, "TrentService.UpdateCustomKeyStore");
    assert.equal(upd.status, 200, upd.response);
    await assertSameAsSDK("kms-UpdateCustomKeyStore-xks-credential", upd.request, { $store: ks, $accessKeyId: accessKey2, $secret: secret2 });
    await tid(page, "detail-xks-access-key").filter({ hasText: accessKey2 }).waitFor();
    await detailState(page, "CONNECTED");
    const detailText = await page.locator('[data-view="detail"]').innerText();
    assert.ok(!detailText.includes(secret) && !detailText.includes(secret2), "the detail page shows a secret");
    const described = await page.evaluate((id) => window.keystorelab.call("TrentService.DescribeCustomKeyStores", { CustomKeyStoreId: id }), ks);
    assert.ok(!JSON.stringify(described.body).includes(secret2), "DescribeCustomKeyStores returned the secret");
    await screenshot(page, "xks-detail-updated");

    b.assertNoErrors();
  } finally {
    await b.close();
  }
});

test("an external key store with VPC endpoint service connectivity", { timeout: 120_000 }, async () => {
  const b = await launch();
  try {
    const page = b.page;
    await open(page, "#/simulator");
    const host = "private-xks.example.com";
    await tid(page, "xks-sim-new-endpoint").fill(`https://${host}`);
    await tid(page, "xks-sim-create-proxy").click();
    await simBanner(page, "A simulated proxy answers");
    await tid(page, "xks-sim-path").fill("/kms/xks/v1");
    await tid(page, "xks-sim-generate").click();
    const accessKey = await tid(page, "xks-sim-access-key").inputValue();
    const secret = await tid(page, "xks-sim-secret").inputValue();
    await tid(page, "xks-sim-put-path").click();
    await simBanner(page, "serves /kms/xks/v1");
    assert.equal(await tid(page, "xks-sim-dns").inputValue(), host);
    await tid(page, "xks-sim-create-vpc").click();
    await simBanner(page, "Created VPC endpoint service");
    const service = JSON.parse((await lastRequest(page, "Simulator.CreateVpcEndpointService")).response).ServiceName;
    const srow = tid(page, "xks-service-row").filter({ hasText: service });
    await srow.waitFor();

    // Authorization rules: only Decrypt. GetHealthStatus is exempt, so the
    // connect below still works.
    const endpoint = `https://${host}`;
    const prow = tid(page, "xks-proxy-row").filter({ hasText: host });
    await prow.locator('[data-testid="xks-proxy-rules"]', { hasText: /^none$/ }).waitFor();
    assert.equal(await tid(page, "xks-sim-rules-current-ops").textContent(), "any");
    const rulesSent = () => page.evaluate(() => window.keystorelab.requests.filter((r) => r.target === "Simulator.SetXksProxyRules").length);
    await tid(page, "xks-sim-rules-ops").fill("Encrypt; Decrypt");
    await tid(page, "xks-sim-set-rules").click();
    assert.equal(await tid(page, "xks-sim-rules-ops").getAttribute("aria-invalid"), "true", "the operations are not checked");
    assert.equal(await rulesSent(), 0, "invalid rules were sent");
    await tid(page, "xks-sim-rules-ops").fill(" Decrypt ");
    await tid(page, "xks-sim-rules-vias").fill("");
    await tid(page, "xks-sim-set-rules").click();
    await simBanner(page, "operations Decrypt");
    const setRules = await lastRequest(page, "Simulator.SetXksProxyRules");
    assert.equal(setRules.status, 200, setRules.response);
    assert.deepEqual(JSON.parse(setRules.request), { KmsOperations: ["Decrypt"], KmsViaServices: [], UriEndpoint: endpoint });
    assert.equal(await tid(page, "xks-sim-rules-ops").getAttribute("aria-invalid"), "false");
    await prow.locator('[data-testid="xks-proxy-rules"]', { hasText: /^operations Decrypt$/ }).waitFor();
    await tid(page, "xks-sim-rules-current-ops").filter({ hasText: /^Decrypt$/ }).waitFor();
    assert.equal(await tid(page, "xks-sim-rules-current-vias").textContent(), "any");
    const proxyRules = async () => {
      const out = await page.evaluate(() => window.keystorelab.call("Simulator.DescribeXksProxies", {}));
      return out.body.XksProxies.find((x) => x.UriEndpoint === endpoint).Rules;
    };
    assert.deepEqual(await proxyRules(), { KmsOperations: ["Decrypt"] });
    await screenshot(page, "xks-rules");

    // The form: choosing the sandbox's endpoint service fills in the endpoint.
    await go(page, "keystores/external");
    await tid(page, "create-xks").click();
    await tid(page, "xks-create-name").fill("VpcXksKeyStore");
    await tid(page, "xks-create-vpc").check();
    await tid(page, "xks-create-vpc-service").fill(service);
    assert.equal(await tid(page, "xks-create-endpoint").inputValue(), `https://${host}`);
    await tid(page, "xks-create-access-key").fill(accessKey);
    await tid(page, "xks-create-secret").fill(secret);
    await tid(page, "xks-create-submit").click();
    await page.waitForFunction(() => location.hash === "#/keystores/external");
    const created = await lastRequest(page, "TrentService.CreateCustomKeyStore");
    assert.equal(created.status, 200, created.response);
    await assertSameAsSDK("kms-CreateCustomKeyStore-external-vpc", created.request,
      { $name: "VpcXksKeyStore", $endpoint: `https://${host}`, $path: "/kms/xks/v1", $service: service, $accessKeyId: accessKey, $secret: secret });
    const ks = JSON.parse(created.response).CustomKeyStoreId;

    await openDetail(page, "VpcXksKeyStore");
    assert.equal(await tid(page, "detail-xks-connectivity").textContent(), "VPC endpoint service");
    assert.equal(await tid(page, "detail-xks-vpc-service").textContent(), service);

    // Connect from the External key stores tab's Key store actions menu.
    await go(page, "keystores/external");
    const vrow = tid(page, "xks-row").filter({ hasText: "VpcXksKeyStore" });
    await vrow.locator('[data-testid="xks-radio"]').check();
    await tid(page, "xks-actions-button").focus();
    await page.keyboard.press("ArrowDown");
    await tid(page, "xks-action-connect").waitFor({ state: "visible" });
    assert.ok(await page.evaluate(() => document.activeElement.dataset.testid === "xks-action-connect"), "the menu takes focus");
    assert.equal(await tid(page, "xks-action-connect").getAttribute("aria-disabled"), "false");
    assert.equal(await tid(page, "xks-action-disconnect").getAttribute("aria-disabled"), "true");
    assert.equal(await tid(page, "xks-action-edit").getAttribute("aria-disabled"), "false");
    assert.equal(await tid(page, "xks-action-delete").getAttribute("aria-disabled"), "false");
    await page.keyboard.press("Enter");
    await vrow.locator('[data-testid="status"][data-state="CONNECTING"]').waitFor();
    assert.deepEqual(JSON.parse((await lastRequest(page, "TrentService.ConnectCustomKeyStore")).request), { CustomKeyStoreId: ks });
    await jump5(page);
    await srow.locator('[data-testid="xks-service-connections"]', { hasText: ks }).waitFor();
    await openDetail(page, "VpcXksKeyStore");
    await detailState(page, "CONNECTED");

    // Connected under the rules (health is exempt); clear them again.
    await go(page, "simulator");
    await tid(page, "xks-sim-proxy").selectOption(endpoint);
    assert.equal(await tid(page, "xks-sim-rules-ops").inputValue(), "Decrypt", "the form shows the current rules");
    await tid(page, "xks-sim-clear-rules").click();
    await simBanner(page, "has no authorization rules");
    assert.deepEqual(JSON.parse((await lastRequest(page, "Simulator.SetXksProxyRules")).request), { KmsOperations: [], KmsViaServices: [], UriEndpoint: endpoint });
    await prow.locator('[data-testid="xks-proxy-rules"]', { hasText: /^none$/ }).waitFor();
    assert.equal(await tid(page, "xks-sim-rules-ops").inputValue(), "");
    assert.equal(await tid(page, "xks-sim-rules-current-ops").textContent(), "any");
    assert.deepEqual(await proxyRules(), {});
    await openDetail(page, "VpcXksKeyStore");
    await detailState(page, "CONNECTED");

    // While connected, the endpoint service name cannot change.
    await tid(page, "detail-edit").click();
    await tid(page, "xks-edit-form").waitFor({ state: "visible" });
    assert.equal(await tid(page, "xks-edit-vpc-service").isDisabled(), true);
    assert.equal(await tid(page, "xks-edit-vpc-service").inputValue(), service);
    await screenshot(page, "xks-edit-vpc");

    // Disconnect (KMS removes its interface endpoint) and delete.
    await openDetail(page, "VpcXksKeyStore");
    await tid(page, "detail-disconnect").click();
    await jump5(page);
    await srow.locator('[data-testid="xks-service-connections"]', { hasText: /^none$/ }).waitFor();
    await openDetail(page, "VpcXksKeyStore");
    await detailState(page, "DISCONNECTED");

    // While disconnected, every field can change; rename it.
    await tid(page, "detail-edit").click();
    await tid(page, "xks-edit-form").waitFor({ state: "visible" });
    await tid(page, "xks-edit-state").filter({ hasText: "DISCONNECTED" }).waitFor();
    for (const f of ["vpc-service", "endpoint", "path", "access-key", "secret", "name"]) {
      assert.equal(await tid(page, `xks-edit-${f}`).isDisabled(), false, `${f} is disabled while DISCONNECTED`);
    }
    assert.equal(await tid(page, "xks-edit-needs-disconnect").isVisible(), false);
    await tid(page, "xks-edit-name").fill("RenamedVpcStore");
    await tid(page, "xks-edit-submit").click();
    assert.equal(await tid(page, "xks-edit-changes").textContent(), "key store name.");
    await tid(page, "xks-edit-confirm").click();
    await tid(page, "detail-title").filter({ hasText: "RenamedVpcStore" }).waitFor();
    assert.deepEqual(JSON.parse((await lastRequest(page, "TrentService.UpdateCustomKeyStore")).request), { CustomKeyStoreId: ks, NewCustomKeyStoreName: "RenamedVpcStore" });
    await tid(page, "detail-delete").click();
    await tid(page, "delete-dialog").waitFor({ state: "visible" });
    assert.match(await tid(page, "delete-dialog").textContent(), /external key store proxy/);
    await tid(page, "delete-confirm").click();
    await page.waitForFunction(() => location.hash === "#/keystores");
    assert.deepEqual(JSON.parse((await lastRequest(page, "TrentService.DeleteCustomKeyStore")).request), { CustomKeyStoreId: ks });
    await go(page, "keystores/external");
    await tid(page, "xks-empty").waitFor({ state: "visible" });
    b.assertNoErrors();
  } finally {
    await b.close();
  }
});
