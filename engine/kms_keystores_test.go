package engine

import (
	"fmt"
	"strings"
	"testing"
)

func TestCreateCustomKeyStoreRules(t *testing.T) {
	s := newSandbox(t)
	cluster, anchor := s.cluster([]string{"subnet-0a000001", "subnet-0a000002"}, "us-east-1a", "us-east-1b")
	req := func(name, cluster, anchor, pw string) map[string]any {
		return map[string]any{"CustomKeyStoreName": name, "CloudHsmClusterId": cluster, "TrustAnchorCertificate": anchor, "KeyStorePassword": pw}
	}
	ks := s.store("first", cluster, anchor)

	t.Run("idempotent for an identical disconnected store", func(t *testing.T) {
		m := s.ok("TrentService.CreateCustomKeyStore", req("first", cluster, anchor, "kmsPassword1"))
		if m["CustomKeyStoreId"] != ks {
			t.Fatalf("got %v, want the existing %s", m["CustomKeyStoreId"], ks)
		}
		if n := len(s.ok("TrentService.DescribeCustomKeyStores", "{}")["CustomKeyStores"].([]any)); n != 1 {
			t.Fatalf("%d stores after an idempotent create", n)
		}
	})
	t.Run("name in use", func(t *testing.T) {
		s.fails("TrentService.CreateCustomKeyStore", req("first", cluster, anchor, "otherPassword"), "CustomKeyStoreNameInUseException")
	})
	t.Run("cluster in use", func(t *testing.T) {
		s.fails("TrentService.CreateCustomKeyStore", req("second", cluster, anchor, "kmsPassword1"), "CloudHsmClusterInUseException")
	})
	t.Run("related cluster in use", func(t *testing.T) {
		related := s.restoreCluster(s.newestBackup(cluster), "subnet-0e000001", "subnet-0e000002")
		s.fails("TrentService.CreateCustomKeyStore", req("second", related, anchor, "kmsPassword1"), "CloudHsmClusterInUseException")
	})
	t.Run("cluster not found", func(t *testing.T) {
		s.fails("TrentService.CreateCustomKeyStore", req("second", "cluster-234567abcde", anchor, "kmsPassword1"), "CloudHsmClusterNotFoundException")
	})
	other, otherAnchor := s.cluster([]string{"subnet-0f000001", "subnet-0f000002"}, "us-east-1a", "us-east-1b")
	t.Run("incorrect trust anchor", func(t *testing.T) {
		s.fails("TrentService.CreateCustomKeyStore", req("second", other, anchor, "kmsPassword1"), "IncorrectTrustAnchorException")
		s.fails("TrentService.CreateCustomKeyStore", req("second", other, "not a certificate", "kmsPassword1"), "IncorrectTrustAnchorException")
	})
	t.Run("not active", func(t *testing.T) {
		c := s.ok("BaldrApiService.CreateCluster", map[string]any{"HsmType": "hsm2m.medium", "SubnetIds": []string{"subnet-0f100001", "subnet-0f100002"}})
		id := c["Cluster"].(map[string]any)["ClusterId"].(string)
		s.fails("TrentService.CreateCustomKeyStore", req("second", id, anchor, "kmsPassword1"), "CloudHsmClusterNotActiveException")
	})
	t.Run("one HSM is not enough", func(t *testing.T) {
		hsm := s.clusterOf(other)["Hsms"].([]any)[1].(map[string]any)["HsmId"]
		s.ok("BaldrApiService.DeleteHsm", map[string]any{"ClusterId": other, "HsmId": hsm})
		s.advance(5 * 60e9)
		msg := s.fails("TrentService.CreateCustomKeyStore", req("second", other, otherAnchor, "kmsPassword1"), "CloudHsmClusterInvalidConfigurationException")
		if !strings.Contains(msg, "two active HSMs") {
			t.Fatalf("message does not say why: %s", msg)
		}
		s.ok("BaldrApiService.CreateHsm", map[string]any{"ClusterId": other, "AvailabilityZone": "us-east-1b"})
		s.advance(10 * 60e9)
		s.ok("TrentService.CreateCustomKeyStore", req("second", other, otherAnchor, "kmsPassword1"))
	})
	t.Run("an external key store needs its proxy configuration", func(t *testing.T) {
		s.fails("TrentService.CreateCustomKeyStore", map[string]any{"CustomKeyStoreName": "x", "CustomKeyStoreType": "EXTERNAL_KEY_STORE"}, "ValidationException")
	})
	t.Run("quota of ten stores", func(t *testing.T) {
		s2 := newSandbox(t)
		for i := 0; i < 10; i++ {
			c, a := s2.cluster([]string{fmt.Sprintf("subnet-1a0000%02d", 2*i), fmt.Sprintf("subnet-1a0000%02d", 2*i+1)}, "us-east-1a", "us-east-1b")
			s2.store(fmt.Sprintf("store-%d", i), c, a)
		}
		c, a := s2.cluster([]string{"subnet-1b000001", "subnet-1b000002"}, "us-east-1a", "us-east-1b")
		s2.fails("TrentService.CreateCustomKeyStore", req("eleventh", c, a, "kmsPassword1"), "LimitExceededException")
	})
}

