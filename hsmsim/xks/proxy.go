// Package xks is a software external key store proxy: the External Key
// Store Proxy API v1 (spec 1.0.3) over an in-memory HTTP exchange, with
// SigV4 verification, external keys, a key manager fleet whose health can
// be set, optional secondary authorization, and faults a user can switch
// on.
//
// One [Proxy] is one proxy host. It serves any number of key stores, each
// under its own URI path ({prefix}/kms/xks/v1) with its own credentials
// (two at once, for rotation) and its own set of external keys. A request
// to an unknown path is refused with InvalidUriPathException before
// authentication, because credentials belong to a path.
//
// Like the rest of hsmsim it never reads the clock or crypto/rand: [Proxy.Serve]
// takes the time, and IVs come from the [Rand] it is given.
package xks

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"keystorelab/hsmsim/wire"
)

// Rand is where IVs come from. *math/rand/v2.ChaCha8 satisfies it.
type Rand interface {
	Read(p []byte) (int, error)
}

// Limits beyond the specification's minimums: larger inputs get
// UnsupportedOperationException, as the reference proxy answers.
const (
	MaxPlaintext          = 8192
	MaxAAD                = 16384
	MaxCiphertextMetadata = 20
	tagSize               = 16
)

// Health states of an external key manager instance.
const (
	Active      = "ACTIVE"
	Degraded    = "DEGRADED"
	Unavailable = "UNAVAILABLE"
)

// Key is an external key in the external key manager.
type Key struct {
	ID string `json:"id"`
	// Spec is the key spec reported by GetKeyMetadata (AES_256 for a key
	// KMS can use).
	Spec string `json:"spec"`
	// Usage lists the operations the key allows: ENCRYPT, DECRYPT, and
	// others (SIGN, VERIFY, WRAP, UNWRAP, DERIVE) that KMS does not use.
	Usage []string `json:"usage"`
	// Status is ENABLED or DISABLED.
	Status   string `json:"status"`
	Material []byte `json:"material"`

	// aead is Material's AES-GCM with 12-byte IVs, built on first use for
	// the material it was built from.
	aead     cipher.AEAD
	aeadFrom []byte
}

func (k *Key) allows(usage string) bool {
	for _, u := range k.Usage {
		if u == usage {
			return true
		}
	}
	return false
}

// Store is one key store's view of the proxy: a URI path with its
// credentials and keys.
type Store struct {
	// URIPath is the full path, e.g. /example/kms/xks/v1.
	URIPath     string       `json:"uriPath"`
	Credentials []Credential `json:"credentials"`
	Keys        []*Key       `json:"keys"`

	// index maps a key ID to its position in Keys as last seen; indexed
	// counts the positions it covers and last is the key at the last of
	// them, so that a change to Keys other than an append is noticed.
	index   map[string]int
	indexed int
	last    *Key
}

// EKM is one instance of the external key manager fleet.
type EKM struct {
	ID     string `json:"Id"`
	Model  string `json:"Model"`
	Health string `json:"HealthStatus"`
}

// Rules is optional secondary authorization on requestMetadata. Empty
// lists allow everything. GetHealthStatus is exempt, as the spec requires.
type Rules struct {
	KmsOperations  []string `json:"KmsOperations,omitempty"`
	KmsViaServices []string `json:"KmsViaServices,omitempty"`
}

// Faults are misbehaviours a user can switch on.
type Faults struct {
	// Latency is added to every answer, in virtual time (KMS gives up
	// after 250 ms).
	Latency time.Duration `json:"latency,omitempty"`
	// Throttle answers ThrottlingException (429).
	Throttle bool `json:"throttle,omitempty"`
	// Internal answers InternalException (500).
	Internal bool `json:"internal,omitempty"`
	// Malformed answers 200 with a body that is not JSON.
	Malformed bool `json:"malformed,omitempty"`
	// AccessDenied answers AccessDeniedException (403) to every request,
	// health included: the proxy's own access control (an IP allow list,
	// mTLS, a policy that forgot the health exemption) refuses KMS.
	AccessDenied bool `json:"accessDenied,omitempty"`
	// DependencyTimeout answers DependencyTimeoutException (503).
	DependencyTimeout bool `json:"dependencyTimeout,omitempty"`
	// Unreachable refuses connections (see [Proxy.Exchange]).
	Unreachable bool `json:"unreachable,omitempty"`
	// TLS makes the TLS handshake fail with one of [TLSProblems].
	TLS string `json:"tls,omitempty"`
}

