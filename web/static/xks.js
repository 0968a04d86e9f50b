// xks.js: external key stores in the console: the Create external key store
// form, the external edit form with AWS's warning step, and the Simulator
// page's proxy panel. Every action is one engine call: TrentService.* with
// the JSON the AWS SDKs send, Simulator.* as the README documents.
import { $, $$, ui, api, showBanner, hideBanner, run, refresh, render, store, storeView, rebind, allowedIn, fieldError, lengthError } from "./ui.js";
import { setupMenu } from "./keystores.js";

const SUFFIX = "/kms/xks/v1";
const ENDPOINT = /^https:\/\/[a-zA-Z0-9.-]+$/;
const PATH = /^(\/[a-zA-Z0-9/_-]+\/kms\/xks\/v\d{1,2})$|^(\/kms\/xks\/v\d{1,2})$/;
const VPC_SERVICE = /^(com|eu)\.amazonaws\.vpce\.([a-z]+-){2,3}\d+\.vpce-svc-[0-9a-z]+$/;
const ACCESS_KEY = /^[A-Z2-7]+$/;
const SECRET = /^[a-zA-Z0-9/+=]+$/;

// xks is what the Simulator knows about proxies and endpoint services.
export const xks = { proxies: [], services: [], loadedAt: 0, loading: false, proxySynced: "" };

const B = "xks-sim-banner";

// ---- shared field logic -------------------------------------------------

const field = (p, name) => document.getElementById(`${p}-${name}`);

function connectivity(p) {
  const checked = $(`input[name="${p}-connectivity"]:checked`);
  return checked ? checked.value : "PUBLIC_ENDPOINT";
}

function setConnectivity(p, value) {
  for (const r of $$(`input[name="${p}-connectivity"]`)) r.checked = r.value === value;
  showVpc(p);
}

function showVpc(p) {
  const vpc = connectivity(p) === "VPC_ENDPOINT_SERVICE";
  const el = field(p, "vpc-service").closest("[data-xks-vpc-only]");
  el.hidden = !vpc;
}

// fullPath is the proxy URI path the console sends: the prefix and /kms/xks/v1.
export function fullPath(prefix) {
  const pre = prefix.trim().replace(/\/+$/, "");
  return pre + SUFFIX;
}

function prefixOf(path) {
  return path.endsWith(SUFFIX) ? path.slice(0, -SUFFIX.length) : path;
}

function patternError(label, value, min, max, re, what) {
  const len = lengthError(label, value, min, max);
  if (len) return len;
  return re.test(value) ? "" : `The ${label} ${what}`;
}

// check validates the proxy fields of form p that are enabled, as the API
// model does; it returns false and focuses the first invalid field.
function check(p, { credentialOptional = false } = {}) {
  const ok = [];
  const enabled = (el) => !el.disabled && !el.closest("fieldset:disabled");
  const endpoint = field(p, "endpoint");
  const vpc = field(p, "vpc-service");
  const path = field(p, "path");
  const key = field(p, "access-key");
  const secret = field(p, "secret");
  if (enabled(endpoint)) {
    ok.push(fieldError(endpoint, patternError("proxy URI endpoint", endpoint.value, 10, 128, ENDPOINT, "must be https:// followed by a host name, with no port and no path.")));
    const needVpc = connectivity(p) === "VPC_ENDPOINT_SERVICE";
    ok.push(fieldError(vpc, needVpc ? patternError("VPC endpoint service name", vpc.value, 20, 64, VPC_SERVICE, "must look like com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0.") : ""));
  }
  if (enabled(path)) {
    const full = fullPath(path.value);
    let err = "";
    if (path.value.trim() && !path.value.trim().startsWith("/")) err = "The proxy URI path prefix must start with /.";
    else if (full.length < 10 || full.length > 128) err = "The whole proxy URI path must have 10–128 characters.";
    else if (!PATH.test(full)) err = "The proxy URI path prefix can have only letters, digits, /, _ and -.";
    ok.push(fieldError(path, err));
  }
  if (enabled(secret)) {
    const skip = credentialOptional && !secret.value;
    ok.push(fieldError(key, skip ? "" : patternError("access key ID", key.value, 20, 30, ACCESS_KEY, "can have only uppercase letters A–Z and digits 2–7.")));
    ok.push(fieldError(secret, skip ? "" : patternError("secret access key", secret.value, 43, 64, SECRET, "can have only letters, digits, /, + and =.")));
  }
  return !ok.includes(false);
}

