package engine

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"
)

// keyRig is a sandbox with one connected store of each type and a key in
// each, plus an AWS_KMS key.
type keyRig struct {
	*sandbox
	hsmStore, xksStoreID string
	clusterID            string
	keys                 map[string]string // origin -> key ID
}

func newKeyRig(t testing.TB) *keyRig {
	s := newSandbox(t)
	r := &keyRig{sandbox: s, keys: map[string]string{}}
	var anchor string
	r.clusterID, anchor = s.cluster([]string{"subnet-0a000001", "subnet-0a000002"}, "us-east-1a", "us-east-1b")
	r.hsmStore = s.store("hsm", r.clusterID, anchor)
	s.proxy()
	r.xksStoreID = s.ok("TrentService.CreateCustomKeyStore", xksStore("xks"))["CustomKeyStoreId"].(string)
	s.ok("TrentService.ConnectCustomKeyStore", map[string]any{"CustomKeyStoreId": r.hsmStore})
	s.ok("TrentService.ConnectCustomKeyStore", map[string]any{"CustomKeyStoreId": r.xksStoreID})
	s.advance(20 * time.Minute)
	if r.state(r.hsmStore) != "CONNECTED" || r.state(r.xksStoreID) != "CONNECTED" {
		t.Fatalf("stores did not connect: %s %s", r.state(r.hsmStore), r.state(r.xksStoreID))
	}
	r.keys[OriginAWSKMS] = r.createKey(map[string]any{})
	r.keys[OriginCloudHSM] = r.createKey(map[string]any{"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": r.hsmStore})
	r.keys[OriginXKS] = r.createKey(map[string]any{"Origin": "EXTERNAL_KEY_STORE", "CustomKeyStoreId": r.xksStoreID, "XksKeyId": "key-1"})
	return r
}

func (r *keyRig) createKey(req map[string]any) string {
	r.t.Helper()
	return r.ok("TrentService.CreateKey", req)["KeyMetadata"].(map[string]any)["KeyId"].(string)
}

func (r *keyRig) keyState(id string) string {
	r.t.Helper()
	return r.ok("TrentService.DescribeKey", map[string]any{"KeyId": id})["KeyMetadata"].(map[string]any)["KeyState"].(string)
}