// Proxy is one external key store proxy host and the key manager behind it.
type Proxy struct {
	// Host is the DNS name the proxy answers on (the host of its
	// XksProxyUriEndpoint).
	Host string `json:"host"`
	// Region is the AWS Region whose KMS calls the proxy (the SigV4 scope).
	Region  string   `json:"region"`
	Vendor  string   `json:"vendor"`
	Model   string   `json:"model"`
	EKMVend string   `json:"ekmVendor"`
	Fleet   []EKM    `json:"fleet"`
	Stores  []*Store `json:"stores"`
	Rules   Rules    `json:"rules"`
	Faults  Faults   `json:"faults"`
	// Metadata is the ciphertextMetadata the proxy attaches to every
	// ciphertext (at most 20 bytes); it versions the AAD scheme.
	Metadata []byte `json:"metadata"`
	// CertificateNotAfter is when the proxy's TLS server certificate
	// (whose common name is Host) expires.
	CertificateNotAfter time.Time `json:"certificateNotAfter,omitzero"`

	rng Rand
}

// New returns a proxy with a healthy two-instance fleet and no stores.
func New(host, region string, rng Rand) *Proxy {
	return &Proxy{Host: host, Region: region, Vendor: "Keystore Lab", Model: "Keystore Lab XKS proxy v1",
		EKMVend: "Keystore Lab software EKM",
		Fleet:   []EKM{{ID: "ekm-1", Model: "SoftEKM 1.0", Health: Active}, {ID: "ekm-2", Model: "SoftEKM 1.0", Health: Active}},
		Stores:  []*Store{}, Metadata: []byte("klab-xks-aad:v1"), rng: rng}
}

// SetRand gives a proxy loaded from JSON its randomness.
func (p *Proxy) SetRand(rng Rand) { p.rng = rng }

// apiError is a proxy error: the HTTP status and the errorName.
type apiError struct {
	status  int
	name    string
	message string
}

func (e *apiError) Error() string { return e.name + ": " + e.message }

func fail(status int, name, format string, args ...any) *apiError {
	return &apiError{status, name, fmt.Sprintf(format, args...)}
}

func validation(format string, args ...any) *apiError {
	return fail(400, "ValidationException", format, args...)
}

// Serve answers one request at time now. It returns the response and how
// long (in virtual time) the proxy took to send it.
func (p *Proxy) Serve(now time.Time, r Request) (Response, time.Duration) {
	out, err := p.serve(now, r)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = fail(500, "InternalException", "%v", err)
		}
		body, _ := json.Marshal(map[string]string{"errorName": ae.name, "errorMessage": printable(ae.message)})
		return Response{Status: ae.status, Header: jsonHeader(), Body: body}, p.Faults.Latency
	}
	return Response{Status: 200, Header: jsonHeader(), Body: out}, p.Faults.Latency
}

func jsonHeader() map[string]string { return map[string]string{"content-type": "application/json"} }

// printable keeps an errorMessage within the spec: printable ASCII, under
// 512 characters.
func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	if len(b) > 511 {
		b = b[:511]
	}
	return string(b)
}

// route splits a path into its store and operation.
func (p *Proxy) route(path string) (*Store, string, string) {
	for _, s := range p.Stores {
		rest, ok := strings.CutPrefix(path, s.URIPath)
		if !ok {
			continue
		}
		if rest == "/health" {
			return s, "health", ""
		}
		if key, op, ok := strings.Cut(strings.TrimPrefix(rest, "/keys/"), "/"); ok && strings.HasPrefix(rest, "/keys/") && key != "" {
			switch op {
			case "metadata", "encrypt", "decrypt":
				return s, op, key
			}
		}
	}
	return nil, "", ""
}

