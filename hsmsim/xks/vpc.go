package xks

import (
	"strings"

	"keystorelab/hsmsim/wire"
)

// EndpointService is a VPC endpoint service fronting a proxy through a
// Network Load Balancer: what KMS checks before it connects to an external
// key store with VPC_ENDPOINT_SERVICE connectivity.
type EndpointService struct {
	ServiceName        string   `json:"ServiceName"`
	Owner              string   `json:"Owner"`
	AcceptanceRequired bool     `json:"AcceptanceRequired"`
	AllowedPrincipals  []string `json:"AllowedPrincipals"`
	PrivateDNSName     string   `json:"PrivateDnsName"`
	// DNSVerification is the private DNS name's verification state:
	// verified, pendingVerification or failed.
	DNSVerification string `json:"DnsVerification"`
	// LoadBalancerAZs are the Availability Zones of the NLB's subnets.
	LoadBalancerAZs []string `json:"LoadBalancerAZs"`
	// Connections are the interface endpoints KMS created to it, by key store.
	Connections []Connection `json:"Connections"`
}

// Connection is an interface endpoint and private hosted zone KMS creates
// when it connects a key store through a VPC endpoint service.
type Connection struct {
	KeyStoreID   string `json:"KeyStoreId"`
	EndpointID   string `json:"VpcEndpointId"`
	HostedZoneID string `json:"HostedZoneId"`
}

// KMSPrincipal is the principal a VPC endpoint service must allow for KMS
// in region.
func KMSPrincipal(region string) string { return "cks.kms." + region + ".amazonaws.com" }

// Service returns the endpoint service with the given name and owner, or nil.
func (ps *Proxies) Service(name, owner string) *EndpointService {
	for _, s := range ps.Services {
		if s.ServiceName == name && s.Owner == owner {
			return s
		}
	}
	return nil
}

// ServiceProblem says why a VPC endpoint service cannot carry KMS's traffic
// to the proxy at endpoint: found is false when KMS cannot see the service
// (missing, or the KMS principal not allowed); otherwise problem names the
// first configuration requirement it fails, or is empty.
func (ps *Proxies) ServiceProblem(name, owner, endpoint string) (found bool, problem string) {
	s := ps.Service(name, owner)
	if s == nil || !contains(s.AllowedPrincipals, KMSPrincipal(ps.Region)) {
		return false, ""
	}
	switch {
	case s.AcceptanceRequired:
		return true, "the endpoint service requires acceptance of endpoint connections"
	case len(distinct(s.LoadBalancerAZs)) < 2:
		return true, "its Network Load Balancer must have subnets in at least two Availability Zones"
	case s.PrivateDNSName == "":
		return true, "it has no private DNS name"
	case s.DNSVerification != "verified":
		return true, "the verification state of its private DNS name is " + s.DNSVerification + ", not verified"
	case !strings.EqualFold("https://"+s.PrivateDNSName, endpoint):
		return true, "the proxy URI endpoint must be https:// followed by its private DNS name " + s.PrivateDNSName
	case ps.Host(s.PrivateDNSName) != nil && ps.Host(s.PrivateDNSName).Faults.TLS == TLSHostnameMismatch:
		return true, "the proxy's TLS certificate does not name the private DNS name " + s.PrivateDNSName
	}
	return true, ""
}

func distinct(list []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range list {
		m[x] = true
	}
	return m
}

// Connect records the interface endpoint and private hosted zone KMS
// creates for a key store; Disconnect removes them.
func (ps *Proxies) Connect(name, owner, keyStoreID string) {
	s := ps.Service(name, owner)
	if s == nil {
		return
	}
	s.Connections = append(s.Connections, Connection{KeyStoreID: keyStoreID, EndpointID: "vpce-" + randomHex(ps.rng, 17),
		HostedZoneID: "Z" + strings.ToUpper(randomHex(ps.rng, 20))})
}

// Disconnect removes what Connect created for a key store.
func (ps *Proxies) Disconnect(keyStoreID string) {
	for _, s := range ps.Services {
		kept := s.Connections[:0]
		for _, c := range s.Connections {
			if c.KeyStoreID != keyStoreID {
				kept = append(kept, c)
			}
		}
		s.Connections = kept
	}
}

type serviceInput struct {
	ServiceName        *string
	Owner              *string
	AcceptanceRequired *bool
	AllowedPrincipals  []string
	PrivateDnsName     *string
	DnsVerification    *string
	LoadBalancerAZs    []string
}

var serviceNamePattern = wire.Pattern(`^(com|eu)\.amazonaws\.vpce\.([a-z]+-){2,3}\d+\.vpce-svc-[0-9a-z]+$`)

// vpcOp serves the VPC endpoint service operations.
func (ps *Proxies) vpcOp(op string, body []byte, decode func([]byte, any) error, accountID string) (any, error) {
	var in serviceInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	if op != "CreateVpcEndpointService" {
		v.Required("ServiceName", in.ServiceName != nil)
	}
	v.String("ServiceName", in.ServiceName, 20, 64, serviceNamePattern, false)
	v.Enum("DnsVerification", in.DnsVerification, "verified", "pendingVerification", "failed")
	if err := v.Err(); err != nil {
		return nil, err
	}
	owner := accountID
	if in.Owner != nil {
		owner = *in.Owner
	}
	var s *EndpointService
	if op == "CreateVpcEndpointService" {
		s = &EndpointService{ServiceName: "com.amazonaws.vpce." + ps.Region + ".vpce-svc-" + randomHex(ps.rng, 17), Owner: owner,
			AllowedPrincipals: []string{KMSPrincipal(ps.Region)}, DNSVerification: "verified",
			LoadBalancerAZs: []string{ps.Region + "a", ps.Region + "b"}, Connections: []Connection{}}
		ps.Services = append(ps.Services, s)
	} else if s = ps.Service(*in.ServiceName, owner); s == nil {
		return nil, notFound("the VPC endpoint service %s owned by %s does not exist", *in.ServiceName, owner)
	}
	if op == "DeleteVpcEndpointService" {
		if len(s.Connections) > 0 {
			return nil, invalid("the VPC endpoint service %s has an endpoint connection from AWS KMS; disconnect the key store first", s.ServiceName)
		}
		for i, x := range ps.Services {
			if x == s {
				ps.Services = append(ps.Services[:i], ps.Services[i+1:]...)
				break
			}
		}
		return struct{}{}, nil
	}
	if in.AcceptanceRequired != nil {
		s.AcceptanceRequired = *in.AcceptanceRequired
	}
	if in.AllowedPrincipals != nil {
		s.AllowedPrincipals = append([]string{}, in.AllowedPrincipals...)
	}
	if in.PrivateDnsName != nil {
		s.PrivateDNSName = *in.PrivateDnsName
	}
	if in.DnsVerification != nil {
		s.DNSVerification = *in.DnsVerification
	}
	if in.LoadBalancerAZs != nil {
		s.LoadBalancerAZs = append([]string{}, in.LoadBalancerAZs...)
	}
	return map[string]string{"ServiceName": s.ServiceName, "Owner": s.Owner}, nil
}

func randomHex(rng Rand, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	_, _ = rng.Read(b)
	for i := range b {
		b[i] = digits[b[i]%16]
	}
	return string(b)
}