// readConfigFile fills form p's path and credential from AWS's proxy
// configuration file.
async function readConfigFile(p, file) {
  const input = field(p, "file");
  let cfg;
  try {
    cfg = JSON.parse(await file.text());
  } catch {
    fieldError(input, `${file.name} is not a JSON configuration file.`);
    return;
  }
  const cred = (cfg && cfg.XksProxyAuthenticationCredential) || {};
  if (!cfg || typeof cfg.XksProxyUriPath !== "string" || typeof cred.AccessKeyId !== "string" || typeof cred.RawSecretAccessKey !== "string") {
    fieldError(input, "The configuration file needs XksProxyUriPath and XksProxyAuthenticationCredential with AccessKeyId and RawSecretAccessKey.");
    return;
  }
  if (!cfg.XksProxyUriPath.endsWith(SUFFIX)) {
    fieldError(input, `The XksProxyUriPath in the file must end with ${SUFFIX}.`);
    return;
  }
  fieldError(input, "");
  const path = field(p, "path");
  if (!path.disabled && !path.closest("fieldset:disabled")) path.value = prefixOf(cfg.XksProxyUriPath);
  field(p, "access-key").value = cred.AccessKeyId;
  field(p, "secret").value = cred.RawSecretAccessKey;
  showBanner(`${p}-banner`, "info", "Configuration file read", `Filled in the proxy URI path and the proxy credential from ${file.name}. Check them before you continue.`);
}

function setupFields(p) {
  const form = field(p, "form");
  form.addEventListener("change", async (e) => {
    const t = e.target;
    if (t.name === `${p}-connectivity`) showVpc(p);
    if (t.matches("[data-xks-show-secret]")) field(p, "secret").type = t.checked ? "text" : "password";
    if (t.matches("[data-xks-config-file]") && t.files[0]) {
      await readConfigFile(p, t.files[0]);
      t.value = "";
    }
  });
  field(p, "vpc-service").addEventListener("input", (e) => {
    const s = xks.services.find((x) => x.ServiceName === e.target.value.trim());
    const endpoint = field(p, "endpoint");
    if (s && s.PrivateDnsName && !endpoint.disabled) endpoint.value = `https://${s.PrivateDnsName}`;
  });
}

// ---- create -------------------------------------------------------------

export function resetXksCreate() {
  const form = $("#xks-create-form");
  form.reset();
  for (const el of $$("[aria-invalid]", form)) fieldError(el, "");
  field("xks-create", "secret").type = "password";
  showVpc("xks-create");
  hideBanner("xks-create-banner");
  loadProxies(true);
}

function setupCreate() {
  const p = "xks-create";
  setupFields(p);
  field(p, "form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = field(p, "name");
    const ok = [fieldError(name, lengthError("key store name", name.value, 1, 256)), check(p)];
    if (ok.includes(false)) {
      $('#xks-create-form [aria-invalid="true"]').focus();
      return;
    }
    const conn = connectivity(p);
    const body = {
      CustomKeyStoreName: name.value,
      CustomKeyStoreType: "EXTERNAL_KEY_STORE",
      XksProxyAuthenticationCredential: { AccessKeyId: field(p, "access-key").value, RawSecretAccessKey: field(p, "secret").value },
      XksProxyConnectivity: conn,
      XksProxyUriEndpoint: field(p, "endpoint").value,
      XksProxyUriPath: fullPath(field(p, "path").value),
    };
    if (conn === "VPC_ENDPOINT_SERVICE") body.XksProxyVpcEndpointServiceName = field(p, "vpc-service").value;
    const out = await run("xks-create-banner", "TrentService.CreateCustomKeyStore", body);
    if (!out) {
      await refresh({ quiet: true });
      return;
    }
    ui.selectedStore = out.CustomKeyStoreId;
    location.hash = "#/keystores/external";
    showBanner("page-banner", "success", "External key store created",
      `Created external key store ${name.value} (${out.CustomKeyStoreId}). It is DISCONNECTED; open it and choose Connect.`);
    await refresh({ quiet: true });
  });
}

// ---- edit ---------------------------------------------------------------

