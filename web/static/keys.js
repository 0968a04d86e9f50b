// keys.js: KMS keys in the console: the Customer managed keys table, the
// Create key wizard, a key's page (General configuration, Key actions, the
// Key policy, Cryptographic configuration, Tags, Aliases and Try it tabs),
// the KMS keys of a custom key store's page, and the Simulator page's
// CloudHSM key material. Every action is one engine call with the JSON the
// AWS SDKs send. The playground (playground.js) and the Monitoring graphs
// (monitoring.js) are loaded the first time they are shown.
import { bind } from "./binder.js";
import { $, $$, ui, api, showBanner, hideBanner, showError, run, refresh, store, storeView, rebind, allowedIn, fieldError, localTime, exceptionName, exceptionMessage, simCluster } from "./ui.js";
import { setupMenu } from "./keystores.js";

const STATE_LABELS = { Enabled: "Enabled", Disabled: "Disabled", PendingDeletion: "Pending deletion", Unavailable: "Unavailable", Creating: "Creating", PendingImport: "Pending import", Updating: "Updating" };
const ORIGIN_LABELS = { AWS_KMS: "AWS KMS", AWS_CLOUDHSM: "AWS CloudHSM", EXTERNAL_KEY_STORE: "External key store", EXTERNAL: "External (Import key material)" };
const USAGE_LABELS = { ENCRYPT_DECRYPT: "Encrypt and decrypt" };
const KEY_VIEWS = new Set(["keys", "key-create", "key-detail", "detail"]);
const XKS_KEY_ID = /^[a-zA-Z0-9-_.]{1,128}$/;
const ALIAS = /^[a-zA-Z0-9/_-]+$/;

let lastKeyStates = new Map();
let selectedKey = null; // the key chosen in the keys table

// ---- reading the sandbox -----------------------------------------------

async function listAll(target, member, body, quiet) {
  const out = [];
  let marker;
  for (;;) {
    const r = await api(target, marker ? { ...body, Marker: marker } : body, { quiet });
    if (r.status !== 200) return { error: r };
    out.push(...(r.body[member] || []));
    if (!r.body.Truncated || !r.body.NextMarker) return { items: out };
    marker = r.body.NextMarker;
  }
}

// refreshKeys reads every key (ListKeys, then DescribeKey each) and the
// aliases; it returns what to announce about keys whose state changed.
export async function refreshKeys({ quiet = true, extra = false } = {}) {
  if (!extra && !KEY_VIEWS.has(ui.route.view)) return [];
  const listed = await listAll("TrentService.ListKeys", "Keys", {}, quiet);
  if (listed.error) {
    const res = listed.error;
    ui.keysUnsupported = exceptionName(res.body) === "UnsupportedOperationException" ? exceptionMessage(res.body) || "UnsupportedOperationException" : "";
    ui.keys = [];
    return [];
  }
  ui.keysUnsupported = "";
  const metas = [];
  for (const k of listed.items) {
    const d = await api("TrentService.DescribeKey", { KeyId: k.KeyId }, { quiet });
    if (d.status === 200 && d.body.KeyMetadata) metas.push(d.body.KeyMetadata);
  }
  ui.keys = metas.filter((m) => m.KeyManager !== "AWS").sort((a, b) => (a.CreationDate || 0) - (b.CreationDate || 0));
  const al = await listAll("TrentService.ListAliases", "Aliases", {}, quiet);
  if (!al.error) ui.aliases = al.items;
  const notes = [];
  const now = new Map(ui.keys.map((m) => [m.KeyId, m.KeyState]));
  for (const m of ui.keys) {
    const before = lastKeyStates.get(m.KeyId);
    if (before && before !== m.KeyState) notes.push(`Key ${keyTitle(m)} is now ${STATE_LABELS[m.KeyState] || m.KeyState}.`);
  }
  lastKeyStates = now;
  return notes;
}

export function key(id) {
  return ui.keys.find((m) => m.KeyId === id || m.Arn === id);
}

