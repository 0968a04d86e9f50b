package engine

import (
	"bytes"

	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// hostSeeded turns a test sandbox into one a host made: ResetSandbox
// without a Seed, then Reseed.
func hostSeeded(s *sandbox, entropy byte) {
	s.t.Helper()
	s.ok("Simulator.ResetSandbox", map[string]any{})
	s.ok("Simulator.Reseed", map[string]any{"Entropy": bytes.Repeat([]byte{entropy}, 32)})
}

func randomBytes(s *sandbox) string {
	s.t.Helper()
	return s.ok("TrentService.GenerateRandom", map[string]any{"NumberOfBytes": 32})["Plaintext"].(string)
}

// TestRestoreNeverRepeatsRandomness is the crash of the Trust issue: a host
// saved a snapshot, served data-plane calls that drew from the stream, died
// without saving again, restored the snapshot and reseeded. Nothing it hands
// out after the restart may equal what it handed out before.
func TestRestoreNeverRepeatsRandomness(t *testing.T) {
	r := newKeyRig(t)
	hostSeeded(r.sandbox, 1)
	cluster, anchor := r.cluster([]string{"subnet-0a000001", "subnet-0a000002"}, "us-east-1a", "us-east-1b")
	ks := r.store("hsm", cluster, anchor)
	r.ok("TrentService.ConnectCustomKeyStore", map[string]any{"CustomKeyStoreId": ks})
	r.advance(20 * time.Minute)
	key := r.createKey(map[string]any{"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": ks})
	saved := r.e.Snapshot()
	if bytes.Contains(saved, []byte(`"rand"`)) {
		t.Fatal("a host-seeded sandbox's snapshot carries its random stream")
	}

	before := randomBytes(r.sandbox)
	dataKey := r.ok("TrentService.GenerateDataKey", map[string]any{"KeyId": key, "NumberOfBytes": 32})["Plaintext"]
	blob1 := r.encrypt(key, []byte("first message"), nil)

	e, err := Restore(saved, t0)
	if err != nil {
		t.Fatal(err)
	}
	r.e = e
	r.ok("Simulator.Reseed", map[string]any{"Entropy": bytes.Repeat([]byte{2}, 32)})
	if after := randomBytes(r.sandbox); after == before {
		t.Fatalf("GenerateRandom repeated %s after the restore", before)
	}
	if again := r.ok("TrentService.GenerateDataKey", map[string]any{"KeyId": key, "NumberOfBytes": 32})["Plaintext"]; again == dataKey {
		t.Fatal("GenerateDataKey handed out the same data key twice")
	}
	blob2 := r.encrypt(key, []byte("other message"), nil)
	if ivOf(t, blob1) == ivOf(t, blob2) {
		t.Fatal("two messages were sealed with one IV under one key")
	}
}

func ivOf(t *testing.T, blob []byte) string {
	t.Helper()
	b, err := parseBlob(blob)
	if err != nil {
		t.Fatal(err)
	}
	return string(b.iv)
}

// TestReproducibleSandboxKeepsItsStream: a sandbox made with a Seed is
// reproducible. Its snapshot carries the stream, Reseed leaves it alone, and
// the same calls give the same bytes after a restore.
func TestReproducibleSandboxKeepsItsStream(t *testing.T) {
	s := newSandbox(t)
	s.ok("Simulator.ResetSandbox", map[string]any{"Seed": strings.Repeat("ab", 32)})
	saved := s.e.Snapshot()
	first := randomBytesOf(t, s)
	e, err := Restore(saved, t0)
	if err != nil {
		t.Fatal(err)
	}
	s.e = e
	s.ok("Simulator.Reseed", map[string]any{"Entropy": bytes.Repeat([]byte{7}, 32)})
	if again := randomBytesOf(t, s); again != first {
		t.Fatalf("a reproducible sandbox gave %s, then %s after a restore", first, again)
	}
	s.fails("Simulator.Reseed", map[string]any{"Entropy": "AAAA"}, "ValidationException")
}

// randomBytesOf draws from the stream through an operation every sandbox
// has: a new cluster's ID.
func randomBytesOf(t *testing.T, s *sandbox) string {
	t.Helper()
	return s.ok("BaldrApiService.CreateCluster", map[string]any{"HsmType": "hsm2m.medium", "SubnetIds": []string{"subnet-0a000009"}})["Cluster"].(map[string]any)["ClusterId"].(string)
}

// TestExportWithoutSecrets: OmitSecrets gives a snapshot whose sandbox works
// as the original does, with none of the original's secrets in it.
func TestExportWithoutSecrets(t *testing.T) {
	r := newKeyRig(t)
	full := r.e.Snapshot()
	var out struct{ Snapshot json.RawMessage }
	b, _ := json.Marshal(r.ok("Simulator.ExportSnapshot", map[string]any{"OmitSecrets": true}))
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	var st snapshot
	_ = json.Unmarshal(full, &st)
	for _, ks := range st.Engine.KeyStores {
		secret := ks.Password
		if ks.XKS != nil {
			secret = ks.XKS.Secret
		}
		if secret == "" || bytes.Contains(out.Snapshot, []byte(secret)) {
			t.Fatalf("the export without secrets holds store %s's secret %q", ks.Name, secret)
		}
	}
	e, err := Restore(out.Snapshot, t0)
	if err != nil {
		t.Fatal(err)
	}
	r.e = e
	for _, id := range []string{r.hsmStore, r.xksStoreID} {
		r.ok("TrentService.DisconnectCustomKeyStore", map[string]any{"CustomKeyStoreId": id})
	}
	r.advance(10 * time.Minute)
	for _, id := range []string{r.hsmStore, r.xksStoreID} {
		r.ok("TrentService.ConnectCustomKeyStore", map[string]any{"CustomKeyStoreId": id})
	}
	r.advance(20 * time.Minute)
	for _, id := range []string{r.hsmStore, r.xksStoreID} {
		if st := r.state(id); st != "CONNECTED" {
			t.Fatalf("store %s is %s after a reconnect in the copy: %v", id, st, r.describe(id))
		}
	}
	r.decrypt(r.encrypt(r.keys[OriginXKS], []byte("still works"), nil), nil)
}

// TestBadSnapshotsAreRefused: the snapshots of the Trust issue's third
// finding are refused with a ValidationException, and the sandbox is left
// as it was.
func TestBadSnapshotsAreRefused(t *testing.T) {
	r := newKeyRig(t)
	good := r.e.Snapshot()
	for name, edit := range map[string]func(m map[string]any){
		"keyStores:[null]":   func(m map[string]any) { eng(m)["keyStores"] = []any{nil} },
		"keys:[null]":        func(m map[string]any) { eng(m)["keys"] = []any{nil} },
		"xks.proxies:[null]": func(m map[string]any) { m["xks"].(map[string]any)["proxies"] = []any{nil} },
		"alias to no key": func(m map[string]any) {
			eng(m)["aliases"] = []any{map[string]any{"name": "alias/x", "keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}}
		},
		"key in no store":      func(m map[string]any) { eng(m)["keyStores"] = []any{} },
		"clock speed negative": func(m map[string]any) { eng(m)["clock"].(map[string]any)["speed"] = -1 },
		"unknown state":        func(m map[string]any) { eng(m)["keyStores"].([]any)[0].(map[string]any)["state"] = "SLEEPING" },
		"short material":       func(m map[string]any) { eng(m)["keys"].([]any)[0].(map[string]any)["material"] = "AAAA" },
		"year 10000": func(m map[string]any) {
			eng(m)["keys"].([]any)[0].(map[string]any)["created"] = "10000-01-01T00:00:00Z"
		},
	} {
		t.Run(name, func(t *testing.T) {
			var m map[string]any
			_ = json.Unmarshal(good, &m)
			edit(m)
			bad, _ := json.Marshal(m)
			before := r.e.Snapshot()
			msg := r.fails("Simulator.ImportSnapshot", map[string]any{"Snapshot": json.RawMessage(bad)}, "ValidationException")
			if !strings.HasPrefix(msg, "The snapshot cannot be imported: ") {
				t.Fatalf("message %q", msg)
			}
			if !bytes.Equal(before, r.e.Snapshot()) {
				t.Fatal("a refused snapshot changed the sandbox")
			}
			if _, err := Restore(bad, t0); err == nil {
				t.Fatal("Restore accepted it")
			}
		})
	}
	r.ok("Simulator.ResetSandbox", map[string]any{})
}

func eng(m map[string]any) map[string]any { return m["engine"].(map[string]any) }

// TestEverySingleValueMutation changes one value of a real snapshot at a
// time, to each of a few hostile values, and imports it. Either the import
// is refused with a ValidationException and the sandbox is unchanged, or it
// is accepted and the sandbox answers every read-only call without an
// internal error; either way ResetSandbox works afterwards.
func TestEverySingleValueMutation(t *testing.T) {
	r := newKeyRig(t)
	base := r.e.Snapshot()
	n, refused := 0, 0
	for _, m := range mutations(base) {
		n++
		if !checkImport(t, m.desc, m.data) {
			refused++
		}
		if testing.Short() && n >= 300 {
			break
		}
	}
	t.Logf("%d mutations, %d refused", n, refused)
}

type mutation struct {
	desc string
	data []byte
}

// hostile are the values every node of a snapshot is replaced with.
var hostile = []any{nil, "", -1.0, 1e300, []any{nil}, map[string]any{}, "x"}

// mutations lists every snapshot made by replacing one node of base with
// one of the hostile values.
func mutations(base []byte) []mutation {
	var tree any
	_ = json.Unmarshal(base, &tree)
	var out []mutation
	var walk func(path []any, node any)
	walk = func(path []any, node any) {
		for i, v := range hostile {
			if c := setPath(tree, path, v); c != nil {
				b, _ := json.Marshal(c)
				out = append(out, mutation{fmt.Sprintf("%v = hostile[%d]", path, i), b})
			}
		}
		switch n := node.(type) {
		case map[string]any:
			keys := make([]string, 0, len(n))
			for k := range n {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				walk(append(slices.Clone(path), k), n[k])
			}
		case []any:
			for i, x := range n {
				walk(append(slices.Clone(path), i), x)
			}
		}
	}
	walk(nil, tree)
	return out
}

// setPath returns a deep copy of tree with the node at path set to v, or nil
// for the root.
func setPath(tree any, path []any, v any) any {
	if len(path) == 0 {
		return nil
	}
	b, _ := json.Marshal(tree)
	var c any
	_ = json.Unmarshal(b, &c)
	node := c
	for _, p := range path[:len(path)-1] {
		switch p := p.(type) {
		case string:
			node = node.(map[string]any)[p]
		case int:
			node = node.([]any)[p]
		}
	}
	switch p := path[len(path)-1].(type) {
	case string:
		node.(map[string]any)[p] = v
	case int:
		node.([]any)[p] = v
	}
	return c
}

// checkImport imports data into a fresh sandbox and checks the promise of
// TestEverySingleValueMutation; it reports whether the import was accepted.
func checkImport(t *testing.T, desc string, data []byte) bool {
	t.Helper()
	e := New(Config{}, t0)
	before := e.Snapshot()
	body, _ := json.Marshal(map[string]any{"Snapshot": json.RawMessage(data)})
	status, resp := e.Handle(t0, "Simulator.ImportSnapshot", body)
	accepted := status == 200
	switch {
	case accepted:
		for _, target := range probeTargets {
			if st, out := e.Handle(t0, target, nil); st >= 500 {
				t.Fatalf("%s: accepted, then %s answered %d %s", desc, target, st, out)
			}
		}
		for _, target := range []string{"TrentService.CreateKey", "Simulator.AdvanceClock"} {
			if st, out := e.Handle(t0, target, []byte(`{"Seconds":86400}`)); st >= 500 {
				t.Fatalf("%s: accepted, then %s answered %d %s", desc, target, st, out)
			}
		}
	case status == 400 && bytes.Contains(resp, []byte(`"ValidationException"`)):
		if !bytes.Equal(before, e.Snapshot()) {
			t.Fatalf("%s: refused, but the sandbox changed", desc)
		}
	default:
		t.Fatalf("%s: ImportSnapshot answered %d %s", desc, status, resp)
	}
	if st, out := e.Handle(t0, "Simulator.ResetSandbox", nil); st != 200 {
		t.Fatalf("%s: ResetSandbox answered %d %s", desc, st, out)
	}
	return accepted
}

// FuzzSnapshot imports snapshots with any number of hostile values in them
// (the fuzzer picks which nodes, and how many) and checks what
// TestEverySingleValueMutation checks. Seeded with each single mutation.
func FuzzSnapshot(f *testing.F) {
	r := newKeyRig(f)
	base := r.e.Snapshot()
	f.Add([]byte{0, 0})
	f.Add([]byte{200, 3, 17, 5})
	f.Fuzz(func(t *testing.T, picks []byte) {
		var tree any
		_ = json.Unmarshal(base, &tree)
		for i := 0; i+1 < len(picks); i += 2 {
			path := pickPath(tree, int(picks[i]))
			if c := setPath(tree, path, hostile[int(picks[i+1])%len(hostile)]); c != nil {
				tree = c
			}
		}
		data, _ := json.Marshal(tree)
		checkImport(t, fmt.Sprintf("picks %v", picks), data)
	})
}

// pickPath walks from the root of tree, taking the n-th child (mod the
// number of children) at each level, and stops at a leaf or where n runs
// out.
func pickPath(tree any, n int) []any {
	var path []any
	node := tree
	for {
		switch x := node.(type) {
		case map[string]any:
			if len(x) == 0 {
				return path
			}
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			k := keys[n%len(keys)]
			path, node = append(path, k), x[k]
		case []any:
			if len(x) == 0 {
				return path
			}
			i := n % len(x)
			path, node = append(path, i), x[i]
		default:
			return path
		}
		n = n/3 + 1
		if n < 2 && len(path) > 1 {
			return path
		}
	}
}