func (r *keyRig) encrypt(id string, pt []byte, ctx map[string]string) []byte {
	r.t.Helper()
	m := r.ok("TrentService.Encrypt", map[string]any{"KeyId": id, "Plaintext": pt, "EncryptionContext": ctx})
	b, err := base64.StdEncoding.DecodeString(m["CiphertextBlob"].(string))
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

func (r *keyRig) decrypt(blob []byte, ctx map[string]string) []byte {
	r.t.Helper()
	m := r.ok("TrentService.Decrypt", map[string]any{"CiphertextBlob": blob, "EncryptionContext": ctx})
	b, _ := base64.StdEncoding.DecodeString(m["Plaintext"].(string))
	return b
}

var origins3 = []string{OriginAWSKMS, OriginCloudHSM, OriginXKS}

func TestKeyMetadata(t *testing.T) {
	r := newKeyRig(t)
	for _, origin := range origins3 {
		m := r.ok("TrentService.DescribeKey", map[string]any{"KeyId": r.keys[origin]})["KeyMetadata"].(map[string]any)
		if m["Origin"] != origin || m["KeyState"] != "Enabled" || m["Enabled"] != true || m["KeySpec"] != "SYMMETRIC_DEFAULT" ||
			m["KeyUsage"] != "ENCRYPT_DECRYPT" || m["MultiRegion"] != false || m["KeyManager"] != "CUSTOMER" ||
			m["Arn"] != "arn:aws:kms:us-east-1:111122223333:key/"+r.keys[origin] {
			t.Errorf("%s: %v", origin, m)
		}
		_, hasStore := m["CustomKeyStoreId"]
		_, hasCluster := m["CloudHsmClusterId"]
		_, hasXks := m["XksKeyConfiguration"]
		if hasStore != (origin != OriginAWSKMS) || hasCluster != (origin == OriginCloudHSM) || hasXks != (origin == OriginXKS) {
			t.Errorf("%s: custom key store fields: %v", origin, m)
		}
	}
	m := r.ok("TrentService.DescribeKey", map[string]any{"KeyId": r.keys[OriginXKS]})["KeyMetadata"].(map[string]any)
	if m["XksKeyConfiguration"].(map[string]any)["Id"] != "key-1" || m["CustomKeyStoreId"] != r.xksStoreID {
		t.Errorf("xks metadata %v", m)
	}
	// The HSM has the key, labelled with the ARN, owned by kmsuser.
	keys := r.ok("Simulator.ListHsmKeys", map[string]any{"ClusterId": r.clusterID})["Keys"].([]any)
	if len(keys) != 1 || keys[0].(map[string]any)["Label"] != "arn:aws:kms:us-east-1:111122223333:key/"+r.keys[OriginCloudHSM] ||
		keys[0].(map[string]any)["Owner"] != "kmsuser" || keys[0].(map[string]any)["Extractable"] != false {
		t.Errorf("HSM keys %v", keys)
	}
	lk := r.ok("TrentService.ListKeys", map[string]any{"Limit": 2})
	if len(lk["Keys"].([]any)) != 2 || lk["Truncated"] != true {
		t.Fatalf("ListKeys %v", lk)
	}
	rest := r.ok("TrentService.ListKeys", map[string]any{"Marker": lk["NextMarker"]})
	if len(rest["Keys"].([]any)) != 1 || rest["Truncated"] != false || rest["Keys"].([]any)[0].(map[string]any)["KeyId"] != r.keys[OriginXKS] {
		t.Fatalf("ListKeys page 2 %v", rest)
	}
	r.fails("TrentService.ListKeys", map[string]any{"Marker": "bogus"}, "InvalidMarkerException")
}

func TestEncryptDecryptEveryOrigin(t *testing.T) {
	r := newKeyRig(t)
	ctx := map[string]string{"purpose": "test", "a": "b"}
	for _, origin := range origins3 {
		for _, size := range []int{1, 64, 4096} {
			pt := bytes.Repeat([]byte{byte(size)}, size)
			blob := r.encrypt(r.keys[origin], pt, ctx)
			if got := r.decrypt(blob, ctx); !bytes.Equal(got, pt) {
				t.Fatalf("%s %d: round trip failed", origin, size)
			}
			m := r.ok("TrentService.Decrypt", map[string]any{"CiphertextBlob": blob, "EncryptionContext": ctx, "KeyId": r.keys[origin]})
			if m["KeyId"] != "arn:aws:kms:us-east-1:111122223333:key/"+r.keys[origin] {
				t.Fatalf("%s: decrypt KeyId %v", origin, m["KeyId"])
			}
		}
		blob := r.encrypt(r.keys[origin], []byte("hi"), ctx)
		r.fails("TrentService.Decrypt", map[string]any{"CiphertextBlob": blob, "EncryptionContext": map[string]string{"purpose": "other", "a": "b"}}, "InvalidCiphertextException")
		r.fails("TrentService.Decrypt", map[string]any{"CiphertextBlob": blob}, "InvalidCiphertextException")
		other := r.keys[OriginAWSKMS]
		if origin == OriginAWSKMS {
			other = r.keys[OriginXKS]
		}
		r.fails("TrentService.Decrypt", map[string]any{"CiphertextBlob": blob, "EncryptionContext": ctx, "KeyId": other}, "IncorrectKeyException")
		// ReEncrypt to every origin, then decrypt.
		for _, dst := range origins3 {
			m := r.ok("TrentService.ReEncrypt", map[string]any{"CiphertextBlob": blob, "SourceEncryptionContext": ctx,
				"DestinationKeyId": r.keys[dst], "DestinationEncryptionContext": map[string]string{"x": "y"}})
			b, _ := base64.StdEncoding.DecodeString(m["CiphertextBlob"].(string))
			if got := r.decrypt(b, map[string]string{"x": "y"}); string(got) != "hi" {
				t.Fatalf("reencrypt %s -> %s: %q", origin, dst, got)
			}
		}
		// Data keys.
		dk := r.ok("TrentService.GenerateDataKey", map[string]any{"KeyId": r.keys[origin], "KeySpec": "AES_256"})
		pt, _ := base64.StdEncoding.DecodeString(dk["Plaintext"].(string))
		ct, _ := base64.StdEncoding.DecodeString(dk["CiphertextBlob"].(string))
		if len(pt) != 32 || !bytes.Equal(r.decrypt(ct, nil), pt) {
			t.Fatalf("%s: data key does not decrypt to its plaintext", origin)
		}
		wp := r.ok("TrentService.GenerateDataKeyWithoutPlaintext", map[string]any{"KeyId": r.keys[origin], "NumberOfBytes": 20})
		if _, has := wp["Plaintext"]; has {
			t.Fatal("GenerateDataKeyWithoutPlaintext returned the plaintext")
		}
		ct, _ = base64.StdEncoding.DecodeString(wp["CiphertextBlob"].(string))
		if len(r.decrypt(ct, nil)) != 20 {
			t.Fatal("NumberOfBytes ignored")
		}
	}
	r.fails("TrentService.GenerateDataKey", map[string]any{"KeyId": r.keys[OriginAWSKMS]}, "ValidationException")
	r.fails("TrentService.GenerateDataKey", map[string]any{"KeyId": r.keys[OriginAWSKMS], "KeySpec": "AES_256", "NumberOfBytes": 3}, "ValidationException")
	r.fails("TrentService.Encrypt", map[string]any{"KeyId": r.keys[OriginAWSKMS], "Plaintext": make([]byte, 4097)}, "ValidationException")
	r.fails("TrentService.Encrypt", map[string]any{"KeyId": r.keys[OriginAWSKMS], "Plaintext": []byte("x"),
		"EncryptionContext": map[string]string{"k": strings.Repeat("v", 0x10000)}}, "ValidationException")
	r.fails("TrentService.Encrypt", map[string]any{"KeyId": r.keys[OriginAWSKMS], "Plaintext": []byte("x"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}, "InvalidKeyUsageException")
	if st, _ := r.call("TrentService.Encrypt", map[string]any{"KeyId": r.keys[OriginXKS], "Plaintext": []byte("x"), "DryRun": true}); st != 412 {
		t.Fatalf("DryRun status %d", st)
	}
}

// TestTamperEveryByte flips each byte of a blob of each origin: every
// change is InvalidCiphertextException.
func TestTamperEveryByte(t *testing.T) {
	r := newKeyRig(t)
	for _, origin := range origins3 {
		blob := r.encrypt(r.keys[origin], []byte("attack at dawn"), map[string]string{"k": "v"})
		for i := range blob {
			bad := bytes.Clone(blob)
			bad[i] ^= 0x01
			status, m := r.call("TrentService.Decrypt", map[string]any{"CiphertextBlob": bad, "EncryptionContext": map[string]string{"k": "v"}})
			if status != 400 || m["__type"] != "InvalidCiphertextException" {
				t.Fatalf("%s: flipping byte %d of %d: %d %v", origin, i, len(blob), status, m)
			}
		}
		for _, cut := range []int{1, len(blob) / 2, len(blob) - 1} {
			r.fails("TrentService.Decrypt", map[string]any{"CiphertextBlob": blob[:cut], "EncryptionContext": map[string]string{"k": "v"}}, "InvalidCiphertextException")
		}
		r.fails("TrentService.Decrypt", map[string]any{"CiphertextBlob": append(bytes.Clone(blob), 0), "EncryptionContext": map[string]string{"k": "v"}}, "InvalidCiphertextException")
	}
}

func TestInspectCiphertext(t *testing.T) {
	r := newKeyRig(t)
	blob := r.encrypt(r.keys[OriginXKS], []byte("hello"), nil)
	m := r.ok("Simulator.InspectCiphertext", map[string]any{"CiphertextBlob": blob})
	if m["Origin"] != OriginXKS || m["KeyId"] != r.keys[OriginXKS] || len(m["Layers"].([]any)) != 2 || int(m["Size"].(float64)) != len(blob) {
		t.Fatalf("inspect %v", m)
	}
	end := 0
	for _, f := range m["Fields"].([]any) {
		f := f.(map[string]any)
		if int(f["Offset"].(float64)) != end {
			t.Fatalf("fields are not contiguous at %v", f)
		}
		end += int(f["Length"].(float64))
	}
	if end != len(blob) {
		t.Fatalf("fields cover %d of %d bytes", end, len(blob))
	}
	r.fails("Simulator.InspectCiphertext", map[string]any{"CiphertextBlob": []byte("nope")}, "InvalidCiphertextException")
}

// TestUnavailableKeys follows "How unusable KMS keys affect data keys": a
// data key decrypted before the disconnect keeps working; decrypting it
// again fails until the store is back.
func TestUnavailableKeys(t *testing.T) {
	r := newKeyRig(t)
	for _, origin := range []string{OriginCloudHSM, OriginXKS} {
		store := r.hsmStore
		if origin == OriginXKS {
			store = r.xksStoreID
		}
		id := r.keys[origin]
		dk := r.ok("TrentService.GenerateDataKey", map[string]any{"KeyId": id, "KeySpec": "AES_256"})
		encrypted, _ := base64.StdEncoding.DecodeString(dk["CiphertextBlob"].(string))
		dataKey := r.decrypt(encrypted, nil) // the service holds this in memory

		// A second key, disabled before the disconnect, and a third pending deletion.
		req := map[string]any{"Origin": origin, "CustomKeyStoreId": store}
		if origin == OriginXKS {
			r.ok("Simulator.CreateExternalKey", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath, "KeyId": "key-2"})
			r.ok("Simulator.CreateExternalKey", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath, "KeyId": "key-3"})
			req["XksKeyId"] = "key-2"
		}
		disabled := r.createKey(req)
		r.ok("TrentService.DisableKey", map[string]any{"KeyId": disabled})
		if origin == OriginXKS {
			req["XksKeyId"] = "key-3"
		}
		pending := r.createKey(req)
		r.ok("TrentService.ScheduleKeyDeletion", map[string]any{"KeyId": pending, "PendingWindowInDays": 7})

		r.ok("TrentService.DisconnectCustomKeyStore", map[string]any{"CustomKeyStoreId": store})
		r.advance(5 * time.Minute)
		for k, want := range map[string]string{id: "Unavailable", disabled: "Unavailable", pending: "PendingDeletion"} {
			if got := r.keyState(k); got != want {
				t.Fatalf("%s: key state %s, want %s", origin, got, want)
			}
		}
		msg := r.fails("TrentService.Decrypt", map[string]any{"CiphertextBlob": encrypted}, "KMSInvalidStateException")
		if !strings.HasSuffix(msg, "is unavailable.") {
			t.Errorf("message %q", msg)
		}
		if len(dataKey) != 32 {
			t.Fatal("the data key in memory is unaffected")
		}
		r.fails("TrentService.Encrypt", map[string]any{"KeyId": id, "Plaintext": []byte("x")}, "KMSInvalidStateException")
		r.fails("TrentService.CreateKey", req, "CustomKeyStoreInvalidStateException")
		// Enable/Disable succeed and take effect on reconnect.
		r.ok("TrentService.EnableKey", map[string]any{"KeyId": disabled})
		r.ok("TrentService.DisableKey", map[string]any{"KeyId": id})
		r.fails("TrentService.CancelKeyDeletion", map[string]any{"KeyId": id}, "KMSInvalidStateException")
		r.ok("TrentService.CancelKeyDeletion", map[string]any{"KeyId": pending})
		if got := r.keyState(pending); got != "Unavailable" {
			t.Fatalf("cancelled while disconnected: %s", got)
		}
		r.ok("TrentService.ConnectCustomKeyStore", map[string]any{"CustomKeyStoreId": store})
		r.advance(20 * time.Minute)
		for k, want := range map[string]string{id: "Disabled", disabled: "Enabled", pending: "Disabled"} {
			if got := r.keyState(k); got != want {
				t.Fatalf("%s after reconnect: key state %s, want %s", origin, got, want)
			}
		}
		r.fails("TrentService.Decrypt", map[string]any{"CiphertextBlob": encrypted}, "DisabledException")
		r.ok("TrentService.EnableKey", map[string]any{"KeyId": id})
		if got := r.decrypt(encrypted, nil); !bytes.Equal(got, dataKey) {
			t.Fatal("the data key does not decrypt after reconnecting")
		}
	}
}

