package engine

import (
	"fmt"
	"testing"
)

// TestStateOperationTable runs every custom key store operation in every
// connection state and checks the outcome against AWS's documented rules
// (the ConnectCustomKeyStore, DisconnectCustomKeyStore,
// UpdateCustomKeyStore and DeleteCustomKeyStore references), written out
// here independently of the engine's own table.
func TestStateOperationTable(t *testing.T) {
	const ok, invalid = "ok", "CustomKeyStoreInvalidStateException"
	want := map[string]map[ConnectionState]string{
		"Connect":        {Disconnected: ok, Connecting: ok, Connected: ok, Disconnecting: invalid, Failed: invalid},
		"Disconnect":     {Disconnected: invalid, Connecting: ok, Connected: ok, Disconnecting: invalid, Failed: ok},
		"Rename":         {Disconnected: ok, Connecting: ok, Connected: ok, Disconnecting: ok, Failed: ok},
		"UpdatePassword": {Disconnected: ok, Connecting: invalid, Connected: invalid, Disconnecting: invalid, Failed: invalid},
		"UpdateCluster":  {Disconnected: ok, Connecting: invalid, Connected: invalid, Disconnecting: invalid, Failed: invalid},
		"Delete":         {Disconnected: ok, Connecting: invalid, Connected: invalid, Disconnecting: invalid, Failed: invalid},
		"Describe":       {Disconnected: ok, Connecting: ok, Connected: ok, Disconnecting: ok, Failed: ok},
	}
	// What the store's state is right after a successful call.
	after := map[string]func(from ConnectionState) string{
		"Connect": func(from ConnectionState) string {
			if from == Disconnected {
				return "CONNECTING"
			}
			return string(from)
		},
		"Disconnect": func(ConnectionState) string { return "DISCONNECTING" },
		"Delete":     func(ConnectionState) string { return "(deleted)" },
	}
	for opName, states := range want {
		for _, st := range ConnectionStates {
			t.Run(fmt.Sprintf("state=%s,op=%s", st, opName), func(t *testing.T) {
				s := newSandbox(t)
				cluster, anchor := s.cluster([]string{"subnet-0a000001", "subnet-0a000002"}, "us-east-1a", "us-east-1b")
				related := s.restoreCluster(s.newestBackup(cluster), "subnet-0d000001", "subnet-0d000002")
				ks := s.store("store", cluster, anchor)
				id := map[string]any{"CustomKeyStoreId": ks}
				switch st {
				case Connecting:
					s.ok("TrentService.ConnectCustomKeyStore", id)
				case Connected:
					s.connect(ks)
				case Disconnecting:
					s.connect(ks)
					s.ok("TrentService.DisconnectCustomKeyStore", id)
				case Failed:
					s.ok("Simulator.InjectConnectFault", map[string]any{"CustomKeyStoreId": ks, "ConnectionErrorCode": "INTERNAL_ERROR"})
					s.connect(ks)
				}
				if got := s.state(ks); got != string(st) && !(st == Failed && got == "FAILED/INTERNAL_ERROR") {
					t.Fatalf("set-up reached %s, want %s", got, st)
				}
				var target string
				req := map[string]any{"CustomKeyStoreId": ks}
				switch opName {
				case "Connect":
					target = "TrentService.ConnectCustomKeyStore"
				case "Disconnect":
					target = "TrentService.DisconnectCustomKeyStore"
				case "Rename":
					target, req["NewCustomKeyStoreName"] = "TrentService.UpdateCustomKeyStore", "renamed"
				case "UpdatePassword":
					target, req["KeyStorePassword"] = "TrentService.UpdateCustomKeyStore", "newPassword1"
				case "UpdateCluster":
					target, req["CloudHsmClusterId"] = "TrentService.UpdateCustomKeyStore", related
				case "Delete":
					target = "TrentService.DeleteCustomKeyStore"
				case "Describe":
					target = "TrentService.DescribeCustomKeyStores"
				}
				before := s.e.Snapshot()
				status, resp := s.call(target, req)
				if states[st] == ok {
					if status != 200 {
						t.Fatalf("got %d %v, want success", status, resp)
					}
					if next, has := after[opName]; has {
						got := "(deleted)"
						if status, m := s.call("TrentService.DescribeCustomKeyStores", id); status == 200 {
							got = m["CustomKeyStores"].([]any)[0].(map[string]any)["ConnectionState"].(string)
						}
						if got != next(st) {
							t.Fatalf("state after the call is %s, want %s", got, next(st))
						}
					}
					return
				}
				if status != 400 || resp["__type"] != states[st] {
					t.Fatalf("got %d %v, want 400 %s", status, resp, states[st])
				}
				if string(s.e.Snapshot()) != string(before) {
					t.Fatalf("a refused call changed the sandbox")
				}
			})
		}
	}
}

func TestStoreActionRules(t *testing.T) {
	rules := StoreActionRules()
	for key, want := range map[string]string{
		"ConnectCustomKeyStore":                      "CONNECTED CONNECTING DISCONNECTED",
		"DisconnectCustomKeyStore":                   "CONNECTED CONNECTING FAILED",
		"UpdateCustomKeyStore.NewCustomKeyStoreName": "CONNECTED CONNECTING DISCONNECTED DISCONNECTING FAILED",
		"UpdateCustomKeyStore.KeyStorePassword":      "DISCONNECTED",
		"UpdateCustomKeyStore.CloudHsmClusterId":     "DISCONNECTED",
		"DeleteCustomKeyStore":                       "DISCONNECTED",
	} {
		if got := fmt.Sprint(rules[key]); got != "["+want+"]" {
			t.Errorf("%s: %s, want [%s]", key, got, want)
		}
	}
}