function aliasesOf(keyId) {
  return ui.aliases.filter((a) => a.TargetKeyId === keyId).map((a) => a.AliasName.replace(/^alias\//, "")).sort();
}

function keyTitle(m) {
  return aliasesOf(m.KeyId)[0] || m.KeyId;
}

export function keyView(m) {
  const names = aliasesOf(m.KeyId);
  const s = m.CustomKeyStoreId ? store(m.CustomKeyStoreId) : null;
  let storeV = null;
  if (s) storeV = storeView(s);
  else if (m.CustomKeyStoreId) storeV = { ID: m.CustomKeyStoreId, Name: "(not found)", TypeLabel: ORIGIN_LABELS[m.Origin] || "", State: "", Href: `#/keystores/${m.CustomKeyStoreId}`, Created: "" };
  return {
    ID: m.KeyId,
    Arn: m.Arn,
    Href: `#/keys/${m.KeyId}`,
    Selected: m.KeyId === selectedKey,
    SelectLabel: `Select ${names[0] || m.KeyId}`,
    AliasText: names.length ? names.join(", ") : "-",
    Title: names[0] || m.KeyId,
    State: m.KeyState,
    StateLabel: STATE_LABELS[m.KeyState] || m.KeyState,
    KeySpec: m.KeySpec || m.CustomerMasterKeySpec || "",
    KeyUsage: m.KeyUsage || "",
    KeyUsageLabel: USAGE_LABELS[m.KeyUsage] || m.KeyUsage || "",
    Algorithms: (m.EncryptionAlgorithms || []).join(", "),
    Origin: m.Origin || "",
    OriginLabel: ORIGIN_LABELS[m.Origin] || m.Origin || "",
    StoreText: m.CustomKeyStoreId || "-",
    Created: localTime(m.CreationDate),
    DescriptionText: m.Description || "-",
    DeletionText: m.KeyState === "PendingDeletion" && m.DeletionDate ? `Deletion date: ${localTime(m.DeletionDate)}` : "",
    Store: storeV,
    ClusterId: m.CloudHsmClusterId || "",
    XksKeyId: (m.XksKeyConfiguration && m.XksKeyConfiguration.Id) || "",
    UnavailableHint: m.KeyState === "Unavailable" && Boolean(storeV) && storeV.State !== "CONNECTED",
  };
}

// ---- rendering ------------------------------------------------------------

export function renderKeys() {
  const view = ui.route.view;
  if (view !== "detail") extrasFor = "";
  if (view === "keys") {
    if (selectedKey && !key(selectedKey)) selectedKey = null;
    renderKeysMenu();
    const keys = ui.keys.map(keyView);
    rebind($('[data-bind="keys"]'), { Keys: keys });
    rebind($('[data-bind="keys-count"]'), { Count: `(${keys.length})` });
    rebind($('[data-bind="keys-unsupported"]'), { Unsupported: Boolean(ui.keysUnsupported), Message: ui.keysUnsupported || "" });
  } else if (view === "key-detail") {
    renderKeyDetail();
  } else if (view === "key-create") {
    renderWizardStores();
  } else if (view === "detail") {
    renderStoreExtras();
  } else if (view === "simulator") {
    renderHsmKeys();
  }
}

// renderKeysMenu enables the keys table's Key actions for the chosen key.
function renderKeysMenu() {
  const m = selectedKey && key(selectedKey);
  for (const item of $$('#keys-actions [role="menuitem"]')) item.setAttribute("aria-disabled", String(!(m && allowedIn(item, m.KeyState))));
}

function setupKeysTable() {
  setupMenu("keys-actions-button", "keys-actions", {
    onOpen: renderKeysMenu,
    onSelect: (item) => keyAction(item.dataset.keyAction, selectedKey, "keys-banner"),
  });
  $('[data-bind="keys"]').addEventListener("change", (e) => {
    if (e.target.name === "key") {
      selectedKey = e.target.value;
      renderKeys();
    }
  });
}

// ---- the key's page -----------------------------------------------------

const detail = { keyId: null, tab: "crypto", policy: null, tags: null, loading: "" };

function renderKeyDetail() {
  const m = key(ui.route.id);
  const v = m ? keyView(m) : { Missing: true, Title: ui.route.id };
  rebind($('[data-bind="key-detail"]'), v);
  $("[data-key-tabs]").hidden = !m;
  for (const item of $$('#key-actions [role="menuitem"]')) item.setAttribute("aria-disabled", String(!(m && allowedIn(item, m.KeyState))));
  if (!m) return;
  if (detail.keyId !== m.KeyId) {
    detail.keyId = m.KeyId;
    detail.policy = null;
    detail.tags = null;
    $("#policy-form").hidden = true;
    $('[data-bind="key-policy"]').hidden = false;
    selectKeyTab(detail.tab, false);
  }
  rebind($('[data-bind="key-crypto"]'), v);
  rebind($('[data-bind="key-aliases"]'), {
    Aliases: ui.aliases.filter((a) => a.TargetKeyId === m.KeyId).map((a) => ({ ...a, DeleteLabel: `Delete ${a.AliasName}` })),
  });
  rebind($('[data-bind="key-tags"]'), { Tags: (detail.tags || []).map((t) => ({ ...t, RemoveLabel: `Remove tag ${t.TagKey}` })) });
  rebind($('[data-bind="key-policy"]'), { Policy: detail.policy === null ? "Loading…" : detail.policy });
  if (detail.tab === "try" && playground) playground.renderPlayground(m);
}

let playground = null;

async function loadTab(tab) {
  const id = detail.keyId;
  if (!id) return;
  if (tab === "policy") {
    const r = await api("TrentService.GetKeyPolicy", { KeyId: id, PolicyName: "default" });
    detail.policy = r.status === 200 ? prettyPolicy(r.body.Policy) : `${exceptionName(r.body)}: ${exceptionMessage(r.body)}`;
  } else if (tab === "tags") {
    const r = await api("TrentService.ListResourceTags", { KeyId: id });
    detail.tags = r.status === 200 ? r.body.Tags || [] : [];
    if (r.status !== 200) showError("tags-banner", r);
  } else if (tab === "try") {
    if (!playground) {
      playground = await import("./playground.js");
      playground.setupPlayground();
    }
  }
  renderKeyDetail();
}

function prettyPolicy(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text || "";
  }
}

function selectKeyTab(tab, focus) {
  detail.tab = tab;
  for (const t of $$("[data-key-tab]")) {
    const on = t.dataset.keyTab === tab;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    if (on && focus) t.focus();
  }
  loadTab(tab);
}

// keyAction runs a Key actions item on key id (the key page's key by
// default), reporting in banner B.
async function keyAction(action, id = ui.route.id, B = "key-banner") {
  const m = key(id);
  if (!m) return;
  const title = keyTitle(m);
  if (action === "schedule-deletion") {
    confirmDeletion(m, B);
    return;
  }
  const target = { enable: "TrentService.EnableKey", disable: "TrentService.DisableKey", "cancel-deletion": "TrentService.CancelKeyDeletion" }[action];
  const out = await run(B, target, { KeyId: m.KeyId });
  if (out) {
    const later = m.KeyState === "Unavailable" ? " The change takes effect when the key's custom key store is connected again." : "";
    const text = {
      enable: `Key ${title} is enabled.${later}`,
      disable: `Key ${title} is disabled.${later}`,
      "cancel-deletion": `The deletion of key ${title} is cancelled. The key is disabled; enable it to use it again.`,
    }[action];
    showBanner(B, "success", { enable: "Key enabled", disable: "Key disabled", "cancel-deletion": "Key deletion cancelled" }[action], text);
  }
  await refresh({ quiet: true });
}

function confirmDeletion(m, B) {
  const dlg = $("#key-delete-dialog");
  const s = m.CustomKeyStoreId ? store(m.CustomKeyStoreId) : null;
  const note = m.Origin === "AWS_CLOUDHSM"
    ? "After the waiting period AWS KMS deletes the key and tries once to delete its key material from the cluster; if the key store is disconnected then, the material is left in the cluster."
    : m.Origin === "EXTERNAL_KEY_STORE" ? "AWS KMS never deletes the external key: it stays in your external key manager." : "";
  bind($("form", dlg), { ID: m.KeyId, Store: Boolean(m.CustomKeyStoreId), StoreName: s ? s.CustomKeyStoreName : m.CustomKeyStoreId || "", StoreNote: note });
  $("#key-delete-days").value = "30";
  $("#key-delete-confirm").checked = false;
  fieldError($("#key-delete-days"), "");
  fieldError($("#key-delete-confirm"), "");
  dlg.returnValue = "";
  dlg.onclose = async () => {
    if (dlg.returnValue !== "schedule") return;
    const days = Number($("#key-delete-days").value);
    const out = await run(B, "TrentService.ScheduleKeyDeletion", { KeyId: m.KeyId, PendingWindowInDays: days });
    if (out) {
      showBanner(B, "success", "Key deletion scheduled",
        `Key ${keyTitle(m)} is pending deletion; it will be deleted on ${localTime(out.DeletionDate)} (${out.PendingWindowInDays || days} days). You can cancel the deletion until then.`);
    }
    await refresh({ quiet: true });
  };
  dlg.showModal();
  $("#key-delete-days").focus();
}

function setupKeyDetail() {
  setupMenu("key-actions-button", "key-actions", {
    onOpen: () => renderKeyDetail(),
    onSelect: (item) => keyAction(item.dataset.keyAction),
  });
  $("#key-delete-form").addEventListener("submit", (e) => {
    if (!e.submitter || e.submitter.value !== "schedule") return;
    const days = $("#key-delete-days");
    const n = Number(days.value);
    const ok = [
      fieldError(days, Number.isInteger(n) && n >= 7 && n <= 30 ? "" : "Enter a waiting period of 7 to 30 days."),
      fieldError($("#key-delete-confirm"), $("#key-delete-confirm").checked ? "" : "Confirm that you want to schedule the deletion."),
    ];
    if (ok.includes(false)) {
      e.preventDefault();
      $('#key-delete-form [aria-invalid="true"]').focus();
    }
  });
  const tabs = $('[data-testid="key-tabs"]');
  tabs.addEventListener("click", (e) => {
    const t = e.target.closest("[data-key-tab]");
    if (t) selectKeyTab(t.dataset.keyTab, true);
  });
  tabs.addEventListener("keydown", (e) => {
    const list = $$("[data-key-tab]");
    const i = list.indexOf(document.activeElement);
    let j = -1;
    if (e.key === "ArrowRight") j = (i + 1) % list.length;
    else if (e.key === "ArrowLeft") j = (i - 1 + list.length) % list.length;
    else if (e.key === "Home") j = 0;
    else if (e.key === "End") j = list.length - 1;
    if (j < 0) return;
    e.preventDefault();
    selectKeyTab(list[j].dataset.keyTab, true);
  });
  // Key policy: Edit, Cancel, Save (PutKeyPolicy).
  $("#key-panel-policy").addEventListener("click", (e) => {
    const b = e.target.closest("[data-policy]");
    if (!b) return;
    const editing = b.dataset.policy === "edit";
    $("#policy-form").hidden = !editing;
    $('[data-bind="key-policy"]').hidden = editing;
    if (editing) {
      $("#policy-text").value = detail.policy || "";
      $("#policy-text").focus();
    }
  });
  $("#policy-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const out = await run("policy-banner", "TrentService.PutKeyPolicy", { KeyId: detail.keyId, Policy: $("#policy-text").value, PolicyName: "default" });
    if (out) {
      $("#policy-form").hidden = true;
      $('[data-bind="key-policy"]').hidden = false;
      showBanner("policy-banner", "success", "Key policy saved", "The key policy was updated.");
      await loadTab("policy");
    }
  });
  // Tags: TagResource and UntagResource.
  $("#tag-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const k = $("#tag-new-key");
    const out = await run("tags-banner", "TrentService.TagResource", { KeyId: detail.keyId, Tags: [{ TagKey: k.value, TagValue: $("#tag-new-value").value }] });
    if (out) {
      k.value = "";
      $("#tag-new-value").value = "";
      await loadTab("tags");
    }
  });
  $("#key-panel-tags").addEventListener("click", async (e) => {
    const b = e.target.closest("[data-untag]");
    if (!b) return;
    if (await run("tags-banner", "TrentService.UntagResource", { KeyId: detail.keyId, TagKeys: [b.dataset.key] })) await loadTab("tags");
  });
  // Aliases: CreateAlias and DeleteAlias.
  $("#alias-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("#alias-new");
    const out = await run("aliases-banner", "TrentService.CreateAlias", { AliasName: `alias/${input.value.replace(/^alias\//, "")}`, TargetKeyId: detail.keyId });
    if (out) {
      input.value = "";
      showBanner("aliases-banner", "success", "Alias created", "The alias now points to this key.");
    }
    await refresh({ quiet: true });
  });
  $("#key-panel-aliases").addEventListener("click", async (e) => {
    const b = e.target.closest("[data-alias-delete]");
    if (!b) return;
    if (await run("aliases-banner", "TrentService.DeleteAlias", { AliasName: b.dataset.alias })) showBanner("aliases-banner", "success", "Alias deleted", `Deleted ${b.dataset.alias}.`);
    await refresh({ quiet: true });
  });
}

