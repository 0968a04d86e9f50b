package xks

import (
	"encoding/json"
	"strings"
	"time"

	"keystorelab/hsmsim/wire"
)

// Proxies are every simulated proxy host of a sandbox: what the engine's
// in-memory transport reaches, and what the Simulator operations manage.
type Proxies struct {
	// Region is the sandbox's Region: KMS signs its requests for it.
	Region string   `json:"region"`
	List   []*Proxy `json:"proxies"`
	// Services are the VPC endpoint services in front of proxies.
	Services []*EndpointService `json:"vpcEndpointServices"`
	// AccountID owns the endpoint services created without an Owner.
	AccountID string `json:"accountId"`
	rng       Rand
}

// NewProxies returns an empty set of proxies for KMS in region.
func NewProxies(region, accountID string, rng Rand) *Proxies {
	return &Proxies{Region: region, AccountID: accountID, List: []*Proxy{}, Services: []*EndpointService{}, rng: rng}
}

// MarshalJSON saves the proxies.
func (ps *Proxies) MarshalJSON() ([]byte, error) {
	type plain Proxies
	return json.Marshal((*plain)(ps))
}

// RestoreProxies loads proxies saved by MarshalJSON.
func RestoreProxies(data []byte, rng Rand) (*Proxies, error) {
	ps := NewProxies("", "", rng)
	if len(data) > 0 {
		type plain Proxies
		if err := json.Unmarshal(data, (*plain)(ps)); err != nil {
			return nil, err
		}
	}
	for _, p := range ps.List {
		p.SetRand(rng)
	}
	return ps, nil
}

// Host returns the proxy answering on host, or nil.
func (ps *Proxies) Host(host string) *Proxy {
	for _, p := range ps.List {
		if strings.EqualFold(p.Host, host) {
			return p
		}
	}
	return nil
}

// Exchange sends r to the proxy named by r.Host. With no proxy of that
// name, the connection cannot be made.
func (ps *Proxies) Exchange(now time.Time, r Request) (Response, time.Duration, error) {
	p := ps.Host(r.Host)
	if p == nil {
		return Response{}, 0, ErrUnreachable
	}
	return p.Exchange(now, r)
}

// SimulatorOperations are the Simulator.* operations [Proxies.Invoke] serves.
var SimulatorOperations = []string{"CreateXksProxy", "DeleteXksProxy", "DescribeXksProxies", "PutXksProxyPath", "DeleteXksProxyPath",
	"CreateExternalKey", "UpdateExternalKey", "DeleteExternalKey", "SetXksProxyFleet", "SetXksProxyFaults", "SetXksProxyRules",
	"CreateVpcEndpointService", "UpdateVpcEndpointService", "DeleteVpcEndpointService"}

// MutatingSimulatorOperation reports whether an operation changes state.
func MutatingSimulatorOperation(name string) bool { return name != "DescribeXksProxies" }

var (
	endpointPattern = wire.Pattern(`^https://[a-zA-Z0-9.-]+$`)
	pathPattern     = wire.Pattern(`^(/[a-zA-Z0-9\/_-]+/kms/xks/v\d{1,2})$|^(/kms/xks/v\d{1,2})$`)
	keyIDPattern    = wire.Pattern(`^[a-zA-Z0-9-_.]+$`)
	accessKeyRE     = wire.Pattern(`^[A-Z2-7]+$`)
	secretKeyRE     = wire.Pattern(`^[a-zA-Z0-9\/+=]+$`)
	usages          = []string{"ENCRYPT", "DECRYPT", "SIGN", "VERIFY", "WRAP", "UNWRAP", "DERIVE"}
)

type credentialInput struct {
	AccessKeyId     *string
	SecretAccessKey *string
}

type simInput struct {
	UriEndpoint                                                                 *string
	UriPath                                                                     *string
	Credentials                                                                 []credentialInput
	KeyId                                                                       *string
	KeySpec                                                                     *string
	KeyUsage                                                                    []string
	KeyStatus                                                                   *string
	EkmFleetDetails                                                             []struct{ Id, Model, HealthStatus string }
	LatencyMs                                                                   *int64
	Throttle, Internal, Malformed, AccessDenied, DependencyTimeout, Unreachable *bool
	Tls                                                                         *string
	KmsOperations                                                               []string
	KmsViaServices                                                              []string
	CertificateValidDays                                                        *int64
}

func notFound(format string, args ...any) error {
	return wire.Errorf("ResourceNotFoundException", format, args...)
}

func invalid(format string, args ...any) error {
	return wire.Errorf("ValidationException", format, args...)
}

