package cloudhsm

import (
	"fmt"
	"strings"
)

// Subnet is a private VPC subnet. FreeAddresses counts the IPv4 addresses
// still available in it; every HSM and every ENI KMS creates takes one.
type Subnet struct {
	ID            string `json:"id"`
	AZ            string `json:"availabilityZone"`
	VpcID         string `json:"vpcId"`
	CIDR          string `json:"cidr"`
	FreeAddresses int    `json:"freeAddresses"`
	NextHost      int    `json:"nextHost"`
	Deleted       bool   `json:"deleted,omitempty"`
}

// SecurityGroup is a VPC security group. Cluster groups carry the two rules
// CloudHSM creates (TCP 2223-2225 in from and out to the group itself);
// groups KMS creates carry one inbound rule from the cluster's group.
type SecurityGroup struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	VpcID       string `json:"vpcId"`
	Description string `json:"description"`
	Inbound     bool   `json:"inbound2223"`
	Outbound    bool   `json:"outbound2223"`
	FromGroup   string `json:"fromGroup,omitempty"` // KMS groups: the cluster group allowed in
}

// ENI is an elastic network interface: an HSM's, or one KMS made.
type ENI struct {
	ID          string   `json:"id"`
	SubnetID    string   `json:"subnetId"`
	IP          string   `json:"ip"`
	Description string   `json:"description"`
	Groups      []string `json:"groups"`
}

func (s *Sim) subnet(id string) *Subnet {
	for _, n := range s.st.Subnets {
		if n.ID == id {
			return n
		}
	}
	return nil
}

func (s *Sim) securityGroup(id string) *SecurityGroup {
	for _, g := range s.st.SecurityGroups {
		if g.ID == id {
			return g
		}
	}
	return nil
}

func (s *Sim) securityGroupNamed(name string) *SecurityGroup {
	for _, g := range s.st.SecurityGroups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// ensureSubnets finds or creates the subnets a CreateCluster names. A
// subnet seen for the first time is created, in the first Availability Zone
// of the Region not already taken by another subnet of the same request,
// and in the VPC of the request's known subnets (or a new VPC).
func (s *Sim) ensureSubnets(ids []string) (map[string]string, string, error) {
	vpc := ""
	used := map[string]bool{}
	for _, id := range ids {
		if n := s.subnet(id); n != nil {
			if n.Deleted {
				return nil, "", invalidRequest("The subnet ID '%s' does not exist", id)
			}
			if vpc != "" && n.VpcID != vpc {
				return nil, "", invalidRequest("All subnets must be in the same VPC")
			}
			vpc = n.VpcID
			if used[n.AZ] {
				return nil, "", invalidRequest("You can specify only one subnet per Availability Zone (%s)", n.AZ)
			}
			used[n.AZ] = true
		}
	}
	if vpc == "" {
		vpc = "vpc-" + s.hex(17)
	}
	mapping := map[string]string{}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			return nil, "", invalidRequest("Subnet %s is listed more than once", id)
		}
		seen[id] = true
		n := s.subnet(id)
		if n == nil {
			az := ""
			for i := 0; i < 26; i++ {
				cand := s.st.Region + string(rune('a'+i))
				if !used[cand] {
					az = cand
					break
				}
			}
			n = &Subnet{ID: id, AZ: az, VpcID: vpc, CIDR: fmt.Sprintf("10.0.%d.0/24", len(s.st.Subnets)%256),
				FreeAddresses: subnetFreeDefault, NextHost: 4}
			s.st.Subnets = append(s.st.Subnets, n)
			used[az] = true
		}
		mapping[n.AZ] = n.ID
	}
	return mapping, vpc, nil
}

// allocateENI takes an address in subnet n for a new interface.
func (s *Sim) allocateENI(n *Subnet, description string, groups ...string) *ENI {
	n.FreeAddresses--
	base := strings.TrimSuffix(n.CIDR, "0/24")
	e := &ENI{ID: "eni-" + s.hex(17), SubnetID: n.ID, IP: fmt.Sprintf("%s%d", base, n.NextHost),
		Description: description, Groups: groups}
	n.NextHost++
	s.st.ENIs = append(s.st.ENIs, e)
	return e
}

func (s *Sim) releaseENI(id string) {
	for i, e := range s.st.ENIs {
		if e.ID == id {
			if n := s.subnet(e.SubnetID); n != nil {
				n.FreeAddresses++
			}
			s.st.ENIs = append(s.st.ENIs[:i], s.st.ENIs[i+1:]...)
			return
		}
	}
}

func (s *Sim) deleteSecurityGroup(id string) {
	for i, g := range s.st.SecurityGroups {
		if g.ID == id {
			s.st.SecurityGroups = append(s.st.SecurityGroups[:i], s.st.SecurityGroups[i+1:]...)
			return
		}
	}
}

// clusterNetworkOK reports whether c meets KMS's network requirements:
// private subnets in at least two AZs, and its security group still has
// both 2223-2225 rules.
func (s *Sim) clusterNetworkOK(c *Cluster) (subnetAZs int, rulesOK bool) {
	for _, id := range c.SubnetMapping {
		if n := s.subnet(id); n != nil && !n.Deleted {
			subnetAZs++
		}
	}
	g := s.securityGroup(c.SecurityGroup)
	return subnetAZs, g != nil && g.Inbound && g.Outbound
}