// ---- the Create key wizard -------------------------------------------------

const wiz = { step: 1, storeId: "", tags: [] };

function origin() {
  const r = $('input[name="key-origin"]:checked');
  return r ? r.value : "AWS_KMS";
}

// resetWizard starts the wizard again; storeId (from a key store's page)
// chooses that store and its origin.
export function resetWizard(storeId) {
  const form = $("#key-create-form");
  form.reset();
  for (const el of $$("[aria-invalid]", form)) fieldError(el, "");
  storeError("");
  hideBanner("key-create-banner");
  wiz.step = 1;
  wiz.storeId = "";
  wiz.tags = [];
  const s = storeId && store(storeId);
  if (s) {
    wiz.storeId = s.CustomKeyStoreId;
    const o = s.CustomKeyStoreType === "EXTERNAL_KEY_STORE" ? "EXTERNAL_KEY_STORE" : "AWS_CLOUDHSM";
    for (const r of $$('input[name="key-origin"]')) r.checked = r.value === o;
  }
  renderTags();
  showStep(1, false);
}

// storeError shows (or clears) the error under the key store table.
function storeError(message) {
  const p = $("#key-store-error");
  p.textContent = message;
  p.hidden = !message;
  $('[data-testid="key-store-table"]').setAttribute("aria-describedby", message ? "key-store-error" : "key-store-hint");
  return !message;
}

