// keystores.js: the Custom key stores views: the actions menu, the create
// and edit forms, the detail page and deletion.
import { bind } from "./binder.js";
import { $, $$, ui, api, showBanner, hideBanner, run, refresh, store, storeView, clusterLabel, rebind, setOptions, allowedIn, fieldError, lengthError } from "./ui.js";

export function renderActions() {
  const s = store(ui.selectedStore);
  for (const item of $$('[data-menu] [role="menuitem"]')) {
    item.setAttribute("aria-disabled", String(!(s && allowedIn(item, s.ConnectionState))));
  }
}

export function freeClusters(except) {
  return ui.clusters.filter((c) => c.ClusterId === except || !ui.stores.some((s) => s.CloudHsmClusterId === c.ClusterId));
}

export function renderCreate() {
  const items = [{ ClusterId: "", Label: "Choose a cluster" }, ...freeClusters().map((c) => ({ ClusterId: c.ClusterId, Label: clusterLabel(c) }))];
  setOptions($("#create-cluster"), items);
}

export function renderDetail() {
  if (ui.route.view !== "detail") return;
  const s = store(ui.route.id);
  const v = s ? { ...storeView(s), TipId: `detail-tip-${s.CustomKeyStoreId}` } : { Missing: true, Name: ui.route.id };
  rebind($('[data-bind="detail"]'), v);
  for (const b of $$('[data-view="detail"] [data-allowed-states]')) b.disabled = !(s && allowedIn(b, s.ConnectionState));
}

let editFor = null;

// forgetEdit makes the edit form reload the store's values next time.
export function forgetEdit() {
  editFor = null;
}

export function renderEdit() {
  if (ui.route.view !== "edit") return;
  const s = store(ui.route.id);
  if (!s) return;
  const v = storeView(s);
  rebind($('[data-bind="edit-title"]'), v);
  rebind($('[data-bind="edit-state"]'), v);
  rebind($('[data-bind="edit-cancel"]'), v);
  const items = freeClusters(s.CloudHsmClusterId).map((c) => ({ ClusterId: c.ClusterId, Label: clusterLabel(c) }));
  if (!items.some((i) => i.ClusterId === s.CloudHsmClusterId)) items.unshift({ ClusterId: s.CloudHsmClusterId, Label: `${s.CloudHsmClusterId} (not found)` });
  if (editFor !== s.CustomKeyStoreId) {
    editFor = s.CustomKeyStoreId;
    $("#edit-name").value = s.CustomKeyStoreName;
    $("#edit-password").value = "";
    setOptions($("#edit-cluster"), items, s.CloudHsmClusterId);
  } else {
    setOptions($("#edit-cluster"), items);
  }
  let blocked = false;
  for (const fs of $$("#edit-form fieldset[data-allowed-states]")) {
    fs.disabled = !allowedIn(fs, s.ConnectionState);
    blocked ||= fs.disabled;
  }
  $("#edit-needs-disconnect").hidden = !blocked;
}

export async function storeAction(action, id) {
  const s = store(id);
  if (!s) return;
  if (action === "edit") {
    location.hash = `#/keystores/${id}/edit`;
    return;
  }
  if (action === "delete") {
    confirmDelete(s);
    return;
  }
  const target = action === "connect" ? "TrentService.ConnectCustomKeyStore" : "TrentService.DisconnectCustomKeyStore";
  const banner = "page-banner";
  const out = await run(banner, target, { CustomKeyStoreId: id });
  if (out) {
    showBanner(banner, "success", action === "connect" ? "Connecting" : "Disconnecting",
      action === "connect"
        ? `Connecting key store ${s.CustomKeyStoreName}. This can take ${s.CustomKeyStoreType === "EXTERNAL_KEY_STORE" ? "about 5 minutes" : "up to 20 minutes"} (virtual); the status updates by itself.`
        : `Disconnecting key store ${s.CustomKeyStoreName}.`,
      { about: id, action });
  }
  await refresh({ quiet: true });
}

export function confirmDelete(s) {
  const dlg = $("#delete-dialog");
  bind($("form", dlg), { Name: s.CustomKeyStoreName, ID: s.CustomKeyStoreId });
  dlg.returnValue = "";
  dlg.onclose = async () => {
    if (dlg.returnValue !== "delete") return;
    const out = await run("page-banner", "TrentService.DeleteCustomKeyStore", { CustomKeyStoreId: s.CustomKeyStoreId });
    if (out) {
      ui.selectedStore = null;
      location.hash = "#/keystores";
      showBanner("page-banner", "success", "Key store deleted", `Deleted key store ${s.CustomKeyStoreName} (${s.CustomKeyStoreId}).`);
    }
    await refresh({ quiet: true });
  };
  dlg.showModal();
  $('[data-testid="delete-cancel"]', dlg).focus();
}

