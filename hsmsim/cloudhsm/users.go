package cloudhsm

import (
	"crypto/sha256"
	"crypto/subtle"
	"time"

	"keystorelab/hsmsim/wire"
)

// User is a cluster user. Passwords are kept only as salted SHA-256
// digests. LoggedIn is a session a person opened (in the CloudHSM CLI);
// KMSSession names the key store whose connection holds a session.
type User struct {
	Username     string `json:"username"`
	Role         string `json:"role"`
	Salt         []byte `json:"salt"`
	Digest       []byte `json:"digest"`
	LoggedIn     bool   `json:"loggedIn,omitempty"`
	KMSSession   string `json:"kmsSession,omitempty"`
	FailedLogins int    `json:"failedLogins,omitempty"`
}

// Roles.
const (
	RoleAdmin      = "admin"
	RoleCryptoUser = "crypto-user"
)

func (s *Sim) setPassword(u *User, password string) {
	u.Salt = make([]byte, 16)
	_, _ = s.rng.Read(u.Salt)
	u.Digest = digest(u.Salt, password)
}

func digest(salt []byte, password string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(password))
	return h.Sum(nil)
}

func (u *User) passwordIs(password string) bool {
	return subtle.ConstantTimeCompare(u.Digest, digest(u.Salt, password)) == 1
}

// LockedOut reports whether too many failed logins have locked u.
func (u *User) LockedOut() bool { return u.FailedLogins >= maxLoginFailures }

func (c *Cluster) user(name string) *User {
	for _, u := range c.Users {
		if u.Username == name {
			return u
		}
	}
	return nil
}

// The simulator operations: what a person does outside the CloudHSM API.
var simulatorOps = map[string]func(s *Sim, now time.Time, body []byte, decode func([]byte, any) error) (any, error){
	"SignClusterCsr":             (*Sim).simSignClusterCsr,
	"ActivateCluster":            (*Sim).simActivateCluster,
	"CreateCryptoUser":           (*Sim).simCreateCryptoUser,
	"DeleteCryptoUser":           (*Sim).simDeleteCryptoUser,
	"LoginCryptoUser":            (*Sim).simLogin,
	"LogoutCryptoUser":           (*Sim).simLogout,
	"ChangeCryptoUserPassword":   (*Sim).simChangePassword,
	"DescribeCryptoUsers":        (*Sim).simDescribeUsers,
	"DescribeNetwork":            (*Sim).simDescribeNetwork,
	"DescribeClusterTrustAnchor": (*Sim).simDescribeTrustAnchor,
	"ListHsmKeys":                (*Sim).simListHsmKeys,
	"DeleteHsmKey":               (*Sim).simDeleteHsmKey,
	"DeleteSubnet":               (*Sim).simDeleteSubnet,
	"SetSubnetFreeAddresses":     (*Sim).simSetFreeAddresses,
	"RevokeSecurityGroupRule":    (*Sim).simRevokeRule,
	"AuthorizeSecurityGroupRule": func(s *Sim, now time.Time, body []byte, decode func([]byte, any) error) (any, error) {
		return s.simRule(body, decode, true)
	},
}

// SimulatorOperations lists the Simulator.* operations [Sim.Invoke] serves.
func SimulatorOperations() []string {
	names := make([]string, 0, len(simulatorOps))
	for n := range simulatorOps {
		names = append(names, n)
	}
	return names
}

// MutatingSimulatorOperation reports whether a simulator operation can
// change state (everything but the Describe* ones and ListHsmKeys).
func MutatingSimulatorOperation(name string) bool {
	return name != "DescribeCryptoUsers" && name != "DescribeNetwork" && name != "DescribeClusterTrustAnchor" &&
		name != "ListHsmKeys"
}

var passwordUsernamePattern = wire.Pattern(`[a-zA-Z0-9_]{1,31}`)

type clusterUserInput struct {
	ClusterId     *string
	Username      *string
	Password      *string
	NewPassword   *string
	AdminPassword *string
}