// TestKeyStateTable runs every operation of the key state table against a
// key in every state and compares with the table.
func TestKeyStateTable(t *testing.T) {
	for _, origin := range []string{OriginCloudHSM, OriginXKS} {
		for _, state := range KeyStates {
			for op, row := range KeyStateRules() {
				r := newKeyRig(t)
				id := r.keys[origin]
				store := r.hsmStore
				if origin == OriginXKS {
					store = r.xksStoreID
				}
				blob := r.encrypt(id, []byte("x"), nil)
				r.ok("TrentService.CreateAlias", map[string]any{"AliasName": "alias/k", "TargetKeyId": id})
				switch state {
				case KeyDisabled:
					r.ok("TrentService.DisableKey", map[string]any{"KeyId": id})
				case KeyPendingDeletion:
					r.ok("TrentService.ScheduleKeyDeletion", map[string]any{"KeyId": id})
				case KeyUnavailable:
					r.ok("TrentService.DisconnectCustomKeyStore", map[string]any{"CustomKeyStoreId": store})
					r.advance(5 * time.Minute)
				}
				if got := r.keyState(id); got != state {
					t.Fatalf("setup: %s, want %s", got, state)
				}
				want := row[stateColumn(state)]
				req := map[string]any{"KeyId": id}
				switch op {
				case "Encrypt":
					req["Plaintext"] = []byte("x")
				case "Decrypt":
					req = map[string]any{"CiphertextBlob": blob}
				case "ReEncrypt":
					req = map[string]any{"CiphertextBlob": blob, "DestinationKeyId": r.keys[OriginAWSKMS]}
				case "GenerateDataKey", "GenerateDataKeyWithoutPlaintext":
					req["NumberOfBytes"] = 16
				case "CreateAlias":
					req = map[string]any{"AliasName": "alias/new", "TargetKeyId": id}
				case "UpdateAlias":
					r.ok("TrentService.CreateAlias", map[string]any{"AliasName": "alias/other", "TargetKeyId": r.keys[OriginAWSKMS]})
					req = map[string]any{"AliasName": "alias/other", "TargetKeyId": id}
				case "DeleteAlias":
					req = map[string]any{"AliasName": "alias/k"}
				case "TagResource":
					req["Tags"] = []any{map[string]any{"TagKey": "a", "TagValue": "b"}}
				case "UntagResource":
					req["TagKeys"] = []string{"a"}
				case "UpdateKeyDescription":
					req["Description"] = "d"
				case "PutKeyPolicy":
					req["Policy"] = `{"Statement":[]}`
					req["PolicyName"] = "default"
				case "Sign":
					// A symmetric key that the state allows to sign is
					// refused for its key usage.
					req["Message"] = []byte("m")
					req["SigningAlgorithm"] = "RSASSA_PSS_SHA_256"
					if want == "OK" {
						want = "InvalidKeyUsageException"
					}
				}
				status, m := r.call("TrentService."+op, req)
				got := "OK"
				if status != 200 {
					got, _ = m["__type"].(string)
				}
				if got != want {
					t.Errorf("%s key, %s, %s: got %s %v, want %s", origin, state, op, got, m, want)
				}
			}
		}
	}
}