// Invoke serves one Simulator operation on the proxies.
func (ps *Proxies) Invoke(now time.Time, op string, body []byte, decode func([]byte, any) error) (any, error) {
	if strings.HasSuffix(op, "VpcEndpointService") {
		return ps.vpcOp(op, body, decode, ps.AccountID)
	}
	var in simInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if op == "DescribeXksProxies" {
		return ps.describe(), nil
	}
	var v wire.Validator
	v.Required("UriEndpoint", in.UriEndpoint != nil)
	v.String("UriEndpoint", in.UriEndpoint, 10, 128, endpointPattern, false)
	needPath := op == "PutXksProxyPath" || op == "DeleteXksProxyPath" || strings.HasSuffix(op, "ExternalKey")
	if needPath {
		v.Required("UriPath", in.UriPath != nil)
	}
	v.String("UriPath", in.UriPath, 10, 128, pathPattern, false)
	if strings.HasSuffix(op, "ExternalKey") {
		v.Required("KeyId", in.KeyId != nil)
	}
	v.String("KeyId", in.KeyId, 1, 128, keyIDPattern, false)
	v.Enum("KeyStatus", in.KeyStatus, "ENABLED", "DISABLED")
	for _, u := range in.KeyUsage {
		v.Enum("KeyUsage.member", &u, usages...)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	host := strings.TrimPrefix(*in.UriEndpoint, "https://")
	if op == "CreateXksProxy" {
		if ps.Host(host) != nil {
			return nil, invalid("a proxy already answers at %s", *in.UriEndpoint)
		}
		p := New(host, ps.Region, ps.rng)
		days := int64(395)
		if in.CertificateValidDays != nil {
			if *in.CertificateValidDays < -3650 || *in.CertificateValidDays > 3650 {
				return nil, invalid("CertificateValidDays must be from -3650 to 3650")
			}
			days = *in.CertificateValidDays
		}
		p.CertificateNotAfter = now.Add(time.Duration(days) * 24 * time.Hour).UTC()
		ps.List = append(ps.List, p)
		return struct{}{}, nil
	}
	p := ps.Host(host)
	if p == nil {
		return nil, notFound("no simulated proxy answers at %s", *in.UriEndpoint)
	}
	switch op {
	case "DeleteXksProxy":
		for i, x := range ps.List {
			if x == p {
				ps.List = append(ps.List[:i], ps.List[i+1:]...)
				break
			}
		}
	case "PutXksProxyPath":
		return nil, p.putPath(*in.UriPath, in.Credentials)
	case "DeleteXksProxyPath":
		for i, st := range p.Stores {
			if st.URIPath == *in.UriPath {
				p.Stores = append(p.Stores[:i], p.Stores[i+1:]...)
				return struct{}{}, nil
			}
		}
		return nil, notFound("the proxy at %s serves no path %s", p.Host, *in.UriPath)
	case "CreateExternalKey", "UpdateExternalKey", "DeleteExternalKey":
		return nil, ps.externalKey(p, op, in)
	case "SetXksProxyFleet":
		if len(in.EkmFleetDetails) < 1 || len(in.EkmFleetDetails) > 10 {
			return nil, invalid("EkmFleetDetails must list 1 to 10 external key manager instances")
		}
		fleet := make([]EKM, len(in.EkmFleetDetails))
		for i, d := range in.EkmFleetDetails {
			if d.HealthStatus != Active && d.HealthStatus != Degraded && d.HealthStatus != Unavailable {
				return nil, invalid("HealthStatus must be ACTIVE, DEGRADED or UNAVAILABLE, not %q", d.HealthStatus)
			}
			if d.Id == "" {
				return nil, invalid("every instance needs an Id")
			}
			fleet[i] = EKM{ID: d.Id, Model: d.Model, Health: d.HealthStatus}
		}
		p.Fleet = fleet
	case "SetXksProxyFaults":
		f := Faults{}
		if in.LatencyMs != nil {
			if *in.LatencyMs < 0 || *in.LatencyMs > 60000 {
				return nil, invalid("LatencyMs must be from 0 to 60000")
			}
			f.Latency = time.Duration(*in.LatencyMs) * time.Millisecond
		}
		flag := func(b *bool) bool { return b != nil && *b }
		f.Throttle, f.Internal, f.Malformed = flag(in.Throttle), flag(in.Internal), flag(in.Malformed)
		f.AccessDenied, f.DependencyTimeout, f.Unreachable = flag(in.AccessDenied), flag(in.DependencyTimeout), flag(in.Unreachable)
		if in.Tls != nil && *in.Tls != "" {
			if !contains(TLSProblems, *in.Tls) {
				return nil, invalid("Tls must be one of %s", strings.Join(TLSProblems, ", "))
			}
			f.TLS = *in.Tls
		}
		p.Faults = f
	case "SetXksProxyRules":
		p.Rules = Rules{KmsOperations: in.KmsOperations, KmsViaServices: in.KmsViaServices}
	}
	return struct{}{}, nil
}

// putPath creates a key store path on the proxy or replaces its
// credentials (one, or two while rotating).
func (p *Proxy) putPath(path string, creds []credentialInput) error {
	if len(creds) < 1 || len(creds) > 2 {
		return invalid("Credentials must hold one credential, or two while rotating")
	}
	list := make([]Credential, len(creds))
	for i, c := range creds {
		var v wire.Validator
		v.Required("Credentials.member.AccessKeyId", c.AccessKeyId != nil)
		v.String("Credentials.member.AccessKeyId", c.AccessKeyId, 20, 30, accessKeyRE, false)
		v.Required("Credentials.member.SecretAccessKey", c.SecretAccessKey != nil)
		v.String("Credentials.member.SecretAccessKey", c.SecretAccessKey, 43, 64, secretKeyRE, true)
		if err := v.Err(); err != nil {
			return err
		}
		list[i] = Credential{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey}
	}
	for _, s := range p.Stores {
		if s.URIPath == path {
			s.Credentials = list
			return nil
		}
	}
	p.Stores = append(p.Stores, &Store{URIPath: path, Credentials: list, Keys: []*Key{}})
	return nil
}

func (ps *Proxies) externalKey(p *Proxy, op string, in simInput) error {
	var store *Store
	for _, s := range p.Stores {
		if s.URIPath == *in.UriPath {
			store = s
		}
	}
	if store == nil {
		return notFound("the proxy at %s serves no path %s", p.Host, *in.UriPath)
	}
	k, _ := store.key(*in.KeyId)
	switch op {
	case "CreateExternalKey":
		if k != nil {
			return invalid("external key %s already exists", *in.KeyId)
		}
		k = &Key{ID: *in.KeyId, Spec: "AES_256", Usage: []string{"ENCRYPT", "DECRYPT"}, Status: "ENABLED"}
		if in.KeySpec != nil {
			k.Spec = *in.KeySpec
		}
		if k.Spec == "AES_256" {
			k.Material = make([]byte, 32)
			_, _ = ps.rng.Read(k.Material)
		}
		store.Keys = append(store.Keys, k)
	case "UpdateExternalKey", "DeleteExternalKey":
		if k == nil {
			return notFound("external key %s does not exist", *in.KeyId)
		}
		if op == "DeleteExternalKey" {
			for i, x := range store.Keys {
				if x == k {
					store.Keys = append(store.Keys[:i], store.Keys[i+1:]...)
					break
				}
			}
			return nil
		}
	}
	if in.KeyUsage != nil {
		k.Usage = append([]string{}, in.KeyUsage...)
	}
	if in.KeyStatus != nil {
		k.Status = *in.KeyStatus
	}
	return nil
}

// describe lists the proxies with their paths, keys, fleet, faults and
// rules; never a secret access key or key material.
func (ps *Proxies) describe() any {
	type keyView struct {
		KeyId     string
		KeySpec   string
		KeyUsage  []string
		KeyStatus string
	}
	type pathView struct {
		UriPath      string
		AccessKeyIds []string
		ExternalKeys []keyView
	}
	type faultsView struct {
		LatencyMs                                                                   int64
		Throttle, Internal, Malformed, AccessDenied, DependencyTimeout, Unreachable bool
		Tls                                                                         string `json:",omitempty"`
	}
	type proxyView struct {
		UriEndpoint     string
		Paths           []pathView
		EkmFleetDetails []EKM
		Faults          faultsView
		Rules           Rules
	}
	out := struct {
		XksProxies          []proxyView
		VpcEndpointServices []*EndpointService
	}{[]proxyView{}, ps.Services}
	for _, p := range ps.List {
		f := p.Faults
		pv := proxyView{UriEndpoint: "https://" + p.Host, Paths: []pathView{}, EkmFleetDetails: p.Fleet, Rules: p.Rules,
			Faults: faultsView{f.Latency.Milliseconds(), f.Throttle, f.Internal, f.Malformed, f.AccessDenied, f.DependencyTimeout, f.Unreachable, f.TLS}}
		for _, s := range p.Stores {
			sv := pathView{UriPath: s.URIPath, AccessKeyIds: []string{}, ExternalKeys: []keyView{}}
			for _, c := range s.Credentials {
				sv.AccessKeyIds = append(sv.AccessKeyIds, c.AccessKeyID)
			}
			for _, k := range s.Keys {
				sv.ExternalKeys = append(sv.ExternalKeys, keyView{k.ID, k.Spec, k.Usage, k.Status})
			}
			pv.Paths = append(pv.Paths, sv)
		}
		out.XksProxies = append(out.XksProxies, pv)
	}
	return out
}

// Route finds the proxy that should answer a request arriving over plain
// HTTP at a host that serves every simulated proxy (the local server): the
// proxy named by the Host header (port ignored) if there is one, otherwise
// the one serving a path the request's path starts with.
func (ps *Proxies) Route(r Request) *Proxy {
	host := r.Host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	if p := ps.Host(host); p != nil {
		return p
	}
	for _, p := range ps.List {
		for _, s := range p.Stores {
			if strings.HasPrefix(r.Path, s.URIPath+"/") {
				return p
			}
		}
	}
	return nil
}

// ReplaceSecrets replaces the secret access key of every credential every
// proxy path accepts with replace(secret). Snapshots shared without their
// secrets use it.
func (ps *Proxies) ReplaceSecrets(replace func(secret string) string) {
	for _, p := range ps.List {
		for _, s := range p.Stores {
			for i := range s.Credentials {
				s.Credentials[i].SecretAccessKey = replace(s.Credentials[i].SecretAccessKey)
			}
		}
	}
}
