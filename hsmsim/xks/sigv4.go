package xks

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Service is the SigV4 service name XKS requests are signed for.
const Service = "kms-xks-proxy"

// MaxSkew is how far a request's X-Amz-Date may be from the proxy's clock.
const MaxSkew = 5 * time.Minute

const sigv4Algorithm = "AWS4-HMAC-SHA256"
const amzDateFormat = "20060102T150405Z"

// Request is an HTTP request as the XKS transport carries it, without
// net/http: the engine builds these in memory, the native server converts
// real requests into them.
type Request struct {
	Method string
	// Host is the Host header as sent, port included if there was one.
	Host string
	// Path is the request path, without query string.
	Path string
	// Query is the raw query string, usually empty.
	Query string
	// Header holds the request headers, keyed by canonical lower-case name.
	Header map[string]string
	Body   []byte
}

// Response is the proxy's answer.
type Response struct {
	Status int
	Header map[string]string
	Body   []byte
}

// Credential is an XKS proxy authentication credential.
type Credential struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// Sign adds X-Amz-Date and a SigV4 Authorization header (service
// kms-xks-proxy, signing host and x-amz-date, plus content-type when set)
// to r, as KMS does.
func Sign(r *Request, cred Credential, region string, now time.Time) {
	if r.Header == nil {
		r.Header = map[string]string{}
	}
	date := now.UTC().Format(amzDateFormat)
	r.Header["x-amz-date"] = date
	signed := signedHostDate
	if _, ok := r.Header["content-type"]; ok {
		signed = signedWithContentType
	}
	scope := date[:8] + "/" + region + "/" + Service + "/aws4_request"
	sig := signature(*r, signed, cred.SecretAccessKey, date, region, Service, scope)
	r.Header["authorization"] = sigv4Algorithm + " Credential=" + cred.AccessKeyID + "/" + scope +
		", SignedHeaders=" + strings.Join(signed, ";") + ", Signature=" + sig
}

// The signed header lists Sign uses, sorted.
var (
	signedHostDate        = []string{"host", "x-amz-date"}
	signedWithContentType = []string{"content-type", "host", "x-amz-date"}
)

// errAuth is every SigV4 failure; the proxy reports them all as
// AuthenticationFailedException with the reason in the message.
type errAuth struct{ reason string }

func (e errAuth) Error() string { return e.reason }

// Verify checks r's SigV4 signature. lookup returns the secrets that may
// belong to an access key ID (a prefix may hold two during rotation). It
// honours whatever headers the request says it signed, and the Host as
// received, and rejects a date more than [MaxSkew] away from now.
func Verify(r Request, region string, now time.Time, lookup func(accessKeyID string) []string) error {
	auth := r.Header["authorization"]
	if auth == "" {
		return errAuth{"the request is not signed: no Authorization header"}
	}
	alg, rest, _ := strings.Cut(auth, " ")
	if alg != sigv4Algorithm {
		return errAuth{"unsupported signing algorithm " + alg}
	}
	var cred, signedList, sig string
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok { // the last of repeated fields wins
			switch k {
			case "Credential":
				cred = v
			case "SignedHeaders":
				signedList = v
			case "Signature":
				sig = v
			}
		}
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || signedList == "" || sig == "" {
		return errAuth{"malformed Authorization header"}
	}
	keyID, day, credRegion, service, term := parts[0], parts[1], parts[2], parts[3], parts[4]
	if credRegion != region || service != Service || term != "aws4_request" {
		return errAuth{fmt.Sprintf("credential scope %s/%s/%s does not match %s/%s/aws4_request", credRegion, service, term, region, Service)}
	}
	date := r.Header["x-amz-date"]
	t, err := time.Parse(amzDateFormat, date)
	if err != nil || date[:8] != day {
		return errAuth{"missing or malformed X-Amz-Date"}
	}
	if d := now.Sub(t); d > MaxSkew || d < -MaxSkew {
		return errAuth{fmt.Sprintf("the request date %s is more than 5 minutes from the proxy's clock", date)}
	}
	signed := strings.Split(signedList, ";")
	hasHost := false
	for _, h := range signed {
		if h == "host" {
			hasHost = true
		}
	}
	if !hasHost {
		return errAuth{"the host header must be signed"}
	}
	secrets := lookup(keyID)
	if len(secrets) == 0 {
		return errAuth{"unknown access key ID " + keyID}
	}
	scope := day + "/" + region + "/" + Service + "/aws4_request"
	for _, secret := range secrets {
		want := signature(r, signed, secret, date, region, Service, scope)
		if subtle.ConstantTimeCompare([]byte(want), []byte(sig)) == 1 {
			return nil
		}
	}
	return errAuth{"the request signature does not match"}
}

