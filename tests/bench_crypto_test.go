package tests

// Benchmarks of the encryption path: Encrypt, Decrypt and GenerateDataKey
// for a key of each origin, natively and inside engine.wasm under wazero;
// the same calls with 10 and with 10,000 keys in the sandbox; and Encrypt
// over HTTP through the AWS SDK for Go v2 against the local server, whose
// CPU time per request is compared with that of the same server answering
// a canned body. Results are written down in README.md ("Measurements").

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"keystorelab/engine"
	"keystorelab/wasm/host"
	"keystorelab/web/server"
)

// handleFunc is an engine as the benchmarks drive it: engine.Engine.Handle
// or host.Engine.Handle.
type handleFunc func(now time.Time, target string, body []byte) (int, []byte)

// cryptoRig is a sandbox built through the public API as engine's keyRig
// builds it: a CONNECTED AWS CloudHSM key store, a CONNECTED external key
// store behind a simulated proxy, and a key of each origin.
type cryptoRig struct {
	tb     testing.TB
	handle handleFunc
	keys   map[string]string // origin -> key ID
	// tick counts the calls made at advancing host times: call i is made at
	// T0 + i ms, so a store sees 1,000 requests per virtual second, under
	// its quota of 1,800.
	tick int64
}

const (
	benchXksEndpoint = "https://xks.example.com"
	benchXksPath     = "/example/kms/xks/v1"
	benchXksKeyID    = "BE2J6Q2RE7ZRRCONB2M2RKBT5M"
	benchXksSecret   = "oTbh0uA9Z3M5tJr1dDqHsbQn7sAkH+3v9XhXxKZbVmk="
)

var benchOrigins = []string{"AWS_KMS", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"}

// ok makes a setup call at T0 (virtual time moves by AdvanceClock) and
// requires a 200.
func (r *cryptoRig) ok(target string, req any) map[string]any {
	r.tb.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		r.tb.Fatal(err)
	}
	status, resp := r.handle(T0, target, body)
	if status != 200 {
		r.tb.Fatalf("%s: %d %s", target, status, resp)
	}
	var m map[string]any
	if err := json.Unmarshal(resp, &m); err != nil {
		r.tb.Fatalf("%s: %v", target, err)
	}
	return m
}

func (r *cryptoRig) advance(d time.Duration) {
	r.ok("Simulator.AdvanceClock", map[string]any{"Seconds": d.Seconds()})
}

func (r *cryptoRig) createKey(req map[string]any) string {
	return r.ok("TrentService.CreateKey", req)["KeyMetadata"].(map[string]any)["KeyId"].(string)
}