let editFor = null;
let editPrefix = ""; // the path prefix field as filled from the store
let pending = null; // the UpdateCustomKeyStore body waiting for confirmation

export function forgetXksEdit() {
  editFor = null;
}

export function renderXksEdit() {
  if (ui.route.view !== "edit-external") return;
  const s = store(ui.route.id);
  if (!s || !s.XksProxyConfiguration) return;
  const p = "xks-edit";
  const v = storeView(s);
  rebind($('[data-bind="xks-edit-title"]'), v);
  rebind($('[data-bind="xks-edit-state"]'), v);
  rebind($('[data-bind="xks-edit-cancel"]'), v);
  const c = s.XksProxyConfiguration;
  if (editFor !== s.CustomKeyStoreId) {
    editFor = s.CustomKeyStoreId;
    const form = field(p, "form");
    for (const el of $$("[aria-invalid]", form)) fieldError(el, "");
    field(p, "name").value = s.CustomKeyStoreName;
    setConnectivity(p, c.Connectivity);
    field(p, "vpc-service").value = c.VpcEndpointServiceName || "";
    field(p, "endpoint").value = c.UriEndpoint;
    field(p, "path").value = editPrefix = prefixOf(c.UriPath);
    field(p, "access-key").value = c.AccessKeyId;
    field(p, "secret").value = "";
    field(p, "secret").type = "password";
    $("[data-xks-show-secret]", form).checked = false;
    hideBanner("xks-edit-banner");
    loadProxies(true);
  }
  let blocked = false;
  for (const part of $$("#xks-edit-form [data-xks-edit-part]")) {
    const off = !allowedIn(part, s.ConnectionState);
    for (const fs of $$("fieldset", part)) fs.disabled = off;
    if (off) blocked = true;
  }
  for (const fs of $$("#xks-edit-form > fieldset[data-allowed-states]")) fs.disabled = !allowedIn(fs, s.ConnectionState);
  $("#xks-edit-needs-disconnect").hidden = !blocked;
}

function editBody(s) {
  const p = "xks-edit";
  const c = s.XksProxyConfiguration;
  const on = (el) => !el.closest("fieldset:disabled");
  const body = { CustomKeyStoreId: s.CustomKeyStoreId };
  const changes = [];
  const name = field(p, "name");
  if (on(name) && name.value !== s.CustomKeyStoreName) {
    body.NewCustomKeyStoreName = name.value;
    changes.push("key store name");
  }
  const endpoint = field(p, "endpoint");
  if (on(endpoint)) {
    const conn = connectivity(p);
    const vpc = field(p, "vpc-service").value;
    if (conn !== c.Connectivity) {
      body.XksProxyConnectivity = conn;
      body.XksProxyUriEndpoint = endpoint.value; // KMS needs a new endpoint with a new connectivity
      changes.push("proxy connectivity", "proxy URI endpoint");
      if (conn === "VPC_ENDPOINT_SERVICE") {
        body.XksProxyVpcEndpointServiceName = vpc;
        changes.push("VPC endpoint service name");
      }
    } else {
      if (endpoint.value !== c.UriEndpoint) {
        body.XksProxyUriEndpoint = endpoint.value;
        changes.push("proxy URI endpoint");
      }
      if (conn === "VPC_ENDPOINT_SERVICE" && vpc !== (c.VpcEndpointServiceName || "")) {
        body.XksProxyVpcEndpointServiceName = vpc;
        changes.push("VPC endpoint service name");
      }
    }
  }
  const path = field(p, "path");
  if (on(path) && path.value !== editPrefix && fullPath(path.value) !== c.UriPath) {
    body.XksProxyUriPath = fullPath(path.value);
    changes.push("proxy URI path");
  }
  const secret = field(p, "secret");
  if (on(secret) && secret.value) {
    body.XksProxyAuthenticationCredential = { AccessKeyId: field(p, "access-key").value, RawSecretAccessKey: secret.value };
    changes.push("proxy credential");
  }
  return { body, changes };
}

