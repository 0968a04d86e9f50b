// ui.js: the console's shared state and plumbing: calls with their API
// activity entries, banners, the live region, reading the sandbox, and
// binding views without losing keyboard focus.
import { call } from "./engine.js";
import { bind } from "./binder.js";
import { cliFor } from "./cli.js";

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

export const TRANSITIONAL = new Set(["CONNECTING", "DISCONNECTING"]);

export const ui = {
  stores: [], // DescribeCustomKeyStores .CustomKeyStores
  clusters: [], // DescribeClusters .Clusters
  clock: null, // DescribeClock
  network: { Subnets: [], SecurityGroups: [] },
  backups: [],
  users: [],
  selectedStore: null,
  selectedCluster: null,
  route: { view: "keystores", tab: "cloudhsm" },
  anchors: {}, // cluster ID -> trust anchor made by Initialize in this page
  activity: [],
  showPolls: false,
  newPassword: "",
  lastStates: new Map(),
  keys: [], // DescribeKey .KeyMetadata of every customer managed key
  aliases: [], // ListAliases .Aliases
  keysUnsupported: "", // the engine's message while it lacks KMS keys
};

export function exceptionName(body) {
  const t = (body && (body.__type || body.code)) || "UnknownError";
  return String(t).split("#").pop();
}

export function exceptionMessage(body) {
  return (body && (body.message || body.Message)) || "";
}

// api makes one call; quiet calls (polling) are listed only while "Show
// polling calls" is on, so that they never push the learner's own calls out.
export async function api(target, body = {}, { quiet = false } = {}) {
  const res = await call(target, body);
  if (quiet && !ui.showPolls) return res;
  ui.activity.unshift({
    quiet,
    Target: target,
    StatusText: `HTTP ${res.status}${res.status === 200 ? "" : ` ${exceptionName(res.body)}`}`,
    IsError: res.status !== 200,
    Time: new Date().toLocaleTimeString(),
    Request: JSON.stringify(hideSecrets(body), null, 2),
    Response: JSON.stringify(res.body, null, 2),
    CLI: cliFor(target, hideSecrets(body)),
    CLILabel: target.startsWith("Simulator.") ? "Equivalent curl command" : "Equivalent AWS CLI command",
  });
  ui.activity.length = Math.min(ui.activity.length, 200);
  if (!quiet) renderActivity();
  return res;
}

// Members that hold secrets: the activity panel shows them the way
// CloudTrail records them, never their values.
const secretMembers = new Set(["KeyStorePassword", "RawSecretAccessKey", "SecretAccessKey", "Password", "NewPassword", "AdminPassword"]);

export function hideSecrets(v) {
  if (Array.isArray(v)) return v.map(hideSecrets);
  if (v === null || typeof v !== "object") return v;
  const out = {};
  for (const [k, x] of Object.entries(v)) out[k] = secretMembers.has(k) && typeof x === "string" ? "HIDDEN_DUE_TO_SECURITY_REASONS" : hideSecrets(x);
  return out;
}

let activityKey = "";

export function renderActivity() {
  const entries = ui.activity.filter((e) => ui.showPolls || !e.quiet).slice(0, 40).map((e, i) => ({ ...e, Open: i === 0 }));
  const key = entries.map((e) => e.Time + e.Target + e.Request.length).join("|") + entries.length;
  if (key === activityKey) return;
  activityKey = key;
  for (const el of $$('[data-bind="activity"]')) bind(el, { Entries: entries });
}

export const bannerShownAt = new Map(); // banner id -> when it was last shown

// bannerAbout: banner id -> {store, action} while the banner reports a
// connect or disconnect still under way (followBanners replaces it).
const bannerAbout = new Map();

// showBanner shows a banner. opts.href and opts.linkText add a link after
// the message; opts.about (a key store ID) with opts.action ("connect" or
// "disconnect") says the banner reports that action on that store, so that
// it is replaced when the store's state settles.
export function showBanner(id, kind, type, message, opts = {}) {
  const el = document.getElementById(id);
  if (!el) return;
  bannerShownAt.set(id, Date.now());
  if (opts.about) bannerAbout.set(id, { store: opts.about, action: opts.action });
  else bannerAbout.delete(id);
  bind(el, { Class: `banner ${kind}`, Type: type, Message: message, Href: opts.href || "", LinkText: opts.linkText || "" });
  el.setAttribute("role", kind === "error" ? "alert" : "status");
  el.hidden = false;
}

// followBanners replaces a visible "Connecting" or "Disconnecting" banner
// once its store leaves the transitional state: CONNECTED gives a success
// banner, FAILED an error banner with the ConnectionErrorCode and the link
// to how to fix it, DISCONNECTED (after a disconnect) a success banner.
export function followBanners() {
  for (const [id, about] of bannerAbout) {
    const el = document.getElementById(id);
    const s = store(about.store);
    if (!el || el.hidden || !s) {
      bannerAbout.delete(id);
      continue;
    }
    const name = s.CustomKeyStoreName;
    const st = s.ConnectionState;
    if (about.action === "connect" && st === "CONNECTED") {
      showBanner(id, "success", "Connected", `Key store ${name} is connected.`);
    } else if (about.action === "connect" && st === "FAILED") {
      const code = s.ConnectionErrorCode || "";
      showBanner(id, "error", "Connection failed",
        code ? `Key store ${name} did not connect. ConnectionErrorCode: ${code}.` : `Key store ${name} did not connect.`,
        code ? { href: troubleshootHref(s), linkText: "How to fix it" } : {});
    } else if (about.action === "disconnect" && st === "DISCONNECTED") {
      showBanner(id, "success", "Disconnected", `Key store ${name} is disconnected.`);
    }
  }
}