// newCryptoRig builds the sandbox; with total > 3 it adds keys, a third
// of each origin, until the sandbox holds total keys, and fills the
// account's ten custom key stores with more connected external key stores.
func newCryptoRig(tb testing.TB, handle handleFunc, total int) *cryptoRig {
	tb.Helper()
	r := &cryptoRig{tb: tb, handle: handle, keys: map[string]string{}}
	// A cluster with two ACTIVE HSMs in two AZs, and kmsuser.
	c := r.ok("BaldrApiService.CreateCluster", map[string]any{"HsmType": "hsm2m.medium", "SubnetIds": []string{"subnet-0a000001", "subnet-0a000002"}})
	cluster := c["Cluster"].(map[string]any)["ClusterId"].(string)
	r.advance(5 * time.Minute)
	r.ok("BaldrApiService.CreateHsm", map[string]any{"ClusterId": cluster, "AvailabilityZone": "us-east-1a"})
	r.advance(10 * time.Minute)
	signed := r.ok("Simulator.SignClusterCsr", map[string]any{"ClusterId": cluster})
	r.ok("BaldrApiService.InitializeCluster", map[string]any{"ClusterId": cluster, "SignedCert": signed["SignedCert"], "TrustAnchor": signed["TrustAnchor"]})
	r.advance(5 * time.Minute)
	r.ok("Simulator.ActivateCluster", map[string]any{"ClusterId": cluster, "AdminPassword": "adminPassword1"})
	r.ok("BaldrApiService.CreateHsm", map[string]any{"ClusterId": cluster, "AvailabilityZone": "us-east-1b"})
	r.advance(10 * time.Minute)
	r.ok("Simulator.CreateCryptoUser", map[string]any{"ClusterId": cluster, "Username": "kmsuser", "Password": "kmsPassword1"})
	hsmStore := r.ok("TrentService.CreateCustomKeyStore", map[string]any{"CustomKeyStoreName": "hsm",
		"CloudHsmClusterId": cluster, "TrustAnchorCertificate": signed["TrustAnchor"], "KeyStorePassword": "kmsPassword1"})["CustomKeyStoreId"].(string)

	// A simulated proxy, and external key stores on it (one, or nine).
	r.ok("Simulator.CreateXksProxy", map[string]any{"UriEndpoint": benchXksEndpoint})
	stores := []string{hsmStore}
	xksStores := 1
	if total > 3 {
		xksStores = 9
	}
	var xksStore string
	for i := range xksStores {
		path := benchXksPath
		if i > 0 {
			path = fmt.Sprintf("/store%d/kms/xks/v1", i)
		}
		r.ok("Simulator.PutXksProxyPath", map[string]any{"UriEndpoint": benchXksEndpoint, "UriPath": path,
			"Credentials": []any{map[string]any{"AccessKeyId": benchXksKeyID, "SecretAccessKey": benchXksSecret}}})
		r.ok("Simulator.CreateExternalKey", map[string]any{"UriEndpoint": benchXksEndpoint, "UriPath": path, "KeyId": "key-1"})
		id := r.ok("TrentService.CreateCustomKeyStore", map[string]any{"CustomKeyStoreName": fmt.Sprintf("xks%d", i),
			"CustomKeyStoreType": "EXTERNAL_KEY_STORE", "XksProxyConnectivity": "PUBLIC_ENDPOINT",
			"XksProxyUriEndpoint": benchXksEndpoint, "XksProxyUriPath": path,
			"XksProxyAuthenticationCredential": map[string]any{"AccessKeyId": benchXksKeyID, "RawSecretAccessKey": benchXksSecret}})["CustomKeyStoreId"].(string)
		if i == 0 {
			xksStore = id
		}
		stores = append(stores, id)
	}
	for _, id := range stores {
		r.ok("TrentService.ConnectCustomKeyStore", map[string]any{"CustomKeyStoreId": id})
	}
	r.advance(20 * time.Minute)
	for _, id := range stores {
		d := r.ok("TrentService.DescribeCustomKeyStores", map[string]any{"CustomKeyStoreId": id})["CustomKeyStores"].([]any)[0].(map[string]any)
		if d["ConnectionState"] != "CONNECTED" {
			tb.Fatalf("store %s is %v", id, d["ConnectionState"])
		}
	}
	r.keys["AWS_KMS"] = r.createKey(map[string]any{})
	r.keys["AWS_CLOUDHSM"] = r.createKey(map[string]any{"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": hsmStore})
	r.keys["EXTERNAL_KEY_STORE"] = r.createKey(map[string]any{"Origin": "EXTERNAL_KEY_STORE", "CustomKeyStoreId": xksStore, "XksKeyId": "key-1"})
	for i := 3; i < total; i++ {
		switch i % 3 {
		case 0:
			r.createKey(map[string]any{})
		case 1:
			r.createKey(map[string]any{"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": hsmStore})
		case 2:
			x := fmt.Sprintf("key-%d", i)
			r.ok("Simulator.CreateExternalKey", map[string]any{"UriEndpoint": benchXksEndpoint, "UriPath": benchXksPath, "KeyId": x})
			r.createKey(map[string]any{"Origin": "EXTERNAL_KEY_STORE", "CustomKeyStoreId": xksStore, "XksKeyId": x})
		}
	}
	return r
}

// call makes one measured call at the next host time and requires a 200.
func (r *cryptoRig) call(b *testing.B, target string, body []byte) []byte {
	r.tick++
	status, resp := r.handle(T0.Add(time.Duration(r.tick)*time.Millisecond), target, body)
	if status != 200 {
		b.Fatalf("%s: %d %s", target, status, resp)
	}
	return resp
}