// TestProxyErrorsOnCrypto causes every proxy failure for every crypto
// operation: each is KMSInvalidStateException, and the key stays Enabled.
func TestProxyErrorsOnCrypto(t *testing.T) {
	r := newKeyRig(t)
	id := r.keys[OriginXKS]
	blob := r.encrypt(id, []byte("x"), nil)
	causes := []struct {
		name  string
		apply func()
		undo  func()
		in    string
	}{
		{"throttle", func() { r.faults(map[string]any{"Throttle": true}) }, func() { r.faults(map[string]any{}) }, "throttling"},
		{"internal", func() { r.faults(map[string]any{"Internal": true}) }, func() { r.faults(map[string]any{}) }, "internal error"},
		{"malformed", func() { r.faults(map[string]any{"Malformed": true}) }, func() { r.faults(map[string]any{}) }, "cannot interpret"},
		{"access denied", func() { r.faults(map[string]any{"AccessDenied": true}) }, func() { r.faults(map[string]any{}) }, "denied access"},
		{"dependency timeout", func() { r.faults(map[string]any{"DependencyTimeout": true}) }, func() { r.faults(map[string]any{}) }, "did not respond in time"},
		{"unreachable", func() { r.faults(map[string]any{"Unreachable": true}) }, func() { r.faults(map[string]any{}) }, "cannot communicate"},
		{"tls", func() { r.faults(map[string]any{"Tls": "UNTRUSTED_CA"}) }, func() { r.faults(map[string]any{}) }, "TLS"},
		{"latency", func() { r.faults(map[string]any{"LatencyMs": 300}) }, func() { r.faults(map[string]any{}) }, "did not respond in time"},
		{"key disabled", func() {
			r.ok("Simulator.UpdateExternalKey", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath, "KeyId": "key-1", "KeyStatus": "DISABLED"})
		}, func() {
			r.ok("Simulator.UpdateExternalKey", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath, "KeyId": "key-1", "KeyStatus": "ENABLED"})
		}, "not enabled"},
		{"key usage", func() {
			r.ok("Simulator.UpdateExternalKey", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath, "KeyId": "key-1", "KeyUsage": []string{"SIGN"}})
		}, func() {
			r.ok("Simulator.UpdateExternalKey", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath, "KeyId": "key-1", "KeyUsage": []string{"ENCRYPT", "DECRYPT"}})
		}, "key usage"},
		{"wrong credential", func() {
			r.ok("Simulator.PutXksProxyPath", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath,
				"Credentials": []any{map[string]any{"AccessKeyId": "QQQQQQQQQQQQQQQQQQQQQQQQQQ", "SecretAccessKey": strings.Repeat("q", 44)}}})
		}, func() {
			r.ok("Simulator.PutXksProxyPath", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath,
				"Credentials": []any{map[string]any{"AccessKeyId": xksKeyID, "SecretAccessKey": xksSecret}}})
		}, "authenticate"},
		{"rules", func() {
			r.ok("Simulator.SetXksProxyRules", map[string]any{"UriEndpoint": xksEndpoint, "KmsOperations": []string{"CreateKey"}})
		}, func() { r.ok("Simulator.SetXksProxyRules", map[string]any{"UriEndpoint": xksEndpoint}) }, "denied access"},
	}
	ops := []struct {
		target string
		req    map[string]any
	}{
		{"Encrypt", map[string]any{"KeyId": id, "Plaintext": []byte("x")}},
		{"Decrypt", map[string]any{"CiphertextBlob": blob}},
		{"ReEncrypt", map[string]any{"CiphertextBlob": blob, "DestinationKeyId": r.keys[OriginAWSKMS]}},
		{"GenerateDataKey", map[string]any{"KeyId": id, "KeySpec": "AES_256"}},
		{"GenerateDataKeyWithoutPlaintext", map[string]any{"KeyId": id, "KeySpec": "AES_128"}},
	}
	for _, c := range causes {
		c.apply()
		for _, op := range ops {
			msg := r.fails("TrentService."+op.target, op.req, "KMSInvalidStateException")
			if !strings.Contains(msg, c.in) {
				t.Errorf("%s / %s: message %q does not say %q", c.name, op.target, msg, c.in)
			}
		}
		if got := r.keyState(id); got != "Enabled" {
			t.Errorf("%s changed the key state to %s", c.name, got)
		}
		c.undo()
		if got := r.decrypt(blob, nil); string(got) != "x" {
			t.Fatalf("after %s: %q", c.name, got)
		}
	}
	// An external key replaced by another of the same ID: new ciphertexts
	// work, old ones are crypto-shredded (the proxy's
	// InvalidCiphertextException), and the key state stays.
	r.ok("Simulator.DeleteExternalKey", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath, "KeyId": "key-1"})
	r.ok("Simulator.CreateExternalKey", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath, "KeyId": "key-1"})
	if got := r.decrypt(r.encrypt(id, []byte("new"), nil), nil); string(got) != "new" {
		t.Fatal("the replaced external key does not work")
	}
	msg := r.fails("TrentService.Decrypt", map[string]any{"CiphertextBlob": blob}, "KMSInvalidStateException")
	if !strings.Contains(msg, "ciphertext or its additional authenticated data is not valid") || r.keyState(id) != "Enabled" {
		t.Errorf("replaced external key: %q", msg)
	}
	// Deleting the external key: crypto fails, the key state stays.
	r.ok("Simulator.DeleteExternalKey", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath, "KeyId": "key-1"})
	msg = r.fails("TrentService.Decrypt", map[string]any{"CiphertextBlob": blob}, "KMSInvalidStateException")
	if !strings.Contains(msg, "cannot find the external key key-1") || r.keyState(id) != "Enabled" {
		t.Errorf("deleted external key: %q", msg)
	}
}

