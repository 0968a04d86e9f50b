package cloudhsm

import (
	"bytes"
	"encoding/json"
	"errors"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"

	"keystorelab/hsmsim/wire"
)

const testStore = "cks-1234567890abcdef0"

// connected returns a simulator with an ACTIVE cluster (one active HSM),
// a kmsuser crypto user, and KMS connected to it for testStore.
func connected(t testing.TB) (*Sim, *Cluster, time.Time) {
	t.Helper()
	s, c, now := uninitialized(t)
	signed, anchor, err := s.signCSR(c, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := invoke(t, s, now, "InitializeCluster", map[string]any{"ClusterId": c.ID, "SignedCert": signed, "TrustAnchor": anchor}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(clusterInitTime)
	s.Settle(now)
	for _, step := range []struct {
		op  string
		req map[string]any
	}{
		{"ActivateCluster", map[string]any{"ClusterId": c.ID, "AdminPassword": "adminPassword1"}},
		{"CreateCryptoUser", map[string]any{"ClusterId": c.ID, "Username": KMSUser, "Password": "kmsPassword1"}},
		{"CreateCryptoUser", map[string]any{"ClusterId": c.ID, "Username": "alice", "Password": "alicePassword1"}},
	} {
		if _, err := invoke(t, s, now, step.op, step.req); err != nil {
			t.Fatalf("%s: %v", step.op, err)
		}
	}
	if _, err := s.ConnectKMS(now, c.ID, testStore, "kmsPassword1"); err != nil {
		t.Fatal(err)
	}
	return s, c, now
}

func TestKeyRoundTripAndAAD(t *testing.T) {
	s, c, now := connected(t)
	h, err := s.GenerateKMSKey(now, c.ID, testStore, "arn:aws:kms:us-east-1:111122223333:key/k1")
	if err != nil {
		t.Fatal(err)
	}
	if h != firstHandle {
		t.Fatalf("first handle %#x, want %#x", h, firstHandle)
	}
	h2, _ := s.GenerateKMSKey(now, c.ID, testStore, "k2")
	if h2 != h+1 {
		t.Fatalf("second handle %#x, want %#x", h2, h+1)
	}
	if len(c.Keys[0].Material) != 32 || bytes.Equal(c.Keys[0].Material, c.Keys[1].Material) {
		t.Fatal("keys need distinct 32-byte material")
	}
	plain, aad := []byte("attack at dawn"), []byte("context")
	iv, sealed, err := s.EncryptKMS(now, c.ID, testStore, h, plain, aad)
	if err != nil {
		t.Fatal(err)
	}
	if len(iv) != 12 || len(sealed) != len(plain)+16 {
		t.Fatalf("iv %d bytes, sealed %d bytes", len(iv), len(sealed))
	}
	iv2, sealed2, _ := s.EncryptKMS(now, c.ID, testStore, h, plain, aad)
	if bytes.Equal(iv, iv2) || bytes.Equal(sealed, sealed2) {
		t.Fatal("two encryptions reused an IV")
	}
	got, err := s.DecryptKMS(now, c.ID, testStore, h, iv, sealed, aad)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("decrypt: %q, %v", got, err)
	}
	if _, err := s.DecryptKMS(now, c.ID, testStore, h, iv, sealed, []byte("other")); err != ErrDecryptFailed {
		t.Fatalf("wrong aad: %v", err)
	}
	if _, err := s.DecryptKMS(now, c.ID, testStore, h, iv, sealed, nil); err != ErrDecryptFailed {
		t.Fatalf("missing aad: %v", err)
	}
	if _, err := s.DecryptKMS(now, c.ID, testStore, h2, iv, sealed, aad); err != ErrDecryptFailed {
		t.Fatalf("other key: %v", err)
	}
	// Empty plaintext and nil aad work too.
	iv, sealed, _ = s.EncryptKMS(now, c.ID, testStore, h, nil, nil)
	if got, err := s.DecryptKMS(now, c.ID, testStore, h, iv, sealed, nil); err != nil || len(got) != 0 {
		t.Fatalf("empty: %q, %v", got, err)
	}
}

func TestDecryptTamperAndBadInput(t *testing.T) {
	s, c, now := connected(t)
	h, _ := s.GenerateKMSKey(now, c.ID, testStore, "k")
	iv, sealed, _ := s.EncryptKMS(now, c.ID, testStore, h, []byte("0123456789abcdef"), nil)
	flip := func(b []byte, i int) []byte {
		cp := bytes.Clone(b)
		cp[i] ^= 1
		return cp
	}
	for name, tc := range map[string]struct{ iv, sealed []byte }{
		"ciphertext bit": {iv, flip(sealed, 0)},
		"tag bit":        {iv, flip(sealed, len(sealed)-1)},
		"iv bit":         {flip(iv, 3), sealed},
		"short iv":       {iv[:11], sealed},
		"long iv":        {append(bytes.Clone(iv), 0), sealed},
		"nil iv":         {nil, sealed},
		"short sealed":   {iv, sealed[:15]},
		"empty sealed":   {iv, nil},
		"truncated":      {iv, sealed[:len(sealed)-1]},
	} {
		if _, err := s.DecryptKMS(now, c.ID, testStore, h, tc.iv, tc.sealed, nil); err != ErrDecryptFailed {
			t.Errorf("%s: %v, want ErrDecryptFailed", name, err)
		}
	}
}

func TestKMSKeyErrorOrder(t *testing.T) {
	s, c, now := connected(t)
	h, _ := s.GenerateKMSKey(now, c.ID, testStore, "k")
	iv, sealed, _ := s.EncryptKMS(now, c.ID, testStore, h, []byte("x"), nil)
	check := func(name string, want error, cluster, store string, handle uint64) {
		t.Helper()
		errs := map[string]error{}
		_, errs["GenerateKMSKey"] = s.GenerateKMSKey(now, cluster, store, "k")
		_, _, errs["EncryptKMS"] = s.EncryptKMS(now, cluster, store, handle, []byte("x"), nil)
		_, errs["DecryptKMS"] = s.DecryptKMS(now, cluster, store, handle, iv, sealed, nil)
		_, errs["GenerateRandomKMS"] = s.GenerateRandomKMS(now, cluster, store, 8)
		errs["DeleteKMSKey"] = s.DeleteKMSKey(now, cluster, store, handle)
		for op, err := range errs {
			w := want
			if w == ErrKeyNotFound && (op == "GenerateKMSKey" || op == "GenerateRandomKMS") {
				w = nil
			}
			if err != w {
				t.Errorf("%s: %s gave %v, want %v", name, op, err, w)
			}
		}
	}
	check("no such cluster", ErrClusterNotFound, "cluster-nosuchcluster", testStore, h)
	check("other store", ErrNotLoggedIn, c.ID, "cks-other", h)
	check("empty store", ErrNotLoggedIn, c.ID, "", h)
	check("no such handle", ErrKeyNotFound, c.ID, testStore, 0x1234)

	// A key another user owns is invisible to KMS.
	c.Keys = append(c.Keys, &Key{Handle: c.newHandle(), Label: "alice's", Owner: "alice", Material: make([]byte, 32)})
	check("not kmsuser's", ErrKeyNotFound, c.ID, testStore, c.NextHandle)

	// Not logged in: after DisconnectKMS.
	s.DisconnectKMS(now, c.ID, testStore)
	check("disconnected", ErrNotLoggedIn, c.ID, testStore, h)
	if _, err := s.ConnectKMS(now, c.ID, testStore, "kmsPassword1"); err != ErrInvalidCredentials {
		t.Fatalf("reconnect with the old password: %v (KMS rotated it)", err)
	}
	// kmsuser deleted.
	c.Users = c.Users[:1]
	check("no kmsuser", ErrNotLoggedIn, c.ID, testStore, h)

	// No active HSM comes before the login check.
	c.HSMs[0].State = HsmDeleteInProgress
	check("no active HSM", ErrNoActiveHSM, c.ID, testStore, h)

	for _, st := range []string{StateDeleteInProgress, StateDeleted} {
		c.State = st
		check(st, ErrClusterNotFound, c.ID, testStore, h)
	}
}

func TestGenerateRandomKMS(t *testing.T) {
	s, c, now := connected(t)
	a, err := s.GenerateRandomKMS(now, c.ID, testStore, 32)
	b, _ := s.GenerateRandomKMS(now, c.ID, testStore, 32)
	if err != nil || len(a) != 32 || bytes.Equal(a, b) {
		t.Fatalf("%x %x %v", a, b, err)
	}
	if z, err := s.GenerateRandomKMS(now, c.ID, testStore, 0); err != nil || len(z) != 0 {
		t.Fatalf("zero: %v %v", z, err)
	}
	if _, err := s.GenerateRandomKMS(now, c.ID, testStore, -1); err == nil {
		t.Fatal("negative length accepted")
	}
}

func TestDeleteKMSKeyAndOrphans(t *testing.T) {
	s, c, now := connected(t)
	h1, _ := s.GenerateKMSKey(now, c.ID, testStore, "k1")
	h2, _ := s.GenerateKMSKey(now, c.ID, testStore, "k2")
	if err := s.DeleteKMSKey(now, c.ID, testStore, h1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.EncryptKMS(now, c.ID, testStore, h1, nil, nil); err != ErrKeyNotFound {
		t.Fatalf("encrypt with deleted key: %v", err)
	}
	if err := s.DeleteKMSKey(now, c.ID, testStore, h1); err != ErrKeyNotFound {
		t.Fatalf("second delete: %v", err)
	}
	// Handles are never reused.
	if h3, _ := s.GenerateKMSKey(now, c.ID, testStore, "k3"); h3 != h2+1 {
		t.Fatalf("handle after a delete %#x, want %#x", h3, h2+1)
	}
	// A deletion while disconnected fails and leaves the key orphaned.
	s.DisconnectKMS(now, c.ID, testStore)
	if err := s.DeleteKMSKey(now, c.ID, testStore, h2); err != ErrNotLoggedIn {
		t.Fatalf("delete while disconnected: %v", err)
	}
	if c.key(h2) == nil {
		t.Fatal("the orphaned key is gone")
	}
}

func TestHsmKeyOperations(t *testing.T) {
	s, c, now := connected(t)
	h, _ := s.GenerateKMSKey(now, c.ID, testStore, "arn:aws:kms:us-east-1:111122223333:key/k1")
	c.Keys = append(c.Keys, &Key{Handle: c.newHandle(), Label: "alice's", Owner: "alice", Material: make([]byte, 32)})
	ref := keyReference(h)
	if ref != "0x0000000000200001" {
		t.Fatalf("key reference %s", ref)
	}

	out, err := invoke(t, s, now, "ListHsmKeys", map[string]any{"ClusterId": c.ID})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	want := `{"Keys":[{"KeyReference":"0x0000000000200001","Label":"arn:aws:kms:us-east-1:111122223333:key/k1","Owner":"kmsuser","KeyType":"aes","Class":"secret-key","Size":256,"Extractable":false},` +
		`{"KeyReference":"0x0000000000200002","Label":"alice's","Owner":"alice","KeyType":"aes","Class":"secret-key","Size":256,"Extractable":false}]}`
	if string(b) != want {
		t.Fatalf("ListHsmKeys:\n got %s\nwant %s", b, want)
	}
	out, _ = invoke(t, s, now, "ListHsmKeys", map[string]any{"ClusterId": c.ID, "Username": "alice"})
	if b, _ := json.Marshal(out); strings.Count(string(b), "KeyReference") != 1 || !strings.Contains(string(b), `"Owner":"alice"`) {
		t.Fatalf("filtered by owner: %s", b)
	}
	out, _ = invoke(t, s, now, "DescribeCryptoUsers", map[string]any{"ClusterId": c.ID})
	if b, _ := json.Marshal(out); !strings.Contains(string(b), `"Username":"kmsuser","Role":"crypto-user","LoggedIn":false,"LoggedInByKms":"`+testStore+`","LockedOut":false,"FailedLoginAttempts":0,"KeyCount":1}`) {
		t.Fatalf("DescribeCryptoUsers: %s", b)
	}
	if MutatingSimulatorOperation("ListHsmKeys") || !MutatingSimulatorOperation("DeleteHsmKey") {
		t.Fatal("ListHsmKeys reads, DeleteHsmKey writes")
	}

	del := func(user, ref string) error {
		_, err := invoke(t, s, now, "DeleteHsmKey", map[string]any{"ClusterId": c.ID, "Username": user, "KeyReference": ref})
		return err
	}
	wantErr := func(err error, typ, msg string) {
		t.Helper()
		var we *wire.Error
		if !errors.As(err, &we) || we.Type != typ || !strings.Contains(we.Message, msg) {
			t.Fatalf("got %v, want %s mentioning %q", err, typ, msg)
		}
	}
	wantErr(del(KMSUser, "200001"), "ValidationException", "keyReference")
	wantErr(del(KMSUser, "0xzz"), "ValidationException", "keyReference")
	wantErr(del(KMSUser, "0x00000000000000200001"), "ValidationException", "keyReference")
	wantErr(del("nobody", ref), "CloudHsmResourceNotFoundException", "does not exist")
	wantErr(del(KMSUser, ref), "CloudHsmInvalidRequestException", "logged in by AWS KMS")
	wantErr(del("alice", ref), "CloudHsmInvalidRequestException", "not logged in")

	// The §4.5 procedure: disconnect, reset kmsuser's password, log in, delete by handle.
	s.DisconnectKMS(now, c.ID, testStore)
	for _, step := range []struct {
		op  string
		req map[string]any
	}{
		{"ChangeCryptoUserPassword", map[string]any{"ClusterId": c.ID, "Username": KMSUser, "NewPassword": "known12345"}},
		{"LoginCryptoUser", map[string]any{"ClusterId": c.ID, "Username": KMSUser, "Password": "known12345"}},
		{"LoginCryptoUser", map[string]any{"ClusterId": c.ID, "Username": "alice", "Password": "alicePassword1"}},
	} {
		if _, err := invoke(t, s, now, step.op, step.req); err != nil {
			t.Fatalf("%s: %v", step.op, err)
		}
	}
	wantErr(del("alice", ref), "CloudHsmInvalidRequestException", "owned by kmsuser")
	wantErr(del(KMSUser, "0x300000"), "CloudHsmResourceNotFoundException", "0x0000000000300000")
	out, err = invoke(t, s, now, "DeleteHsmKey", map[string]any{"ClusterId": c.ID, "Username": KMSUser, "KeyReference": "0x200001"})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(out); string(b) != `{"Deleted":true,"KeyReference":"0x0000000000200001"}` {
		t.Fatalf("DeleteHsmKey: %s", b)
	}
	if c.key(h) != nil {
		t.Fatal("key still there")
	}
	if err := del("alice", keyReference(h+1)); err != nil {
		t.Fatalf("alice deletes her own key: %v", err)
	}
	if _, err := invoke(t, s, now, "LogoutCryptoUser", map[string]any{"ClusterId": c.ID, "Username": KMSUser}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConnectKMS(now, c.ID, testStore, "known12345"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.EncryptKMS(now, c.ID, testStore, h, nil, nil); err != ErrKeyNotFound {
		t.Fatalf("encrypt with manually deleted material: %v", err)
	}
}

func TestKeysSurviveSnapshot(t *testing.T) {
	s, c, now := connected(t)
	h, _ := s.GenerateKMSKey(now, c.ID, testStore, "k")
	iv, sealed, _ := s.EncryptKMS(now, c.ID, testStore, h, []byte("secret"), []byte("aad"))
	data, err := s.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Restore(data, mrand.NewChaCha8([32]byte{9}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.DecryptKMS(now, c.ID, testStore, h, iv, sealed, []byte("aad"))
	if err != nil || string(got) != "secret" {
		t.Fatalf("after restore: %q %v", got, err)
	}
	if h2, _ := r.GenerateKMSKey(now, c.ID, testStore, "k2"); h2 != h+1 {
		t.Fatalf("handle after restore %#x", h2)
	}
	again, _ := r.MarshalJSON()
	if !bytes.Contains(again, []byte(`"nextHandle":2097154`)) {
		t.Fatalf("next handle not saved: %s", again)
	}
}

func TestKeysInBackupsAndRestoredClusters(t *testing.T) {
	s, c, now := connected(t)
	h, _ := s.GenerateKMSKey(now, c.ID, testStore, "k")
	iv, sealed, _ := s.EncryptKMS(now, c.ID, testStore, h, []byte("secret"), nil)
	// Adding an HSM takes a backup.
	if _, err := invoke(t, s, now, "CreateHsm", map[string]any{"ClusterId": c.ID, "AvailabilityZone": "us-east-1b"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(hsmCreateTime)
	s.Settle(now)
	b := s.st.Backups[len(s.st.Backups)-1]
	if len(b.Keys) != 1 || b.Keys[0] == c.Keys[0] || b.Keys[0].Handle != h {
		t.Fatalf("backup keys %+v", b.Keys)
	}
	// Deleting the key in the cluster leaves the backup alone.
	if err := s.DeleteKMSKey(now, c.ID, testStore, h); err != nil {
		t.Fatal(err)
	}
	if len(b.Keys) != 1 {
		t.Fatal("deleting key material touched a backup")
	}
	out, err := invoke(t, s, now, "CreateCluster", map[string]any{"HsmType": "hsm1.medium",
		"SubnetIds": []string{"subnet-0a000001", "subnet-0a000002"}, "SourceBackupId": b.ID})
	if err != nil {
		t.Fatal(err)
	}
	id := out.(map[string]any)["Cluster"].(clusterView).ClusterId
	now = now.Add(clusterCreateTime)
	s.Settle(now)
	if _, err := invoke(t, s, now, "CreateHsm", map[string]any{"ClusterId": id, "AvailabilityZone": "us-east-1a"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(hsmCreateTime)
	s.Settle(now)
	// The store moves to the new cluster (Edit cluster ID) and reconnects.
	s.DisconnectKMS(now, c.ID, testStore)
	if _, err := invoke(t, s, now, "ChangeCryptoUserPassword", map[string]any{"ClusterId": id, "Username": KMSUser, "NewPassword": "known12345"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConnectKMS(now, id, testStore, "known12345"); err != nil {
		t.Fatal(err)
	}
	got, err := s.DecryptKMS(now, id, testStore, h, iv, sealed, nil)
	if err != nil || string(got) != "secret" {
		t.Fatalf("decrypt in the restored cluster: %q %v", got, err)
	}
	if h2, _ := s.GenerateKMSKey(now, id, testStore, "k2"); h2 != h+1 {
		t.Fatalf("restored cluster reuses handles: %#x", h2)
	}
}

func TestKeysAreDeterministic(t *testing.T) {
	run := func() []byte {
		s, c, now := connected(t)
		h, _ := s.GenerateKMSKey(now, c.ID, testStore, "k")
		iv, sealed, _ := s.EncryptKMS(now, c.ID, testStore, h, []byte("same"), nil)
		r, _ := s.GenerateRandomKMS(now, c.ID, testStore, 16)
		return append(append(append(c.Keys[0].Material, iv...), sealed...), r...)
	}
	if a, b := run(), run(); !bytes.Equal(a, b) {
		t.Fatalf("different output for the same seed:\n%x\n%x", a, b)
	}
}

func benchmarkKMS(b *testing.B, size int) {
	s, c, now := connected(b)
	h, _ := s.GenerateKMSKey(now, c.ID, testStore, "k")
	plain, aad := make([]byte, size), []byte("aad")
	iv, sealed, _ := s.EncryptKMS(now, c.ID, testStore, h, plain, aad)
	b.Run("Encrypt", func(b *testing.B) {
		b.SetBytes(int64(size))
		for b.Loop() {
			if _, _, err := s.EncryptKMS(now, c.ID, testStore, h, plain, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decrypt", func(b *testing.B) {
		b.SetBytes(int64(size))
		for b.Loop() {
			if _, err := s.DecryptKMS(now, c.ID, testStore, h, iv, sealed, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkKMS64(b *testing.B) { benchmarkKMS(b, 64) }
func BenchmarkKMS4K(b *testing.B) { benchmarkKMS(b, 4096) }
