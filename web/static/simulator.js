// simulator.js: the Simulator page: the causes of each connection error
// code, the virtual clock, and the sandbox itself.
import { reset, exportFile, importFile, shareLink } from "./engine.js";
import { $, $$, ui, exceptionName, exceptionMessage, api, showBanner, showError, run, refresh, cluster, localTime, clusterLabel, rebind, setOptions, simCluster } from "./ui.js";

export function renderSimulator() {
  const clusters = ui.clusters.map((c) => ({ ClusterId: c.ClusterId, Label: clusterLabel(c) }));
  setOptions($("#sim-cluster"), clusters, $("#sim-cluster").value || ui.selectedCluster || undefined);
  setOptions($("#sim-store"), ui.stores.map((s) => ({ ID: s.CustomKeyStoreId, Label: `${s.CustomKeyStoreName} (${s.ConnectionState})` })), $("#sim-store").value || ui.selectedStore || undefined);
  const c = cluster(simCluster());
  const ids = new Set(Object.values((c && c.SubnetMapping) || {}));
  const subnets = (ui.network.Subnets || []).filter((n) => ids.has(n.SubnetId)).map((n) => ({
    SubnetId: n.SubnetId,
    Label: `${n.SubnetId} (${n.AvailabilityZone}, ${n.AvailableIpAddressCount} free)`,
  }));
  setOptions($("#sim-subnet"), subnets);
  rebind($('[data-testid="users"]'), {
    Users: ui.users.map((u) => ({
      ...u,
      LoggedInText: u.LoggedInByKms ? `by AWS KMS (${u.LoggedInByKms})` : u.LoggedIn ? "yes" : "no",
      LockedOutText: u.LockedOut ? "yes" : "no",
    })),
  });
  if (ui.clock) {
    rebind($('[data-bind="clock"]'), { Local: localTime(ui.clock.Now) });
    const speed = $("#clock-speed");
    if (document.activeElement !== speed) {
      const v = String(ui.clock.Speed);
      if (!$$("option:not([hidden])", speed).some((o) => o.value === v)) rebind($('[data-bind="speed-other"]'), { Value: v, Label: `${v}×` });
      speed.value = v;
    }
  }
}

export async function deleteAllHsms(B, c) {
  for (const h of c.Hsms) {
    if (h.State !== "DELETE_IN_PROGRESS") await run(B, "BaldrApiService.DeleteHsm", { ClusterId: c.ClusterId, HsmId: h.HsmId });
  }
}