// cryptoBody is the request of one benchmarked call. Decrypt's blob is
// made by an Encrypt first.
func (r *cryptoRig) cryptoBody(b *testing.B, op, origin string, size int) (string, []byte) {
	key := r.keys[origin]
	pt := make([]byte, size)
	for i := range pt {
		pt[i] = byte(i)
	}
	enc, _ := json.Marshal(map[string]any{"KeyId": key, "Plaintext": pt})
	switch op {
	case "Encrypt":
		return "TrentService.Encrypt", enc
	case "Decrypt":
		var out struct{ CiphertextBlob []byte }
		if err := json.Unmarshal(r.call(b, "TrentService.Encrypt", enc), &out); err != nil {
			b.Fatal(err)
		}
		body, _ := json.Marshal(map[string]any{"CiphertextBlob": out.CiphertextBlob})
		return "TrentService.Decrypt", body
	default: // GenerateDataKey: NumberOfBytes is at most 1,024
		body, _ := json.Marshal(map[string]any{"KeyId": key, "NumberOfBytes": min(size, 1024)})
		return "TrentService.GenerateDataKey", body
	}
}

// benchCalls runs target with body in a loop and reports ops/s.
func benchCalls(b *testing.B, r *cryptoRig, target string, body []byte) float64 {
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		r.call(b, target, body)
	}
	// The CPU time this process used per call (the engine, the garbage
	// collector, and for wasm the wazero runtime): on a shared machine it
	// is steadier than the wall time.
	perCall := float64(processCPU()-cpu) / float64(b.N)
	b.ReportMetric(perCall, "cpu-ns/op")
	ops := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(ops, "ops/s")
	return ops
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func sizeName(n int) string {
	if n >= 1024 {
		return fmt.Sprintf("%dKiB", n/1024)
	}
	return fmt.Sprintf("%dB", n)
}

// cryptoOps are the benchmarked operations and payload sizes.
var (
	cryptoOps   = []string{"Encrypt", "Decrypt", "GenerateDataKey"}
	cryptoSizes = []int{64, 4096}
)

