package xks

import (
	"errors"
	"time"
)

// TLS problems a proxy can be given. Each makes a TLS handshake with it
// fail the way KMS would see it.
const (
	TLSExpiredCertificate = "EXPIRED_CERTIFICATE"
	TLSHostnameMismatch   = "HOSTNAME_MISMATCH"
	TLSUntrustedCA        = "UNTRUSTED_CA"
	TLSNoModernVersion    = "NO_TLS12_OR_TLS13"
)

// TLSProblems lists every TLS problem, for validation.
var TLSProblems = []string{TLSExpiredCertificate, TLSHostnameMismatch, TLSUntrustedCA, TLSNoModernVersion}

// ErrUnreachable is a TCP connection that cannot be made: the proxy is
// down, the port blocked, or no host has the name.
var ErrUnreachable = errors.New("xks: cannot connect to the proxy")

// ErrTimeout is a proxy that did not answer in time.
var ErrTimeout = errors.New("xks: the proxy did not answer in time")

// TLSError is a failed TLS handshake.
type TLSError struct{ Problem string }

func (e *TLSError) Error() string { return "xks: TLS handshake failed: " + e.Problem }

// Exchange is one HTTPS round trip to the proxy as a client sees it:
// connection and TLS failures come back as errors, anything else as the
// proxy's response and the time it took.
func (p *Proxy) Exchange(now time.Time, r Request) (Response, time.Duration, error) {
	if p.Faults.Unreachable {
		return Response{}, 0, ErrUnreachable
	}
	if p.Faults.TLS != "" {
		return Response{}, 0, &TLSError{Problem: p.Faults.TLS}
	}
	resp, took := p.Serve(now, r)
	return resp, took, nil
}