export async function simulate(what) {
  const B = "sim-banner";
  const cid = simCluster();
  const c = cluster(cid);
  const sid = $("#sim-store").value;
  const subnet = $("#sim-subnet").value;
  const pw = $("#sim-password").value;
  const group = c && c.SecurityGroup;
  const user = { ClusterId: cid, Username: "kmsuser" };
  const done = (msg) => showBanner(B, "success", "Done", msg);
  switch (what) {
    case "change-password":
      if (await run(B, "Simulator.ChangeCryptoUserPassword", { ...user, NewPassword: pw })) done(`kmsuser's password is now ${pw}; AWS KMS does not know it.`);
      break;
    case "login":
      if (await run(B, "Simulator.LoginCryptoUser", { ...user, Password: pw })) done("You are logged in as kmsuser.");
      break;
    case "logout":
      if (await run(B, "Simulator.LogoutCryptoUser", user)) done("kmsuser is logged out.");
      break;
    case "delete-user":
      if (await run(B, "Simulator.DeleteCryptoUser", user)) done("kmsuser is deleted.");
      break;
    case "create-user":
      if (await run(B, "Simulator.CreateCryptoUser", { ...user, Password: pw })) done(`kmsuser is created with password ${pw}.`);
      break;
    case "lockout": {
      let last = null;
      for (let i = 0; i < 5; i++) {
        last = await api("Simulator.LoginCryptoUser", { ...user, Password: "wrongPassword0" });
      }
      showBanner(B, "info", "Five failed logins", `The last answer was ${exceptionName(last.body)}: ${exceptionMessage(last.body)}`);
      break;
    }
    case "delete-hsms":
      if (c) {
        await deleteAllHsms(B, c);
        done(`Deleting every HSM of ${cid} (2 virtual minutes).`);
      }
      break;
    case "delete-cluster":
      if (c) {
        await deleteAllHsms(B, c);
        await api("Simulator.AdvanceClock", { Seconds: 180 });
        if (await run(B, "BaldrApiService.DeleteCluster", { ClusterId: cid })) {
          await api("Simulator.AdvanceClock", { Seconds: 300 });
          done(`Deleted cluster ${cid} (the clock jumped ahead while its HSMs and then the cluster were deleted).`);
        }
      }
      break;
    case "delete-subnet":
      if (await run(B, "Simulator.DeleteSubnet", { SubnetId: subnet })) done(`Deleted subnet ${subnet}.`);
      break;
    case "fill-subnet":
      if (await run(B, "Simulator.SetSubnetFreeAddresses", { FreeAddresses: 0, SubnetId: subnet })) done(`Subnet ${subnet} has no free addresses.`);
      break;
    case "free-subnet":
      if (await run(B, "Simulator.SetSubnetFreeAddresses", { FreeAddresses: 10, SubnetId: subnet })) done(`Subnet ${subnet} has 10 free addresses.`);
      break;
    case "fault-network":
    case "fault-internal": {
      const code = what === "fault-network" ? "NETWORK_ERRORS" : "INTERNAL_ERROR";
      if (await run(B, "Simulator.InjectConnectFault", { ConnectionErrorCode: code, CustomKeyStoreId: sid })) done(`The next connect of ${sid} fails with ${code}.`);
      break;
    }
    default: {
      const m = /^(revoke|authorize)-(inbound|outbound)$/.exec(what);
      if (m && group) {
        const target = m[1] === "revoke" ? "Simulator.RevokeSecurityGroupRule" : "Simulator.AuthorizeSecurityGroupRule";
        if (await run(B, target, { Direction: m[2].toUpperCase(), GroupId: group })) done(`${m[1] === "revoke" ? "Revoked" : "Authorized"} the ${m[2]} rule of ${group}.`);
      }
    }
  }
  await refresh({ quiet: true, extra: true });
}

export function setupSimulator() {
  const view = $('[data-view="simulator"]');
  view.addEventListener("click", async (e) => {
    const sim = e.target.closest("[data-sim]");
    const sb = e.target.closest("[data-sandbox]");
    if (sim) await simulate(sim.dataset.sim);
    else if (sb) await sandboxAction(sb.dataset.sandbox);
  });
  $("#clock-speed").addEventListener("change", async (e) => {
    await run("sim-banner", "Simulator.SetClockSpeed", { Speed: Number(e.target.value) });
    await refresh({ quiet: true });
  });
  $("#sim-cluster").addEventListener("change", () => refresh({ extra: true }));
  $("#sandbox-import-file").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    try {
      const res = await importFile(file);
      if (res.status === 200) showBanner("sim-banner", "success", "Imported", `Imported the sandbox from ${file.name}.`);
      else showError("sim-banner", res);
    } catch (err) {
      showBanner("sim-banner", "error", "Cannot import", String(err.message || err));
    }
    e.target.value = "";
    ui.selectedStore = ui.selectedCluster = null;
    await refresh({ quiet: true, extra: true });
  });
}

export async function sandboxAction(what) {
  if (what === "reset") {
    await reset();
    ui.selectedStore = ui.selectedCluster = null;
    ui.anchors = {};
    showBanner("sim-banner", "success", "Reset", "The sandbox is new and empty.");
  } else if (what === "export") {
    await exportFile();
    showBanner("sim-banner", "success", "Exported", "Downloaded keystorelab-sandbox.json.");
  } else if (what === "share") {
    const link = await shareLink();
    rebind($('[data-bind="share"]'), { Link: link });
    $("#share-link").focus();
    $("#share-link").select();
  }
  await refresh({ quiet: true, extra: true });
}
