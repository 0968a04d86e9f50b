package engine

import (
	"testing"
	"time"
)

// connect connects a store and waits out the connection; it returns the
// final state (with the error code for FAILED).
func (s *sandbox) connect(id string) string {
	s.t.Helper()
	s.ok("TrentService.ConnectCustomKeyStore", map[string]any{"CustomKeyStoreId": id})
	if got := s.state(id); got != "CONNECTING" {
		s.t.Fatalf("right after ConnectCustomKeyStore the store is %s, want CONNECTING", got)
	}
	s.advance(connectMax)
	return s.state(id)
}

func (s *sandbox) disconnect(id string) {
	s.t.Helper()
	s.ok("TrentService.DisconnectCustomKeyStore", map[string]any{"CustomKeyStoreId": id})
	if got := s.state(id); got != "DISCONNECTING" {
		s.t.Fatalf("right after DisconnectCustomKeyStore the store is %s, want DISCONNECTING", got)
	}
	s.advance(disconnectTime)
	if got := s.state(id); got != "DISCONNECTED" {
		s.t.Fatalf("after disconnecting the store is %s", got)
	}
}

func (s *sandbox) clusterOf(id string) map[string]any {
	s.t.Helper()
	m := s.ok("BaldrApiService.DescribeClusters", map[string]any{"Filters": map[string]any{"clusterIds": []string{id}}})
	return m["Clusters"].([]any)[0].(map[string]any)
}

// newestBackup returns the latest backup of a cluster.
func (s *sandbox) newestBackup(clusterID string) string {
	s.t.Helper()
	m := s.ok("BaldrApiService.DescribeBackups", map[string]any{"Filters": map[string]any{"clusterIds": []string{clusterID}}})
	list := m["Backups"].([]any)
	if len(list) == 0 {
		s.t.Fatalf("cluster %s has no backups", clusterID)
	}
	return list[0].(map[string]any)["BackupId"].(string)
}

// restoreCluster creates a cluster from a backup in new subnets, adds HSMs
// in two AZs and waits for them: AWS's fix for a lost cluster or subnet.
func (s *sandbox) restoreCluster(backup string, subnets ...string) string {
	s.t.Helper()
	m := s.ok("BaldrApiService.CreateCluster", map[string]any{"HsmType": "hsm2m.medium", "SubnetIds": subnets, "SourceBackupId": backup})
	id := m["Cluster"].(map[string]any)["ClusterId"].(string)
	s.advance(5 * time.Minute)
	if st := s.clusterOf(id)["State"]; st != "ACTIVE" {
		s.t.Fatalf("restored cluster is %v, want ACTIVE", st)
	}
	for _, az := range []string{"us-east-1a", "us-east-1b"} {
		s.ok("BaldrApiService.CreateHsm", map[string]any{"ClusterId": id, "AvailabilityZone": az})
	}
	s.advance(10 * time.Minute)
	return id
}

func (s *sandbox) deleteHSMs(clusterID string) {
	s.t.Helper()
	for _, h := range s.clusterOf(clusterID)["Hsms"].([]any) {
		s.ok("BaldrApiService.DeleteHsm", map[string]any{"ClusterId": clusterID, "HsmId": h.(map[string]any)["HsmId"]})
	}
	s.advance(5 * time.Minute)
}