function setupEdit() {
  const p = "xks-edit";
  setupFields(p);
  const dlg = $("#xks-edit-dialog");
  field(p, "form").addEventListener("submit", (e) => {
    e.preventDefault();
    const s = store(ui.route.id);
    if (!s) return;
    const name = field(p, "name");
    const key = field(p, "access-key");
    const secret = field(p, "secret");
    const ok = [fieldError(name, lengthError("key store name", name.value, 1, 256)), check(p, { credentialOptional: true })];
    if (!secret.value && key.value !== s.XksProxyConfiguration.AccessKeyId && !secret.closest("fieldset:disabled")) {
      ok.push(fieldError(secret, "Enter the secret access key of the new credential: AWS KMS needs both parts."));
    }
    if (ok.includes(false)) {
      $('#xks-edit-form [aria-invalid="true"]').focus();
      return;
    }
    const { body, changes } = editBody(s);
    if (!changes.length) {
      showBanner("xks-edit-banner", "info", "Nothing to update", "Change a setting first.");
      return;
    }
    pending = body;
    rebind($('[data-bind="xks-edit-changes"]'), { Changes: changes.join(", ") + "." });
    dlg.returnValue = "";
    dlg.showModal();
    $('[data-testid="xks-edit-cancel-confirm"]', dlg).focus();
  });
  dlg.addEventListener("close", async () => {
    const body = pending;
    pending = null;
    if (dlg.returnValue !== "update" || !body) {
      $('[data-testid="xks-edit-submit"]').focus();
      return;
    }
    const out = await run("xks-edit-banner", "TrentService.UpdateCustomKeyStore", body);
    if (out) {
      const s = store(body.CustomKeyStoreId);
      location.hash = `#/keystores/${body.CustomKeyStoreId}`;
      showBanner("page-banner", "success", "External key store updated",
        `Updated external key store ${body.NewCustomKeyStoreName || (s && s.CustomKeyStoreName) || body.CustomKeyStoreId}. Changes can take up to five minutes to take effect.`);
    }
    await refresh({ quiet: true });
  });
}

// ---- simulator panel ----------------------------------------------------

// loadProxies reads Simulator.DescribeXksProxies (quietly, at most once a
// second unless forced) and renders what depends on it.
export async function loadProxies(force = false) {
  if (xks.loading || (!force && Date.now() - xks.loadedAt < 1000)) return;
  xks.loading = true;
  try {
    const res = await api("Simulator.DescribeXksProxies", {}, { quiet: true });
    if (res.status === 200) {
      xks.proxies = res.body.XksProxies || [];
      xks.services = res.body.VpcEndpointServices || [];
    }
    xks.loadedAt = Date.now();
  } finally {
    xks.loading = false;
  }
  renderProxies();
}

function faultsText(f) {
  if (!f) return "none";
  const on = [];
  if (f.LatencyMs) on.push(`latency ${f.LatencyMs} ms`);
  for (const k of ["Throttle", "Internal", "Malformed", "AccessDenied", "DependencyTimeout", "Unreachable"]) if (f[k]) on.push(k);
  if (f.Tls) on.push(`TLS ${f.Tls}`);
  return on.length ? on.join(", ") : "none";
}

// listText is one rules list as the panel shows it: empty allows everything.
function listText(list) {
  return list && list.length ? list.join(", ") : "any";
}

function rulesText(r) {
  const ops = (r && r.KmsOperations) || [];
  const vias = (r && r.KmsViaServices) || [];
  if (!ops.length && !vias.length) return "none";
  const on = [];
  if (ops.length) on.push(`operations ${ops.join(", ")}`);
  if (vias.length) on.push(`via ${vias.join(", ")}`);
  return on.join("; ");
}

// splitList reads a comma-separated input as a list, without empty items.
function splitList(value) {
  return value.split(",").map((x) => x.trim()).filter(Boolean);
}

const OPERATION = /^[A-Za-z]+$/;
const VIA_SERVICE = /^[a-z0-9][a-z0-9.-]*$/;

// rulesBody checks the rules inputs and returns the SetXksProxyRules body,
// or null after marking the invalid field.
function rulesBody(endpoint) {
  const ops = $("#xks-sim-rules-ops");
  const vias = $("#xks-sim-rules-vias");
  const KmsOperations = splitList(ops.value);
  const KmsViaServices = splitList(vias.value);
  const badOp = KmsOperations.find((x) => !OPERATION.test(x));
  const badVia = KmsViaServices.find((x) => !VIA_SERVICE.test(x));
  const ok = [
    fieldError(ops, badOp ? `${badOp} is not a KMS operation name: use letters only, for example Encrypt, Decrypt.` : ""),
    fieldError(vias, badVia ? `${badVia} is not a service name: use lowercase letters, digits, . and -, for example ebs.` : ""),
  ];
  if (ok.includes(false)) {
    $('[data-testid="xks-sim"] [aria-invalid="true"]').focus();
    return null;
  }
  return { KmsOperations, KmsViaServices, UriEndpoint: endpoint };
}

