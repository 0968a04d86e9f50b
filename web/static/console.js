// console.js: Keystore Lab's console. Every action is one engine call with
// the JSON an AWS SDK sends; markup comes from templ (site/*.templ), filled
// by binder.js. This module routes between views and starts everything.
import { start } from "./engine.js";
import { $, $$, ui, renderActivity, bannerShownAt, showBanner, run, announce, refresh, onRender, onRefresh, render, busy } from "./ui.js";
import { renderActions, renderCreate, renderDetail, forgetEdit, renderEdit, storeAction, setupMenu, resetCreateForm, setupCreate, setupEdit } from "./keystores.js";
import { renderClusters, setupClusters } from "./clusters.js";
import { renderSimulator, setupSimulator } from "./simulator.js";
import { renderTroubleshoot, setupTroubleshoot } from "./troubleshoot.js";
import { setupXks, renderXks, resetXksCreate, forgetXksEdit } from "./xks.js";
import { setupPrefs } from "./prefs.js";
import { setupKeys, renderKeys, refreshKeys, refreshHsmKeys, resetWizard } from "./keys.js";

// xksCode routes #/troubleshoot/<CODE> to the external key store entry
// (xks/<CODE>) when only that one exists, or when both do and the selected
// key store is an external one.
function xksCode(code) {
  const has = (c) => Boolean(document.querySelector(`[data-ts-code="${CSS.escape(c)}"]`));
  if (!code || !has(`xks/${code}`)) return code;
  const sel = ui.stores.find((s) => s.CustomKeyStoreId === ui.selectedStore);
  return !has(code) || (sel && sel.CustomKeyStoreType === "EXTERNAL_KEY_STORE") ? `xks/${code}` : code;
}

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const r = { view: "keystores", tab: "cloudhsm" };
  if (parts[0] === "keys") {
    if (parts[1] === "create") {
      r.view = "key-create";
      r.store = parts[2] || "";
    } else if (parts[1]) {
      r.view = "key-detail";
      r.id = parts[1];
    } else {
      r.view = "keys";
    }
  } else if (parts[0] === "keystores") {
    if (parts[1] === "external") r.tab = "external";
    else if (parts[1] === "create") r.view = "create";
    else if (parts[1] === "create-external") r.view = "create-external";
    else if (parts[1] && parts[1] !== "cloudhsm") {
      r.id = parts[1];
      const external = ui.stores.some((s) => s.CustomKeyStoreId === r.id && s.CustomKeyStoreType === "EXTERNAL_KEY_STORE");
      r.view = parts[2] === "edit" ? (external ? "edit-external" : "edit") : "detail";
    }
  } else if (parts[0] === "clusters" || parts[0] === "simulator") {
    r.view = parts[0];
  } else if (parts[0] === "troubleshoot") {
    r.view = "troubleshoot";
    r.code = parts[1] === "xks" ? `xks/${parts[2] || ""}` : xksCode(parts[1] || "");
  }
  return r;
}

function showRoute(moveFocus) {
  const r = parseRoute();
  const changedView = r.view !== ui.route.view || r.id !== ui.route.id || r.code !== ui.route.code || r.store !== ui.route.store;
  ui.route = r;
  if (changedView) {
    // A banner belongs to the view it was shown in, unless it was shown just
    // before this view change (as "Key store created" is).
    for (const b of $$(".banner")) {
      if (Date.now() - (bannerShownAt.get(b.id) || 0) > 1000) b.hidden = true;
    }
  }
  for (const sec of $$("[data-view]")) sec.hidden = sec.dataset.view !== r.view;
  if (r.view === "keystores") selectTab(r.tab, false);
  const nav = r.view === "keystores" ? `keystores/${r.tab}` : ["create", "create-external", "detail", "edit", "edit-external", "troubleshoot"].includes(r.view) ? "keystores"
    : ["key-create", "key-detail"].includes(r.view) ? "keys" : r.view;
  for (const a of $$("[data-nav]")) {
    const cur = a.dataset.nav === nav;
    a.setAttribute("aria-current", cur ? "page" : "false");
  }
  if (r.view === "troubleshoot") {
    let found = false;
    for (const art of $$("[data-ts-code]")) {
      art.hidden = art.dataset.tsCode !== r.code;
      found ||= art.dataset.tsCode === r.code && art.dataset.tsCode !== "";
    }
    $('[data-testid="ts-unknown"]').hidden = found;
    if (changedView) ui.newPassword = `known${Math.floor(10000 + Math.random() * 90000)}`;
  }
  if (r.view === "detail" || r.view === "edit" || r.view === "edit-external") ui.selectedStore = r.id;
  if (r.view !== "edit") forgetEdit();
  if (r.view !== "edit-external") forgetXksEdit();
  if (r.view === "create-external" && changedView) resetXksCreate();
  if (r.view === "create" && changedView) resetCreateForm();
  if (r.view === "key-create" && changedView) resetWizard(r.store);
  render();
  if (["simulator", "troubleshoot"].includes(r.view)) refresh({ extra: true });
  else if (changedView && ["keys", "key-detail", "key-create", "detail"].includes(r.view)) refresh({ quiet: true });
  if (moveFocus && changedView) {
    const h = $(`[data-view="${r.view}"] h1`);
    if (h) {
      h.tabIndex = -1;
      h.focus();
    }
  }
}

