package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keystorelab/engine"
	"keystorelab/hsmsim/xks"
)

// testCA issues TLS certificates for test proxies.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Keystore Lab test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca *testCA) leaf(t *testing.T, host string, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// httpsProxy serves a simulated proxy for host over real HTTPS with cert.
func httpsProxy(t *testing.T, host string, cert tls.Certificate, maxVersion uint16) *httptest.Server {
	t.Helper()
	p := xks.New(host, "us-east-1", mrand.NewChaCha8([32]byte{3}))
	p.Stores = append(p.Stores, &xks.Store{URIPath: testPath, Credentials: []xks.Credential{{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}}})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := map[string]string{}
		for k, v := range r.Header {
			h[strings.ToLower(k)] = strings.Join(v, ",")
		}
		resp, _ := p.Serve(time.Now(), xks.Request{Method: r.Method, Host: r.Host, Path: r.URL.Path, Header: h, Body: body})
		w.WriteHeader(resp.Status)
		w.Write(resp.Body)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: maxVersion}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failing handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func caFile(t *testing.T, ca *testCA) string {
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestXKSClientClassifiesFailures(t *testing.T) {
	ca := newTestCA(t)
	good := httpsProxy(t, "xks.test", ca.leaf(t, "xks.test", time.Now().Add(time.Hour)), 0)
	expired := httpsProxy(t, "xks.test", ca.leaf(t, "xks.test", time.Now().Add(-time.Hour)), 0)
	old := httpsProxy(t, "xks.test", ca.leaf(t, "xks.test", time.Now().Add(time.Hour)), tls.VersionTLS11)
	addr := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "https://") }
	health := xks.Request{Method: "POST", Host: "xks.test", Path: testPath + "/health", Header: map[string]string{"content-type": "application/json"},
		Body: []byte(`{"requestMetadata":{"kmsRequestId":"1","kmsOperation":"KmsHealthCheck"}}`)}
	xks.Sign(&health, xks.Credential{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}, "us-east-1", time.Now())

	for _, tc := range []struct {
		name     string
		bundle   string
		target   string
		host     string
		wantTLS  string
		wantErr  error
		wantCode int
	}{
		{"trusted", caFile(t, ca), addr(good), "xks.test", "", nil, 200},
		{"untrusted CA", "", addr(good), "xks.test", xks.TLSUntrustedCA, nil, 0},
		{"expired", caFile(t, ca), addr(expired), "xks.test", xks.TLSExpiredCertificate, nil, 0},
		{"hostname mismatch", caFile(t, ca), addr(good), "other.test", xks.TLSHostnameMismatch, nil, 0},
		{"TLS 1.1 only", caFile(t, ca), addr(old), "xks.test", xks.TLSNoModernVersion, nil, 0},
		{"nobody listening", caFile(t, ca), "127.0.0.1:1", "xks.test", "", xks.ErrUnreachable, 0},
	} {
		c, err := NewXKSClient(tc.bundle, map[string]string{tc.host: tc.target})
		if err != nil {
			t.Fatal(err)
		}
		r := health
		r.Host = tc.host
		resp, _, err := c.RoundTrip(r)
		var te *xks.TLSError
		switch {
		case tc.wantTLS != "":
			if !errors.As(err, &te) || te.Problem != tc.wantTLS {
				t.Errorf("%s: %v, want TLS problem %s", tc.name, err, tc.wantTLS)
			}
		case tc.wantErr != nil:
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.wantErr)
			}
		default:
			if err != nil || resp.Status != tc.wantCode {
				t.Errorf("%s: %v %d %s", tc.name, err, resp.Status, resp.Body)
			}
		}
	}
}

// TestExternalKeyStoreOnARealProxy connects an external key store to a
// proxy over real HTTPS (the simulated proxy behind a test CA), as
// `keystorelab -xks-ca-bundle` lets a sandbox do with a real one.
func TestExternalKeyStoreOnARealProxy(t *testing.T) {
	ca := newTestCA(t)
	srv := httpsProxy(t, "xks.test", ca.leaf(t, "xks.test", time.Now().Add(time.Hour)), 0)
	client, err := NewXKSClient(caFile(t, ca), map[string]string{"xks.test": strings.TrimPrefix(srv.URL, "https://")})
	if err != nil {
		t.Fatal(err)
	}
	e := engine.New(engine.Config{ClockSpeed: 1}, time.Now())
	e.SetXKSTransport(client.RoundTrip)
	s := New(Config{Backend: Native(e)})
	call := func(target, body string) map[string]any {
		t.Helper()
		status, resp := s.Call(target, []byte(body))
		var m map[string]any
		_ = json.Unmarshal(resp, &m)
		if status != 200 {
			t.Fatalf("%s: %d %s", target, status, resp)
		}
		return m
	}
	create := `{"CustomKeyStoreName":"real","CustomKeyStoreType":"EXTERNAL_KEY_STORE","XksProxyConnectivity":"PUBLIC_ENDPOINT",
		"XksProxyUriEndpoint":"https://xks.test","XksProxyUriPath":"` + testPath + `",
		"XksProxyAuthenticationCredential":{"AccessKeyId":"` + testAccessKey + `","RawSecretAccessKey":"` + testSecret + `"}}`
	id := call("TrentService.CreateCustomKeyStore", create)["CustomKeyStoreId"].(string)
	call("TrentService.ConnectCustomKeyStore", `{"CustomKeyStoreId":"`+id+`"}`)
	call("Simulator.AdvanceClock", `{"Seconds":300}`)
	d := call("TrentService.DescribeCustomKeyStores", `{"CustomKeyStoreId":"`+id+`"}`)["CustomKeyStores"].([]any)[0].(map[string]any)
	if d["ConnectionState"] != "CONNECTED" {
		t.Fatalf("store: %v", d)
	}
	// Without the CA the proxy's certificate is not trusted.
	untrusted, _ := NewXKSClient("", map[string]string{"xks.test": strings.TrimPrefix(srv.URL, "https://")})
	e.SetXKSTransport(untrusted.RoundTrip)
	call("TrentService.DisconnectCustomKeyStore", `{"CustomKeyStoreId":"`+id+`"}`)
	call("Simulator.AdvanceClock", `{"Seconds":300}`)
	call("TrentService.ConnectCustomKeyStore", `{"CustomKeyStoreId":"`+id+`"}`)
	call("Simulator.AdvanceClock", `{"Seconds":300}`)
	d = call("TrentService.DescribeCustomKeyStores", `{"CustomKeyStoreId":"`+id+`"}`)["CustomKeyStores"].([]any)[0].(map[string]any)
	if d["ConnectionErrorCode"] != "XKS_PROXY_INVALID_TLS_CONFIGURATION" {
		t.Fatalf("store with an untrusted proxy certificate: %v", d)
	}
}
