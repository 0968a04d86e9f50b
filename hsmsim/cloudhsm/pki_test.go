package cloudhsm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"

	"keystorelab/hsmsim/wire"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func decodeJSON(b []byte, v any) error { return json.Unmarshal(b, v) }

func invoke(t testing.TB, s *Sim, now time.Time, op string, req any) (any, error) {
	t.Helper()
	body, _ := json.Marshal(req)
	return s.Invoke(now, op, body, decodeJSON)
}

// uninitialized returns a simulator with one cluster whose first HSM is
// active, so that it has a CSR to sign.
func uninitialized(t testing.TB) (*Sim, *Cluster, time.Time) {
	t.Helper()
	s := New("us-east-1", "111122223333", mrand.NewChaCha8([32]byte{1}))
	out, err := invoke(t, s, t0, "CreateCluster", map[string]any{"HsmType": "hsm1.medium", "SubnetIds": []string{"subnet-0a000001", "subnet-0a000002"}})
	if err != nil {
		t.Fatal(err)
	}
	id := out.(map[string]any)["Cluster"].(clusterView).ClusterId
	now := t0.Add(clusterCreateTime)
	s.Settle(now)
	if _, err := invoke(t, s, now, "CreateHsm", map[string]any{"ClusterId": id, "AvailabilityZone": "us-east-1a"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(hsmCreateTime)
	s.Settle(now)
	c := s.cluster(id)
	if c.PKI.CSR == "" {
		t.Fatal("no CSR after the first HSM became active")
	}
	return s, c, now
}

// customerCA makes a CA the way AWS's guide does with openssl (an RSA 2048
// key and a self-signed certificate) and signs the cluster's CSR with it.
func customerCA(t *testing.T, csrPEM string) (signed, anchor string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "customer CA"},
		NotBefore: t0, NotAfter: t0.AddDate(10, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	block, _ := pem.Decode([]byte(csrPEM))
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Fatalf("the cluster CSR's self-signature does not verify: %v", err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: csr.Subject, NotBefore: t0, NotAfter: t0.AddDate(10, 0, 0)}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, csr.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
}

func TestInitializeWithTheCustomersOwnCA(t *testing.T) {
	s, c, now := uninitialized(t)
	signed, anchor := customerCA(t, c.PKI.CSR)
	_, otherAnchor := customerCA(t, c.PKI.CSR)

	// A certificate for another key, signed by the right CA.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherCSR, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, other)
	wrongKey, _ := customerCA(t, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: otherCSR})))

	for _, tc := range []struct {
		name, signed, anchor, want string
	}{
		{"anchor is not the signer", signed, otherAnchor, "not signed by TrustAnchor"},
		{"certificate for another key", wrongKey, otherAnchor, "not signed by TrustAnchor"},
		{"not PEM", "hello", anchor, "SignedCert is not a valid certificate"},
		{"anchor is the leaf", signed, signed, "not a CA certificate"},
	} {
		_, err := invoke(t, s, now, "InitializeCluster", map[string]any{"ClusterId": c.ID, "SignedCert": tc.signed, "TrustAnchor": tc.anchor})
		var we *wire.Error
		if !errors.As(err, &we) || we.Type != "CloudHsmInvalidRequestException" || !strings.Contains(we.Message, tc.want) {
			t.Errorf("%s: got %v, want CloudHsmInvalidRequestException mentioning %q", tc.name, err, tc.want)
		}
	}
	if c.State != StateUninitialized {
		t.Fatalf("a refused InitializeCluster changed the state to %s", c.State)
	}
	if _, err := invoke(t, s, now, "InitializeCluster", map[string]any{"ClusterId": c.ID, "SignedCert": signed, "TrustAnchor": anchor}); err != nil {
		t.Fatal(err)
	}
	s.Settle(now.Add(clusterInitTime))
	if c.State != StateInitialized {
		t.Fatalf("state %s after initialization", c.State)
	}
	info, _ := s.Cluster(c.ID)
	if !SameCertificate(info.TrustAnchor, "\n  "+anchor+"\n") {
		t.Fatal("the trust anchor is not recorded, or white space matters")
	}
}

func TestLockoutAfterFiveFailedLogins(t *testing.T) {
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
	} {
		if _, err := invoke(t, s, now, step.op, step.req); err != nil {
			t.Fatalf("%s: %v", step.op, err)
		}
	}
	login := func(pw string) error {
		_, err := invoke(t, s, now, "LoginCryptoUser", map[string]any{"ClusterId": c.ID, "Username": KMSUser, "Password": pw})
		return err
	}
	for i := 1; i <= 4; i++ {
		if login("wrong-password") == nil {
			t.Fatal("a wrong password logged in")
		}
	}
	if err := login("kmsPassword1"); err != nil {
		t.Fatalf("four failures should not lock the user out: %v", err)
	}
	if _, err := invoke(t, s, now, "LogoutCryptoUser", map[string]any{"ClusterId": c.ID, "Username": KMSUser}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		_ = login("wrong-password")
	}
	if err := login("kmsPassword1"); err == nil || !strings.Contains(err.Error(), "locked out") {
		t.Fatalf("after five failures: %v, want locked out", err)
	}
	if _, err := s.ConnectKMS(now, c.ID, "cks-1", "kmsPassword1"); err != ErrUserLockedOut {
		t.Fatalf("KMS connect: %v, want ErrUserLockedOut", err)
	}
	if _, err := invoke(t, s, now, "ChangeCryptoUserPassword", map[string]any{"ClusterId": c.ID, "Username": KMSUser, "NewPassword": "fresh12345"}); err != nil {
		t.Fatal(err)
	}
	if err := login("fresh12345"); err != nil {
		t.Fatalf("an admin password change should clear the lockout: %v", err)
	}
}
