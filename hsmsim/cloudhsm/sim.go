// Package cloudhsm is a software AWS CloudHSM: clusters with their life
// cycle, HSMs in Availability Zones, the private subnets and security groups
// they live in, cluster certificates, backups, crypto users with
// passwords, login sessions and lockout, and the AES key objects KMS
// creates as kmsuser for the KMS keys of a CloudHSM key store.
//
// It serves the CloudHSM v2 API subset a sandbox needs ([Sim.Invoke] with
// CreateCluster, DescribeClusters, InitializeCluster, CreateHsm, DeleteHsm,
// DeleteCluster, DescribeBackups), the actions a person would do in the
// CloudHSM CLI or the EC2 console (the Simulator operations), and what AWS
// KMS does to a cluster when it connects a key store ([Sim.ConnectKMS],
// [Sim.DisconnectKMS]).
//
// Like the engine, it never reads the clock or crypto/rand: every call
// carries the time, randomness comes from the [Rand] it is given, and
// transitions that take time (an HSM being created) carry a deadline that
// [Sim.Settle] applies when it has passed.
package cloudhsm

import (
	"encoding/json"
	"sort"
	"time"
)

// Rand is the randomness the simulator draws IDs, keys and passwords from.
// *math/rand/v2.ChaCha8 satisfies it.
type Rand interface {
	Read(p []byte) (int, error)
	Uint64() uint64
}

// How long the simulated control plane takes. Real CloudHSM takes minutes
// for each; these are virtual minutes.
const (
	clusterCreateTime = 3 * time.Minute
	clusterInitTime   = 2 * time.Minute
	clusterDeleteTime = 2 * time.Minute
	hsmCreateTime     = 8 * time.Minute
	hsmDeleteTime     = 2 * time.Minute
	maxHSMsPerCluster = 28
	maxLoginFailures  = 5
	subnetFreeDefault = 250
)

// Cluster states (CloudHSM v2 ClusterState).
const (
	StateCreateInProgress     = "CREATE_IN_PROGRESS"
	StateUninitialized        = "UNINITIALIZED"
	StateInitializeInProgress = "INITIALIZE_IN_PROGRESS"
	StateInitialized          = "INITIALIZED"
	StateActive               = "ACTIVE"
	StateDeleteInProgress     = "DELETE_IN_PROGRESS"
	StateDeleted              = "DELETED"
)

// HSM states (CloudHSM v2 HsmState).
const (
	HsmCreateInProgress = "CREATE_IN_PROGRESS"
	HsmActive           = "ACTIVE"
	HsmDeleteInProgress = "DELETE_IN_PROGRESS"
)

// Sim is one account's CloudHSM in one Region, with the bits of its VPCs
// that CloudHSM and KMS touch.
type Sim struct {
	st  simState
	rng Rand
}

type simState struct {
	Region         string           `json:"region"`
	AccountID      string           `json:"accountId"`
	Clusters       []*Cluster       `json:"clusters"`
	Backups        []*Backup        `json:"backups"`
	Subnets        []*Subnet        `json:"subnets"`
	SecurityGroups []*SecurityGroup `json:"securityGroups"`
	ENIs           []*ENI           `json:"networkInterfaces"`
}

// Cluster is a CloudHSM cluster.
type Cluster struct {
	ID             string            `json:"id"`
	State          string            `json:"state"`
	StateMessage   string            `json:"stateMessage,omitempty"`
	Until          time.Time         `json:"until,omitzero"` // when the *_IN_PROGRESS state ends
	HsmType        string            `json:"hsmType"`
	Mode           string            `json:"mode"`
	Created        time.Time         `json:"created"`
	VpcID          string            `json:"vpcId"`
	SubnetMapping  map[string]string `json:"subnetMapping"` // AZ -> subnet ID
	SecurityGroup  string            `json:"securityGroup"`
	SourceBackupID string            `json:"sourceBackupId,omitempty"`
	HSMs           []*HSM            `json:"hsms"`
	PKI            PKI               `json:"pki"`
	Users          []*User           `json:"users"`
	Keys           []*Key            `json:"keys,omitempty"`
	NextHandle     uint64            `json:"nextHandle,omitempty"` // the last key handle allocated; 0 before the first
	Tags           []Tag             `json:"tags,omitempty"`
	Retention      RetentionPolicy   `json:"retention"`
}

// RetentionPolicy is a cluster's backup retention policy, as CloudHSM v2
// spells it.
type RetentionPolicy struct {
	Type  string
	Value string
}

// HSM is one hardware security module in a cluster.
type HSM struct {
	ID       string    `json:"id"`
	AZ       string    `json:"availabilityZone"`
	SubnetID string    `json:"subnetId"`
	EniID    string    `json:"eniId"`
	EniIP    string    `json:"eniIp"`
	State    string    `json:"state"`
	Until    time.Time `json:"until,omitzero"`
}