// setupMenu makes a "Key store actions" menu button work: the CloudHSM
// tab's by default, or another one (the External key stores tab's).
// opts.onOpen and opts.onSelect(item) make it work for another kind of
// object (the Key actions menu).
export function setupMenu(buttonId = "ks-actions-button", menuId = "ks-actions", opts = {}) {
  const onOpen = opts.onOpen || renderActions;
  const onSelect = opts.onSelect || ((item) => storeAction(item.dataset.action, ui.selectedStore));
  const button = document.getElementById(buttonId);
  const menu = document.getElementById(menuId);
  const items = () => $$('[role="menuitem"]', menu);
  const open = (focusLast) => {
    onOpen();
    menu.hidden = false;
    button.setAttribute("aria-expanded", "true");
    const list = items();
    (focusLast ? list[list.length - 1] : list[0]).focus();
  };
  const close = (focusButton) => {
    menu.hidden = true;
    button.setAttribute("aria-expanded", "false");
    if (focusButton) button.focus();
  };
  button.addEventListener("click", () => (menu.hidden ? open(false) : close(true)));
  button.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      open(e.key === "ArrowUp");
    }
  });
  menu.addEventListener("keydown", (e) => {
    const list = items();
    const i = list.indexOf(document.activeElement);
    const go = (j) => list[(j + list.length) % list.length].focus();
    if (e.key === "ArrowDown") go(i + 1);
    else if (e.key === "ArrowUp") go(i - 1);
    else if (e.key === "Home") go(0);
    else if (e.key === "End") go(list.length - 1);
    else if (e.key === "Escape") close(true);
    else if (e.key === "Tab") close(false);
    else return;
    e.preventDefault();
  });
  menu.addEventListener("click", (e) => {
    const item = e.target.closest('[role="menuitem"]');
    if (!item || item.getAttribute("aria-disabled") === "true") return;
    close(true);
    onSelect(item);
  });
  document.addEventListener("click", (e) => {
    if (!menu.hidden && e.target.closest("[data-menu]") !== menu.closest("[data-menu]")) close(false);
  });
}

export function resetCreateForm() {
  const form = $("#create-form");
  form.reset();
  for (const el of $$("[aria-invalid]", form)) fieldError(el, "");
  hideBanner("create-banner");
}

// trustAnchorOf is the customerCA.crt a cluster was initialized with: the
// one signed in this page, or the one the sandbox keeps for the learner.
export async function trustAnchorOf(clusterId) {
  if (ui.anchors[clusterId]) return ui.anchors[clusterId];
  const r = await api("Simulator.DescribeClusterTrustAnchor", { ClusterId: clusterId }, { quiet: true });
  return r.status === 200 ? r.body.TrustAnchor : "";
}

export function setupCreate() {
  const form = $("#create-form");
  $("#create-cert-file").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (file) $("#create-cert").value = await file.text();
  });
  $("[data-use-init-cert]").addEventListener("click", async () => {
    const id = $("#create-cluster").value;
    const pem = id ? await trustAnchorOf(id) : "";
    if (pem) {
      $("#create-cert").value = pem;
      fieldError($("#create-cert"), "");
    } else {
      fieldError($("#create-cert"), id ? "The sandbox has no trust anchor for this cluster: was it initialized here?" : "Choose a cluster first.");
    }
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = $("#create-name");
    const clusterSel = $("#create-cluster");
    const cert = $("#create-cert");
    const pw = $("#create-password");
    const ok = [
      fieldError(name, lengthError("key store name", name.value, 1, 256)),
      fieldError(clusterSel, clusterSel.value ? "" : "Choose an AWS CloudHSM cluster."),
      fieldError(cert, lengthError("trust anchor certificate", cert.value, 1, 5000)),
      fieldError(pw, lengthError("kmsuser password", pw.value, 7, 32)),
    ];
    if (ok.includes(false)) {
      $('[aria-invalid="true"]', form).focus();
      return;
    }
    const out = await run("create-banner", "TrentService.CreateCustomKeyStore", {
      CloudHsmClusterId: clusterSel.value,
      CustomKeyStoreName: name.value,
      KeyStorePassword: pw.value,
      TrustAnchorCertificate: cert.value,
    });
    if (!out) {
      await refresh({ quiet: true });
      return;
    }
    ui.selectedStore = out.CustomKeyStoreId;
    location.hash = "#/keystores";
    showBanner("page-banner", "success", "Key store created", `Created key store ${name.value} (${out.CustomKeyStoreId}). It is DISCONNECTED; connect it with Key store actions, Connect.`);
    await refresh({ quiet: true });
  });
}

export function setupEdit() {
  $("#edit-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const s = store(ui.route.id);
    if (!s) return;
    const body = { CustomKeyStoreId: s.CustomKeyStoreId };
    const name = $("#edit-name");
    const pw = $("#edit-password");
    const cl = $("#edit-cluster");
    const ok = [
      fieldError(name, lengthError("key store name", name.value, 1, 256)),
      fieldError(pw, pw.value && !pw.disabled ? lengthError("kmsuser password", pw.value, 7, 32) : ""),
    ];
    if (ok.includes(false)) {
      $('#edit-form [aria-invalid="true"]').focus();
      return;
    }
    if (!cl.disabled && cl.value && cl.value !== s.CloudHsmClusterId) body.CloudHsmClusterId = cl.value;
    if (!pw.disabled && pw.value) body.KeyStorePassword = pw.value;
    if (name.value !== s.CustomKeyStoreName) body.NewCustomKeyStoreName = name.value;
    if (Object.keys(body).length === 1) {
      showBanner("edit-banner", "info", "Nothing to save", "Change a setting first.");
      return;
    }
    const out = await run("edit-banner", "TrentService.UpdateCustomKeyStore", body);
    if (out) {
      location.hash = `#/keystores/${s.CustomKeyStoreId}`;
      showBanner("page-banner", "success", "Key store updated", `Saved the changes to key store ${body.NewCustomKeyStoreName || s.CustomKeyStoreName}.`);
    }
    await refresh({ quiet: true });
  });
}
