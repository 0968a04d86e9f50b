package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"keystorelab/hsmsim/xks"
)

// XKSClient takes KMS's requests to a real XKS proxy over HTTPS, for
// external key stores whose proxy is not one of the sandbox's simulated
// proxies. It trusts the system's CAs plus an optional CA bundle, speaks
// TLS 1.2 or 1.3 only, and gives up after KMS's 250 ms.
type XKSClient struct {
	client  *http.Client
	resolve map[string]string
}

// NewXKSClient returns a client that also trusts the PEM certificates in
// caBundle (if not empty). resolve maps a proxy host name to the address
// to dial instead of host:443 ("xks.example.com" -> "127.0.0.1:8443"), as
// curl's --resolve does.
func NewXKSClient(caBundle string, resolve map[string]string) (*XKSClient, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if caBundle != "" {
		pem, err := os.ReadFile(caBundle)
		if err != nil {
			return nil, fmt.Errorf("XKS CA bundle: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("XKS CA bundle %s holds no PEM certificate", caBundle)
		}
	}
	c := &XKSClient{resolve: resolve}
	dialer := &net.Dialer{}
	transport := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(addr)
			if to, ok := c.resolve[strings.ToLower(host)]; ok {
				addr = to
			}
			return dialer.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2: true,
	}
	c.client = &http.Client{Transport: transport, Timeout: 250 * time.Millisecond}
	return c, nil
}

// RoundTrip sends one signed request to https://r.Host (port 443 unless
// resolved elsewhere) and classifies failures as the engine expects.
func (c *XKSClient) RoundTrip(r xks.Request) (xks.Response, time.Duration, error) {
	start := time.Now()
	req, err := http.NewRequest(r.Method, "https://"+r.Host+r.Path, bytes.NewReader(r.Body))
	if err != nil {
		return xks.Response{}, 0, xks.ErrUnreachable
	}
	for k, v := range r.Header {
		if k != "host" && k != "content-length" {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.client.Do(req)
	took := time.Since(start)
	if err != nil {
		return xks.Response{}, took, classify(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return xks.Response{}, took, classify(err)
	}
	header := map[string]string{}
	for k, v := range resp.Header {
		header[strings.ToLower(k)] = strings.Join(v, ",")
	}
	return xks.Response{Status: resp.StatusCode, Header: header, Body: body}, time.Since(start), nil
}

// classify turns a client error into what KMS distinguishes: a timeout, a
// TLS problem, or a connection that could not be made.
func classify(err error) error {
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return xks.ErrTimeout
	}
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var alert tls.AlertError
	switch {
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return &xks.TLSError{Problem: xks.TLSExpiredCertificate}
	case errors.As(err, &hostname):
		return &xks.TLSError{Problem: xks.TLSHostnameMismatch}
	case errors.As(err, &unknownCA):
		return &xks.TLSError{Problem: xks.TLSUntrustedCA}
	case errors.As(err, &alert), strings.Contains(err.Error(), "protocol version"):
		return &xks.TLSError{Problem: xks.TLSNoModernVersion}
	case errors.As(err, &verify), strings.Contains(err.Error(), "tls:"):
		return &xks.TLSError{Problem: xks.TLSUntrustedCA}
	}
	return xks.ErrUnreachable
}