// activeCluster finds a cluster whose users can be managed: it must exist,
// be ACTIVE and have an ACTIVE HSM to talk to.
func (s *Sim) activeCluster(id *string) (*Cluster, error) {
	c := s.cluster(*id)
	if c == nil || c.State == StateDeleted {
		return nil, notFound("Cluster %s not found", *id)
	}
	if c.State != StateActive {
		return nil, invalidRequest("Cluster %s is %s; users can be managed only in an ACTIVE cluster", c.ID, c.State)
	}
	if n, _ := s.activeHSMs(c); n == 0 {
		return nil, invalidRequest("Cluster %s has no active HSM to connect to", c.ID)
	}
	return c, nil
}

func (s *Sim) userInput(body []byte, decode func([]byte, any) error, needUser bool, passwordField string) (clusterUserInput, error) {
	var in clusterUserInput
	if err := decode(body, &in); err != nil {
		return in, err
	}
	var v wire.Validator
	v.Required("clusterId", in.ClusterId != nil)
	v.String("clusterId", in.ClusterId, 0, 1<<20, clusterIDPattern, false)
	if needUser {
		v.Required("username", in.Username != nil)
		v.String("username", in.Username, 1, 31, passwordUsernamePattern, false)
	}
	switch passwordField {
	case "password":
		v.Required("password", in.Password != nil)
		v.String("password", in.Password, 7, 32, nil, true)
	case "newPassword":
		v.Required("newPassword", in.NewPassword != nil)
		v.String("newPassword", in.NewPassword, 7, 32, nil, true)
	case "adminPassword":
		v.Required("adminPassword", in.AdminPassword != nil)
		v.String("adminPassword", in.AdminPassword, 7, 32, nil, true)
	}
	return in, v.Err()
}

// simSignClusterCsr plays the customer's CA: it signs the cluster's CSR
// with a new self-signed CA and returns both certificates, ready for
// InitializeCluster (SignedCert) and for CreateCustomKeyStore (the
// TrustAnchor, i.e. customerCA.crt).
func (s *Sim) simSignClusterCsr(now time.Time, body []byte, decode func([]byte, any) error) (any, error) {
	in, err := s.userInput(body, decode, false, "")
	if err != nil {
		return nil, err
	}
	c := s.cluster(*in.ClusterId)
	if c == nil || c.State == StateDeleted {
		return nil, notFound("Cluster %s not found", *in.ClusterId)
	}
	if c.State != StateUninitialized || c.PKI.CSR == "" {
		return nil, invalidRequest("Cluster %s has no certificate signing request to sign: it needs to be UNINITIALIZED with an ACTIVE HSM (it is %s)", c.ID, c.State)
	}
	signed, anchor, err := s.signCSR(c, now)
	if err != nil {
		return nil, invalidRequest("Cannot sign the CSR of cluster %s: %s", c.ID, err.Error())
	}
	return map[string]string{"SignedCert": signed, "TrustAnchor": anchor}, nil
}

// simActivateCluster does what the CloudHSM CLI's "cluster activate" does:
// it sets the admin password of an INITIALIZED cluster, which becomes ACTIVE.
func (s *Sim) simActivateCluster(now time.Time, body []byte, decode func([]byte, any) error) (any, error) {
	in, err := s.userInput(body, decode, false, "adminPassword")
	if err != nil {
		return nil, err
	}
	c := s.cluster(*in.ClusterId)
	if c == nil || c.State == StateDeleted {
		return nil, notFound("Cluster %s not found", *in.ClusterId)
	}
	if c.State != StateInitialized {
		return nil, invalidRequest("Cluster %s is %s; only an INITIALIZED cluster can be activated", c.ID, c.State)
	}
	if n, _ := s.activeHSMs(c); n == 0 {
		return nil, invalidRequest("Cluster %s has no active HSM to connect to", c.ID)
	}
	admin := &User{Username: "admin", Role: RoleAdmin}
	s.setPassword(admin, *in.AdminPassword)
	c.Users = append(c.Users, admin)
	c.State = StateActive
	s.backup(c, now)
	return struct{}{}, nil
}

