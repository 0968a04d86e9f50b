// clusters.js: the AWS CloudHSM clusters page: create a cluster, add HSMs,
// initialize, activate, create kmsuser.
import { $, ui, showBanner, run, refresh, cluster, localTime, clusterView, rebind, setOptions, render } from "./ui.js";

export function renderClusters() {
  // Newest first: the usual choice when restoring.
  const ready = ui.backups.filter((x) => x.BackupState === "READY" || !x.BackupState);
  const backups = ready.sort((x, y) => y.CreateTimestamp - x.CreateTimestamp).map((x) => ({
    BackupId: x.BackupId,
    Label: `${x.BackupId} of ${x.ClusterId} (${localTime(x.CreateTimestamp)})`,
  }));
  setOptions($("#cluster-backup"), [{ BackupId: "", Label: "None: a new, empty cluster" }, ...backups]);
  const rows = ui.clusters.map(clusterView);
  rebind($('[data-view="clusters"] table[data-testid="cluster-table"]'), { Clusters: rows });
  const c = cluster(ui.selectedCluster);
  const el = $('[data-bind="cluster"]');
  if (!c) {
    rebind(el, { Selected: false, Hsms: [], Zonelist: [] });
    return;
  }
  const zones = Object.entries(c.SubnetMapping || {}).sort().map(([zone, subnet]) => {
    const n = c.Hsms.filter((h) => h.AvailabilityZone === zone).length;
    return { Zone: zone, Label: `${zone} (${subnet}, ${n} HSM${n === 1 ? "" : "s"})` };
  });
  const hsms = c.Hsms.map((h) => ({ ...h, DeleteLabel: `Delete ${h.HsmId}` }));
  rebind(el, { ...clusterView(c), Selected: true, Next: nextStep(c), Hsms: hsms, Zonelist: zones });
}

export function nextStep(c) {
  const active = c.Hsms.filter((h) => h.State === "ACTIVE").length;
  const creating = c.Hsms.some((h) => h.State.endsWith("_IN_PROGRESS"));
  if (c.State === "CREATE_IN_PROGRESS") return "The cluster is being created (3 virtual minutes). Jump the clock, or wait.";
  if (creating) return "An HSM is being created (8 virtual minutes). Jump the clock, or wait.";
  if (c.State === "UNINITIALIZED" && active === 0) return "Next: add an HSM.";
  if (c.State === "UNINITIALIZED") return "Next: initialize the cluster.";
  if (c.State === "INITIALIZE_IN_PROGRESS") return "The cluster is being initialized (2 virtual minutes).";
  if (c.State === "INITIALIZED") return "Next: activate the cluster.";
  if (c.State === "ACTIVE" && active < 2) return "Next: add a second HSM in another Availability Zone (AWS KMS needs two).";
  if (c.State === "ACTIVE") return "Ready: create kmsuser if you have not, then create a key store for this cluster.";
  return `The cluster is ${c.State}.`;
}

export function setupClusters() {
  $("#cluster-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const subnets = $("#cluster-subnets").value.split(/[\s,]+/).filter(Boolean);
    const body = { HsmType: $("#cluster-hsm-type").value };
    if ($("#cluster-backup").value) body.SourceBackupId = $("#cluster-backup").value;
    body.SubnetIds = subnets;
    const out = await run("clusters-banner", "BaldrApiService.CreateCluster", body);
    if (out) {
      ui.selectedCluster = out.Cluster.ClusterId;
      showBanner("clusters-banner", "success", "Cluster created", `Creating cluster ${out.Cluster.ClusterId} (3 virtual minutes).`);
    }
    await refresh({ quiet: true });
  });
  $('[data-view="clusters"]').addEventListener("change", (e) => {
    if (e.target.name === "cluster") {
      ui.selectedCluster = e.target.value;
      render();
    }
  });
  $('[data-view="clusters"]').addEventListener("click", async (e) => {
    const del = e.target.closest("[data-delete-hsm]");
    const btn = e.target.closest("[data-cluster-action]");
    const id = ui.selectedCluster;
    if (!id || (!del && !btn)) return;
    const B = "clusters-banner";
    if (del) {
      await run(B, "BaldrApiService.DeleteHsm", { ClusterId: id, HsmId: del.dataset.hsm });
    } else if (btn.dataset.clusterAction === "create-hsm") {
      await run(B, "BaldrApiService.CreateHsm", { AvailabilityZone: $("#hsm-az").value, ClusterId: id });
    } else if (btn.dataset.clusterAction === "initialize") {
      const signed = await run(B, "Simulator.SignClusterCsr", { ClusterId: id });
      if (signed) {
        const init = await run(B, "BaldrApiService.InitializeCluster", { ClusterId: id, SignedCert: signed.SignedCert, TrustAnchor: signed.TrustAnchor });
        if (init) {
          ui.anchors[id] = signed.TrustAnchor;
          showBanner(B, "success", "Initializing", `Cluster ${id} is being initialized. The sandbox keeps its trust anchor (customerCA.crt) for the key store form.`);
        }
      }
    } else if (btn.dataset.clusterAction === "activate") {
      if (await run(B, "Simulator.ActivateCluster", { AdminPassword: $("#admin-password").value, ClusterId: id })) {
        showBanner(B, "success", "Activated", `Cluster ${id} is ACTIVE.`);
      }
    } else if (btn.dataset.clusterAction === "create-kmsuser") {
      if (await run(B, "Simulator.CreateCryptoUser", { ClusterId: id, Password: $("#kmsuser-password").value, Username: "kmsuser" })) {
        showBanner(B, "success", "kmsuser created", `Created the crypto user kmsuser in cluster ${id}.`);
      }
    }
    await refresh({ quiet: true });
  });
}