export function hideBanner(id) {
  const el = document.getElementById(id);
  if (el) el.hidden = true;
}

export function showError(id, res) {
  showBanner(id, "error", exceptionName(res.body), exceptionMessage(res.body));
  const el = document.getElementById(id);
  if (el) {
    el.tabIndex = -1;
    el.focus();
  }
}

// run calls target and reports a failure in banner id; it returns the
// response body, or null on failure.
export async function run(bannerId, target, body) {
  const res = await api(target, body);
  if (res.status !== 200) {
    showError(bannerId, res);
    return null;
  }
  hideBanner(bannerId);
  return res.body;
}

export function announce(text) {
  const live = $("#live");
  if (live) live.textContent = text;
}

export async function refresh({ quiet = true, extra = false } = {}) {
  const ks = await api("TrentService.DescribeCustomKeyStores", {}, { quiet });
  if (ks.status === 200) ui.stores = ks.body.CustomKeyStores || [];
  const cl = await api("BaldrApiService.DescribeClusters", {}, { quiet });
  if (cl.status === 200) ui.clusters = (cl.body.Clusters || []).filter((c) => c.State !== "DELETED");
  const clock = await api("Simulator.DescribeClock", {}, { quiet });
  if (clock.status === 200) ui.clock = clock.body;
  if (extra || ui.route.view === "clusters") {
    const bk = await api("BaldrApiService.DescribeBackups", {}, { quiet });
    if (bk.status === 200) ui.backups = bk.body.Backups || [];
  }
  if (extra || ["simulator", "troubleshoot"].includes(ui.route.view)) {
    const net = await api("Simulator.DescribeNetwork", {}, { quiet });
    if (net.status === 200) ui.network = net.body;
    const cid = simCluster();
    ui.users = [];
    if (cid) {
      const users = await api("Simulator.DescribeCryptoUsers", { ClusterId: cid }, { quiet });
      if (users.status === 200) ui.users = users.body.Users || [];
    }
  }
  if (ui.selectedStore && !ui.stores.some((s) => s.CustomKeyStoreId === ui.selectedStore)) ui.selectedStore = null;
  if (ui.selectedCluster && !ui.clusters.some((c) => c.ClusterId === ui.selectedCluster)) ui.selectedCluster = null;
  const notes = [];
  for (const fn of refreshers) notes.push(...((await fn({ quiet, extra })) || []));
  announceChanges(notes);
  followBanners();
  render();
  if (!quiet) renderActivity();
}

// onRefresh registers fn({quiet, extra}) to read more of the sandbox on
// every refresh; it returns what to announce, if anything.
const refreshers = [];

export function onRefresh(fn) {
  refreshers.push(fn);
}

export function announceChanges(more = []) {
  const now = new Map(ui.stores.map((s) => [s.CustomKeyStoreId, s.ConnectionState]));
  const changes = [];
  for (const s of ui.stores) {
    const before = ui.lastStates.get(s.CustomKeyStoreId);
    if (before && before !== s.ConnectionState) {
      changes.push(`Key store ${s.CustomKeyStoreName} is now ${s.ConnectionState}${s.ConnectionErrorCode ? ` (${s.ConnectionErrorCode})` : ""}.`);
    }
  }
  ui.lastStates = now;
  changes.push(...more);
  if (changes.length) announce(changes.join(" "));
}

export function cluster(id) {
  return ui.clusters.find((c) => c.ClusterId === id);
}

export function store(id) {
  return ui.stores.find((s) => s.CustomKeyStoreId === id);
}

export function hsmCount(clusterId) {
  const c = cluster(clusterId);
  return c ? String(c.Hsms.length) : "0";
}

export function localTime(epochSeconds) {
  return epochSeconds === undefined ? "" : new Date(epochSeconds * 1000).toLocaleString();
}

// troubleshootHref is the troubleshooting view of a store's
// ConnectionErrorCode: external key stores have their own entries.
export function troubleshootHref(s) {
  const xks = s.CustomKeyStoreType === "EXTERNAL_KEY_STORE" ? "xks/" : "";
  return `#/troubleshoot/${xks}${s.ConnectionErrorCode || ""}`;
}

// xksView is an external key store's XksProxyConfiguration for display
// (DescribeCustomKeyStores never returns the secret access key).
export function xksView(c) {
  if (!c) return null;
  return {
    ...c,
    ConnectivityLabel: c.Connectivity === "VPC_ENDPOINT_SERVICE" ? "VPC endpoint service" : "Public endpoint",
    VpcEndpointServiceName: c.VpcEndpointServiceName || "",
  };
}