// Backup is a cluster backup: what a cluster created from it inherits.
type Backup struct {
	ID        string    `json:"id"`
	ClusterID string    `json:"clusterId"`
	Created   time.Time `json:"created"`
	HsmType   string    `json:"hsmType"`
	Mode      string    `json:"mode"`
	PKI       PKI       `json:"pki"`
	Users     []*User   `json:"users"`
	Keys      []*Key    `json:"keys,omitempty"`
}

// Tag is a CloudHSM resource tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// New returns an empty simulator.
func New(region, accountID string, rng Rand) *Sim {
	return &Sim{rng: rng, st: simState{Region: region, AccountID: accountID,
		Clusters: []*Cluster{}, Backups: []*Backup{}, Subnets: []*Subnet{},
		SecurityGroups: []*SecurityGroup{}, ENIs: []*ENI{}}}
}

// MarshalJSON saves the simulator's whole state.
func (s *Sim) MarshalJSON() ([]byte, error) { return json.Marshal(s.st) }

// Restore loads a state saved by MarshalJSON.
func Restore(data []byte, rng Rand) (*Sim, error) {
	s := New("", "", rng)
	if err := json.Unmarshal(data, &s.st); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Sim) cluster(id string) *Cluster {
	for _, c := range s.st.Clusters {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// NextDeadline returns the earliest pending transition.
func (s *Sim) NextDeadline() (time.Time, bool) {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, c := range s.st.Clusters {
		consider(c.Until)
		for _, h := range c.HSMs {
			consider(h.Until)
		}
	}
	return next, !next.IsZero()
}

// Settle applies, in time order, every transition due at or before now.
// It reports whether anything changed.
func (s *Sim) Settle(now time.Time) bool {
	type due struct {
		at    time.Time
		apply func()
	}
	var todo []due
	for _, c := range s.st.Clusters {
		if !c.Until.IsZero() && !c.Until.After(now) {
			todo = append(todo, due{c.Until, func() { s.finishCluster(c) }})
		}
		for _, h := range c.HSMs {
			if !h.Until.IsZero() && !h.Until.After(now) {
				todo = append(todo, due{h.Until, func() { s.finishHSM(c, h) }})
			}
		}
	}
	sort.SliceStable(todo, func(i, j int) bool { return todo[i].at.Before(todo[j].at) })
	for _, d := range todo {
		d.apply()
	}
	return len(todo) > 0
}

func (s *Sim) finishCluster(c *Cluster) {
	c.Until = time.Time{}
	c.StateMessage = ""
	switch c.State {
	case StateCreateInProgress:
		if c.SourceBackupID != "" {
			c.State = StateActive // a cluster restored from a backup is initialized and active
		} else {
			c.State = StateUninitialized
		}
	case StateInitializeInProgress:
		c.State = StateInitialized
	case StateDeleteInProgress:
		c.State = StateDeleted
		s.deleteSecurityGroup(c.SecurityGroup)
	}
}

func (s *Sim) finishHSM(c *Cluster, h *HSM) {
	at := h.Until
	h.Until = time.Time{}
	switch h.State {
	case HsmCreateInProgress:
		h.State = HsmActive
		switch c.State {
		case StateUninitialized:
			if c.PKI.CSR == "" {
				s.makeCSR(c)
			}
		case StateInitialized, StateActive:
			s.backup(c, at)
		}
	case HsmDeleteInProgress:
		s.releaseENI(h.EniID)
		for i, x := range c.HSMs {
			if x == h {
				c.HSMs = append(c.HSMs[:i], c.HSMs[i+1:]...)
				break
			}
		}
		if c.State == StateInitialized || c.State == StateActive {
			s.backup(c, at)
		}
	}
}

// backup records a READY backup of c as it is at time at.
func (s *Sim) backup(c *Cluster, at time.Time) {
	users := make([]*User, len(c.Users))
	for i, u := range c.Users {
		cp := *u
		cp.LoggedIn, cp.KMSSession = false, "" // a backup holds accounts, not sessions
		users[i] = &cp
	}
	s.st.Backups = append(s.st.Backups, &Backup{ID: "backup-" + s.base32(11), ClusterID: c.ID,
		Created: at, HsmType: c.HsmType, Mode: c.Mode, PKI: c.PKI, Users: users, Keys: copyKeys(c.Keys)})
}

func (s *Sim) activeHSMs(c *Cluster) (count, azs int) {
	seen := map[string]bool{}
	for _, h := range c.HSMs {
		if h.State == HsmActive {
			count++
			seen[h.AZ] = true
		}
	}
	return count, len(seen)
}

const base32Lower = "abcdefghijklmnopqrstuvwxyz234567"

// base32 returns n random characters of the alphabet CloudHSM IDs use.
func (s *Sim) base32(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = base32Lower[s.rng.Uint64()%32]
	}
	return string(b)
}

// hex returns n random lower-case hex digits (EC2 IDs).
func (s *Sim) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[s.rng.Uint64()%16]
	}
	return string(b)
}

// alnum returns n random letters and digits (passwords KMS sets).
func (s *Sim) alnum(n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[s.rng.Uint64()%uint64(len(chars))]
	}
	return string(b)
}
