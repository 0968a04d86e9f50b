package seed

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// fakeAWS is a scripted sandbox: clusters, HSMs and key stores move to their
// next state after a set number of Simulator.AdvanceClock calls. It records
// every call.
type fakeAWS struct {
	t       *testing.T
	targets []string
	bodies  []map[string]any

	ticks    int
	clusters map[string]*fakeCluster
	stores   map[string]*fakeStore
	keys     int

	// Knobs.
	clusterDelay int               // ticks until a new cluster is UNINITIALIZED; <0 never
	connectState string            // where a connection ends (CONNECTED by default)
	fail         map[string]string // target -> error body, answered with 400
}

type fakeCluster struct {
	state   string
	readyAt int // tick at which the pending state change happens; -1 none
	next    string
	hsms    []*fakeHSM
}

type fakeHSM struct {
	id, az  string
	readyAt int
}

type fakeStore struct {
	state   string
	readyAt int
}

func newFakeAWS(t *testing.T) *fakeAWS {
	return &fakeAWS{t: t, clusters: map[string]*fakeCluster{}, stores: map[string]*fakeStore{},
		clusterDelay: 2, connectState: "CONNECTED", fail: map[string]string{}}
}

func (f *fakeAWS) call(target string, body []byte) (int, []byte) {
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		f.t.Errorf("%s: body %q is not a JSON object: %v", target, body, err)
	}
	f.targets = append(f.targets, target)
	f.bodies = append(f.bodies, req)
	if e, ok := f.fail[target]; ok {
		return 400, []byte(e)
	}
	ok := func(v any) (int, []byte) {
		b, err := json.Marshal(v)
		if err != nil {
			f.t.Fatal(err)
		}
		return 200, b
	}
	str := func(k string) string { s, _ := req[k].(string); return s }
	switch target {
	case "Simulator.ResetSandbox":
		return ok(map[string]any{})
	case "Simulator.AdvanceClock":
		f.ticks++
		return ok(map[string]any{})
	case "BaldrApiService.CreateCluster":
		id := fmt.Sprintf("cluster-%d", len(f.clusters)+1)
		c := &fakeCluster{state: "CREATE_IN_PROGRESS", next: "UNINITIALIZED", readyAt: f.ticks + f.clusterDelay}
		if f.clusterDelay < 0 {
			c.readyAt = -1
		}
		f.clusters[id] = c
		return ok(map[string]any{"Cluster": map[string]any{"ClusterId": id, "State": c.state}})
	case "BaldrApiService.DescribeClusters":
		id := req["Filters"].(map[string]any)["clusterIds"].([]any)[0].(string)
		c := f.clusters[id]
		if c.readyAt >= 0 && f.ticks >= c.readyAt {
			c.state, c.readyAt = c.next, -1
		}
		var hsms []map[string]string
		for _, h := range c.hsms {
			state := "CREATE_IN_PROGRESS"
			if f.ticks >= h.readyAt {
				state = "ACTIVE"
			}
			hsms = append(hsms, map[string]string{"HsmId": h.id, "AvailabilityZone": h.az, "State": state})
		}
		return ok(map[string]any{"Clusters": []any{map[string]any{"ClusterId": id, "State": c.state, "Hsms": hsms}}})
	case "BaldrApiService.CreateHsm":
		c := f.clusters[str("ClusterId")]
		if c.state != "UNINITIALIZED" && c.state != "INITIALIZED" && c.state != "ACTIVE" ||
			c.state == "UNINITIALIZED" && len(c.hsms) > 0 {
			return 400, []byte(`{"__type":"CloudHsmInvalidRequestException","Message":"not now"}`)
		}
		c.hsms = append(c.hsms, &fakeHSM{id: fmt.Sprintf("hsm-%d", len(c.hsms)+1), az: str("AvailabilityZone"), readyAt: f.ticks + 1})
		return ok(map[string]any{})
	case "Simulator.SignClusterCsr":
		return ok(map[string]string{"SignedCert": "CERT-" + str("ClusterId"), "TrustAnchor": "ANCHOR-" + str("ClusterId")})
	case "BaldrApiService.InitializeCluster":
		c := f.clusters[str("ClusterId")]
		c.state, c.next, c.readyAt = "INITIALIZE_IN_PROGRESS", "INITIALIZED", f.ticks+1
		return ok(map[string]any{})
	case "Simulator.ActivateCluster":
		c := f.clusters[str("ClusterId")]
		c.next, c.readyAt = "ACTIVE", f.ticks // done at the next look
		return ok(map[string]any{})
	case "Simulator.CreateCryptoUser":
		return ok(map[string]any{})
	case "TrentService.CreateCustomKeyStore":
		id := fmt.Sprintf("cks-%d", len(f.stores)+1)
		f.stores[id] = &fakeStore{state: "DISCONNECTED"}
		return ok(map[string]string{"CustomKeyStoreId": id})
	case "TrentService.ConnectCustomKeyStore":
		s := f.stores[str("CustomKeyStoreId")]
		s.state, s.readyAt = "CONNECTING", f.ticks+3
		return ok(map[string]any{})
	case "TrentService.CreateKey":
		f.keys++
		return ok(map[string]any{"KeyMetadata": map[string]string{"KeyId": fmt.Sprintf("key-%d", f.keys)}})
	case "TrentService.CreateAlias":
		return ok(map[string]any{})
	case "TrentService.DescribeCustomKeyStores":
		s := f.stores[str("CustomKeyStoreId")]
		ks := map[string]string{"CustomKeyStoreId": str("CustomKeyStoreId"), "ConnectionState": s.state}
		if s.state == "CONNECTING" && f.ticks >= s.readyAt {
			s.state = f.connectState
			ks["ConnectionState"] = s.state
		}
		if s.state == "FAILED" {
			ks["ConnectionErrorCode"] = "USER_NOT_FOUND"
		}
		return ok(map[string]any{"CustomKeyStores": []any{ks}})
	}
	f.t.Errorf("unexpected target %s", target)
	return 400, []byte(`{"__type":"UnknownOperationException"}`)
}

