// widgets.js: the live widgets of the documentation pages (site/docs).
//
// Each <section data-widget=NAME> gets a sandbox of its own: a separate
// engine.wasm instance that lives in memory only. It never reads or writes
// the console's sandbox (localStorage "keystorelab.sandbox"), and it speaks
// the ABI through abi.js, as engine.js does.
//
// All markup comes from templ (site/docs/widgets.templ). This file only
// binds a model to it through binder.js and turns buttons into calls:
// a button with data-action-target/-body/-times makes that call with the
// placeholders of package content filled in ($store, $cluster, ...).

import { bind } from "./binder.js";
import { instantiate, callFrame } from "./abi.js";

const SUBNETS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002", "subnet-0a1b2c3d4e5f60003"];
const SEED = "6b657973746f72656c61622d646f63732d7769646765742d73616e64626f7821"; // "keystorelab-docs-widget-sandbox!"
const SPEED = 60;
const DEFAULT_ORIGIN = "http://127.0.0.1:8080";

// ---- a sandbox of the widget's own -------------------------------------

// openSandbox makes an engine.wasm instance that lives in memory only:
// {call(target, body) -> {status, body}}.
async function openSandbox() {
  const x = await instantiate();
  return {
    async call(target, body = {}) {
      const r = callFrame(x, target, JSON.stringify(body));
      return { status: r.status, body: r.text ? JSON.parse(r.text) : {} };
    },
  };
}

// ---- placeholders --------------------------------------------------------

function fill(v, values) {
  if (typeof v === "string") return v.startsWith("$") && v in values ? values[v] : v;
  if (Array.isArray(v)) return v.map((e) => fill(e, values));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, fill(e, values)]));
  return v;
}