func TestCreateKeyErrors(t *testing.T) {
	r := newKeyRig(t)
	xks := func(extra map[string]any) map[string]any {
		req := map[string]any{"Origin": "EXTERNAL_KEY_STORE", "CustomKeyStoreId": r.xksStoreID, "XksKeyId": "key-9"}
		for k, v := range extra {
			req[k] = v
		}
		return req
	}
	r.fails("TrentService.CreateKey", xks(nil), "XksKeyNotFoundException")
	r.fails("TrentService.CreateKey", xks(map[string]any{"XksKeyId": "key-1"}), "XksKeyAlreadyInUseException")
	r.ok("Simulator.CreateExternalKey", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath, "KeyId": "key-9", "KeySpec": "AES_128"})
	if msg := r.fails("TrentService.CreateKey", xks(nil), "XksKeyInvalidConfigurationException"); !strings.Contains(msg, "keySpec AES_128") {
		t.Errorf("message %q", msg)
	}
	r.ok("Simulator.CreateExternalKey", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath, "KeyId": "key-10", "KeyUsage": []string{"ENCRYPT"}})
	if msg := r.fails("TrentService.CreateKey", xks(map[string]any{"XksKeyId": "key-10"}), "XksKeyInvalidConfigurationException"); !strings.Contains(msg, "keyUsage [ENCRYPT]") {
		t.Errorf("message %q", msg)
	}
	r.ok("Simulator.CreateExternalKey", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath, "KeyId": "key-11", "KeyStatus": "DISABLED"})
	if msg := r.fails("TrentService.CreateKey", xks(map[string]any{"XksKeyId": "key-11"}), "XksKeyInvalidConfigurationException"); !strings.Contains(msg, "keyStatus DISABLED") {
		t.Errorf("message %q", msg)
	}
	r.faults(map[string]any{"Unreachable": true})
	r.fails("TrentService.CreateKey", xks(nil), "CustomKeyStoreInvalidStateException")
	r.faults(map[string]any{})

	r.fails("TrentService.CreateKey", map[string]any{"Origin": "AWS_CLOUDHSM"}, "UnsupportedOperationException")
	r.fails("TrentService.CreateKey", map[string]any{"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": "cks-00000000000000000"}, "CustomKeyStoreNotFoundException")
	r.fails("TrentService.CreateKey", map[string]any{"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": r.xksStoreID}, "UnsupportedOperationException")
	r.fails("TrentService.CreateKey", map[string]any{"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": r.hsmStore, "KeySpec": "RSA_2048"}, "UnsupportedOperationException")
	r.fails("TrentService.CreateKey", map[string]any{"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": r.hsmStore, "MultiRegion": true}, "UnsupportedOperationException")
	r.fails("TrentService.CreateKey", map[string]any{"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": r.hsmStore, "XksKeyId": "k"}, "ValidationException")
	r.fails("TrentService.CreateKey", map[string]any{"Origin": "EXTERNAL_KEY_STORE", "CustomKeyStoreId": r.xksStoreID}, "ValidationException")
	r.fails("TrentService.CreateKey", map[string]any{"XksKeyId": "bad id!"}, "ValidationException")
	r.fails("TrentService.CreateKey", map[string]any{"Policy": "not json"}, "MalformedPolicyDocumentException")
	r.fails("TrentService.CreateKey", map[string]any{"Tags": []any{map[string]any{"TagKey": "aws:x", "TagValue": ""}}}, "TagException")

	// One active HSM is not enough to create a key.
	hsms := r.ok("BaldrApiService.DescribeClusters", map[string]any{})["Clusters"].([]any)[0].(map[string]any)["Hsms"].([]any)
	r.ok("BaldrApiService.DeleteHsm", map[string]any{"ClusterId": r.clusterID, "HsmId": hsms[0].(map[string]any)["HsmId"]})
	r.advance(5 * time.Minute)
	r.fails("TrentService.CreateKey", map[string]any{"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": r.hsmStore}, "CloudHsmClusterInvalidConfigurationException")
	// ... but it still serves crypto.
	blob := r.encrypt(r.keys[OriginCloudHSM], []byte("x"), nil)
	if string(r.decrypt(blob, nil)) != "x" {
		t.Fatal("one HSM should serve crypto")
	}
	r.fails("TrentService.DeleteCustomKeyStore", map[string]any{"CustomKeyStoreId": r.hsmStore}, "CustomKeyStoreInvalidStateException")
}

