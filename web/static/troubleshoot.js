// troubleshoot.js: the troubleshooting view: AWS's fix for a connection
// error code, one button per sandbox step.
import { $, ui, api, showBanner, showError, refresh, cluster, store, rebind, setOptions, render } from "./ui.js";
import { xksPlaceholders } from "./xks.js";

export function tsStore() {
  return $("#ts-store").value || "";
}

export function renderTroubleshoot() {
  if (ui.route.view !== "troubleshoot") return;
  // External key store codes are routed as xks/<CODE>.
  const external = ui.route.code.startsWith("xks/");
  const code = ui.route.code.replace(/^xks\//, "");
  const sel = $("#ts-store");
  const items = ui.stores.map((s) => ({ ID: s.CustomKeyStoreId, Label: `${s.CustomKeyStoreName} (${s.ConnectionState}${s.ConnectionErrorCode ? ` ${s.ConnectionErrorCode}` : ""})` }));
  const preferred = sel.value || ui.selectedStore || (ui.stores.find((s) => s.ConnectionErrorCode === code && (s.CustomKeyStoreType === "EXTERNAL_KEY_STORE") === external) || ui.stores[0] || {}).CustomKeyStoreId;
  setOptions(sel, items, preferred);
  const s = store(sel.value);
  rebind($('[data-bind="ts-state"]'), { State: s ? s.ConnectionState + (s.ConnectionErrorCode ? ` (${s.ConnectionErrorCode})` : "") : "no key store" });
  rebind($('[data-bind="ts-code"]'), { Code: code });
}

export function fillPlaceholders(v, values) {
  if (typeof v === "string") return Object.hasOwn(values, v) ? values[v] : v;
  if (Array.isArray(v)) return v.map((x) => fillPlaceholders(x, values));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fillPlaceholders(x, values)]));
  return v;
}

export function placeholderValues() {
  const s = store(tsStore());
  const cid = s ? s.CloudHsmClusterId : "";
  const c = cluster(cid);
  const mapping = (c && c.SubnetMapping) || {};
  const zones = Object.keys(mapping).sort();
  const az = zones.find((z) => !c.Hsms.some((h) => h.AvailabilityZone === z)) || zones[0] || "us-east-1a";
  const ids = new Set(Object.values(mapping));
  const subs = (ui.network.Subnets || []).filter((n) => ids.has(n.SubnetId));
  const subnet = (subs.find((n) => n.AvailableIpAddressCount === 0) || subs[0] || {}).SubnetId || "";
  return { $store: s ? s.CustomKeyStoreId : "", $cluster: cid, $newPassword: ui.newPassword, $az: az, $subnet: subnet, ...xksPlaceholders(s) };
}

export function setupTroubleshoot() {
  $('[data-view="troubleshoot"]').addEventListener("click", async (e) => {
    const b = e.target.closest("[data-step]");
    if (!b) return;
    await refresh({ quiet: true, extra: true });
    const body = fillPlaceholders(JSON.parse(b.dataset.body), placeholderValues());
    let ok = true;
    for (let i = 0; i < Number(b.dataset.times || 1); i++) {
      const res = await api(b.dataset.target, body);
      if (res.status !== 200) {
        showError("ts-banner", res);
        ok = false;
        break;
      }
    }
    if (ok) showBanner("ts-banner", "success", b.textContent.trim(), `${b.dataset.target} succeeded.`);
    await refresh({ quiet: true, extra: true });
  });
  $("#ts-store").addEventListener("change", () => render());
}