// TestConnectionErrorCodes causes each of the ten connection error codes
// of a CloudHSM key store the way it happens in AWS, sees the connect end
// FAILED with that code, applies AWS's documented fix (disconnect, repair,
// update the store if needed, connect) and sees CONNECTED.
func TestConnectionErrorCodes(t *testing.T) {
	user := func(clusterID string, extra map[string]any) map[string]any {
		m := map[string]any{"ClusterId": clusterID, "Username": "kmsuser"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	setPassword := func(s *sandbox, ks, pw string) {
		s.ok("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": ks, "KeyStorePassword": pw})
	}
	tests := []struct {
		code  ConnectionErrorCode
		cause func(s *sandbox, cluster, ks string)
		fix   func(s *sandbox, cluster, ks string)
	}{
		{ErrInvalidCredentials,
			func(s *sandbox, c, ks string) {
				s.ok("Simulator.ChangeCryptoUserPassword", user(c, map[string]any{"NewPassword": "rotatedByMe2"}))
			},
			func(s *sandbox, c, ks string) { setPassword(s, ks, "rotatedByMe2") }},
		{ErrClusterNotFound,
			func(s *sandbox, c, ks string) {
				s.deleteHSMs(c)
				s.ok("BaldrApiService.DeleteCluster", map[string]any{"ClusterId": c})
				s.advance(5 * time.Minute)
			},
			func(s *sandbox, c, ks string) {
				restored := s.restoreCluster(s.newestBackup(c), "subnet-0b000001", "subnet-0b000002")
				s.ok("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": ks, "CloudHsmClusterId": restored})
			}},
		{ErrNetworkErrors,
			func(s *sandbox, c, ks string) {
				s.ok("Simulator.InjectConnectFault", map[string]any{"CustomKeyStoreId": ks, "ConnectionErrorCode": "NETWORK_ERRORS"})
			},
			func(s *sandbox, c, ks string) {}},
		{ErrInternalError,
			func(s *sandbox, c, ks string) {
				s.ok("Simulator.InjectConnectFault", map[string]any{"CustomKeyStoreId": ks, "ConnectionErrorCode": "INTERNAL_ERROR"})
			},
			func(s *sandbox, c, ks string) {}},
		{ErrInsufficientCloudHSMHSMs,
			func(s *sandbox, c, ks string) { s.deleteHSMs(c) },
			func(s *sandbox, c, ks string) {
				s.ok("BaldrApiService.CreateHsm", map[string]any{"ClusterId": c, "AvailabilityZone": "us-east-1a"})
				s.advance(10 * time.Minute)
			}},
		{ErrUserLockedOut,
			func(s *sandbox, c, ks string) {
				for i := 0; i < 5; i++ {
					s.fails("Simulator.LoginCryptoUser", user(c, map[string]any{"Password": "wrongPassword"}), "CloudHsmInvalidRequestException")
				}
				s.fails("Simulator.LoginCryptoUser", user(c, map[string]any{"Password": "kmsPassword1"}), "CloudHsmInvalidRequestException")
			},
			func(s *sandbox, c, ks string) {
				s.ok("Simulator.ChangeCryptoUserPassword", user(c, map[string]any{"NewPassword": "unlocked123"}))
				setPassword(s, ks, "unlocked123")
			}},
		{ErrUserNotFound,
			func(s *sandbox, c, ks string) { s.ok("Simulator.DeleteCryptoUser", user(c, nil)) },
			func(s *sandbox, c, ks string) {
				s.ok("Simulator.CreateCryptoUser", user(c, map[string]any{"Password": "brandNew123"}))
				setPassword(s, ks, "brandNew123")
			}},
		{ErrUserLoggedIn,
			func(s *sandbox, c, ks string) {
				// Steps 2, 3 and 5 of "How to log out and reconnect", without step 4 (log out).
				s.ok("Simulator.ChangeCryptoUserPassword", user(c, map[string]any{"NewPassword": "auditor123"}))
				s.ok("Simulator.LoginCryptoUser", user(c, map[string]any{"Password": "auditor123"}))
				setPassword(s, ks, "auditor123")
			},
			func(s *sandbox, c, ks string) { s.ok("Simulator.LogoutCryptoUser", user(c, nil)) }},
		{ErrSubnetNotFound,
			func(s *sandbox, c, ks string) {
				s.ok("Simulator.DeleteSubnet", map[string]any{"SubnetId": "subnet-0a000003"})
			},
			func(s *sandbox, c, ks string) {
				s.deleteHSMs(c) // the HSM deletions are backed up, kmsuser included
				restored := s.restoreCluster(s.newestBackup(c), "subnet-0c000001", "subnet-0c000002")
				s.ok("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": ks, "CloudHsmClusterId": restored})
			}},
		{ErrInsufficientFreeAddresses,
			func(s *sandbox, c, ks string) {
				s.ok("Simulator.SetSubnetFreeAddresses", map[string]any{"SubnetId": "subnet-0a000002", "FreeAddresses": 0})
			},
			func(s *sandbox, c, ks string) {
				s.ok("Simulator.SetSubnetFreeAddresses", map[string]any{"SubnetId": "subnet-0a000002", "FreeAddresses": 2})
			}},
	}
	if len(tests) != len(CloudHSMConnectionErrorCodes) {
		t.Fatalf("%d cases for %d codes", len(tests), len(CloudHSMConnectionErrorCodes))
	}
	for _, tc := range tests {
		t.Run(string(tc.code), func(t *testing.T) {
			s := newSandbox(t)
			cluster, anchor := s.cluster([]string{"subnet-0a000001", "subnet-0a000002", "subnet-0a000003"}, "us-east-1a", "us-east-1b")
			ks := s.store("store", cluster, anchor)
			// A first connect and disconnect: KMS now holds a password only it knows.
			if got := s.connect(ks); got != "CONNECTED" {
				t.Fatalf("first connect: %s", got)
			}
			s.disconnect(ks)

			tc.cause(s, cluster, ks)
			if got, want := s.connect(ks), "FAILED/"+string(tc.code); got != want {
				t.Fatalf("connect after the cause: %s, want %s", got, want)
			}
			s.fails("TrentService.ConnectCustomKeyStore", map[string]any{"CustomKeyStoreId": ks}, "CustomKeyStoreInvalidStateException")
			s.disconnect(ks)
			tc.fix(s, cluster, ks)
			if got := s.connect(ks); got != "CONNECTED" {
				t.Fatalf("connect after the fix: %s", got)
			}
		})
	}
}