// calls returns the targets called, with runs of the same target collapsed
// to "target xN".
func (f *fakeAWS) calls() []string {
	var out []string
	for i := 0; i < len(f.targets); {
		j := i
		for j < len(f.targets) && f.targets[j] == f.targets[i] {
			j++
		}
		if j-i > 1 {
			out = append(out, fmt.Sprintf("%s x%d", f.targets[i], j-i))
		} else {
			out = append(out, f.targets[i])
		}
		i = j
	}
	return out
}

// body returns the JSON body of the n-th call of target, re-encoded.
func (f *fakeAWS) body(target string, n int) string {
	for i, t := range f.targets {
		if t == target {
			if n == 0 {
				b, _ := json.Marshal(f.bodies[i])
				return string(b)
			}
			n--
		}
	}
	return ""
}

func parseExample(t *testing.T) *File {
	t.Helper()
	data, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestApplyExample(t *testing.T) {
	aws := newFakeAWS(t)
	res, err := parseExample(t).Apply(aws.call)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Simulator.ResetSandbox",
		"BaldrApiService.CreateCluster",
		"BaldrApiService.DescribeClusters", "Simulator.AdvanceClock",
		"BaldrApiService.DescribeClusters", "Simulator.AdvanceClock",
		"BaldrApiService.DescribeClusters",
		"BaldrApiService.CreateHsm",
		"BaldrApiService.DescribeClusters", "Simulator.AdvanceClock",
		"BaldrApiService.DescribeClusters",
		"Simulator.SignClusterCsr",
		"BaldrApiService.InitializeCluster",
		"BaldrApiService.DescribeClusters", "Simulator.AdvanceClock",
		"BaldrApiService.DescribeClusters",
		"Simulator.ActivateCluster",
		"BaldrApiService.DescribeClusters",
		"BaldrApiService.CreateHsm",
		"BaldrApiService.DescribeClusters", "Simulator.AdvanceClock",
		"BaldrApiService.DescribeClusters",
		"Simulator.CreateCryptoUser",
		"TrentService.CreateCustomKeyStore",
		"TrentService.ConnectCustomKeyStore",
		"TrentService.DescribeCustomKeyStores", "Simulator.AdvanceClock",
		"TrentService.DescribeCustomKeyStores", "Simulator.AdvanceClock",
		"TrentService.DescribeCustomKeyStores", "Simulator.AdvanceClock",
		"TrentService.DescribeCustomKeyStores",
		"TrentService.CreateKey", "TrentService.CreateAlias",
		"TrentService.CreateKey", "TrentService.CreateAlias",
	}
	if got := aws.calls(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	bodies := []struct{ target, want string }{
		{"Simulator.ResetSandbox", `{"ClockSpeed":60,"Region":"us-east-1","Seed":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"}`},
		{"BaldrApiService.CreateCluster", `{"HsmType":"hsm2m.medium","SubnetIds":["subnet-0a1b2c3d4e5f60001","subnet-0a1b2c3d4e5f60002"]}`},
		{"BaldrApiService.DescribeClusters", `{"Filters":{"clusterIds":["cluster-1"]}}`},
		{"BaldrApiService.CreateHsm", `{"AvailabilityZone":"us-east-1a","ClusterId":"cluster-1"}`},
		{"Simulator.SignClusterCsr", `{"ClusterId":"cluster-1"}`},
		{"BaldrApiService.InitializeCluster", `{"ClusterId":"cluster-1","SignedCert":"CERT-cluster-1","TrustAnchor":"ANCHOR-cluster-1"}`},
		{"Simulator.ActivateCluster", `{"AdminPassword":"seedAdmin1","ClusterId":"cluster-1"}`},
		{"Simulator.CreateCryptoUser", `{"ClusterId":"cluster-1","Password":"kmsPassword1","Username":"kmsuser"}`},
		{"TrentService.CreateCustomKeyStore", `{"CloudHsmClusterId":"cluster-1","CustomKeyStoreName":"ExampleKeyStore","KeyStorePassword":"kmsPassword1","TrustAnchorCertificate":"ANCHOR-cluster-1"}`},
		{"TrentService.ConnectCustomKeyStore", `{"CustomKeyStoreId":"cks-1"}`},
		{"TrentService.DescribeCustomKeyStores", `{"CustomKeyStoreId":"cks-1"}`},
		{"Simulator.AdvanceClock", `{"Seconds":60}`},
		{"TrentService.CreateKey", `{"Description":"A standard KMS key"}`},
		{"TrentService.CreateAlias", `{"AliasName":"alias/example","TargetKeyId":"key-1"}`},
	}
	for _, b := range bodies {
		if got := aws.body(b.target, 0); got != b.want {
			t.Errorf("%s body = %s, want %s", b.target, got, b.want)
		}
	}
	if got := aws.body("BaldrApiService.CreateHsm", 1); got != `{"AvailabilityZone":"us-east-1b","ClusterId":"cluster-1"}` {
		t.Errorf("second CreateHsm body = %s", got)
	}

	wantRes := Result{
		Clusters:  []ClusterResult{{Ref: "demo", ClusterID: "cluster-1"}},
		KeyStores: []KeyStoreResult{{Name: "ExampleKeyStore", CustomKeyStoreID: "cks-1", ConnectionState: "CONNECTED"}},
		KeyIDs:    []string{"key-1", "key-2"},
	}
	if fmt.Sprint(*res) != fmt.Sprint(wantRes) {
		t.Errorf("result = %+v, want %+v", *res, wantRes)
	}
}

func TestApplyMinimal(t *testing.T) {
	f, err := Parse([]byte(`
clusters:
  - ref: bare
    subnets: [subnet-1]
    initialize: false
  - ref: two
    subnets: [subnet-2, subnet-3]
    hsms: [us-east-1a]
    adminPassword: otherAdmin1
keyStores:
  - {name: Quiet, cluster: two, keyStorePassword: pw123456}
`))
	if err != nil {
		t.Fatal(err)
	}
	aws := newFakeAWS(t)
	aws.clusterDelay = 0
	res, err := f.Apply(aws.call)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		// No settings: no reset. A cluster without HSMs is only created.
		"BaldrApiService.CreateCluster",
		"BaldrApiService.DescribeClusters",
		"BaldrApiService.CreateCluster",
		"BaldrApiService.DescribeClusters",
		"BaldrApiService.CreateHsm",
		"BaldrApiService.DescribeClusters", "Simulator.AdvanceClock",
		"BaldrApiService.DescribeClusters",
		"Simulator.SignClusterCsr",
		"BaldrApiService.InitializeCluster",
		"BaldrApiService.DescribeClusters", "Simulator.AdvanceClock",
		"BaldrApiService.DescribeClusters",
		"Simulator.ActivateCluster",
		"BaldrApiService.DescribeClusters",
		// connect defaults to false.
		"TrentService.CreateCustomKeyStore",
	}
	if got := aws.calls(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := aws.body("Simulator.ActivateCluster", 0); !strings.Contains(got, `"AdminPassword":"otherAdmin1"`) {
		t.Errorf("ActivateCluster body = %s", got)
	}
	if got := aws.body("TrentService.CreateCustomKeyStore", 0); !strings.Contains(got, `"TrustAnchorCertificate":"ANCHOR-cluster-2"`) {
		t.Errorf("CreateCustomKeyStore body = %s", got)
	}
	if len(res.Clusters) != 2 || res.KeyStores[0].ConnectionState != "DISCONNECTED" {
		t.Errorf("result = %+v", res)
	}
}

func TestApplyFailedConnectionIsReported(t *testing.T) {
	aws := newFakeAWS(t)
	aws.connectState = "FAILED"
	res, err := parseExample(t).Apply(aws.call)
	if err != nil {
		t.Fatal(err)
	}
	if ks := res.KeyStores[0]; ks.ConnectionState != "FAILED" || ks.ConnectionErrorCode != "USER_NOT_FOUND" {
		t.Errorf("key store = %+v, want FAILED with USER_NOT_FOUND", ks)
	}
}

func TestApplyStopsAtError(t *testing.T) {
	aws := newFakeAWS(t)
	// An error message that quotes a password must not pass it on.
	aws.fail["Simulator.CreateCryptoUser"] = `{"__type":"CloudHsmInvalidRequestException","Message":"password kmsPassword1 is weak"}`
	res, err := parseExample(t).Apply(aws.call)
	if err == nil {
		t.Fatal("Apply succeeded")
	}
	want := `seed: cluster "demo": create crypto user kmsuser: Simulator.CreateCryptoUser answered 400 CloudHsmInvalidRequestException: password ******** is weak`
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	if last := aws.targets[len(aws.targets)-1]; last != "Simulator.CreateCryptoUser" {
		t.Errorf("calls went on after the error, up to %s", last)
	}
	if len(res.Clusters) != 1 || len(res.KeyStores) != 0 {
		t.Errorf("result = %+v, want the one cluster made", res)
	}

	aws = newFakeAWS(t)
	aws.fail["Simulator.ResetSandbox"] = `{"__type":"ValidationException","message":"bad seed"}`
	_, err = parseExample(t).Apply(aws.call)
	if want := "seed: reset the sandbox: Simulator.ResetSandbox answered 400 ValidationException: bad seed"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestWaitGivesUp(t *testing.T) {
	aws := newFakeAWS(t)
	aws.clusterDelay = -1
	_, err := parseExample(t).Apply(aws.call)
	want := `seed: cluster "demo": wait for the cluster to be UNINITIALIZED: gave up after 60 virtual minutes: the cluster is CREATE_IN_PROGRESS`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
	advances := 0
	for _, target := range aws.targets {
		if target == "Simulator.AdvanceClock" {
			advances++
		}
	}
	if advances != MaxWaits {
		t.Errorf("advanced the clock %d times, want %d", advances, MaxWaits)
	}
}

func TestParseErrors(t *testing.T) {
	const cluster = "clusters:\n  - ref: c\n    subnets: [s1]\n    hsms: [us-east-1a]\n"
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"empty", "", []string{"seed file is empty"}},
		{"comments only", "# nothing\n", []string{"seed file is empty"}},
		{"two documents", "region: us-east-1\n---\nregion: us-west-2\n", []string{"only one YAML document"}},
		{"unknown top-level key", "region: us-east-1\nregoin: x\n", []string{"line 2", "regoin"}},
		{"unknown nested key", cluster + "    hsm: [us-east-1b]\n", []string{"line 5", "field hsm not found"}},
		{"unknown crypto user key", cluster + "    cryptoUsers:\n      - {username: u, pasword: p}\n", []string{"line 6", "pasword"}},
		{"wrong type", "clockSpeed: fast\n", []string{"line 1", "fast"}},
		{"not a list", "clusters: {ref: c}\n", []string{"line 1"}},
		{"short seed", "seed: 0011\n", []string{"seed: must be 64 hexadecimal digits"}},
		{"non-hex seed", "seed: " + strings.Repeat("zz", 32) + "\n", []string{"seed: must be 64 hexadecimal digits"}},
		{"bad region", "region: Mars\n", []string{`region: "Mars"`}},
		{"negative clock", "clockSpeed: -1\n", []string{"clockSpeed"}},
		{"missing ref", "clusters:\n  - subnets: [s]\n    hsms: [a]\n", []string{"clusters[0]: ref is required"}},
		{"duplicate ref", cluster + "  - ref: c\n    subnets: [s2]\n    hsms: [b]\n", []string{`clusters[1]: ref "c" is used twice`}},
		{"no subnets", "clusters:\n  - ref: c\n    hsms: [a]\n", []string{`cluster "c": subnets: at least one`}},
		{"empty AZ", "clusters:\n  - ref: c\n    subnets: [s]\n    hsms: [\"\"]\n", []string{`cluster "c": hsms[0]`}},
		{"uninitialized with two HSMs", "clusters:\n  - ref: c\n    subnets: [s]\n    hsms: [a, b]\n    initialize: false\n",
			[]string{`cluster "c": an uninitialized cluster can have only one HSM`}},
		{"initialize without HSMs", "clusters:\n  - ref: c\n    subnets: [s]\n", []string{`cluster "c": initialize needs at least one HSM`}},
		{"users without initialize", "clusters:\n  - ref: c\n    subnets: [s]\n    initialize: false\n    cryptoUsers: [{username: u, password: p}]\n",
			[]string{`cluster "c": cryptoUsers need an initialized cluster`}},
		{"user without password", cluster + "    cryptoUsers: [{username: kmsuser}]\n", []string{`cluster "c": cryptoUsers[0]: password is required`}},
		{"duplicate user", cluster + "    cryptoUsers: [{username: u, password: p}, {username: u, password: q}]\n", []string{`cryptoUsers[1]: username "u" is used twice`}},
		{"unknown cluster ref", cluster + "keyStores:\n  - {name: k, cluster: d, keyStorePassword: p}\n", []string{`key store "k": cluster "d" is not a ref in clusters`}},
		{"store without cluster", "keyStores:\n  - {name: k, keyStorePassword: p}\n", []string{`key store "k": cluster is required`}},
		{"store without password", cluster + "keyStores:\n  - {name: k, cluster: c}\n", []string{`key store "k": keyStorePassword is required`}},
		{"store without name", cluster + "keyStores:\n  - {cluster: c, keyStorePassword: p}\n", []string{`keyStores[0]: name is required`}},
		{"duplicate store", cluster + "keyStores:\n  - {name: k, cluster: c, keyStorePassword: p}\n  - {name: k, cluster: c, keyStorePassword: p}\n",
			[]string{`keyStores[1]: name "k" is used twice`}},
		{"store on uninitialized cluster", "clusters:\n  - {ref: c, subnets: [s], initialize: false}\nkeyStores:\n  - {name: k, cluster: c, keyStorePassword: p}\n",
			[]string{`key store "k": cluster "c" is not initialized`}},
		{"bad alias", "keys:\n  - {alias: example}\n", []string{`key 1: alias "example" must start with alias/`}},
		{"duplicate alias", "keys:\n  - {alias: alias/a}\n  - {alias: alias/a}\n", []string{`key 2: alias "alias/a" is used twice`}},
		{"key in unknown store", "keys:\n  - {keyStore: nope}\n", []string{`key 1: keyStore "nope" is not a key store above`}},
		{"key in unconnected store", cluster + "keyStores:\n  - {name: k, cluster: c, keyStorePassword: p}\nkeys:\n  - {keyStore: k}\n",
			[]string{`key 1: key store "k" is not connected`}},
		{"xksKeyId without store", "keys:\n  - {xksKeyId: bar}\n", []string{`key 1: xksKeyId is for keys in an external key store`}},
		{"every problem at once", "clusters:\n  - subnets: []\nkeyStores:\n  - {}\n",
			[]string{"ref is required", "subnets", "name is required", "keyStorePassword is required", "cluster is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", f)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseNumbersAsStrings(t *testing.T) {
	// YAML would read these as numbers; the seed and passwords are strings.
	f, err := Parse([]byte("seed: " + strings.Repeat("01", 32) + "\n" + `
clusters:
  - ref: 7
    subnets: [s]
    hsms: [us-east-1a]
    cryptoUsers: [{username: kmsuser, password: 12345678}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if f.Seed != strings.Repeat("01", 32) || f.Clusters[0].Ref != "7" || f.Clusters[0].CryptoUsers[0].Password != "12345678" {
		t.Errorf("parsed %+v", f)
	}
}