func (s *Sim) simCreateCryptoUser(now time.Time, body []byte, decode func([]byte, any) error) (any, error) {
	in, err := s.userInput(body, decode, true, "password")
	if err != nil {
		return nil, err
	}
	c, err := s.activeCluster(in.ClusterId)
	if err != nil {
		return nil, err
	}
	if c.user(*in.Username) != nil {
		return nil, invalidRequest("User %s already exists in cluster %s", *in.Username, c.ID)
	}
	u := &User{Username: *in.Username, Role: RoleCryptoUser}
	s.setPassword(u, *in.Password)
	c.Users = append(c.Users, u)
	return struct{}{}, nil
}

func (s *Sim) lookupUser(in clusterUserInput) (*Cluster, *User, error) {
	c, err := s.activeCluster(in.ClusterId)
	if err != nil {
		return nil, nil, err
	}
	u := c.user(*in.Username)
	if u == nil {
		return nil, nil, notFound("User %s does not exist in cluster %s", *in.Username, c.ID)
	}
	if u.Role == RoleAdmin {
		return nil, nil, invalidRequest("User %s is the cluster admin; these actions are for crypto users", u.Username)
	}
	return c, u, nil
}

func heldByKMS(u *User) error {
	return invalidRequest("User %s is logged in by AWS KMS for custom key store %s; disconnect the key store first", u.Username, u.KMSSession)
}

func (s *Sim) simDeleteCryptoUser(now time.Time, body []byte, decode func([]byte, any) error) (any, error) {
	in, err := s.userInput(body, decode, true, "")
	if err != nil {
		return nil, err
	}
	c, u, err := s.lookupUser(in)
	if err != nil {
		return nil, err
	}
	if u.KMSSession != "" {
		return nil, heldByKMS(u)
	}
	for i, x := range c.Users {
		if x == u {
			c.Users = append(c.Users[:i], c.Users[i+1:]...)
			break
		}
	}
	return struct{}{}, nil
}

// simLogin logs in as a crypto user. A wrong password counts as a failed
// login; the fifth in a row locks the user out until an admin changes its
// password.
func (s *Sim) simLogin(now time.Time, body []byte, decode func([]byte, any) error) (any, error) {
	in, err := s.userInput(body, decode, true, "password")
	if err != nil {
		return nil, err
	}
	_, u, err := s.lookupUser(in)
	if err != nil {
		return nil, err
	}
	switch {
	case u.KMSSession != "":
		return nil, heldByKMS(u)
	case u.LockedOut():
		return nil, invalidRequest("User %s is locked out after %d failed logins; an admin must change its password", u.Username, u.FailedLogins)
	case u.LoggedIn:
		return nil, invalidRequest("User %s is already logged in", u.Username)
	case !u.passwordIs(*in.Password):
		u.FailedLogins++
		if u.LockedOut() {
			return nil, invalidRequest("Login failed: wrong password. User %s is now locked out", u.Username)
		}
		return nil, invalidRequest("Login failed: wrong password for user %s (%d of %d attempts)", u.Username, u.FailedLogins, maxLoginFailures)
	}
	u.FailedLogins = 0
	u.LoggedIn = true
	return struct{}{}, nil
}

func (s *Sim) simLogout(now time.Time, body []byte, decode func([]byte, any) error) (any, error) {
	in, err := s.userInput(body, decode, true, "")
	if err != nil {
		return nil, err
	}
	_, u, err := s.lookupUser(in)
	if err != nil {
		return nil, err
	}
	if !u.LoggedIn {
		return nil, invalidRequest("User %s is not logged in", u.Username)
	}
	u.LoggedIn = false
	return struct{}{}, nil
}

// simChangePassword is an admin changing a crypto user's password. It also
// clears a lockout. KMS's session prevents it while a key store is connected.
func (s *Sim) simChangePassword(now time.Time, body []byte, decode func([]byte, any) error) (any, error) {
	in, err := s.userInput(body, decode, true, "newPassword")
	if err != nil {
		return nil, err
	}
	_, u, err := s.lookupUser(in)
	if err != nil {
		return nil, err
	}
	if u.KMSSession != "" {
		return nil, heldByKMS(u)
	}
	s.setPassword(u, *in.NewPassword)
	u.FailedLogins = 0
	return struct{}{}, nil
}