// BenchmarkCrypto measures Encrypt, Decrypt and GenerateDataKey for a key
// of each origin with 64-byte and 4 KiB payloads (GenerateDataKey: 64 and
// 1,024 bytes, its maximum), natively and inside engine.wasm through
// host.Engine, and logs a table of ops/s with the wasm/native ratio.
func BenchmarkCrypto(b *testing.B) {
	ctx := context.Background()
	native := newCryptoRig(b, engine.New(engine.Config{}, T0).Handle, 3)
	we, err := host.NewEngine(ctx, module(b), T0)
	if err != nil {
		b.Fatal(err)
	}
	defer we.Close(ctx)
	wasm := newCryptoRig(b, we.Handle, 3)

	type row struct{ native, wasm float64 }
	results := map[string]*row{}
	var order []string
	for _, origin := range benchOrigins {
		for _, op := range cryptoOps {
			for _, size := range cryptoSizes {
				name := origin + "/" + op + "/" + sizeName(size)
				res := &row{}
				results[name] = res
				order = append(order, name)
				b.Run(name+"/native", func(b *testing.B) {
					target, body := native.cryptoBody(b, op, origin, size)
					res.native = benchCalls(b, native, target, body)
				})
				b.Run(name+"/wasm", func(b *testing.B) {
					target, body := wasm.cryptoBody(b, op, origin, size)
					res.wasm = benchCalls(b, wasm, target, body)
					if res.native > 0 {
						b.ReportMetric(res.native/res.wasm, "x-slower")
					}
				})
			}
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%-44s %12s %12s %10s\n", "call", "native ops/s", "wasm ops/s", "wasm/native")
	for _, name := range order {
		r := results[name]
		if r.native == 0 || r.wasm == 0 {
			continue
		}
		fmt.Fprintf(&sb, "%-44s %12.0f %12.0f %10.3f\n", name, r.native, r.wasm, r.wasm/r.native)
	}
	b.Log(sb.String())
}

// BenchmarkCryptoKeys measures Encrypt and Decrypt (64 bytes) on one key of
// each origin in a sandbox with 10 keys and two stores, and in one with
// 10,000 keys (a third of each origin) and the account's ten stores.
func BenchmarkCryptoKeys(b *testing.B) {
	results := map[string]float64{}
	var names []string
	for _, total := range []int{10, 10000} {
		r := newCryptoRig(b, engine.New(engine.Config{}, T0).Handle, total)
		for _, origin := range benchOrigins {
			for _, op := range []string{"Encrypt", "Decrypt"} {
				name := origin + "/" + op
				b.Run(fmt.Sprintf("keys=%d/%s", total, name), func(b *testing.B) {
					target, body := r.cryptoBody(b, op, origin, 64)
					results[fmt.Sprintf("%d/%s", total, name)] = benchCalls(b, r, target, body)
				})
				if total == 10 {
					names = append(names, name)
				}
			}
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%-32s %14s %14s %8s\n", "call (64 B, native)", "10 keys ops/s", "10,000 ops/s", "ratio")
	for _, name := range names {
		small, large := results["10/"+name], results["10000/"+name]
		if small == 0 || large == 0 {
			continue
		}
		fmt.Fprintf(&sb, "%-32s %14.0f %14.0f %8.3f\n", name, small, large, large/small)
	}
	b.Log(sb.String())
}

// The HTTP benchmark runs the server in a child process (this test binary,
// running TestBenchServerChild) so that its CPU time is the server's alone:
// the SDK clients' work stays in the benchmark process.
const benchServerEnv = "KEYSTORELAB_BENCH_SERVER"

// canned is a Backend that answers every call with one pre-encoded body:
// the server with no engine behind it, the net/http floor.
type canned struct {
	status int
	body   []byte
}

func (c canned) Handle(time.Time, string, []byte) (int, []byte) { return c.status, c.body }
func (c canned) Generation() uint64                             { return 0 }
func (c canned) Snapshot() ([]byte, error)                      { return []byte("{}"), nil }

// TestBenchServerChild is the server side of BenchmarkHTTP; it is skipped
// unless the benchmark starts it. With KEYSTORELAB_BENCH_SERVER=engine it
// serves a native engine holding an AWS_KMS key, with =canned the same
// server over a canned Backend whose body is a real Encrypt response of
// the same size. No state file. It prints "<addr> <key ID>", serves until
// its standard input closes, and answers GET /cpu with its CPU time in ns.
func TestBenchServerChild(t *testing.T) {
	mode := os.Getenv(benchServerEnv)
	if mode == "" {
		t.Skip("started by BenchmarkHTTP only")
	}
	size, _ := strconv.Atoi(os.Getenv(benchServerEnv + "_SIZE"))
	e := engine.New(engine.Config{}, time.Now())
	status, resp := e.Handle(time.Now(), "TrentService.CreateKey", []byte("{}"))
	if status != 200 {
		t.Fatalf("CreateKey: %d %s", status, resp)
	}
	var created struct{ KeyMetadata struct{ KeyId string } }
	if err := json.Unmarshal(resp, &created); err != nil {
		t.Fatal(err)
	}
	key := created.KeyMetadata.KeyId
	var backend server.Backend = server.Native(e)
	if mode == "canned" {
		body, _ := json.Marshal(map[string]any{"KeyId": key, "Plaintext": make([]byte, size)})
		status, resp := e.Handle(time.Now(), "TrentService.Encrypt", body)
		if status != 200 {
			t.Fatalf("Encrypt: %d %s", status, resp)
		}
		backend = canned{status, resp}
	}
	cpu := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, processCPU().Nanoseconds())
	})
	srv := &http.Server{Handler: server.New(server.Config{Backend: backend, Fallback: cpu})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	fmt.Printf("%s %s\n", ln.Addr(), key)
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
}

// benchServer is a running child server.
type benchServer struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	url  string
	key  string
	http *http.Client
}

func startBenchServer(b *testing.B, mode string, size int) *benchServer {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchServerChild$", "-test.bench=^$", "-test.count=1")
	cmd.Env = append(os.Environ(), benchServerEnv+"="+mode, benchServerEnv+"_SIZE="+strconv.Itoa(size))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, key, ok := strings.Cut(strings.TrimSpace(line), " ")
	if err != nil || !ok {
		in.Close()
		cmd.Wait()
		b.Fatalf("the %s server did not start: %q %v", mode, line, err)
	}
	go io.Copy(io.Discard, out)
	return &benchServer{cmd: cmd, in: in, url: "http://" + addr, key: key, http: &http.Client{}}
}

func (s *benchServer) stop() {
	s.in.Close()
	s.cmd.Wait()
}

// cpu is the server's CPU time so far.
func (s *benchServer) cpu(b *testing.B) time.Duration {
	resp, err := s.http.Get(s.url + "/cpu")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	ns, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		b.Fatalf("/cpu: %q", raw)
	}
	return time.Duration(ns)
}