function clockText(now) {
  if (typeof now !== "number") return "—";
  return new Date(now * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

const TRANSITIONAL = new Set(["CONNECTING", "DISCONNECTING"]);

// ---- one widget ------------------------------------------------------------

class Widget {
  constructor(root) {
    this.root = root;
    this.kind = root.dataset.widget;
    this.hasUsers = Boolean(root.querySelector("[data-each='Users']"));
    this.select = root.querySelector("select[data-do='choose-code']");
    // ?code=USER_LOGGED_IN preselects a cause (for an embed of one code).
    const wanted = new URLSearchParams(location.search).get("code");
    if (this.select && wanted && Array.from(this.select.options).some((o) => o.value === wanted)) {
      this.select.value = wanted;
    }
    this.clockEl = root.querySelector("[data-text='Clock']");
    this.values = {};
    this.model = {
      Ready: false, Busy: true, AriaBusy: "true", State: "—", ErrorCode: "", Clock: "—",
      Error: null, Calls: [], Users: [], Code: this.select ? this.select.value : "",
    };
    this.shown = "";
    root.addEventListener("click", (ev) => this.onClick(ev));
    if (this.select) this.select.addEventListener("change", () => this.chooseCode(this.select.value));
  }

  render() {
    const m = this.model;
    m.AriaBusy = m.Busy ? "true" : "false";
    const { Clock, ...rest } = m;
    const key = JSON.stringify(rest);
    if (key !== this.shown) {
      this.shown = key;
      bind(this.root, m);
    } else if (this.clockEl) {
      bind(this.clockEl, m);
    }
  }

  // call makes one request; log says whether it shows in the call list.
  async call(target, body, log = true) {
    const res = await this.sandbox.call(target, body);
    if (log) {
      this.model.Calls = [{
        Target: target, Status: `HTTP ${res.status}`,
        Request: JSON.stringify(body), Response: JSON.stringify(res.body),
      }, ...this.model.Calls];
      this.model.Error = res.status === 200 ? null : {
        Type: res.body.__type || `HTTP ${res.status}`,
        Message: res.body.message || res.body.Message || "",
      };
    }
    return res;
  }

  // must is call for the set-up: anything but 200 is a bug.
  async must(target, body) {
    const res = await this.call(target, body, false);
    if (res.status !== 200) throw new Error(`${target}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async start() {
    try {
      this.sandbox = await openSandbox();
      await this.build();
      this.model.Ready = true;
      this.model.Busy = false;
      await this.refresh();
      this.timer = setInterval(() => this.tick().catch((err) => {
        console.error(`widget ${this.kind}`, err);
        this.broken = true;
        this.model.Error = { Type: "Error", Message: `${err.message} (choose Start over)` };
        this.render();
      }), 1000);
    } catch (err) {
      console.error(`widget ${this.kind}: the sandbox could not start`, err);
      this.model.Error = { Type: "Error", Message: `The sandbox could not start: ${err.message}` };
      this.render();
    }
  }

  // build makes the widget's sandbox: an ACTIVE cluster with HSMs in two
  // Availability Zones (and a third subnet), kmsuser, and a key store.
  async build() {
    this.render();
    await this.must("Simulator.ResetSandbox", { Seed: SEED, ClockSpeed: 0 });
    const adv = (s) => this.must("Simulator.AdvanceClock", { Seconds: s });
    const c = await this.must("BaldrApiService.CreateCluster", { HsmType: "hsm2m.medium", SubnetIds: SUBNETS });
    const id = c.Cluster.ClusterId;
    await adv(300);
    await this.must("BaldrApiService.CreateHsm", { ClusterId: id, AvailabilityZone: "us-east-1a" });
    await adv(600);
    const signed = await this.must("Simulator.SignClusterCsr", { ClusterId: id });
    await this.must("BaldrApiService.InitializeCluster", { ClusterId: id, SignedCert: signed.SignedCert, TrustAnchor: signed.TrustAnchor });
    await adv(300);
    await this.must("Simulator.ActivateCluster", { ClusterId: id, AdminPassword: "adminPassword1" });
    await this.must("BaldrApiService.CreateHsm", { ClusterId: id, AvailabilityZone: "us-east-1b" });
    await adv(600);
    await this.must("Simulator.CreateCryptoUser", { ClusterId: id, Username: "kmsuser", Password: "kmsPassword1" });
    const ks = await this.must("TrentService.CreateCustomKeyStore", {
      CustomKeyStoreName: "ExampleKeyStore", CloudHsmClusterId: id,
      TrustAnchorCertificate: signed.TrustAnchor, KeyStorePassword: "kmsPassword1",
    });
    this.values = {
      $store: ks.CustomKeyStoreId, $cluster: id, $newPassword: "known12345",
      $az: "us-east-1a", $subnet: SUBNETS[1],
    };
    if (this.kind !== "connection-state") {
      // Connected once, so that AWS KMS holds a kmsuser password only it knows.
      await this.must("TrentService.ConnectCustomKeyStore", { CustomKeyStoreId: ks.CustomKeyStoreId });
      await adv(1200);
      if (this.kind === "error-codes") {
        await this.must("TrentService.DisconnectCustomKeyStore", { CustomKeyStoreId: ks.CustomKeyStoreId });
        await adv(120);
      }
    }
    await this.must("Simulator.SetClockSpeed", { Speed: SPEED });
  }

  async refresh() {
    if (this.broken) {
      this.render();
      return;
    }
    const d = await this.call("TrentService.DescribeCustomKeyStores", { CustomKeyStoreId: this.values.$store }, false);
    const ks = d.status === 200 ? d.body.CustomKeyStores[0] : null;
    this.model.State = ks ? ks.ConnectionState : "—";
    this.model.ErrorCode = (ks && ks.ConnectionErrorCode) || "";
    const clock = await this.call("Simulator.DescribeClock", {}, false);
    this.model.Clock = clockText(clock.body.Now);
    if (this.hasUsers) {
      const u = await this.call("Simulator.DescribeCryptoUsers", { ClusterId: this.values.$cluster }, false);
      this.model.Users = u.status === 200 ? u.body.Users.map((x) => ({
        ...x,
        LoggedInText: x.LoggedIn ? "yes" : "no",
        LockedOutText: x.LockedOut ? "yes" : "no",
        LoggedInByKms: x.LoggedInByKms || "",
      })) : [];
    }
    this.render();
  }

  async tick() {
    if (this.model.Busy || !this.model.Ready || this.broken) return;
    if (TRANSITIONAL.has(this.model.State)) {
      await this.refresh();
    } else {
      const clock = await this.call("Simulator.DescribeClock", {}, false);
      this.model.Clock = clockText(clock.body.Now);
      this.render();
    }
  }

  // busy runs fn with the buttons disabled, then refreshes.
  async busy(fn) {
    if (this.model.Busy) return;
    this.model.Busy = true;
    this.render();
    try {
      await fn();
    } catch (err) {
      // A trapped instance is in an undefined state: Start over opens a new one.
      console.error(`widget ${this.kind}`, err);
      this.broken = true;
      this.model.Error = { Type: "Error", Message: `${err.message} (choose Start over)` };
    } finally {
      this.model.Busy = false;
      await this.refresh();
    }
  }

  onClick(ev) {
    const button = ev.target.closest("button");
    if (!button || !this.root.contains(button) || button.disabled) return;
    if (button.dataset.actionTarget) {
      const target = button.dataset.actionTarget;
      const body = JSON.parse(button.dataset.actionBody || "{}");
      const times = Number(button.dataset.actionTimes || "1");
      this.busy(async () => {
        for (let i = 0; i < times; i++) await this.call(target, fill(body, this.values));
      });
    } else if (button.dataset.do === "start-over") {
      this.startOver();
    }
  }

  startOver() {
    this.busy(async () => {
      if (this.broken) {
        this.sandbox = await openSandbox();
        this.broken = false;
      }
      this.model.Calls = [];
      this.model.Error = null;
      await this.build();
    });
  }

  chooseCode(code) {
    this.model.Code = code;
    this.startOver();
  }
}

// ---- the page --------------------------------------------------------------

// The iframe snippets name the host the page was built for; show this one.
if (location.protocol === "http:" || location.protocol === "https:") {
  for (const code of document.querySelectorAll("[data-snippet]")) {
    code.textContent = code.textContent.split(DEFAULT_ORIGIN).join(location.origin);
  }
}

const widgets = Array.from(document.querySelectorAll("section[data-widget]"), (root) => new Widget(root));
Promise.all(widgets.map((w) => w.start())).then(() => {
  document.documentElement.dataset.widgets = "ready";
});