// TestHSMKeyDeletion: when the window ends KMS deletes the key and tries
// once to delete its material; a disconnected store leaves it orphaned.
func TestHSMKeyDeletion(t *testing.T) {
	r := newKeyRig(t)
	id := r.keys[OriginCloudHSM]
	orphan := r.createKey(map[string]any{"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": r.hsmStore})
	r.ok("TrentService.CreateAlias", map[string]any{"AliasName": "alias/gone", "TargetKeyId": id})
	m := r.ok("TrentService.ScheduleKeyDeletion", map[string]any{"KeyId": id, "PendingWindowInDays": 7})
	if m["KeyState"] != "PendingDeletion" || m["PendingWindowInDays"].(float64) != 7 {
		t.Fatalf("schedule %v", m)
	}
	r.fails("TrentService.ScheduleKeyDeletion", map[string]any{"KeyId": orphan, "PendingWindowInDays": 6}, "ValidationException")
	r.ok("TrentService.ScheduleKeyDeletion", map[string]any{"KeyId": orphan, "PendingWindowInDays": 8})
	r.advance(7*24*time.Hour + time.Minute)
	r.fails("TrentService.DescribeKey", map[string]any{"KeyId": id}, "NotFoundException")
	r.fails("TrentService.DescribeKey", map[string]any{"KeyId": "alias/gone"}, "NotFoundException")
	// The store goes away before the second key's window ends.
	r.ok("TrentService.DisconnectCustomKeyStore", map[string]any{"CustomKeyStoreId": r.hsmStore})
	r.advance(24 * time.Hour)
	dels := r.ok("Simulator.ListKeyDeletions", map[string]any{})["KeyDeletions"].([]any)
	if len(dels) != 2 || dels[0].(map[string]any)["BackingKeysDeletionStatus"] != "SUCCESS" || dels[1].(map[string]any)["BackingKeysDeletionStatus"] != "FAILURE" {
		t.Fatalf("deletions %v", dels)
	}
	r.ok("TrentService.ConnectCustomKeyStore", map[string]any{"CustomKeyStoreId": r.hsmStore})
	r.advance(20 * time.Minute)
	keys := r.ok("Simulator.ListHsmKeys", map[string]any{"ClusterId": r.clusterID})["Keys"].([]any)
	if len(keys) != 1 || !strings.HasSuffix(keys[0].(map[string]any)["Label"].(string), orphan) {
		t.Fatalf("the orphaned key material should remain: %v", keys)
	}
}

func TestHSMMaterialDeleted(t *testing.T) {
	r := newKeyRig(t)
	id := r.keys[OriginCloudHSM]
	blob := r.encrypt(id, []byte("x"), nil)
	ref := r.ok("Simulator.ListHsmKeys", map[string]any{"ClusterId": r.clusterID})["Keys"].([]any)[0].(map[string]any)["KeyReference"]
	r.ok("TrentService.DisconnectCustomKeyStore", map[string]any{"CustomKeyStoreId": r.hsmStore})
	r.advance(5 * time.Minute)
	r.ok("Simulator.ChangeCryptoUserPassword", map[string]any{"ClusterId": r.clusterID, "Username": "kmsuser", "NewPassword": "kmsPassword2", "AdminPassword": "adminPassword1"})
	r.ok("Simulator.LoginCryptoUser", map[string]any{"ClusterId": r.clusterID, "Username": "kmsuser", "Password": "kmsPassword2"})
	r.ok("Simulator.DeleteHsmKey", map[string]any{"ClusterId": r.clusterID, "Username": "kmsuser", "KeyReference": ref})
	r.ok("Simulator.LogoutCryptoUser", map[string]any{"ClusterId": r.clusterID, "Username": "kmsuser"})
	r.ok("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": r.hsmStore, "KeyStorePassword": "kmsPassword2"})
	r.ok("TrentService.ConnectCustomKeyStore", map[string]any{"CustomKeyStoreId": r.hsmStore})
	r.advance(20 * time.Minute)
	if got := r.keyState(id); got != "Enabled" {
		t.Fatalf("deleting the material must not change the key state: %s", got)
	}
	msg := r.fails("TrentService.Decrypt", map[string]any{"CiphertextBlob": blob}, "KMSInvalidStateException")
	if !strings.Contains(msg, "key material") {
		t.Errorf("message %q", msg)
	}
	r.fails("TrentService.Encrypt", map[string]any{"KeyId": id, "Plaintext": []byte("x")}, "KMSInvalidStateException")
}

func TestStoreQuota(t *testing.T) {
	r := newKeyRig(t)
	r.ok("Simulator.SetClockSpeed", map[string]any{"Speed": 0})
	id := r.keys[OriginXKS]
	for i := 0; i < storeQuota; i++ {
		if st, m := r.call("TrentService.GenerateDataKeyWithoutPlaintext", map[string]any{"KeyId": id, "NumberOfBytes": 1}); st != 200 {
			t.Fatalf("request %d: %v", i, m)
		}
	}
	r.fails("TrentService.Encrypt", map[string]any{"KeyId": id, "Plaintext": []byte("x")}, "ThrottlingException")
	// Other stores and AWS_KMS keys are not affected.
	r.encrypt(r.keys[OriginCloudHSM], []byte("x"), nil)
	r.encrypt(r.keys[OriginAWSKMS], []byte("x"), nil)
	r.advance(time.Second)
	r.encrypt(id, []byte("x"), nil)
	now := r.ok("Simulator.DescribeClock", map[string]any{})["Now"].(float64)
	m := r.ok("Simulator.GetMetricData", map[string]any{"MetricName": "ExternalKeyStoreThrottle", "Stat": "Sum",
		"StartTime": now - 3600, "EndTime": now + 60, "Period": 3600})
	if s := m["Series"].([]any); len(s) != 1 || s[0].(map[string]any)["Values"].([]any)[0].(float64) != 1 {
		t.Fatalf("throttle metric %v", m)
	}
}