// signature computes the SigV4 signature of r over the given signed headers.
func signature(r Request, signed []string, secret, date, region, service, scope string) string {
	canon := make([]byte, 0, 256+len(r.Path))
	canon = append(canon, r.Method...)
	canon = append(canon, '\n')
	canon = appendCanonicalPath(canon, r.Path)
	canon = append(canon, '\n')
	canon = append(canon, canonicalQuery(r.Query)...)
	canon = append(canon, '\n')
	for _, h := range signed {
		v := r.Header[h]
		if h == "host" {
			v = r.Host
		}
		canon = append(canon, h...)
		canon = append(canon, ':')
		canon = appendTrimmedValue(canon, v)
		canon = append(canon, '\n')
	}
	canon = append(canon, '\n')
	for i, h := range signed {
		if i > 0 {
			canon = append(canon, ';')
		}
		canon = append(canon, h...)
	}
	canon = append(canon, '\n')
	// A proxy in the same process verifies what was just signed: the same
	// canonical request, body and key give the same signature.
	if sig, ok := lastSignature.get(canon, r.Body, secret, date, region, service, scope); ok {
		return sig
	}
	prefix := len(canon)
	payload := sha256.Sum256(r.Body)
	canon = hex.AppendEncode(canon, payload[:])
	hashed := sha256.Sum256(canon)

	toSign := make([]byte, 0, len(sigv4Algorithm)+len(date)+len(scope)+3+2*sha256.Size)
	toSign = append(toSign, sigv4Algorithm+"\n"...)
	toSign = append(toSign, date...)
	toSign = append(toSign, '\n')
	toSign = append(toSign, scope...)
	toSign = append(toSign, '\n')
	toSign = hex.AppendEncode(toSign, hashed[:])

	m := hmac.New(sha256.New, signingKey(secret, date[:8], region, service))
	m.Write(toSign)
	var sum [sha256.Size]byte
	sig := hex.EncodeToString(m.Sum(sum[:0]))
	lastSignature.put(canon[:prefix], r.Body, secret, date, region, service, scope, sig)
	return sig
}

// lastSignature remembers the last signature computed and everything it
// was computed from (the canonical request without the payload hash, the
// body itself, the key and the scope), so that verifying a request signed
// a moment ago in the same process costs comparisons instead of hashes.
var lastSignature signatureMemo

type signatureMemo struct {
	sync.Mutex
	canon, body                          []byte
	secret, date, region, service, scope string
	sig                                  string
}

func (m *signatureMemo) get(canon, body []byte, secret, date, region, service, scope string) (string, bool) {
	m.Lock()
	defer m.Unlock()
	if m.sig == "" || m.secret != secret || m.date != date || m.region != region || m.service != service ||
		m.scope != scope || !bytes.Equal(m.canon, canon) || !bytes.Equal(m.body, body) {
		return "", false
	}
	return m.sig, true
}

func (m *signatureMemo) put(canon, body []byte, secret, date, region, service, scope, sig string) {
	m.Lock()
	defer m.Unlock()
	m.canon = append(m.canon[:0], canon...)
	m.body = append(m.body[:0], body...)
	m.secret, m.date, m.region, m.service, m.scope, m.sig = secret, date, region, service, scope, sig
}

// appendTrimmedValue appends a header value as SigV4 canonicalises it:
// strings.Join(strings.Fields(v), " "), without allocating for a value
// that has no whitespace to collapse.
func appendTrimmedValue(dst []byte, v string) []byte {
	plain := len(v) == 0 || !isSpace(v[0]) && !isSpace(v[len(v)-1])
	for i := 0; plain && i < len(v); i++ {
		c := v[i]
		if c >= 0x80 || isSpace(c) && (c != ' ' || isSpace(v[i+1])) {
			plain = false
		}
	}
	if plain {
		return append(dst, v...)
	}
	return append(dst, strings.Join(strings.Fields(v), " ")...)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// signingKeys caches SigV4 signing keys, which depend only on the secret,
// the day, the Region and the service: four HMACs a request saves. The
// cache is small and is emptied when it fills.
var signingKeys struct {
	sync.Mutex
	m map[signingKeyID][]byte
}

type signingKeyID struct{ secret, day, region, service string }

const maxSigningKeys = 256

func signingKey(secret, day, region, service string) []byte {
	id := signingKeyID{secret, day, region, service}
	signingKeys.Lock()
	k, ok := signingKeys.m[id]
	signingKeys.Unlock()
	if ok {
		return k
	}
	k = hmacSHA256([]byte("AWS4"+secret), day)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	signingKeys.Lock()
	if signingKeys.m == nil || len(signingKeys.m) >= maxSigningKeys {
		signingKeys.m = make(map[signingKeyID][]byte)
	}
	signingKeys.m[id] = k
	signingKeys.Unlock()
	return k
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// appendCanonicalPath appends the path with each segment URI-encoded once
// more, as SigV4 does for every service but S3. XKS paths use only
// unreserved characters, for which this is the identity.
func appendCanonicalPath(dst []byte, p string) []byte {
	if p == "" {
		return append(dst, '/')
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '/' || unreserved(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst
}

const upperHex = "0123456789ABCDEF"

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

// canonicalQuery sorts the query's name=value pairs. XKS requests carry
// none; values are taken as already percent-encoded.
func canonicalQuery(q string) string {
	if q == "" {
		return ""
	}
	pairs := strings.Split(q, "&")
	for i, p := range pairs {
		if !strings.Contains(p, "=") {
			pairs[i] = p + "="
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}