function selectTab(tab, focus) {
  for (const t of $$('[role="tab"][data-tab]')) {
    const on = t.dataset.tab === tab;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    if (on && focus) t.focus();
  }
}

function setupGlobal() {
  document.addEventListener("click", async (e) => {
    const dismiss = e.target.closest("[data-dismiss]");
    if (dismiss) dismiss.closest(".banner").hidden = true;
    const copy = e.target.closest("[data-copy-sibling], [data-copy]");
    if (copy) {
      const src = copy.dataset.copy ? document.getElementById(copy.dataset.copy) : copy.parentElement.nextElementSibling;
      const text = src.value ?? src.textContent;
      try {
        await navigator.clipboard.writeText(text);
        copy.textContent = "Copied";
        announce("Copied to the clipboard.");
      } catch {
        copy.textContent = "Select and copy";
      }
      setTimeout(() => (copy.textContent = "Copy"), 1500);
    }
    const action = e.target.closest('[data-view="detail"] [data-action]');
    if (action && !action.disabled) storeAction(action.dataset.action, ui.route.id);
    const jump = e.target.closest("[data-jump]");
    if (jump) {
      const banner = jump.closest("[data-view]").querySelector(".banner").id;
      await run(banner, "Simulator.AdvanceClock", { Seconds: Number(jump.dataset.jump) });
      await refresh({ quiet: true, extra: ui.route.view === "simulator" });
    }
    const tab = e.target.closest('[role="tab"][data-tab]');
    if (tab) location.hash = `#/keystores/${tab.dataset.tab}`;
  });
  $('[role="tablist"][aria-label="Custom key store types"]').addEventListener("keydown", (e) => {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    const tabs = $$('[role="tab"][data-tab]');
    const i = tabs.indexOf(document.activeElement);
    const next = tabs[(i + (e.key === "ArrowRight" ? 1 : -1) + tabs.length) % tabs.length];
    location.hash = `#/keystores/${next.dataset.tab}`;
    next.focus();
    e.preventDefault();
  });
  $('[data-bind="stores"]').addEventListener("change", (e) => {
    if (e.target.name === "store") {
      ui.selectedStore = e.target.value;
      render();
    }
  });
  $("#activity-polls").addEventListener("change", (e) => {
    ui.showPolls = e.target.checked;
    renderActivity();
  });
  $("[data-activity-clear]").addEventListener("click", () => {
    ui.activity = [];
    renderActivity();
  });
  window.addEventListener("hashchange", () => showRoute(true));
  // Escape dismisses a FAILED badge's tooltip until the pointer or focus leaves.
  document.addEventListener("keydown", (e) => {
    const wrap = e.key === "Escape" && e.target.closest && e.target.closest(".tip-wrap");
    if (wrap) wrap.classList.add("tip-off");
  });
  for (const type of ["mouseout", "focusout"]) {
    document.addEventListener(type, (e) => {
      const wrap = e.target.closest && e.target.closest(".tip-wrap");
      if (wrap && !wrap.contains(e.relatedTarget)) wrap.classList.remove("tip-off");
    });
  }
}

async function poll() {
  try {
    await refresh({ quiet: true });
  } finally {
    setTimeout(poll, busy() ? 500 : 1000);
  }
}

async function main() {
  setupPrefs(); // markup only: the table's columns are right before the engine is up
  await start();
  setupGlobal();
  setupMenu();
  setupCreate();
  setupEdit();
  setupClusters();
  setupSimulator();
  setupTroubleshoot();
  setupXks();
  setupKeys();
  for (const fn of [renderActions, renderCreate, renderDetail, renderEdit, renderClusters, renderSimulator, renderTroubleshoot, renderXks, renderKeys]) onRender(fn);
  onRefresh(refreshKeys);
  onRefresh(refreshHsmKeys);
  $("[data-loading]").hidden = true;
  await refresh({ quiet: true, extra: true });
  showRoute(false);
  document.documentElement.dataset.console = "ready";
  setTimeout(poll, busy() ? 500 : 2000);
}

main().catch((err) => {
  console.error(err);
  showBanner("page-banner", "error", "The sandbox engine did not start", String(err.message || err));
});