func TestXksMetrics(t *testing.T) {
	r := newKeyRig(t)
	id := r.keys[OriginXKS]
	for i := 0; i < 5; i++ {
		r.encrypt(id, []byte("x"), nil)
	}
	r.faults(map[string]any{"Throttle": true})
	r.fails("TrentService.Encrypt", map[string]any{"KeyId": id, "Plaintext": []byte("x")}, "KMSInvalidStateException")
	r.faults(map[string]any{})
	r.advance(10 * time.Minute) // ten health checks
	now := r.ok("Simulator.DescribeClock", map[string]any{})["Now"].(float64)
	q := func(name, stat string, group ...string) []any {
		return r.ok("Simulator.GetMetricData", map[string]any{"MetricName": name, "Stat": stat, "GroupBy": group,
			"Dimensions": map[string]string{"CustomKeyStoreId": r.xksStoreID}, "StartTime": now - 3*3600, "EndTime": now, "Period": 3 * 3600})["Series"].([]any)
	}
	sum := func(series []any, dim, value string) float64 {
		total := 0.0
		for _, s := range series {
			s := s.(map[string]any)
			if dim != "" && s["Dimensions"].(map[string]any)[dim] != value {
				continue
			}
			for _, v := range s["Values"].([]any) {
				total += v.(float64)
			}
		}
		return total
	}
	byOp := q("XksProxyErrors", "Sum", "KmsOperation")
	if got := sum(byOp, "KmsOperation", "Encrypt"); got != 6 {
		t.Errorf("Encrypt requests %v, want 6 (%v)", got, byOp)
	}
	if got := sum(byOp, "KmsOperation", "KmsHealthCheck"); got < 9 {
		t.Errorf("health checks %v", got)
	}
	byExc := q("XksProxyErrors", "Sum", "ExceptionName")
	if sum(byExc, "ExceptionName", "ThrottlingException") != 1 {
		t.Errorf("exceptions %v", byExc)
	}
	byType := q("XksProxyErrors", "Sum", "ErrorType")
	if sum(byType, "ErrorType", "Retryable errors") != 1 {
		t.Errorf("error types %v", byType)
	}
	if len(q("XksProxyLatency", "Average", "KmsOperation", "XksOperation")) < 3 {
		t.Error("latency series missing")
	}
	states := q("XksExternalKeyManagerStates", "Maximum", "XksExternalKeyManagerState")
	if sum(states, "XksExternalKeyManagerState", "Active") < 2 {
		t.Errorf("manager states %v", states)
	}
	if len(q("XksProxyCertificateDaysToExpire", "Minimum", "CertificateName")) != 1 || len(q("XksProxyCredentialAge", "Maximum")) != 1 {
		t.Error("certificate or credential metrics missing")
	}
	// Metrics survive a snapshot.
	e2, err := Restore(r.e.Snapshot(), t0)
	if err != nil {
		t.Fatal(err)
	}
	r.e = e2
	if got := sum(q("XksProxyErrors", "Sum"), "", ""); got < 16 {
		t.Errorf("after restore: %v", got)
	}
}

func TestGenerateRandom(t *testing.T) {
	r := newKeyRig(t)
	m := r.ok("TrentService.GenerateRandom", map[string]any{"NumberOfBytes": 16, "CustomKeyStoreId": r.hsmStore})
	if b, _ := base64.StdEncoding.DecodeString(m["Plaintext"].(string)); len(b) != 16 {
		t.Fatal(m)
	}
	r.fails("TrentService.GenerateRandom", map[string]any{"NumberOfBytes": 16, "CustomKeyStoreId": r.xksStoreID}, "UnsupportedOperationException")
	r.fails("TrentService.GenerateRandom", map[string]any{"NumberOfBytes": 16, "CustomKeyStoreId": "cks-00000000000000000"}, "CustomKeyStoreNotFoundException")
	r.fails("TrentService.GenerateRandom", map[string]any{"NumberOfBytes": 2000}, "ValidationException")
	r.ok("TrentService.DisconnectCustomKeyStore", map[string]any{"CustomKeyStoreId": r.hsmStore})
	r.fails("TrentService.GenerateRandom", map[string]any{"NumberOfBytes": 16, "CustomKeyStoreId": r.hsmStore}, "CustomKeyStoreInvalidStateException")
}

func TestAliasesTagsPolicies(t *testing.T) {
	r := newKeyRig(t)
	id := r.keys[OriginXKS]
	r.ok("TrentService.CreateAlias", map[string]any{"AliasName": "alias/app", "TargetKeyId": id})
	r.fails("TrentService.CreateAlias", map[string]any{"AliasName": "alias/app", "TargetKeyId": id}, "AlreadyExistsException")
	r.fails("TrentService.CreateAlias", map[string]any{"AliasName": "app", "TargetKeyId": id}, "ValidationException")
	r.fails("TrentService.CreateAlias", map[string]any{"AliasName": "alias/aws/x", "TargetKeyId": id}, "NotAuthorizedException")
	r.fails("TrentService.CreateAlias", map[string]any{"AliasName": "alias/b", "TargetKeyId": "alias/app"}, "NotFoundException")
	blob := r.encrypt("alias/app", []byte("via alias"), nil)
	if string(r.decrypt(blob, nil)) != "via alias" {
		t.Fatal("alias encrypt")
	}
	r.encrypt("arn:aws:kms:us-east-1:111122223333:alias/app", []byte("x"), nil)
	r.ok("TrentService.UpdateAlias", map[string]any{"AliasName": "alias/app", "TargetKeyId": r.keys[OriginAWSKMS]})
	al := r.ok("TrentService.ListAliases", map[string]any{"KeyId": r.keys[OriginAWSKMS]})["Aliases"].([]any)
	if len(al) != 1 || al[0].(map[string]any)["AliasArn"] != "arn:aws:kms:us-east-1:111122223333:alias/app" {
		t.Fatalf("aliases %v", al)
	}
	r.ok("TrentService.DeleteAlias", map[string]any{"AliasName": "alias/app"})
	r.fails("TrentService.DeleteAlias", map[string]any{"AliasName": "alias/app"}, "NotFoundException")

	r.ok("TrentService.TagResource", map[string]any{"KeyId": id, "Tags": []any{map[string]any{"TagKey": "team", "TagValue": "a"}, map[string]any{"TagKey": "env", "TagValue": "dev"}}})
	r.ok("TrentService.TagResource", map[string]any{"KeyId": id, "Tags": []any{map[string]any{"TagKey": "team", "TagValue": "b"}}})
	r.ok("TrentService.UntagResource", map[string]any{"KeyId": id, "TagKeys": []string{"env", "missing"}})
	tags := r.ok("TrentService.ListResourceTags", map[string]any{"KeyId": id})["Tags"].([]any)
	if len(tags) != 1 || tags[0].(map[string]any)["TagValue"] != "b" {
		t.Fatalf("tags %v", tags)
	}
	p := r.ok("TrentService.GetKeyPolicy", map[string]any{"KeyId": id})
	if !strings.Contains(p["Policy"].(string), `"AWS" : "arn:aws:iam::111122223333:root"`) || p["PolicyName"] != "default" {
		t.Fatalf("default policy %v", p)
	}
	r.ok("TrentService.PutKeyPolicy", map[string]any{"KeyId": id, "PolicyName": "default", "Policy": `{"Version":"2012-10-17","Statement":[]}`})
	r.fails("TrentService.PutKeyPolicy", map[string]any{"KeyId": id, "Policy": `[]`}, "MalformedPolicyDocumentException")
	r.ok("TrentService.UpdateKeyDescription", map[string]any{"KeyId": id, "Description": "<b>desc</b>"})
	m := r.ok("TrentService.DescribeKey", map[string]any{"KeyId": id})["KeyMetadata"].(map[string]any)
	if m["Description"] != "<b>desc</b>" {
		t.Fatal(m)
	}
	for _, op := range []string{"EnableKeyRotation", "GetKeyRotationStatus", "GetParametersForImport", "GenerateDataKeyPair"} {
		r.fails("TrentService."+op, map[string]any{"KeyId": id}, "UnsupportedOperationException")
	}
	r.fails("TrentService.Sign", map[string]any{"KeyId": id}, "InvalidKeyUsageException")
	r.fails("TrentService.DescribeKey", map[string]any{"KeyId": "nope"}, "NotFoundException")
	r.fails("TrentService.DescribeKey", map[string]any{"KeyId": "11111111-2222-4333-8444-555555555555"}, "NotFoundException")
}