func TestValidationMessages(t *testing.T) {
	s := newSandbox(t)
	tests := []struct {
		target, body, want string
	}{
		{"TrentService.CreateCustomKeyStore", `{}`,
			"1 validation error detected: Value null at 'customKeyStoreName' failed to satisfy constraint: Member must not be null"},
		{"TrentService.CreateCustomKeyStore", `{"CustomKeyStoreName":"","CloudHsmClusterId":"cluster-1","KeyStorePassword":"short"}`,
			"4 validation errors detected: Value '' at 'customKeyStoreName' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value 'cluster-1' at 'cloudHsmClusterId' failed to satisfy constraint: Member must have length greater than or equal to 19; " +
				"Value 'cluster-1' at 'cloudHsmClusterId' failed to satisfy constraint: Member must satisfy regular expression pattern: cluster-[2-7a-zA-Z]{11,16}; " +
				"Value at 'keyStorePassword' failed to satisfy constraint: Member must have length greater than or equal to 7"},
		{"TrentService.CreateCustomKeyStore", `{"CustomKeyStoreName":"n","CustomKeyStoreType":"HSM"}`,
			"1 validation error detected: Value 'HSM' at 'customKeyStoreType' failed to satisfy constraint: Member must satisfy enum value set: [AWS_CLOUDHSM, EXTERNAL_KEY_STORE]"},
		{"TrentService.DescribeCustomKeyStores", `{"Limit":0}`,
			"1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"TrentService.ConnectCustomKeyStore", `{}`,
			"1 validation error detected: Value null at 'customKeyStoreId' failed to satisfy constraint: Member must not be null"},
		{"TrentService.UpdateCustomKeyStore", `{"CustomKeyStoreId":"cks-1","KeyStorePassword":"` + strings.Repeat("p", 33) + `"}`,
			"1 validation error detected: Value at 'keyStorePassword' failed to satisfy constraint: Member must have length less than or equal to 32"},
	}
	for _, tc := range tests {
		msg := s.fails(tc.target, tc.body, "ValidationException")
		if msg != tc.want {
			t.Errorf("%s %s:\n got %s\nwant %s", tc.target, tc.body, msg, tc.want)
		}
		if strings.Contains(msg, "short") || strings.Contains(msg, "ppppp") {
			t.Errorf("a password appears in the message: %s", msg)
		}
	}
}