function renderWizardStores() {
  const o = origin();
  const cks = o === "AWS_CLOUDHSM" || o === "EXTERNAL_KEY_STORE";
  const part = $("[data-key-store-part]");
  part.hidden = !cks;
  if (!cks) return;
  const xks = o === "EXTERNAL_KEY_STORE";
  $("[data-xks-only]").hidden = !xks;
  for (const c of $$("[data-key-cluster-col]")) c.hidden = xks;
  $("[data-key-store-legend]").textContent = xks ? "External key store" : "AWS CloudHSM key store";
  $("[data-key-store-link]").setAttribute("href", xks ? "#/keystores/external" : "#/keystores/cloudhsm");
  const stores = ui.stores
    .filter((s) => (s.CustomKeyStoreType === "EXTERNAL_KEY_STORE") === xks)
    .map((s) => ({ ...storeView(s), Selected: s.CustomKeyStoreId === wiz.storeId, Disabled: s.ConnectionState !== "CONNECTED", TipId: `wiz-tip-${s.CustomKeyStoreId}` }));
  for (const el of $$('[data-bind="key-stores"]')) rebind(el, { Stores: stores });
}

function renderTags() {
  rebind($('[data-bind="wizard-tags"]'), {
    Tags: wiz.tags.map((t, i) => ({ ...t, Index: String(i), KeyLabel: `Tag key ${i + 1}`, ValueLabel: `Tag value ${i + 1}`, RemoveLabel: `Remove tag ${i + 1}` })),
  });
}