function proxyView(p) {
  const fleet = p.EkmFleetDetails || [];
  return {
    UriEndpoint: p.UriEndpoint,
    Paths: (p.Paths || []).map((x) => ({
      UriPath: x.UriPath,
      Keys: (x.AccessKeyIds || []).join(", "),
      ExternalKeysText: (x.ExternalKeys || []).length
        ? x.ExternalKeys.map((k) => `${k.KeyId} (${k.KeySpec}, ${k.KeyStatus}, ${(k.KeyUsage || []).join("/")})`).join("; ")
        : "none",
    })),
    FleetText: fleet.length ? `${fleet.length} instance${fleet.length === 1 ? "" : "s"}: ${fleet.map((d) => d.HealthStatus).join(", ")}` : "default",
    FaultsText: faultsText(p.Faults),
    RulesText: rulesText(p.Rules),
  };
}

function serviceView(s) {
  return {
    ServiceName: s.ServiceName,
    PrivateDnsName: s.PrivateDnsName || "",
    DnsVerification: s.DnsVerification,
    AcceptanceText: s.AcceptanceRequired ? "yes" : "no",
    PrincipalsText: (s.AllowedPrincipals || []).join(", ") || "none",
    AZText: (s.LoadBalancerAZs || []).join(", "),
    ConnectionsText: (s.Connections || []).map((c) => `${c.KeyStoreId}: ${c.VpcEndpointId}`).join("; ") || "none",
  };
}

function setSelect(select, key, items, value) {
  const before = value ?? select.value;
  rebind(select, { [select.dataset.each]: items });
  if (items.some((i) => i[key] === before)) select.value = before;
}

export function renderProxies() {
  const sel = $("#xks-sim-proxy");
  setSelect(sel, "UriEndpoint", xks.proxies.map((p) => ({ UriEndpoint: p.UriEndpoint })));
  rebind($('[data-bind="xks-proxies"]'), { Proxies: xks.proxies.map(proxyView) });
  setSelect($("#xks-sim-vpc"), "ServiceName", xks.services.map((s) => ({ ServiceName: s.ServiceName })));
  rebind($('[data-bind="xks-services"]'), { Services: xks.services.map(serviceView) });
  rebind($('[data-bind="xks-vpc-list"]'), { Services: xks.services.map((s) => ({ ServiceName: s.ServiceName })) });
  const chosen = xks.proxies.find((x) => x.UriEndpoint === sel.value);
  const rules = (chosen && chosen.Rules) || {};
  rebind($('[data-bind="xks-sim-rules-current"]'), { OperationsText: listText(rules.KmsOperations), ViaServicesText: listText(rules.KmsViaServices) });
  if (sel.value && sel.value !== xks.proxySynced) syncForms(sel.value);
}

// syncForms shows the chosen proxy's current faults, rules and fleet.
function syncForms(endpoint) {
  const p = xks.proxies.find((x) => x.UriEndpoint === endpoint);
  xks.proxySynced = endpoint;
  if (!p) return;
  const f = p.Faults || {};
  $("#xks-sim-latency").value = String(f.LatencyMs || 0);
  $("#xks-sim-tls").value = f.Tls || "";
  for (const box of $$("[data-xks-fault]")) box.checked = Boolean(f[box.dataset.xksFault]);
  const r = p.Rules || {};
  $("#xks-sim-rules-ops").value = (r.KmsOperations || []).join(", ");
  $("#xks-sim-rules-vias").value = (r.KmsViaServices || []).join(", ");
  for (const el of [$("#xks-sim-rules-ops"), $("#xks-sim-rules-vias")]) fieldError(el, "");
  const fleet = p.EkmFleetDetails || [];
  if (fleet.length) {
    $("#xks-sim-fleet-size").value = String(fleet.length);
    $("#xks-sim-fleet-health").value = fleet[0].HealthStatus;
  }
  const path = (p.Paths || [])[0];
  if (path) $("#xks-sim-path").value = path.UriPath;
}

