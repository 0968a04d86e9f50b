package cloudhsm

import (
	"errors"
	"sort"
	"time"
)

// What can go wrong when KMS connects to a cluster. The engine maps each to
// a ConnectionErrorCode.
var (
	ErrClusterNotFound    = errors.New("cloudhsm: cluster not found")
	ErrNoActiveHSM        = errors.New("cloudhsm: no active HSM in the cluster")
	ErrSubnetNotFound     = errors.New("cloudhsm: a subnet of the cluster does not exist")
	ErrNoFreeAddresses    = errors.New("cloudhsm: a subnet of the cluster has no free IP address")
	ErrUserNotFound       = errors.New("cloudhsm: no kmsuser crypto user")
	ErrUserLockedOut      = errors.New("cloudhsm: kmsuser is locked out")
	ErrUserLoggedIn       = errors.New("cloudhsm: kmsuser is logged in")
	ErrInvalidCredentials = errors.New("cloudhsm: wrong kmsuser password")
	errAlreadyHeldByKMS   = errors.New("cloudhsm: kmsuser is already logged in by another key store")
)

// KMSUser is the crypto user KMS logs in as.
const KMSUser = "kmsuser"

// ClusterInfo is what KMS checks about a cluster before it associates a
// key store with it or connects.
type ClusterInfo struct {
	ID    string
	State string
	// Certificate is the cluster certificate (PEM), empty before the
	// cluster is initialized. Clusters that share it share backup history.
	Certificate string
	// TrustAnchor is the customer CA certificate (PEM) the cluster was
	// initialized with.
	TrustAnchor string
	// ActiveHSMs counts ACTIVE HSMs; ActiveHSMAZs the AZs they are in.
	ActiveHSMs, ActiveHSMAZs int
	// SubnetAZs counts the AZs in which the cluster has an existing subnet.
	SubnetAZs int
	// SecurityGroupOK reports whether the cluster security group still has
	// its inbound and outbound TCP 2223-2225 rules.
	SecurityGroupOK bool
}

// Cluster returns what KMS can see of a cluster; false if there is no such
// cluster (or it has been deleted).
func (s *Sim) Cluster(id string) (ClusterInfo, bool) {
	c := s.cluster(id)
	if c == nil || c.State == StateDeleted {
		return ClusterInfo{}, false
	}
	info := ClusterInfo{ID: c.ID, State: c.State, Certificate: c.PKI.Certificate, TrustAnchor: c.PKI.TrustAnchor}
	info.ActiveHSMs, info.ActiveHSMAZs = s.activeHSMs(c)
	info.SubnetAZs, info.SecurityGroupOK = s.clusterNetworkOK(c)
	return info, true
}

// SameCertificate reports whether two PEM certificates are the same,
// whatever their white space.
func SameCertificate(a, b string) bool { return sameCertificate(a, b) }

// ConnectKMS does what KMS does when a key store's connection completes:
// it finds the cluster, creates the kms-<store id> security group and one
// network interface per Availability Zone of the cluster's subnets, logs in
// as kmsuser with password, and rotates the password to one only KMS
// knows, which it returns. KMS stays logged in until [Sim.DisconnectKMS].
// On failure nothing is left behind, except that a wrong password counts
// as a failed login.
func (s *Sim) ConnectKMS(now time.Time, clusterID, storeID, password string) (string, error) {
	c := s.cluster(clusterID)
	if c == nil || c.State == StateDeleted || c.State == StateDeleteInProgress {
		return "", ErrClusterNotFound
	}
	if n, _ := s.activeHSMs(c); n == 0 {
		return "", ErrNoActiveHSM
	}
	azs := make([]string, 0, len(c.SubnetMapping))
	for az := range c.SubnetMapping {
		azs = append(azs, az)
	}
	sort.Strings(azs)
	subnets := make([]*Subnet, 0, len(azs))
	for _, az := range azs {
		n := s.subnet(c.SubnetMapping[az])
		if n == nil || n.Deleted {
			return "", ErrSubnetNotFound
		}
		subnets = append(subnets, n)
	}
	for _, n := range subnets {
		if n.FreeAddresses < 1 {
			return "", ErrNoFreeAddresses
		}
	}
	u := c.user(KMSUser)
	switch {
	case u == nil || u.Role != RoleCryptoUser:
		return "", ErrUserNotFound
	case u.LockedOut():
		return "", ErrUserLockedOut
	case u.KMSSession != "" && u.KMSSession != storeID:
		return "", errAlreadyHeldByKMS
	case !u.passwordIs(password):
		u.FailedLogins++
		return "", ErrInvalidCredentials
	case u.LoggedIn:
		return "", ErrUserLoggedIn
	}
	u.FailedLogins = 0
	rotated := s.alnum(32)
	s.setPassword(u, rotated)
	u.KMSSession = storeID

	g := &SecurityGroup{ID: "sg-" + s.hex(17), Name: "kms-" + storeID, VpcID: c.VpcID,
		Description: "Security group for AWS KMS custom key store " + storeID, FromGroup: c.SecurityGroup}
	s.st.SecurityGroups = append(s.st.SecurityGroups, g)
	for _, n := range subnets {
		s.allocateENI(n, "KMS managed ENI for cluster "+c.ID, g.ID, c.SecurityGroup)
	}
	return rotated, nil
}

// DisconnectKMS undoes ConnectKMS for a key store: KMS logs out of the
// cluster (if it still exists) and removes the security group and network
// interfaces it created. It is safe to call when nothing is connected.
func (s *Sim) DisconnectKMS(now time.Time, clusterID, storeID string) {
	for _, c := range s.st.Clusters {
		for _, u := range c.Users {
			if u.KMSSession == storeID {
				u.KMSSession = ""
			}
		}
	}
	g := s.securityGroupNamed("kms-" + storeID)
	if g == nil {
		return
	}
	for i := 0; i < len(s.st.ENIs); {
		e := s.st.ENIs[i]
		if len(e.Groups) > 0 && e.Groups[0] == g.ID {
			s.releaseENI(e.ID)
			continue
		}
		i++
	}
	s.deleteSecurityGroup(g.ID)
}

// CertificateOf returns the cluster certificate of a cluster even after it
// has been deleted (it lives on in the cluster's backups), or "".
func (s *Sim) CertificateOf(clusterID string) string {
	if c := s.cluster(clusterID); c != nil {
		return c.PKI.Certificate
	}
	return ""
}