func (p *Proxy) serve(now time.Time, r Request) ([]byte, error) {
	store, op, keyID := p.route(r.Path)
	if store == nil {
		return nil, fail(404, "InvalidUriPathException", "no XKS API at %s", r.Path)
	}
	if r.Method != "POST" {
		return nil, fail(405, "ValidationException", "method %s is not allowed; the XKS API uses POST", r.Method)
	}
	err := Verify(r, p.Region, now, func(id string) []string {
		var secrets []string
		for _, c := range store.Credentials {
			if c.AccessKeyID == id {
				secrets = append(secrets, c.SecretAccessKey)
			}
		}
		return secrets
	})
	if err != nil {
		return nil, fail(401, "AuthenticationFailedException", "%v", err)
	}
	switch {
	case p.Faults.Throttle:
		return nil, fail(429, "ThrottlingException", "the proxy is throttling requests")
	case p.Faults.DependencyTimeout:
		return nil, fail(503, "DependencyTimeoutException", "the external key manager did not answer in time")
	case p.Faults.Internal:
		return nil, fail(500, "InternalException", "the external key manager failed")
	}
	var in request
	if !in.parse(r.Body) {
		in = request{}
		if err := json.Unmarshal(r.Body, &in); err != nil {
			return nil, validation("the body is not the expected JSON: %v", err)
		}
	}
	if err := in.RequestMetadata.check(op); err != nil {
		return nil, err
	}
	if p.Faults.AccessDenied {
		return nil, fail(403, "AccessDeniedException", "the proxy's access control denies this request")
	}
	if op != "health" {
		if err := p.Rules.allow(in.RequestMetadata); err != nil {
			return nil, err
		}
	}
	var out any
	switch op {
	case "health":
		out, err = p.health()
	case "metadata":
		out, err = p.metadata(store, keyID)
	case "encrypt":
		out, err = p.encrypt(store, keyID, in)
	case "decrypt":
		out, err = p.decrypt(store, keyID, in)
	}
	if err != nil {
		return nil, err
	}
	if p.Faults.Malformed {
		return []byte(`{"ciphertext": <not json>`), nil
	}
	switch o := out.(type) {
	case encryptOutput:
		return o.appendJSON(make([]byte, 0, 160+len(o.Ciphertext))), nil
	case decryptOutput:
		return o.appendJSON(make([]byte, 0, 16+len(o.Plaintext))), nil
	}
	return json.Marshal(out)
}

// parse reads the body KMS sends, written compactly with plain string
// values (see wire.ScanObject), into in, as json.Unmarshal would. It reports
// false for any other body, which json.Unmarshal then reads.
func (in *request) parse(b []byte) bool {
	var seen uint32
	once := func(bit uint32) bool {
		dup := seen&bit != 0
		seen |= bit
		return !dup
	}
	str := func(v []byte) *string { s := string(v); return &s }
	end, ok := wire.ScanObject(b, 0, func(key []byte, i int) (int, bool) {
		if string(key) == "requestMetadata" {
			if !once(1) {
				return 0, false
			}
			m := &metadata{}
			in.RequestMetadata = m
			return wire.ScanObject(b, i, func(key []byte, i int) (int, bool) {
				v, next, ok := wire.PlainString(b, i)
				if !ok {
					return 0, false
				}
				switch string(key) {
				case "awsPrincipalArn":
					ok = once(1 << 10)
					m.AwsPrincipalArn = str(v)
				case "kmsKeyArn":
					ok = once(1 << 11)
					m.KmsKeyArn = str(v)
				case "kmsOperation":
					ok = once(1 << 12)
					m.KmsOperation = str(v)
				case "kmsRequestId":
					ok = once(1 << 13)
					m.KmsRequestID = str(v)
				case "kmsViaService":
					ok = once(1 << 14)
					m.KmsViaService = str(v)
				default:
					ok = false
				}
				return next, ok
			})
		}
		v, next, ok := wire.PlainString(b, i)
		if !ok {
			return 0, false
		}
		switch string(key) {
		case "plaintext":
			ok, in.Plaintext = once(1<<1), str(v)
		case "ciphertext":
			ok, in.Ciphertext = once(1<<2), str(v)
		case "ciphertextMetadata":
			ok, in.CiphertextMetadata = once(1<<3), str(v)
		case "encryptionAlgorithm":
			ok, in.EncryptionAlgorithm = once(1<<4), str(v)
		case "additionalAuthenticatedData":
			ok, in.AdditionalAuthenticatedData = once(1<<5), str(v)
		case "ciphertextDataIntegrityValueAlgorithm":
			ok, in.CiphertextDataIntegrityValueAlgorithm = once(1<<6), str(v)
		case "initializationVector":
			ok, in.InitializationVector = once(1<<7), str(v)
		case "authenticationTag":
			ok, in.AuthenticationTag = once(1<<8), str(v)
		default:
			ok = false
		}
		return next, ok
	})
	return ok && end == len(b)
}

