// prefs.js: the Preferences of the AWS CloudHSM key stores and the Customer
// managed keys tables (AWS's gear: which columns show) and the kmsuser
// password fields' "Show password" toggles. Column choices live in
// localStorage ("keystorelab.columns", "keystorelab.keyColumns"), apart from
// the sandbox, so that resetting or importing a sandbox keeps them. The
// markup is templ's (site/preferences.templ, site/keys.templ); this only
// sets attributes.
import { $, $$ } from "./ui.js";

export const COLUMNS_KEY = "keystorelab.columns";
export const KEY_COLUMNS_KEY = "keystorelab.keyColumns";

// A column chooser: a gear button, its Preferences dialog, the table whose
// data-hidden-cols it sets, the localStorage key it keeps choices in, and
// how many columns are always shown (for the empty row's colspan).
const CHOOSERS = [
  { button: "prefs-button", dialog: "prefs-dialog", table: "store-table", key: COLUMNS_KEY, fixed: 2, empty: "stores-empty" },
  { button: "key-prefs-button", dialog: "key-prefs-dialog", table: "key-table", key: KEY_COLUMNS_KEY, fixed: 2, empty: "keys-empty" },
];

// saved is {column key: shown} as the user last chose, or {}.
function saved(key) {
  try {
    const v = JSON.parse(localStorage.getItem(key) || "{}");
    return v && typeof v === "object" && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

// applyColumns makes the table and the checkboxes show choices: a column
// the user never chose keeps its checkbox's default from the markup.
function applyColumns(c, dialog, choices) {
  const table = document.getElementById(c.table);
  if (!table) return;
  const hidden = [];
  let shown = c.fixed;
  for (const box of $$("[data-col-toggle]", dialog)) {
    const key = box.dataset.colToggle;
    if (typeof choices[key] === "boolean") box.checked = choices[key];
    if (box.checked) shown++;
    else hidden.push(key);
  }
  table.dataset.hiddenCols = hidden.join(" ");
  const empty = $(`[data-testid="${c.empty}"]`, table);
  if (empty) empty.colSpan = shown;
}

function setupColumns(c) {
  const button = document.getElementById(c.button);
  const dialog = document.getElementById(c.dialog);
  if (!button || !dialog) return;
  applyColumns(c, dialog, saved(c.key));
  button.addEventListener("click", () => {
    if (dialog.open) return;
    applyColumns(c, dialog, saved(c.key));
    dialog.showModal();
    button.setAttribute("aria-expanded", "true");
    const first = $("[data-col-toggle]", dialog);
    if (first) first.focus();
  });
  // Escape (the dialog's cancel), Close, and a click on the backdrop all
  // end here: focus goes back to the gear.
  dialog.addEventListener("close", () => {
    button.setAttribute("aria-expanded", "false");
    button.focus();
  });
  dialog.addEventListener("click", (e) => {
    // A click on the backdrop targets the dialog itself, outside its box.
    const r = dialog.getBoundingClientRect();
    const outside = e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom;
    if (e.target === dialog && outside) dialog.close();
  });
  dialog.addEventListener("change", (e) => {
    const box = e.target.closest("[data-col-toggle]");
    if (!box) return;
    const choices = { ...saved(c.key), [box.dataset.colToggle]: box.checked };
    try {
      localStorage.setItem(c.key, JSON.stringify(choices));
    } catch {
      // Storage full or blocked: the choice still applies to this page.
    }
    applyColumns(c, dialog, choices);
  });
}

function reveal(button, on) {
  const input = document.getElementById(button.dataset.reveal);
  if (!input) return;
  input.type = on ? "text" : "password";
  button.setAttribute("aria-pressed", String(on));
}

// concealPasswords hides every revealed password again.
export function concealPasswords() {
  for (const b of $$("[data-reveal]")) reveal(b, false);
}

function setupReveal() {
  document.addEventListener("click", (e) => {
    const b = e.target.closest("[data-reveal]");
    if (b && !b.disabled) reveal(b, b.getAttribute("aria-pressed") !== "true");
  });
  // A password typed on one view is hidden again when the learner leaves it.
  window.addEventListener("hashchange", concealPasswords);
}

export function setupPrefs() {
  for (const c of CHOOSERS) setupColumns(c);
  setupReveal();
}