func TestKeysSurviveSnapshots(t *testing.T) {
	r := newKeyRig(t)
	blobs := map[string][]byte{}
	for _, o := range origins3 {
		blobs[o] = r.encrypt(r.keys[o], []byte(o), map[string]string{"o": o})
	}
	e2, err := Restore(r.e.Snapshot(), t0)
	if err != nil {
		t.Fatal(err)
	}
	r.e = e2
	for _, o := range origins3 {
		if got := r.decrypt(blobs[o], map[string]string{"o": o}); string(got) != o {
			t.Fatalf("%s after restore: %q", o, got)
		}
	}
	r.fails("TrentService.DeleteCustomKeyStore", map[string]any{"CustomKeyStoreId": r.xksStoreID}, "CustomKeyStoreInvalidStateException")
	r.ok("TrentService.DisconnectCustomKeyStore", map[string]any{"CustomKeyStoreId": r.xksStoreID})
	r.advance(10 * time.Minute)
	r.fails("TrentService.DeleteCustomKeyStore", map[string]any{"CustomKeyStoreId": r.xksStoreID}, "CustomKeyStoreHasCMKsException")
}

// TestKeysThroughImportAndReset: ImportSnapshot brings keys and metrics
// back into a running sandbox; ResetSandbox empties them.
func TestKeysThroughImportAndReset(t *testing.T) {
	r := newKeyRig(t)
	blob := r.encrypt(r.keys[OriginXKS], []byte("kept"), nil)
	snap := r.ok("Simulator.ExportSnapshot", map[string]any{})["Snapshot"]
	r.ok("Simulator.ResetSandbox", map[string]any{})
	r.fails("TrentService.DescribeKey", map[string]any{"KeyId": r.keys[OriginXKS]}, "NotFoundException")
	r.encrypt(r.createKey(map[string]any{}), []byte("x"), nil)
	r.ok("Simulator.ImportSnapshot", map[string]any{"Snapshot": snap})
	if got := r.decrypt(blob, nil); string(got) != "kept" {
		t.Fatalf("after import: %q", got)
	}
	r.encrypt(r.keys[OriginXKS], []byte("x"), nil)
	now := r.ok("Simulator.DescribeClock", map[string]any{})["Now"].(float64)
	m := r.ok("Simulator.GetMetricData", map[string]any{"MetricName": "XksProxyErrors", "Stat": "Sum",
		"Dimensions": map[string]string{"KmsOperation": "Encrypt"}, "EndTime": now + 60, "Period": 3600})
	if s := m["Series"].([]any); len(s) != 1 || s[0].(map[string]any)["Values"].([]any)[0].(float64) < 2 {
		t.Fatalf("metrics after import: %v", m)
	}
	// The running sandbox's snapshot holds what it recorded since.
	e2, err := Restore(r.e.Snapshot(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(e2.metrics.series) != len(r.e.metrics.series) || len(e2.keys) != 3 {
		t.Fatalf("snapshot after import: %d series (want %d), %d keys", len(e2.metrics.series), len(r.e.metrics.series), len(e2.keys))
	}
}

// TestMetricsRollUp: a week of health checks keeps its sums, at coarser
// points for older data.
func TestMetricsRollUp(t *testing.T) {
	m := newMetrics()
	start := t0
	for i := 0; i < 7*24*60; i++ {
		m.record(start.Add(time.Duration(i)*time.Minute), MetricXksProxyErrors, dims{CustomKeyStoreId: "cks-1"}, 1)
	}
	var s *series
	for _, x := range m.series {
		s = x
	}
	if n := len(s.minutes); n > 3*60+21*12+6*24+60 {
		t.Fatalf("%d points kept for a week", n)
	}
	var total int64
	for _, st := range s.stats {
		total += st.Count
	}
	if total != 7*24*60 {
		t.Fatalf("roll-up lost data points: %d", total)
	}
	if !slices.IsSorted(s.minutes) {
		t.Fatal("points out of order")
	}
}