// TestKmsuserProcedure follows "How to log out and reconnect": while the
// store is connected the user cannot log in as kmsuser; after a disconnect
// they can set a known password, log in, log out, tell KMS the password,
// and connect.
func TestKmsuserProcedure(t *testing.T) {
	s := newSandbox(t)
	cluster, anchor := s.cluster([]string{"subnet-0a000001", "subnet-0a000002"}, "us-east-1a", "us-east-1b")
	ks := s.store("store", cluster, anchor)
	if got := s.connect(ks); got != "CONNECTED" {
		t.Fatal(got)
	}
	kmsuser := map[string]any{"ClusterId": cluster, "Username": "kmsuser", "Password": "kmsPassword1"}
	// KMS rotated the password and holds the session.
	s.fails("Simulator.LoginCryptoUser", kmsuser, "CloudHsmInvalidRequestException")
	s.fails("Simulator.ChangeCryptoUserPassword", map[string]any{"ClusterId": cluster, "Username": "kmsuser", "NewPassword": "known12345"}, "CloudHsmInvalidRequestException")
	users := s.ok("Simulator.DescribeCryptoUsers", map[string]any{"ClusterId": cluster})["Users"].([]any)
	var sawKMS bool
	for _, u := range users {
		if u.(map[string]any)["LoggedInByKms"] == ks {
			sawKMS = true
		}
	}
	if !sawKMS {
		t.Fatalf("DescribeCryptoUsers does not show KMS's session: %v", users)
	}

	s.disconnect(ks)
	s.fails("Simulator.LoginCryptoUser", kmsuser, "CloudHsmInvalidRequestException") // the old password was rotated away
	s.ok("Simulator.ChangeCryptoUserPassword", map[string]any{"ClusterId": cluster, "Username": "kmsuser", "NewPassword": "known12345"})
	s.ok("Simulator.LoginCryptoUser", map[string]any{"ClusterId": cluster, "Username": "kmsuser", "Password": "known12345"})
	s.ok("Simulator.LogoutCryptoUser", map[string]any{"ClusterId": cluster, "Username": "kmsuser"})
	s.ok("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": ks, "KeyStorePassword": "known12345"})
	if got := s.connect(ks); got != "CONNECTED" {
		t.Fatal(got)
	}
	// And the password was rotated again.
	s.disconnect(ks)
	s.fails("Simulator.LoginCryptoUser", map[string]any{"ClusterId": cluster, "Username": "kmsuser", "Password": "known12345"}, "CloudHsmInvalidRequestException")
}

// TestConnectSideEffects checks the network infrastructure KMS creates on
// connect (the kms-<id> security group, one ENI per AZ) and removes on
// disconnect.
func TestConnectSideEffects(t *testing.T) {
	s := newSandbox(t)
	cluster, anchor := s.cluster([]string{"subnet-0a000001", "subnet-0a000002"}, "us-east-1a", "us-east-1b")
	ks := s.store("store", cluster, anchor)
	count := func() (groups, kmsENIs int) {
		n := s.ok("Simulator.DescribeNetwork", "{}")
		for _, g := range n["SecurityGroups"].([]any) {
			if g.(map[string]any)["GroupName"] == "kms-"+ks {
				groups++
			}
		}
		for _, e := range n["NetworkInterfaces"].([]any) {
			if e.(map[string]any)["Description"] == "KMS managed ENI for cluster "+cluster {
				kmsENIs++
			}
		}
		return
	}
	if g, e := count(); g != 0 || e != 0 {
		t.Fatalf("before connect: %d groups, %d ENIs", g, e)
	}
	s.connect(ks)
	if g, e := count(); g != 1 || e != 2 {
		t.Fatalf("connected: %d kms- groups, %d KMS ENIs; want 1 and 2", g, e)
	}
	s.disconnect(ks)
	if g, e := count(); g != 0 || e != 0 {
		t.Fatalf("after disconnect: %d groups, %d ENIs", g, e)
	}
}

// TestSynchronousConnectFailures: a cluster that is not active or is
// misconfigured fails ConnectCustomKeyStore at once and the store stays
// DISCONNECTED.
func TestSynchronousConnectFailures(t *testing.T) {
	s := newSandbox(t)
	cluster, anchor := s.cluster([]string{"subnet-0a000001", "subnet-0a000002"}, "us-east-1a", "us-east-1b")
	ks := s.store("store", cluster, anchor)
	sg := s.clusterOf(cluster)["SecurityGroup"]
	for _, dir := range []string{"INBOUND", "OUTBOUND"} {
		s.ok("Simulator.RevokeSecurityGroupRule", map[string]any{"GroupId": sg, "Direction": dir})
		s.fails("TrentService.ConnectCustomKeyStore", map[string]any{"CustomKeyStoreId": ks}, "CloudHsmClusterInvalidConfigurationException")
		if got := s.state(ks); got != "DISCONNECTED" {
			t.Fatalf("state after a synchronous failure: %s", got)
		}
		s.ok("Simulator.AuthorizeSecurityGroupRule", map[string]any{"GroupId": sg, "Direction": dir})
	}
	if got := s.connect(ks); got != "CONNECTED" {
		t.Fatal(got)
	}
}