function showStep(n, focus = true) {
  wiz.step = n;
  for (const sec of $$("#key-create-form [data-step]")) sec.hidden = Number(sec.dataset.step) !== n;
  for (const li of $$("[data-step-nav]")) {
    const k = Number(li.dataset.stepNav);
    if (k === n) li.setAttribute("aria-current", "step");
    else li.removeAttribute("aria-current");
    li.classList.toggle("done", k < n);
  }
  $('[data-wizard="previous"]').hidden = n === 1;
  $('[data-wizard="next"]').hidden = n === 5;
  $('[data-testid="key-create-finish"]').hidden = n !== 5;
  if (n === 5) renderReview();
  renderWizardStores();
  if (focus) $(`#step${n}-title`).focus();
}

function checkStep(n) {
  const ok = [];
  if (n === 1) {
    const o = origin();
    if (o === "AWS_CLOUDHSM" || o === "EXTERNAL_KEY_STORE") {
      const s = store(wiz.storeId);
      const want = o === "EXTERNAL_KEY_STORE" ? "EXTERNAL_KEY_STORE" : "AWS_CLOUDHSM";
      const good = s && (s.CustomKeyStoreType || "AWS_CLOUDHSM") === want && s.ConnectionState === "CONNECTED";
      ok.push(storeError(good ? "" : "Choose a key store that is CONNECTED."));
      if (o === "EXTERNAL_KEY_STORE") {
        const id = $("#key-xks-id");
        ok.push(fieldError(id, XKS_KEY_ID.test(id.value) ? "" : id.value ? "The external key ID can have only letters, digits, -, _ and . (1–128 characters)." : "Enter the external key ID."));
        const ack = $("#key-xks-ack");
        ok.push(fieldError(ack, ack.checked ? "" : "Confirm that you understand the implications of using an external key store."));
      }
    }
  } else if (n === 2) {
    const a = $("#key-alias");
    const v = a.value.replace(/^alias\//, "");
    let err = "";
    if (v && !ALIAS.test(v)) err = "The alias can have only letters, digits, /, _ and -.";
    else if (v.startsWith("aws/")) err = "Aliases that begin with aws/ are reserved for AWS managed keys.";
    ok.push(fieldError(a, err));
  }
  if (ok.includes(false)) {
    const first = !$("#key-store-error").hidden
      ? $('[data-testid="key-store-radio"]:not(:disabled)') || $('[data-testid="key-store-table"]')
      : $('#key-create-form [aria-invalid="true"]');
    if (first) {
      if (!first.matches("input, button, select, textarea")) first.tabIndex = -1;
      first.focus();
    }
    return false;
  }
  return true;
}

function renderReview() {
  const o = origin();
  const s = store(wiz.storeId);
  const cks = o !== "AWS_KMS";
  const alias = $("#key-alias").value.replace(/^alias\//, "");
  const tags = wiz.tags.filter((t) => t.TagKey);
  rebind($('[data-bind="key-review"]'), {
    OriginLabel: ORIGIN_LABELS[o],
    StoreId: cks ? wiz.storeId : "",
    StoreName: s ? s.CustomKeyStoreName : "",
    XksKeyId: o === "EXTERNAL_KEY_STORE" ? $("#key-xks-id").value : "",
    AliasText: alias ? `alias/${alias}` : "-",
    DescriptionText: $("#key-description").value || "-",
    TagsText: tags.length ? tags.map((t) => `${t.TagKey}=${t.TagValue}`).join(", ") : "-",
  });
}

async function finish() {
  const o = origin();
  const body = { KeySpec: "SYMMETRIC_DEFAULT", KeyUsage: "ENCRYPT_DECRYPT", Origin: o };
  const description = $("#key-description").value;
  if (description) body.Description = description;
  if (o !== "AWS_KMS") body.CustomKeyStoreId = wiz.storeId;
  if (o === "EXTERNAL_KEY_STORE") body.XksKeyId = $("#key-xks-id").value;
  const tags = wiz.tags.filter((t) => t.TagKey).map((t) => ({ TagKey: t.TagKey, TagValue: t.TagValue }));
  if (tags.length) body.Tags = tags;
  const out = await run("key-create-banner", "TrentService.CreateKey", body);
  if (!out) return;
  const id = out.KeyMetadata.KeyId;
  const alias = $("#key-alias").value.replace(/^alias\//, "");
  let aliasError = null;
  if (alias) {
    const r = await api("TrentService.CreateAlias", { AliasName: `alias/${alias}`, TargetKeyId: id });
    if (r.status !== 200) aliasError = r;
  }
  detail.tab = "crypto";
  location.hash = `#/keys/${id}`;
  if (aliasError) showError("key-banner", aliasError);
  else showBanner("key-banner", "success", "Key created", alias ? `Your AWS KMS key was created with alias ${alias} and key ID ${id}.` : `Your AWS KMS key was created with key ID ${id}.`);
  await refresh({ quiet: true });
}

function setupWizard() {
  const form = $("#key-create-form");
  form.addEventListener("change", (e) => {
    if (e.target.name === "key-origin") {
      storeError("");
      renderWizardStores();
    } else if (e.target.name === "key-store") {
      wiz.storeId = e.target.value;
      storeError("");
      renderWizardStores();
    }
  });
  form.addEventListener("input", (e) => {
    const part = e.target.dataset.tagPart;
    if (part) wiz.tags[Number(e.target.dataset.index)][part] = e.target.value;
  });
  form.addEventListener("click", (e) => {
    const b = e.target.closest("[data-wizard], [data-tag-add], [data-tag-remove]");
    if (!b) return;
    if (b.dataset.wizard === "next") {
      if (checkStep(wiz.step)) showStep(wiz.step + 1);
    } else if (b.dataset.wizard === "previous") {
      showStep(wiz.step - 1);
    } else if (b.hasAttribute("data-tag-add")) {
      wiz.tags.push({ TagKey: "", TagValue: "" });
      renderTags();
      const keys = $$('[data-testid="key-tag-key"]', form);
      keys[keys.length - 1].focus();
    } else {
      wiz.tags.splice(Number(b.dataset.index), 1);
      renderTags();
      $('[data-testid="key-tag-add"]').focus();
    }
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (wiz.step !== 5) {
      if (checkStep(wiz.step)) showStep(wiz.step + 1);
      return;
    }
    await finish();
  });
}

// ---- a custom key store's page: KMS keys and Monitoring ------------------

let monitoring = null;
let extrasFor = ""; // the store whose page was rendered last, while it stays open

function renderStoreExtras() {
  const extra = $("[data-detail-extra]");
  const s = store(ui.route.id);
  const entered = extrasFor !== ui.route.id;
  extrasFor = ui.route.id;
  extra.hidden = !s;
  if (!s) return;
  const keys = ui.keys.filter((m) => m.CustomKeyStoreId === s.CustomKeyStoreId).map(keyView);
  rebind($('[data-bind="store-keys"]'), { Keys: keys });
  const xks = s.CustomKeyStoreType === "EXTERNAL_KEY_STORE";
  const section = $('[data-testid="monitoring"]');
  section.hidden = !xks;
  if (!xks) return;
  if (!monitoring) {
    monitoring = import("./monitoring.js");
    monitoring.catch(() => { monitoring = null; });
  }
  monitoring.then((mod) => mod.renderMonitoring(section, store(ui.route.id), entered));
}

function setupStoreExtras() {
  $("[data-create-key-in-store]").addEventListener("click", () => {
    const s = store(ui.route.id);
    if (!s) return;
    if (s.ConnectionState !== "CONNECTED") {
      showBanner("page-banner", "info", "Connect the key store first",
        `Key store ${s.CustomKeyStoreName} is ${s.ConnectionState}. AWS KMS can create keys only in a CONNECTED key store: connect it, then create the key.`);
      return;
    }
    location.hash = `#/keys/create/${s.CustomKeyStoreId}`;
  });
}

// ---- Simulator: CloudHSM key material ----------------------------------------

const hsm = { cluster: "", keys: [], error: "" };

export async function refreshHsmKeys({ quiet = true, extra = false } = {}) {
  if (!extra && ui.route.view !== "simulator") return [];
  const cid = simCluster();
  hsm.cluster = cid;
  hsm.keys = [];
  hsm.error = "";
  if (!cid) return [];
  const r = await api("Simulator.ListHsmKeys", { ClusterId: cid }, { quiet });
  if (r.status === 200) hsm.keys = r.body.Keys || [];
  else hsm.error = `${exceptionName(r.body)}: ${exceptionMessage(r.body)}`;
  return [];
}

function renderHsmKeys() {
  const el = $('[data-bind="hsm-keys"]');
  if (!el) return;
  rebind(el, {
    Keys: hsm.keys.map((k) => ({
      ...k,
      TypeText: `${k.KeyType || ""}${k.Size ? ` ${k.Size}` : ""}`,
      ExtractableText: k.Extractable ? "yes" : "no",
      DeleteLabel: `Delete key ${k.KeyReference}`,
    })),
    EmptyText: hsm.error || (hsm.cluster ? "No key material in this cluster." : "Choose a cluster first."),
  });
}

function setupHsmKeys() {
  const panel = $('[data-testid="hsm-keys"]');
  panel.addEventListener("click", async (e) => {
    const b = e.target.closest("[data-hsm-keys], [data-hsm-delete]");
    if (!b) return;
    if (b.hasAttribute("data-hsm-delete")) {
      const ref = b.dataset.ref;
      const out = await run("hsm-keys-banner", "Simulator.DeleteHsmKey", { ClusterId: simCluster(), KeyReference: ref, Username: "kmsuser" });
      if (out) showBanner("hsm-keys-banner", "success", "Key material deleted", `Deleted key ${ref} from the cluster. The KMS key keeps its state, but its cryptographic operations now fail.`);
    }
    await refreshHsmKeys({ quiet: !b.hasAttribute("data-hsm-keys") });
    renderHsmKeys();
  });
  $("#sim-cluster").addEventListener("change", async () => {
    await refreshHsmKeys();
    renderHsmKeys();
  });
}

export function setupKeys() {
  setupKeysTable();
  setupKeyDetail();
  setupWizard();
  setupStoreExtras();
  setupHsmKeys();
}
