package cloudhsm

import (
	"errors"
	"fmt"
	"time"
)

// Validate checks a state loaded by [Restore]: every value an operation
// could have written, and the references between clusters, HSMs, subnets,
// security groups and network interfaces. It names the first problems it
// finds.
func (s *Sim) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	okTime := func(t time.Time) bool { return t.IsZero() || (t.Year() >= 1970 && t.Year() <= 9999) }
	subnets := map[string]bool{}
	for i, sn := range s.st.Subnets {
		if sn.ID == "" || subnets[sn.ID] || sn.FreeAddresses < 0 || sn.NextHost < 0 {
			bad("cloudhsm.subnets[%d] %q is not unique or has a negative count", i, sn.ID)
		}
		subnets[sn.ID] = true
	}
	groups := map[string]bool{}
	for i, g := range s.st.SecurityGroups {
		if g.ID == "" || groups[g.ID] {
			bad("cloudhsm.securityGroups[%d] %q is not unique", i, g.ID)
		}
		groups[g.ID] = true
	}
	for i, n := range s.st.ENIs {
		if n.ID == "" || !subnets[n.SubnetID] {
			bad("cloudhsm.networkInterfaces[%d] %q is in subnet %q, which is not in the snapshot", i, n.ID, n.SubnetID)
		}
	}
	users := func(p string, us []*User) {
		names := map[string]bool{}
		for j, u := range us {
			if u.Username == "" || names[u.Username] || (u.Role != RoleAdmin && u.Role != RoleCryptoUser) ||
				len(u.Salt) == 0 || len(u.Digest) != 32 || u.FailedLogins < 0 {
				bad("%s.users[%d] %q is not a valid user", p, j, u.Username)
			}
			names[u.Username] = true
		}
	}
	keys := func(p string, ks []*Key) {
		handles := map[uint64]bool{}
		var last uint64
		for j, k := range ks {
			if k.Handle == 0 || handles[k.Handle] || k.Handle < last || len(k.Material) != 32 || !okTime(k.Created) {
				bad("%s.keys[%d] (handle %d) is not a valid AES-256 key in handle order", p, j, k.Handle)
			}
			handles[k.Handle], last = true, k.Handle
		}
	}
	clusters := map[string]bool{}
	for i, c := range s.st.Clusters {
		p := fmt.Sprintf("cloudhsm.clusters[%d]", i)
		if c.ID == "" || clusters[c.ID] {
			bad("%s.id %q is not unique", p, c.ID)
		}
		clusters[c.ID] = true
		switch c.State {
		case StateCreateInProgress, StateInitializeInProgress, StateDeleteInProgress:
			if c.Until.IsZero() {
				bad("%s is %s with no time to finish", p, c.State)
			}
		case StateUninitialized, StateInitialized, StateActive, StateDeleted:
		default:
			bad("%s.state %q is not a cluster state", p, c.State)
		}
		if !hsmTypes[c.HsmType] || !okTime(c.Created) || !okTime(c.Until) {
			bad("%s has an unknown HSM type %q or a time out of range", p, c.HsmType)
		}
		if c.SubnetMapping == nil {
			bad("%s has no subnet mapping", p)
		}
		if len(c.PKI.KeySeed) != 0 && len(c.PKI.KeySeed) != 32 {
			bad("%s.pki.keySeed has %d bytes, not 32", p, len(c.PKI.KeySeed))
		}
		if len(c.HSMs) > maxHSMsPerCluster {
			bad("%s has %d HSMs; a cluster has at most %d", p, len(c.HSMs), maxHSMsPerCluster)
		}
		for j, h := range c.HSMs {
			switch h.State {
			case HsmCreateInProgress, HsmDeleteInProgress:
				if h.Until.IsZero() {
					bad("%s.hsms[%d] is %s with no time to finish", p, j, h.State)
				}
			case HsmActive:
			default:
				bad("%s.hsms[%d].state %q is not an HSM state", p, j, h.State)
			}
			if h.ID == "" || !okTime(h.Until) {
				bad("%s.hsms[%d] has no ID or a time out of range", p, j)
			}
		}
		users(p, c.Users)
		keys(p, c.Keys)
		if n := len(c.Keys); n > 0 && c.NextHandle < c.Keys[n-1].Handle {
			bad("%s.nextHandle %d is below its last key's handle", p, c.NextHandle)
		}
	}
	for i, b := range s.st.Backups {
		p := fmt.Sprintf("cloudhsm.backups[%d]", i)
		if b.ID == "" || !okTime(b.Created) {
			bad("%s has no ID or a time out of range", p)
		}
		users(p, b.Users)
		keys(p, b.Keys)
	}
	return errors.Join(errs...)
}