func (s *Sim) simDescribeUsers(now time.Time, body []byte, decode func([]byte, any) error) (any, error) {
	in, err := s.userInput(body, decode, false, "")
	if err != nil {
		return nil, err
	}
	c := s.cluster(*in.ClusterId)
	if c == nil || c.State == StateDeleted {
		return nil, notFound("Cluster %s not found", *in.ClusterId)
	}
	type userView struct {
		Username            string
		Role                string
		LoggedIn            bool
		LoggedInByKms       string `json:"LoggedInByKms,omitempty"`
		LockedOut           bool
		FailedLoginAttempts int
		KeyCount            int `json:"KeyCount,omitempty"` // key objects the user owns
	}
	out := struct{ Users []userView }{Users: []userView{}}
	for _, u := range c.Users {
		owned := 0
		for _, k := range c.Keys {
			if k.Owner == u.Username {
				owned++
			}
		}
		out.Users = append(out.Users, userView{Username: u.Username, Role: u.Role, LoggedIn: u.LoggedIn,
			LoggedInByKms: u.KMSSession, LockedOut: u.LockedOut(), FailedLoginAttempts: u.FailedLogins, KeyCount: owned})
	}
	return out, nil
}

type subnetInput struct {
	SubnetId      *string
	FreeAddresses *int64
}

func (s *Sim) subnetFor(body []byte, decode func([]byte, any) error) (*Subnet, subnetInput, error) {
	var in subnetInput
	if err := decode(body, &in); err != nil {
		return nil, in, err
	}
	var v wire.Validator
	v.Required("subnetId", in.SubnetId != nil)
	v.String("subnetId", in.SubnetId, 0, 1<<20, subnetIDPattern, false)
	if err := v.Err(); err != nil {
		return nil, in, err
	}
	n := s.subnet(*in.SubnetId)
	if n == nil || n.Deleted {
		return nil, in, notFound("The subnet ID '%s' does not exist", *in.SubnetId)
	}
	return n, in, nil
}

// simDeleteSubnet deletes a subnet as EC2 would: only when no network
// interface (an HSM's or one KMS made) is still in it.
func (s *Sim) simDeleteSubnet(now time.Time, body []byte, decode func([]byte, any) error) (any, error) {
	n, _, err := s.subnetFor(body, decode)
	if err != nil {
		return nil, err
	}
	for _, e := range s.st.ENIs {
		if e.SubnetID == n.ID {
			return nil, wire.Errorf("DependencyViolation", "The subnet '%s' has dependencies and cannot be deleted: network interface %s (%s) is in it", n.ID, e.ID, e.Description)
		}
	}
	n.Deleted = true
	return struct{}{}, nil
}

// simSetFreeAddresses sets how many addresses are left in a subnet, as if
// other workloads had taken (or given back) addresses.
func (s *Sim) simSetFreeAddresses(now time.Time, body []byte, decode func([]byte, any) error) (any, error) {
	n, in, err := s.subnetFor(body, decode)
	if err != nil {
		return nil, err
	}
	var v wire.Validator
	v.Required("freeAddresses", in.FreeAddresses != nil)
	v.Int("freeAddresses", in.FreeAddresses, 0, 251)
	if err := v.Err(); err != nil {
		return nil, err
	}
	n.FreeAddresses = int(*in.FreeAddresses)
	return struct{}{}, nil
}

type ruleInput struct {
	GroupId   *string
	Direction *string
}

func (s *Sim) simRevokeRule(now time.Time, body []byte, decode func([]byte, any) error) (any, error) {
	return s.simRule(body, decode, false)
}