func TestWireErrors(t *testing.T) {
	s := newSandbox(t)
	for _, tc := range []struct{ target, body, want string }{
		{"TrentService.DescribeCustomKeyStores", `{"Limit":`, "SerializationException"},
		{"TrentService.DescribeCustomKeyStores", `{"Limit":"ten"}`, "SerializationException"},
		{"TrentService.DescribeCustomKeyStores", `[1,2]`, "SerializationException"},
		{"TrentService.NoSuchThing", `{}`, "UnknownOperationException"},
		{"", `{}`, "UnknownOperationException"},
		{"TrentService.CreateGrant", `{}`, "UnsupportedOperationException"},
		{"TrentService.DescribeCustomKeyStores", `{"CustomKeyStoreId":"cks-00000000000000000"}`, "CustomKeyStoreNotFoundException"},
		{"TrentService.DescribeCustomKeyStores", `{"CustomKeyStoreName":"nobody"}`, "CustomKeyStoreNotFoundException"},
		{"TrentService.DescribeCustomKeyStores", `{"CustomKeyStoreName":"a","CustomKeyStoreId":"b"}`, "ValidationException"},
		{"TrentService.DescribeCustomKeyStores", `{"Marker":"garbage"}`, "InvalidMarkerException"},
		{"TrentService.DeleteCustomKeyStore", `{"CustomKeyStoreId":"cks-00000000000000000"}`, "CustomKeyStoreNotFoundException"},
		{"BaldrApiService.DescribeClusters", `{"Filters":{"color":["red"]}}`, "CloudHsmInvalidRequestException"},
		{"BaldrApiService.InitializeCluster", `{"ClusterId":"cluster-234567abcde","SignedCert":"x","TrustAnchor":"y"}`, "CloudHsmResourceNotFoundException"},
	} {
		status, m := s.call(tc.target, tc.body)
		if status != 400 || m["__type"] != tc.want {
			t.Errorf("%q %s: got %d %v, want 400 %s", tc.target, tc.body, status, m, tc.want)
		}
	}
	// CloudHSM v2 spells the member "Message"; KMS "message".
	if _, m := s.call("BaldrApiService.DeleteCluster", `{"ClusterId":"cluster-234567abcde"}`); m["Message"] == nil || m["message"] != nil {
		t.Errorf("CloudHSM error body: %v", m)
	}
}

func TestDescribePagination(t *testing.T) {
	s := newSandbox(t)
	var ids []string
	for i := 0; i < 5; i++ {
		c, a := s.cluster([]string{fmt.Sprintf("subnet-2a0000%02d", 2*i), fmt.Sprintf("subnet-2a0000%02d", 2*i+1)}, "us-east-1a", "us-east-1b")
		ids = append(ids, s.store(fmt.Sprintf("store-%d", i), c, a))
	}
	var got []string
	var marker any
	pages := 0
	for {
		req := map[string]any{"Limit": 2}
		if marker != nil {
			req["Marker"] = marker
		}
		m := s.ok("TrentService.DescribeCustomKeyStores", req)
		pages++
		for _, e := range m["CustomKeyStores"].([]any) {
			got = append(got, e.(map[string]any)["CustomKeyStoreId"].(string))
		}
		marker = m["NextMarker"]
		if (marker != nil) != m["Truncated"].(bool) {
			t.Fatalf("NextMarker %v with Truncated %v", marker, m["Truncated"])
		}
		if marker == nil {
			break
		}
		if pages == 2 {
			// Deleting a store that was already listed does not disturb the next page.
			s.ok("TrentService.DeleteCustomKeyStore", map[string]any{"CustomKeyStoreId": ids[0]})
		}
	}
	if pages != 3 || strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Fatalf("%d pages %v, want 3 pages %v", pages, got, ids)
	}
}