const httpClients = 8

// BenchmarkHTTP measures Encrypt on an AWS_KMS key (64 bytes)
// over HTTP through the AWS SDK for Go v2, from 8 concurrent clients, each
// its own kms.Client: the server's CPU time per request ("server-ns/req"),
// for the same server.Server over a canned Backend (floor) and over the
// native engine (engine), which also reports its ratio to the floor.
func BenchmarkHTTP(b *testing.B) {
	missing := filepath.Join(b.TempDir(), "no-such-aws-file")
	b.Setenv("AWS_CONFIG_FILE", missing)
	b.Setenv("AWS_SHARED_CREDENTIALS_FILE", missing)
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithRetryMaxAttempts(1))
	if err != nil {
		b.Fatal(err)
	}
	var summary strings.Builder
	fmt.Fprintf(&summary, "\n%-24s %16s %16s %8s\n", "Encrypt, AWS_KMS key", "floor CPU/req", "engine CPU/req", "ratio")
	// 64 bytes only: at 4 KiB the SDK clients fail now and then with "use
	// of closed network connection" while reading a response (not yet
	// understood; both servers alike), which a benchmark must not hide.
	for _, size := range []int{64} {
		perReq := map[string]time.Duration{}
		for _, mode := range []string{"floor", "engine"} {
			child := "canned"
			if mode == "engine" {
				child = "engine"
			}
			srv := startBenchServer(b, child, size)
			clients := make([]*kms.Client, httpClients)
			for i := range clients {
				// Each client is its own program: its own connection pool.
				hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
				clients[i] = kms.NewFromConfig(cfg, func(o *kms.Options) {
					o.BaseEndpoint = aws.String(srv.url)
					o.HTTPClient = hc
				})
			}
			pt := make([]byte, size)
			b.Run(fmt.Sprintf("%s/%s", sizeName(size), mode), func(b *testing.B) {
				var next atomic.Int64
				var failed atomic.Value
				// Warm the connections up outside the measurement.
				var wg sync.WaitGroup
				for _, c := range clients {
					wg.Go(func() {
						if _, err := c.Encrypt(context.Background(), &kms.EncryptInput{KeyId: aws.String(srv.key), Plaintext: pt}); err != nil {
							failed.Store(err)
						}
					})
				}
				wg.Wait()
				if err := failed.Load(); err != nil {
					b.Fatal(err)
				}
				b.SetParallelism((httpClients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				before := srv.cpu(b)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					c := clients[int(next.Add(1)-1)%httpClients]
					ctx := context.Background()
					in := &kms.EncryptInput{KeyId: aws.String(srv.key), Plaintext: pt}
					for pb.Next() {
						out, err := c.Encrypt(ctx, in)
						if err != nil {
							failed.Store(err)
							return
						}
						if len(out.CiphertextBlob) != 18+12+len(pt)+16 {
							failed.Store(fmt.Errorf("a %d-byte ciphertext blob", len(out.CiphertextBlob)))
							return
						}
					}
				})
				b.StopTimer()
				used := srv.cpu(b) - before
				if err := failed.Load(); err != nil {
					b.Fatal(err) // the SDK fails on any non-200
				}
				per := used / time.Duration(b.N)
				perReq[mode] = per
				b.ReportMetric(float64(per.Nanoseconds()), "server-ns/req")
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
				if f := perReq["floor"]; mode == "engine" && f > 0 {
					b.ReportMetric(float64(per)/float64(f), "x-floor")
				}
			})
			srv.stop()
		}
		if f, e := perReq["floor"], perReq["engine"]; f > 0 && e > 0 {
			fmt.Fprintf(&summary, "%-24s %13.1f µs %13.1f µs %8.3f\n", sizeName(size)+" plaintext",
				float64(f.Nanoseconds())/1000, float64(e.Nanoseconds())/1000, float64(e)/float64(f))
		}
	}
	b.Log(summary.String())
}
