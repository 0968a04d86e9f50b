package xks

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Validate checks proxies loaded by [RestoreProxies]: every value a
// simulator operation could have written. It names the first problems it
// finds.
func (ps *Proxies) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	hosts := map[string]bool{}
	for i, p := range ps.List {
		at := fmt.Sprintf("xks.proxies[%d]", i)
		h := strings.ToLower(p.Host)
		if h == "" || hosts[h] {
			bad("%s.host %q is empty or not unique", at, p.Host)
		}
		hosts[h] = true
		if len(p.Fleet) < 1 || len(p.Fleet) > 10 {
			bad("%s.fleet has %d instances, not 1 to 10", at, len(p.Fleet))
		}
		for j, m := range p.Fleet {
			if m.Health != Active && m.Health != Degraded && m.Health != Unavailable {
				bad("%s.fleet[%d].HealthStatus %q is not ACTIVE, DEGRADED or UNAVAILABLE", at, j, m.Health)
			}
		}
		if len(p.Metadata) > MaxCiphertextMetadata {
			bad("%s.metadata has %d bytes, more than %d", at, len(p.Metadata), MaxCiphertextMetadata)
		}
		if p.Faults.Latency < 0 || p.Faults.Latency > time.Minute {
			bad("%s.faults.latency %v is not from 0 to 60 s", at, p.Faults.Latency)
		}
		if p.Faults.TLS != "" && !slices.Contains(TLSProblems, p.Faults.TLS) {
			bad("%s.faults.tls %q is not one of %s", at, p.Faults.TLS, strings.Join(TLSProblems, ", "))
		}
		if y := p.CertificateNotAfter.Year(); !p.CertificateNotAfter.IsZero() && (y < 1970 || y > 9999) {
			bad("%s.certificateNotAfter is out of range", at)
		}
		paths := map[string]bool{}
		for j, s := range p.Stores {
			sp := fmt.Sprintf("%s.stores[%d]", at, j)
			if !strings.Contains(s.URIPath, "/kms/xks/v") || paths[s.URIPath] {
				bad("%s.uriPath %q is not an XKS path, or is not unique", sp, s.URIPath)
			}
			paths[s.URIPath] = true
			if len(s.Credentials) < 1 || len(s.Credentials) > 2 {
				bad("%s has %d credentials, not 1 or 2", sp, len(s.Credentials))
			}
			for _, c := range s.Credentials {
				if c.AccessKeyID == "" || c.SecretAccessKey == "" {
					bad("%s has a credential without an access key ID or a secret", sp)
				}
			}
			ids := map[string]bool{}
			for k, key := range s.Keys {
				if key.ID == "" || ids[key.ID] || len(key.Material) != 32 {
					bad("%s.keys[%d] %q is not unique or has no 32-byte material", sp, k, key.ID)
				}
				ids[key.ID] = true
			}
		}
	}
	for i, s := range ps.Services {
		if s.ServiceName == "" {
			bad("xks.vpcEndpointServices[%d] has no service name", i)
		}
	}
	return errors.Join(errs...)
}