export function renderXks() {
  if (["simulator", "create-external", "edit-external", "troubleshoot"].includes(ui.route.view)) loadProxies();
  renderXksEdit();
}

function randomCredential() {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bytes = crypto.getRandomValues(new Uint8Array(26 + 32));
  const id = Array.from(bytes.slice(0, 26), (b) => alphabet[b % 32]).join("");
  const secret = btoa(String.fromCharCode(...bytes.slice(26)));
  return { id, secret };
}

function regionOf(serviceName) {
  const m = /^(?:com|eu)\.amazonaws\.vpce\.([a-z]+-[a-z]+(?:-[a-z]+)?-\d+)\./.exec(serviceName || "");
  return m ? m[1] : "us-east-1";
}

async function simulateXks(what) {
  const endpoint = $("#xks-sim-proxy").value;
  const path = $("#xks-sim-path").value.trim();
  const keyId = $("#xks-sim-key-id").value.trim();
  const service = $("#xks-sim-vpc").value;
  const done = (msg) => showBanner(B, "success", "Done", msg);
  const usage = $$('input[name="xks-sim-usage"]:checked').map((b) => b.value);
  switch (what) {
    case "create-proxy": {
      const ep = $("#xks-sim-new-endpoint").value.trim();
      if (await run(B, "Simulator.CreateXksProxy", { UriEndpoint: ep })) {
        done(`A simulated proxy answers at ${ep}. Add a URI path with a credential next.`);
        await loadProxies(true);
        $("#xks-sim-proxy").value = ep;
        syncForms(ep);
        $("#xks-sim-dns").value = ep.replace(/^https:\/\//, "");
      }
      break;
    }
    case "delete-proxy":
      if (await run(B, "Simulator.DeleteXksProxy", { UriEndpoint: endpoint })) done(`Deleted the proxy at ${endpoint}.`);
      break;
    case "generate": {
      const c = randomCredential();
      $("#xks-sim-access-key").value = c.id;
      $("#xks-sim-secret").value = c.secret;
      return;
    }
    case "put-path": {
      const body = { Credentials: [{ AccessKeyId: $("#xks-sim-access-key").value.trim(), SecretAccessKey: $("#xks-sim-secret").value.trim() }], UriEndpoint: endpoint, UriPath: path };
      if (await run(B, "Simulator.PutXksProxyPath", body)) done(`The proxy at ${endpoint} serves ${path} with access key ${body.Credentials[0].AccessKeyId}.`);
      break;
    }
    case "delete-path":
      if (await run(B, "Simulator.DeleteXksProxyPath", { UriEndpoint: endpoint, UriPath: path })) done(`The proxy at ${endpoint} no longer serves ${path}.`);
      break;
    case "create-key":
    case "update-key": {
      const target = what === "create-key" ? "Simulator.CreateExternalKey" : "Simulator.UpdateExternalKey";
      const body = { KeyId: keyId, KeyStatus: $("#xks-sim-key-status").value, KeyUsage: usage, UriEndpoint: endpoint, UriPath: path };
      if (await run(B, target, body)) done(`External key ${keyId} is ${body.KeyStatus} for ${usage.join(", ") || "no usage"}.`);
      break;
    }
    case "delete-key":
      if (await run(B, "Simulator.DeleteExternalKey", { KeyId: keyId, UriEndpoint: endpoint, UriPath: path })) done(`Deleted external key ${keyId}.`);
      break;
    case "set-fleet": {
      const n = Number($("#xks-sim-fleet-size").value);
      if (!Number.isInteger(n) || n < 1 || n > 10) {
        showBanner(B, "error", "Invalid fleet", "The fleet has 1 to 10 external key manager instances.");
        $("#xks-sim-fleet-size").focus();
        return;
      }
      const health = $("#xks-sim-fleet-health").value;
      const fleet = Array.from({ length: n }, (_, i) => ({ HealthStatus: health, Id: `ekm-${i + 1}`, Model: "Keystore Lab EKM" }));
      if (await run(B, "Simulator.SetXksProxyFleet", { EkmFleetDetails: fleet, UriEndpoint: endpoint })) done(`The proxy reports ${n} ${health} instance${n === 1 ? "" : "s"}.`);
      break;
    }
    case "set-faults": {
      const body = { UriEndpoint: endpoint };
      const latency = Number($("#xks-sim-latency").value || 0);
      if (latency) body.LatencyMs = latency;
      for (const box of $$("[data-xks-fault]")) if (box.checked) body[box.dataset.xksFault] = true;
      if ($("#xks-sim-tls").value) body.Tls = $("#xks-sim-tls").value;
      if (await run(B, "Simulator.SetXksProxyFaults", body)) done(`Faults of ${endpoint}: ${faultsText(body)}.`);
      break;
    }
    case "clear-faults":
      if (await run(B, "Simulator.SetXksProxyFaults", { UriEndpoint: endpoint })) {
        done(`The proxy at ${endpoint} has no faults.`);
        xks.proxySynced = "";
      }
      break;
    case "set-rules": {
      const body = rulesBody(endpoint);
      if (!body) return;
      if (await run(B, "Simulator.SetXksProxyRules", body)) {
        done(`Authorization rules of ${endpoint}: ${rulesText(body)}. GetHealthStatus is always allowed.`);
        $("#xks-sim-rules-ops").value = body.KmsOperations.join(", ");
        $("#xks-sim-rules-vias").value = body.KmsViaServices.join(", ");
      }
      break;
    }
    case "clear-rules":
      if (await run(B, "Simulator.SetXksProxyRules", { KmsOperations: [], KmsViaServices: [], UriEndpoint: endpoint })) {
        done(`The proxy at ${endpoint} has no authorization rules: it allows every operation.`);
        $("#xks-sim-rules-ops").value = "";
        $("#xks-sim-rules-vias").value = "";
      }
      break;
    case "create-vpc": {
      const dns = $("#xks-sim-dns").value.trim();
      const out = await run(B, "Simulator.CreateVpcEndpointService", { PrivateDnsName: dns });
      if (out) {
        done(`Created VPC endpoint service ${out.ServiceName} with private DNS name ${dns}.`);
        await loadProxies(true);
        $("#xks-sim-vpc").value = out.ServiceName;
      }
      break;
    }
    case "update-vpc": {
      const region = regionOf(service);
      const body = {
        AcceptanceRequired: $("#xks-sim-vpc-acceptance").checked,
        AllowedPrincipals: $("#xks-sim-vpc-kms").checked ? [`cks.kms.${region}.amazonaws.com`] : [],
        DnsVerification: $("#xks-sim-vpc-dnsv").value,
        LoadBalancerAZs: $("#xks-sim-vpc-azs").value === "1" ? [`${region}a`] : [`${region}a`, `${region}b`],
        ServiceName: service,
      };
      if (await run(B, "Simulator.UpdateVpcEndpointService", body)) done(`Updated ${service}.`);
      break;
    }
    case "delete-vpc":
      if (await run(B, "Simulator.DeleteVpcEndpointService", { ServiceName: service })) done(`Deleted ${service}.`);
      break;
  }
  await loadProxies(true);
  await refresh({ quiet: true });
}

function setupSimulator() {
  $('[data-testid="xks-sim"]').addEventListener("click", async (e) => {
    const b = e.target.closest("[data-xks-sim]");
    if (b) await simulateXks(b.dataset.xksSim);
  });
  $("#xks-sim-proxy").addEventListener("change", () => renderProxies());
}

export function setupXks() {
  setupMenu("xks-actions-button", "xks-actions");
  $("#panel-external").addEventListener("change", (e) => {
    if (e.target.name === "xks-store") {
      ui.selectedStore = e.target.value;
      render();
    }
  });
  setupCreate();
  setupEdit();
  setupSimulator();
}

// Placeholders of the external key store troubleshooting steps.
export function xksPlaceholders(s) {
  const c = (s && s.XksProxyConfiguration) || {};
  const region = regionOf(c.VpcEndpointServiceName || (xks.services[0] && xks.services[0].ServiceName));
  return {
    $xksEndpoint: c.UriEndpoint || "",
    $xksPath: c.UriPath || "",
    $vpcService: c.VpcEndpointServiceName || "",
    $kmsPrincipal: `cks.kms.${region}.amazonaws.com`,
    $zoneA: `${region}a`,
    $zoneB: `${region}b`,
  };
}