export function storeView(s) {
  const id = s.CustomKeyStoreId;
  return {
    ID: id,
    Name: s.CustomKeyStoreName,
    Label: `${s.CustomKeyStoreName} (${id})`,
    SelectLabel: `Select ${s.CustomKeyStoreName}`,
    ClusterId: s.CloudHsmClusterId || "",
    HsmCount: hsmCount(s.CloudHsmClusterId),
    State: s.ConnectionState,
    Failed: s.ConnectionState === "FAILED",
    ErrorCode: s.ConnectionErrorCode || "",
    TipId: `tip-${id}`,
    TroubleshootHref: troubleshootHref(s),
    Href: `#/keystores/${id}`,
    Created: localTime(s.CreationDate),
    TypeLabel: s.CustomKeyStoreType === "EXTERNAL_KEY_STORE" ? "External key store" : "AWS CloudHSM",
    External: s.CustomKeyStoreType === "EXTERNAL_KEY_STORE",
    Connectivity: s.XksProxyConfiguration ? s.XksProxyConfiguration.Connectivity : "",
    Xks: xksView(s.XksProxyConfiguration),
    Selected: id === ui.selectedStore,
  };
}

export function clusterLabel(c) {
  const active = c.Hsms.filter((h) => h.State === "ACTIVE").length;
  return `${c.ClusterId} (${c.State}, ${active} active HSM${active === 1 ? "" : "s"})`;
}

export function clusterView(c) {
  const active = c.Hsms.filter((h) => h.State === "ACTIVE").length;
  const owner = ui.stores.find((s) => s.CloudHsmClusterId === c.ClusterId);
  return {
    ClusterId: c.ClusterId,
    Label: clusterLabel(c),
    SelectLabel: `Select cluster ${c.ClusterId}`,
    State: c.State,
    HsmType: c.HsmType,
    HsmCount: `${active}/${c.Hsms.length}`,
    Zones: Object.keys(c.SubnetMapping || {}).sort().join(", "),
    KeyStore: owner ? owner.CustomKeyStoreId : "",
    Selected: c.ClusterId === ui.selectedCluster,
  };
}

const renderKeys = new WeakMap();

// rebind binds el to data unless data is unchanged, and keeps keyboard
// focus on the equivalent element when it re-renders.
export function rebind(el, data) {
  const key = JSON.stringify(data);
  if (renderKeys.get(el) === key) return;
  renderKeys.set(el, key);
  const active = document.activeElement;
  let again = null;
  if (active && el.contains(active) && active !== el) {
    const row = active.closest("[data-id]");
    const tid = active.getAttribute("data-testid");
    again = { row: row && row.getAttribute("data-id"), tid, id: active.id };
  }
  bind(el, data);
  if (again) {
    let target = again.id ? document.getElementById(again.id) : null;
    if (!target && again.row) {
      const row = $(`[data-id="${CSS.escape(again.row)}"]`, el);
      target = row && again.tid ? $(`[data-testid="${again.tid}"]`, row) : row;
    }
    if (target && target !== document.activeElement) target.focus();
  }
}

export function setOptions(select, items, keep) {
  const before = keep ?? select.value;
  rebind(select, { [select.dataset.each]: items });
  if (items.some((i) => (i.ClusterId ?? i.ID ?? i.SubnetId ?? i.Zone ?? i.BackupId) === before)) select.value = before;
}

export function allowedIn(el, state) {
  return (el.dataset.allowedStates || "").split(" ").includes(state);
}

// render brings every view up to date with ui; each view module registers
// its renderer with onRender.
const renderers = [];

export function onRender(fn) {
  renderers.push(fn);
}

export function render() {
  const stores = ui.stores.map(storeView);
  const data = {
    Stores: stores.filter((s) => !s.External),
    ExternalStores: stores.filter((s) => s.External),
  };
  for (const el of $$('[data-bind="stores"]')) rebind(el, data);
  for (const fn of renderers) fn();
}

export function simCluster() {
  const sel = $("#sim-cluster");
  return (sel && sel.value) || ui.selectedCluster || (ui.clusters[0] && ui.clusters[0].ClusterId) || "";
}

export function fieldError(input, message) {
  const err = document.getElementById(`${input.id}-error`);
  input.setAttribute("aria-invalid", message ? "true" : "false");
  if (err) {
    err.textContent = message || "";
    err.hidden = !message;
  }
  return !message;
}

export function lengthError(label, value, min, max) {
  if (value.length < min) return min === 1 ? `Enter the ${label}.` : `The ${label} must have at least ${min} characters.`;
  if (value.length > max) return `The ${label} can have at most ${max} characters.`;
  return "";
}

export function busy() {
  return (
    ui.stores.some((s) => TRANSITIONAL.has(s.ConnectionState)) ||
    ui.clusters.some((c) => c.State.endsWith("_IN_PROGRESS") || c.Hsms.some((h) => h.State.endsWith("_IN_PROGRESS")))
  );
}
