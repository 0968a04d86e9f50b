package xks

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
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
	signed := []string{"host", "x-amz-date"}
	if _, ok := r.Header["content-type"]; ok {
		signed = append(signed, "content-type")
	}
	sort.Strings(signed)
	scope := date[:8] + "/" + region + "/" + Service + "/aws4_request"
	sig := signature(*r, signed, cred.SecretAccessKey, date, region, Service, scope)
	r.Header["authorization"] = fmt.Sprintf("%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		sigv4Algorithm, cred.AccessKeyID, scope, strings.Join(signed, ";"), sig)
}

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
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			fields[k] = v
		}
	}
	cred, signedList, sig := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
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
	var canon strings.Builder
	canon.WriteString(r.Method + "\n")
	canon.WriteString(canonicalPath(r.Path) + "\n")
	canon.WriteString(canonicalQuery(r.Query) + "\n")
	for _, h := range signed {
		v := r.Header[h]
		if h == "host" {
			v = r.Host
		}
		canon.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	canon.WriteString("\n" + strings.Join(signed, ";") + "\n")
	payload := sha256.Sum256(r.Body)
	canon.WriteString(hex.EncodeToString(payload[:]))
	hashed := sha256.Sum256([]byte(canon.String()))
	toSign := sigv4Algorithm + "\n" + date + "\n" + scope + "\n" + hex.EncodeToString(hashed[:])

	k := hmacSHA256([]byte("AWS4"+secret), date[:8])
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	return hex.EncodeToString(hmacSHA256(k, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalPath URI-encodes each path segment once more, as SigV4 does for
// every service but S3. XKS paths use only unreserved characters, for which
// this is the identity.
func canonicalPath(p string) string {
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = uriEncode(s)
	}
	return strings.Join(segs, "/")
}

func uriEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
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