// appendB64Member appends ,"name":"<Base64 of v>" (without the comma when
// first), as encoding/json writes a []byte member.
func appendB64Member(dst []byte, first bool, name string, v []byte) []byte {
	if !first {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, name...)
	dst = append(dst, `":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, v)
	return append(dst, '"')
}

type metadata struct {
	AwsPrincipalArn *string `json:"awsPrincipalArn"`
	KmsKeyArn       *string `json:"kmsKeyArn"`
	KmsOperation    *string `json:"kmsOperation"`
	KmsRequestID    *string `json:"kmsRequestId"`
	KmsViaService   *string `json:"kmsViaService"`
}

type request struct {
	RequestMetadata                       *metadata `json:"requestMetadata"`
	Plaintext                             *string   `json:"plaintext"`
	Ciphertext                            *string   `json:"ciphertext"`
	CiphertextMetadata                    *string   `json:"ciphertextMetadata"`
	EncryptionAlgorithm                   *string   `json:"encryptionAlgorithm"`
	AdditionalAuthenticatedData           *string   `json:"additionalAuthenticatedData"`
	CiphertextDataIntegrityValueAlgorithm *string   `json:"ciphertextDataIntegrityValueAlgorithm"`
	InitializationVector                  *string   `json:"initializationVector"`
	AuthenticationTag                     *string   `json:"authenticationTag"`
}

// check enforces the requestMetadata fields each operation requires.
func (m *metadata) check(op string) error {
	if m == nil {
		return validation("requestMetadata is required")
	}
	missing := func(v *string) bool { return v == nil || *v == "" }
	switch {
	case op != "health" && missing(m.AwsPrincipalArn):
		return validation("requestMetadata.%s is required", "awsPrincipalArn")
	case (op == "encrypt" || op == "decrypt") && missing(m.KmsKeyArn):
		return validation("requestMetadata.%s is required", "kmsKeyArn")
	case missing(m.KmsOperation):
		return validation("requestMetadata.%s is required", "kmsOperation")
	case missing(m.KmsRequestID):
		return validation("requestMetadata.%s is required", "kmsRequestId")
	}
	return nil
}

func (rules Rules) allow(m *metadata) error {
	if len(rules.KmsOperations) > 0 && !contains(rules.KmsOperations, *m.KmsOperation) {
		return fail(403, "AccessDeniedException", "kmsOperation %s is not allowed by the proxy's authorization rules", *m.KmsOperation)
	}
	if len(rules.KmsViaServices) > 0 && (m.KmsViaService == nil || !contains(rules.KmsViaServices, *m.KmsViaService)) {
		return fail(403, "AccessDeniedException", "the request does not come through an allowed AWS service")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *Proxy) health() (any, error) {
	type detail struct {
		ID           string `json:"id"`
		Model        string `json:"model"`
		HealthStatus string `json:"healthStatus"`
	}
	details := make([]detail, len(p.Fleet))
	for i, e := range p.Fleet {
		details[i] = detail{e.ID, e.Model, e.Health}
	}
	return struct {
		XksProxyFleetSize int      `json:"xksProxyFleetSize"`
		XksProxyVendor    string   `json:"xksProxyVendor"`
		XksProxyModel     string   `json:"xksProxyModel"`
		EkmVendor         string   `json:"ekmVendor"`
		EkmFleetDetails   []detail `json:"ekmFleetDetails"`
	}{1, p.Vendor, p.Model, p.EKMVend, details}, nil
}

func (s *Store) key(id string) (*Key, error) {
	if k := s.lookup(id); k != nil {
		return k, nil
	}
	return nil, fail(404, "KeyNotFoundException", "external key %s does not exist", id)
}

// lookup finds a key by ID through the index, which it brings up to date
// first if Keys changed: appended keys are added, anything else rebuilds it.
// A position the index gives is checked before it is trusted.
func (s *Store) lookup(id string) *Key {
	if i, ok := s.index[id]; ok && i < len(s.Keys) && s.Keys[i].ID == id {
		return s.Keys[i]
	}
	intact := s.index != nil && s.indexed <= len(s.Keys) && (s.indexed == 0 || s.Keys[s.indexed-1] == s.last)
	if intact && s.indexed == len(s.Keys) {
		return nil
	}
	if !intact {
		s.index, s.indexed = make(map[string]int, len(s.Keys)), 0
	}
	for i := s.indexed; i < len(s.Keys); i++ {
		if _, dup := s.index[s.Keys[i].ID]; !dup { // the first of equal IDs wins, as in a scan
			s.index[s.Keys[i].ID] = i
		}
	}
	s.indexed = len(s.Keys)
	s.last = nil
	if s.indexed > 0 {
		s.last = s.Keys[s.indexed-1]
	}
	if i, ok := s.index[id]; ok && s.Keys[i].ID == id {
		return s.Keys[i]
	}
	return nil
}

func (p *Proxy) metadata(s *Store, keyID string) (any, error) {
	k, err := s.key(keyID)
	if err != nil {
		return nil, err
	}
	usage := k.Usage
	if usage == nil {
		usage = []string{}
	}
	return struct {
		KeySpec   string   `json:"keySpec"`
		KeyUsage  []string `json:"keyUsage"`
		KeyStatus string   `json:"keyStatus"`
	}{k.Spec, usage, k.Status}, nil
}

// usable finds a key that can do usage: it exists, is ENABLED, and allows it.
func (s *Store) usable(keyID, usage string) (*Key, error) {
	k, err := s.key(keyID)
	if err != nil {
		return nil, err
	}
	if k.Status != "ENABLED" {
		return nil, fail(400, "InvalidStateException", "external key %s is %s", k.ID, k.Status)
	}
	if !k.allows(usage) || k.Spec != "AES_256" || len(k.Material) != 32 {
		return nil, fail(400, "InvalidKeyUsageException", "external key %s does not allow %s", k.ID, usage)
	}
	return k, nil
}

func decode64(field string, s *string, required bool, max int) ([]byte, error) {
	if s == nil {
		if required {
			return nil, validation("%s is required", field)
		}
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(*s)
	if err != nil {
		return nil, validation("%s is not valid Base64", field)
	}
	if len(b) > max {
		return nil, fail(501, "UnsupportedOperationException", "%s of %d bytes is larger than this proxy supports (%d)", field, len(b), max)
	}
	return b, nil
}

// gcmAAD binds the request's AAD and the ciphertextMetadata into the GCM
// authentication, as the spec recommends:
// uint16(len(aad)) || aad || uint8(len(md)) || md.
func gcmAAD(aad, md []byte) []byte {
	out := make([]byte, 0, 3+len(aad)+len(md))
	out = binary.BigEndian.AppendUint16(out, uint16(len(aad)))
	out = append(out, aad...)
	out = append(out, byte(len(md)))
	return append(out, md...)
}

// CDIV is the ciphertextDataIntegrityValue: SHA-256 over
// aad || ciphertextMetadata || iv || ciphertext || tag.
func CDIV(aad, md, iv, ciphertext, tag []byte) []byte {
	h := sha256.New()
	for _, part := range [][]byte{aad, md, iv, ciphertext, tag} {
		h.Write(part)
	}
	return h.Sum(nil)
}

func gcmFor(k *Key, ivSize int) (cipher.AEAD, error) {
	if ivSize == 12 && k.aead != nil && len(k.aeadFrom) == len(k.Material) && &k.aeadFrom[0] == &k.Material[0] {
		return k.aead, nil
	}
	block, err := aes.NewCipher(k.Material)
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCMWithNonceSize(block, ivSize)
	if err == nil && ivSize == 12 {
		k.aead, k.aeadFrom = g, k.Material
	}
	return g, err
}

func (p *Proxy) encrypt(s *Store, keyID string, in request) (any, error) {
	if in.EncryptionAlgorithm == nil || *in.EncryptionAlgorithm != "AES_GCM" {
		return nil, validation("encryptionAlgorithm must be AES_GCM")
	}
	if in.CiphertextDataIntegrityValueAlgorithm != nil && *in.CiphertextDataIntegrityValueAlgorithm != "SHA_256" {
		return nil, validation("ciphertextDataIntegrityValueAlgorithm must be SHA_256")
	}
	plaintext, err := decode64("plaintext", in.Plaintext, true, MaxPlaintext)
	if err != nil {
		return nil, err
	}
	aad, err := decode64("additionalAuthenticatedData", in.AdditionalAuthenticatedData, false, MaxAAD)
	if err != nil {
		return nil, err
	}
	k, err := s.usable(keyID, "ENCRYPT")
	if err != nil {
		return nil, err
	}
	g, err := gcmFor(k, 12)
	if err != nil {
		return nil, err
	}
	gaad := gcmAAD(aad, p.Metadata)
	iv := wire.SyntheticIV(p.rng, gaad, plaintext)
	sealed := g.Seal(nil, iv, plaintext, gaad)
	ct, tag := sealed[:len(sealed)-tagSize], sealed[len(sealed)-tagSize:]
	out := encryptOutput{Ciphertext: ct, CiphertextMetadata: p.Metadata, InitializationVector: iv, AuthenticationTag: tag}
	if in.CiphertextDataIntegrityValueAlgorithm != nil {
		// The CDIV is computed first, then a verifying decrypt, which
		// needs the DECRYPT usage too.
		out.CiphertextDataIntegrityValue = CDIV(aad, p.Metadata, iv, ct, tag)
		if !k.allows("DECRYPT") {
			return nil, fail(400, "InvalidKeyUsageException", "external key %s cannot decrypt, so the ciphertext cannot be verified", k.ID)
		}
		if pt, err := g.Open(nil, iv, sealed, gaad); err != nil || !bytes.Equal(pt, plaintext) {
			return nil, fail(500, "InternalException", "the verifying decrypt failed")
		}
	}
	return out, nil
}

func (p *Proxy) decrypt(s *Store, keyID string, in request) (any, error) {
	if in.EncryptionAlgorithm == nil || *in.EncryptionAlgorithm != "AES_GCM" {
		return nil, validation("encryptionAlgorithm must be AES_GCM")
	}
	ct, err := decode64("ciphertext", in.Ciphertext, true, MaxPlaintext)
	if err != nil {
		return nil, err
	}
	aad, err := decode64("additionalAuthenticatedData", in.AdditionalAuthenticatedData, false, MaxAAD)
	if err != nil {
		return nil, err
	}
	md, err := decode64("ciphertextMetadata", in.CiphertextMetadata, false, 1<<16)
	if err != nil {
		return nil, err
	}
	if len(md) > MaxCiphertextMetadata {
		return nil, validation("ciphertextMetadata is longer than %d bytes", MaxCiphertextMetadata)
	}
	iv, err := decode64("initializationVector", in.InitializationVector, true, 16)
	if err != nil {
		return nil, err
	}
	if len(iv) != 12 && len(iv) != 16 {
		return nil, validation("initializationVector must be 12 or 16 bytes")
	}
	tag, err := decode64("authenticationTag", in.AuthenticationTag, true, 16)
	if err != nil {
		return nil, err
	}
	if len(tag) != tagSize {
		return nil, validation("authenticationTag must be 16 bytes")
	}
	k, err := s.usable(keyID, "DECRYPT")
	if err != nil {
		return nil, err
	}
	g, err := gcmFor(k, len(iv))
	if err != nil {
		return nil, err
	}
	pt, err := g.Open(nil, iv, append(append([]byte{}, ct...), tag...), gcmAAD(aad, md))
	if err != nil {
		return nil, fail(400, "InvalidCiphertextException", "the ciphertext, IV, tag, AAD or ciphertext metadata is not valid for this key")
	}
	return decryptOutput{pt}, nil
}

// encryptOutput is the Encrypt response. Its JSON is what encoding/json
// makes of the members in Base64 with the two optional ones omitted when
// empty.
type encryptOutput struct {
	Ciphertext, CiphertextMetadata, InitializationVector, AuthenticationTag, CiphertextDataIntegrityValue []byte
}

func (o encryptOutput) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	dst = appendB64Member(dst, true, "ciphertext", o.Ciphertext)
	if len(o.CiphertextMetadata) > 0 {
		dst = appendB64Member(dst, false, "ciphertextMetadata", o.CiphertextMetadata)
	}
	dst = appendB64Member(dst, false, "initializationVector", o.InitializationVector)
	dst = appendB64Member(dst, false, "authenticationTag", o.AuthenticationTag)
	if len(o.CiphertextDataIntegrityValue) > 0 {
		dst = appendB64Member(dst, false, "ciphertextDataIntegrityValue", o.CiphertextDataIntegrityValue)
	}
	return append(dst, '}')
}

// decryptOutput is the Decrypt response.
type decryptOutput struct{ Plaintext []byte }

func (o decryptOutput) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	dst = appendB64Member(dst, true, "plaintext", o.Plaintext)
	return append(dst, '}')
}