func TestUpdateRules(t *testing.T) {
	s := newSandbox(t)
	cluster, anchor := s.cluster([]string{"subnet-0a000001", "subnet-0a000002"}, "us-east-1a", "us-east-1b")
	other, otherAnchor := s.cluster([]string{"subnet-0b000001", "subnet-0b000002"}, "us-east-1a", "us-east-1b")
	ks := s.store("one", cluster, anchor)
	s.store("two", other, otherAnchor)
	s.fails("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": ks, "NewCustomKeyStoreName": "two"}, "CustomKeyStoreNameInUseException")
	s.fails("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": ks, "CloudHsmClusterId": other}, "CloudHsmClusterNotRelatedException")
	s.fails("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": ks, "CloudHsmClusterId": "cluster-234567abcde"}, "CloudHsmClusterNotFoundException")
	s.fails("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": ks, "XksProxyUriPath": "/kms/xks/v1"}, "ValidationException")
	// A refused update changes nothing, even the parts that were allowed.
	s.fails("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": ks, "NewCustomKeyStoreName": "renamed", "CloudHsmClusterId": other}, "CloudHsmClusterNotRelatedException")
	if name := s.describe(ks)["CustomKeyStoreName"]; name != "one" {
		t.Fatalf("name changed to %v by a refused update", name)
	}
	s.ok("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": ks, "NewCustomKeyStoreName": "renamed"})
	if name := s.describe(ks)["CustomKeyStoreName"]; name != "renamed" {
		t.Fatalf("name is %v", name)
	}
}

func TestSecretsNeverReturned(t *testing.T) {
	s := newSandbox(t)
	cluster, anchor := s.cluster([]string{"subnet-0a000001", "subnet-0a000002"}, "us-east-1a", "us-east-1b")
	ks := s.store("one", cluster, anchor)
	s.connect(ks)
	for _, target := range []string{"TrentService.DescribeCustomKeyStores", "BaldrApiService.DescribeClusters", "Simulator.DescribeNetwork"} {
		_, out := s.e.Handle(t0, target, []byte("{}"))
		if strings.Contains(string(out), "kmsPassword1") || strings.Contains(strings.ToLower(string(out)), "password") {
			t.Errorf("%s mentions a password: %s", target, out)
		}
	}
	_, out := s.e.Handle(t0, "Simulator.DescribeCryptoUsers", []byte(`{"ClusterId":"`+cluster+`"}`))
	if strings.Contains(string(out), "kmsPassword1") || strings.Contains(string(out), "digest") {
		t.Errorf("DescribeCryptoUsers shows secrets: %s", out)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := newSandbox(t)
	cluster, anchor := s.cluster([]string{"subnet-0a000001", "subnet-0a000002"}, "us-east-1a", "us-east-1b")
	ks := s.store("one", cluster, anchor)
	s.ok("TrentService.ConnectCustomKeyStore", map[string]any{"CustomKeyStoreId": ks})
	snap := s.e.Snapshot()
	restored, err := Restore(snap, t0)
	if err != nil {
		t.Fatal(err)
	}
	if string(restored.Snapshot()) != string(snap) {
		t.Fatal("snapshot of a restored engine differs")
	}
	// Both go on identically: the same connect outcome, the same IDs.
	r := &sandbox{t: t, e: restored}
	s.advance(connectMax)
	r.advance(connectMax)
	a, _ := s.call("Simulator.ExportSnapshot", "{}")
	b, _ := r.call("Simulator.ExportSnapshot", "{}")
	if a != 200 || b != 200 || string(s.e.Snapshot()) != string(restored.Snapshot()) {
		t.Fatal("engines diverged after a restore")
	}
	if r.state(ks) != "CONNECTED" {
		t.Fatal(r.state(ks))
	}
	if _, err := Restore([]byte(`{"format":"other"}`), t0); err == nil {
		t.Fatal("Restore accepted an unknown format")
	}
}

func TestDescribeClusterTrustAnchor(t *testing.T) {
	s := newSandbox(t)
	cluster, anchor := s.cluster([]string{"subnet-0a000001", "subnet-0a000002"}, "us-east-1a", "us-east-1b")
	if got := s.ok("Simulator.DescribeClusterTrustAnchor", map[string]any{"ClusterId": cluster})["TrustAnchor"]; got != anchor {
		t.Fatalf("trust anchor %v, want the one the cluster was initialized with", got)
	}
	c := s.ok("BaldrApiService.CreateCluster", map[string]any{"HsmType": "hsm2m.medium", "SubnetIds": []string{"subnet-0f100001"}})
	s.fails("Simulator.DescribeClusterTrustAnchor", map[string]any{"ClusterId": c["Cluster"].(map[string]any)["ClusterId"]}, "CloudHsmInvalidRequestException")
}