// simRule removes or restores one of the two TCP 2223-2225 rules of a
// cluster's security group.
func (s *Sim) simRule(body []byte, decode func([]byte, any) error, allow bool) (any, error) {
	var in ruleInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	v.Required("groupId", in.GroupId != nil)
	v.Required("direction", in.Direction != nil)
	v.Enum("direction", in.Direction, "INBOUND", "OUTBOUND")
	if err := v.Err(); err != nil {
		return nil, err
	}
	g := s.securityGroup(*in.GroupId)
	if g == nil {
		return nil, notFound("The security group '%s' does not exist", *in.GroupId)
	}
	if g.FromGroup != "" {
		return nil, invalidRequest("Security group %s is managed by AWS KMS", g.ID)
	}
	if *in.Direction == "INBOUND" {
		g.Inbound = allow
	} else {
		g.Outbound = allow
	}
	return struct{}{}, nil
}

// simDescribeNetwork shows the subnets, security groups and network
// interfaces, including those KMS creates when it connects a key store.
func (s *Sim) simDescribeNetwork(now time.Time, body []byte, decode func([]byte, any) error) (any, error) {
	var in struct{}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	type subnetView struct {
		SubnetId, AvailabilityZone, VpcId, CidrBlock string
		AvailableIpAddressCount                      int
	}
	type rule struct {
		Direction, Protocol string
		FromPort, ToPort    int
		GroupId             string
	}
	type groupView struct {
		GroupId, GroupName, VpcId, Description string
		Rules                                  []rule
	}
	type eniView struct {
		NetworkInterfaceId, SubnetId, PrivateIpAddress, Description string
		Groups                                                      []string
	}
	out := struct {
		Subnets           []subnetView
		SecurityGroups    []groupView
		NetworkInterfaces []eniView
	}{[]subnetView{}, []groupView{}, []eniView{}}
	for _, n := range s.st.Subnets {
		if !n.Deleted {
			out.Subnets = append(out.Subnets, subnetView{n.ID, n.AZ, n.VpcID, n.CIDR, n.FreeAddresses})
		}
	}
	for _, g := range s.st.SecurityGroups {
		gv := groupView{g.ID, g.Name, g.VpcID, g.Description, []rule{}}
		if g.FromGroup != "" {
			gv.Rules = append(gv.Rules, rule{"INBOUND", "all", 0, 65535, g.FromGroup})
		}
		if g.Inbound {
			gv.Rules = append(gv.Rules, rule{"INBOUND", "tcp", 2223, 2225, g.ID})
		}
		if g.Outbound {
			gv.Rules = append(gv.Rules, rule{"OUTBOUND", "tcp", 2223, 2225, g.ID})
		}
		out.SecurityGroups = append(out.SecurityGroups, gv)
	}
	for _, e := range s.st.ENIs {
		out.NetworkInterfaces = append(out.NetworkInterfaces, eniView{e.ID, e.SubnetID, e.IP, e.Description, e.Groups})
	}
	return out, nil
}

// simDescribeTrustAnchor returns the customer CA certificate a cluster was
// initialized with: in AWS the customer keeps this file (customerCA.crt);
// the sandbox keeps it too, for learners who initialized in a browser.
func (s *Sim) simDescribeTrustAnchor(now time.Time, body []byte, decode func([]byte, any) error) (any, error) {
	in, err := s.userInput(body, decode, false, "")
	if err != nil {
		return nil, err
	}
	c := s.cluster(*in.ClusterId)
	if c == nil || c.State == StateDeleted {
		return nil, notFound("Cluster %s not found", *in.ClusterId)
	}
	if c.PKI.TrustAnchor == "" {
		return nil, invalidRequest("Cluster %s has not been initialized, so it has no trust anchor", c.ID)
	}
	return map[string]string{"ClusterId": c.ID, "TrustAnchor": c.PKI.TrustAnchor}, nil
}

// ReplacePassword gives every user, in clusters and in backups, whose
// password is old the password new instead, keeping its salt. It reports
// whether any user had it. Snapshots shared without their secrets use it.
func (s *Sim) ReplacePassword(old, new string) bool {
	found := false
	swap := func(users []*User) {
		for _, u := range users {
			if u.passwordIs(old) {
				u.Digest = digest(u.Salt, new)
				found = true
			}
		}
	}
	for _, c := range s.st.Clusters {
		swap(c.Users)
	}
	for _, b := range s.st.Backups {
		swap(b.Users)
	}
	return found
}
