// blobwidget.js: the ciphertext blob docs page's inspector. It builds a
// sandbox of its own (an engine.wasm instance in memory, never the
// console's) with a KMS key of each origin: AWS_KMS, one in an AWS CloudHSM
// key store and one in an external key store. Encrypt uses the chosen one;
// Inspect takes any blob apart with Simulator.InspectCiphertext, which needs
// no key. The markup is templ's (site/docs/ciphertext.templ and
// site.CiphertextMap); this only binds data to it.
import { bind } from "./binder.js";
import { instantiate, callFrame } from "./abi.js";
import { blobView } from "./blob.js";

const SEED = "6b657973746f72656c61622d646f63732d626c6f622d73616e64626f78212121"; // "keystorelab-docs-blob-sandbox!!!"
const root = document.querySelector("[data-blob-widget]");
const $ = (sel) => root.querySelector(sel);
const keys = {};
let x = null;

function call(target, body = {}) {
  const r = callFrame(x, target, JSON.stringify(body));
  const out = r.text ? JSON.parse(r.text) : {};
  if (r.status !== 200) {
    const err = new Error(out.message || out.Message || "");
    err.type = String(out.__type || "Error").split("#").pop();
    throw err;
  }
  return out;
}

const wait = (s) => call("Simulator.AdvanceClock", { Seconds: s });

// build makes the three keys, each through the same calls as the README's
// walk-throughs.
function build() {
  call("Simulator.ResetSandbox", { Seed: SEED });
  call("Simulator.SetClockSpeed", { Speed: 0 });
  keys.AWS_KMS = call("TrentService.CreateKey", { Description: "docs: AWS KMS key material" }).KeyMetadata.KeyId;

  const subnets = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"];
  const cluster = call("BaldrApiService.CreateCluster", { HsmType: "hsm2m.medium", SubnetIds: subnets }).Cluster.ClusterId;
  wait(300);
  call("BaldrApiService.CreateHsm", { AvailabilityZone: "us-east-1a", ClusterId: cluster });
  wait(600);
  const signed = call("Simulator.SignClusterCsr", { ClusterId: cluster });
  call("BaldrApiService.InitializeCluster", { ClusterId: cluster, SignedCert: signed.SignedCert, TrustAnchor: signed.TrustAnchor });
  wait(300);
  call("Simulator.ActivateCluster", { AdminPassword: "adminPassword1", ClusterId: cluster });
  call("BaldrApiService.CreateHsm", { AvailabilityZone: "us-east-1b", ClusterId: cluster });
  wait(600);
  call("Simulator.CreateCryptoUser", { ClusterId: cluster, Password: "kmsPassword1", Username: "kmsuser" });
  const hsmStore = call("TrentService.CreateCustomKeyStore", {
    CloudHsmClusterId: cluster, CustomKeyStoreName: "DocsCloudHsm", KeyStorePassword: "kmsPassword1", TrustAnchorCertificate: signed.TrustAnchor,
  }).CustomKeyStoreId;
  call("TrentService.ConnectCustomKeyStore", { CustomKeyStoreId: hsmStore });
  wait(1200);
  keys.AWS_CLOUDHSM = call("TrentService.CreateKey", { CustomKeyStoreId: hsmStore, Origin: "AWS_CLOUDHSM" }).KeyMetadata.KeyId;

  const UriEndpoint = "https://xks.example.com";
  const UriPath = "/example/kms/xks/v1";
  const AccessKeyId = "BE2J6Q2RE7ZRRCONB2M2RKBT5M";
  const SecretAccessKey = "oTbh0uA9Z3M5tJr1dDqHsbQn7sAkH+3v9XhXxKZbVmk=";
  call("Simulator.CreateXksProxy", { UriEndpoint });
  call("Simulator.PutXksProxyPath", { UriEndpoint, UriPath, Credentials: [{ AccessKeyId, SecretAccessKey }] });
  call("Simulator.CreateExternalKey", { UriEndpoint, UriPath, KeyId: "docs-key" });
  const xksStore = call("TrentService.CreateCustomKeyStore", {
    CustomKeyStoreName: "DocsXks", CustomKeyStoreType: "EXTERNAL_KEY_STORE", XksProxyConnectivity: "PUBLIC_ENDPOINT",
    XksProxyUriEndpoint: UriEndpoint, XksProxyUriPath: UriPath, XksProxyAuthenticationCredential: { AccessKeyId, RawSecretAccessKey: SecretAccessKey },
  }).CustomKeyStoreId;
  call("TrentService.ConnectCustomKeyStore", { CustomKeyStoreId: xksStore });
  wait(600);
  keys.EXTERNAL_KEY_STORE = call("TrentService.CreateKey", { CustomKeyStoreId: xksStore, Origin: "EXTERNAL_KEY_STORE", XksKeyId: "docs-key" }).KeyMetadata.KeyId;
}

function status(text) {
  bind($('[data-bind="blob-widget-status"]'), { Status: text });
}

function showError(err) {
  bind($('[data-bind="blob-widget-error"]'), err ? { Type: err.type || "Error", Message: err.message } : {});
}

function inspect() {
  showError(null);
  const map = $('[data-bind="blob"]');
  try {
    bind(map, blobView(call("Simulator.InspectCiphertext", { CiphertextBlob: $("#blob-input").value.trim() })));
    map.hidden = false;
  } catch (err) {
    map.hidden = true;
    showError(err);
  }
}

function encrypt() {
  const origin = root.querySelector('input[name="blob-origin"]:checked').value;
  const text = new TextEncoder().encode($("#blob-plaintext").value);
  const body = { KeyId: keys[origin], Plaintext: btoa(String.fromCharCode(...text)) };
  const k = $("#blob-ctx-key").value;
  if (k) body.EncryptionContext = { [k]: $("#blob-ctx-value").value };
  try {
    $("#blob-input").value = call("TrentService.Encrypt", body).CiphertextBlob;
  } catch (err) {
    showError(err);
    return;
  }
  inspect();
}

async function main() {
  if (!root) return;
  try {
    x = await instantiate();
    build();
  } catch (err) {
    status(`The sandbox could not be built: ${err.type ? `${err.type}: ` : ""}${err.message}`);
    return;
  }
  root.addEventListener("click", (e) => {
    const b = e.target.closest("[data-blob]");
    if (!b) return;
    if (b.dataset.blob === "encrypt") encrypt();
    else inspect();
  });
  for (const b of root.querySelectorAll("[data-blob]")) b.disabled = false;
  root.setAttribute("aria-busy", "false");
  status("Ready: a KMS key of each origin, in a sandbox of this page's own.");
  document.documentElement.dataset.blobWidget = "ready";
}

main();
