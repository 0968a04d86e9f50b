package cloudhsm

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"time"
)

// PKI is a cluster's certificate material. The cluster key stands for the
// key pair the first HSM generates; its certificate signing request is
// signed by the customer's own CA (the trust anchor, customerCA.crt) when
// the cluster is initialized. Clusters made from a backup inherit all of
// it, which is how KMS tells related clusters apart: they share the
// cluster certificate.
//
// Keys are Ed25519 so that the same seed gives the same bytes on every host
// (Go picks its own randomness for ECDSA and RSA key generation).
type PKI struct {
	KeySeed     []byte `json:"keySeed,omitempty"`
	CSR         string `json:"csr,omitempty"`
	Certificate string `json:"certificate,omitempty"`
	TrustAnchor string `json:"trustAnchor,omitempty"`
}

func (s *Sim) makeCSR(c *Cluster) {
	seed := make([]byte, ed25519.SeedSize)
	_, _ = s.rng.Read(seed)
	key := ed25519.NewKeyFromSeed(seed)
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{
		CommonName:         "HSM:" + c.ID,
		Organization:       []string{"AWS CloudHSM"},
		OrganizationalUnit: []string{c.ID},
		Country:            []string{"US"},
	}}
	der, err := x509.CreateCertificateRequest(s.rng, tmpl, key)
	if err != nil {
		panic("cloudhsm: cannot create CSR: " + err.Error()) // programmer error: the template is fixed
	}
	c.PKI.KeySeed = seed
	c.PKI.CSR = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// signCSR plays the customer: it makes a new self-signed CA (the trust
// anchor) and signs the cluster's CSR with it.
func (s *Sim) signCSR(c *Cluster, now time.Time) (signed, anchor string, err error) {
	block, _ := pem.Decode([]byte(c.PKI.CSR))
	if block == nil {
		return "", "", errors.New("the cluster has no certificate signing request yet")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return "", "", err
	}
	seed := make([]byte, ed25519.SeedSize)
	_, _ = s.rng.Read(seed)
	caKey := ed25519.NewKeyFromSeed(seed)
	caTmpl := &x509.Certificate{
		SerialNumber:          s.serial(),
		Subject:               pkix.Name{CommonName: "Keystore Lab customer CA", Organization: []string{"Example Corp"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(s.rng, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return "", "", err
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafTmpl := &x509.Certificate{
		SerialNumber: s.serial(),
		Subject:      csr.Subject,
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	leafDER, err := x509.CreateCertificate(s.rng, leafTmpl, ca, csr.PublicKey, caKey)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})), nil
}

func (s *Sim) serial() *big.Int {
	b := make([]byte, 16)
	_, _ = s.rng.Read(b)
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b)
}

// parseCert reads one PEM certificate, tolerating surrounding white space.
func parseCert(p string) (*x509.Certificate, error) {
	block, _ := pem.Decode(bytes.TrimSpace([]byte(p)))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM-encoded certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// verifyInitialization checks what InitializeCluster checks: the trust
// anchor is a CA certificate that signed the signed certificate, and the
// signed certificate certifies the key in the cluster's CSR.
func verifyInitialization(c *Cluster, signedPEM, anchorPEM string) error {
	anchor, err := parseCert(anchorPEM)
	if err != nil {
		return errors.New("TrustAnchor is not a valid certificate: " + err.Error())
	}
	signed, err := parseCert(signedPEM)
	if err != nil {
		return errors.New("SignedCert is not a valid certificate: " + err.Error())
	}
	if !anchor.IsCA {
		return errors.New("TrustAnchor is not a CA certificate")
	}
	if err := anchor.CheckSignatureFrom(anchor); err != nil {
		return errors.New("TrustAnchor is not self-signed")
	}
	if err := signed.CheckSignatureFrom(anchor); err != nil {
		return errors.New("SignedCert was not signed by TrustAnchor")
	}
	block, _ := pem.Decode([]byte(c.PKI.CSR))
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return err
	}
	pub, ok := signed.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(csr.PublicKey) {
		return errors.New("SignedCert does not certify the key in the cluster's certificate signing request")
	}
	return nil
}

// sameCertificate reports whether two PEM certificates are the same
// certificate, whatever their white space.
func sameCertificate(a, b string) bool {
	ca, err1 := parseCert(a)
	cb, err2 := parseCert(b)
	return err1 == nil && err2 == nil && ca.Equal(cb)
}
