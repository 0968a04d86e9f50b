package engine

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"time"

	"keystorelab/hsmsim/cloudhsm"
	"keystorelab/hsmsim/wire"
	"keystorelab/hsmsim/xks"
)

// keyStoreIDPattern is the shape of the IDs CreateCustomKeyStore makes.
var keyStoreIDPattern = regexp.MustCompile(`^cks-[0-9a-f]{17}$`)

// snapshotFormat names the snapshot layout; Restore refuses any other.
const snapshotFormat = "keystorelab-snapshot/1"

type snapshot struct {
	Format string `json:"format"`
	Engine state  `json:"engine"`
	// Rand is the random stream's state, kept only for a reproducible
	// sandbox: a host-seeded one is reseeded by its host on restore, and a
	// snapshot that carried its stream would let whoever reads it predict
	// the sandbox's next data keys.
	Rand     []byte          `json:"rand,omitempty"`
	CloudHSM json.RawMessage `json:"cloudhsm"`
	XKS      json.RawMessage `json:"xks,omitempty"`
}

// Snapshot returns the whole sandbox as versioned JSON. It holds the
// sandbox's secrets (the kmsuser password KMS knows, proxy credentials, key
// material), as a database backup would, and, for a reproducible sandbox
// only, the random stream's state.
func (e *Engine) Snapshot() []byte {
	var r []byte
	if !e.st.HostSeeded {
		r, _ = e.rng.MarshalBinary()
	}
	hsm, _ := e.hsm.MarshalJSON()
	proxies, _ := e.xks.MarshalJSON()
	b, err := json.Marshal(snapshot{Format: snapshotFormat, Engine: e.st, Rand: r, CloudHSM: hsm, XKS: proxies})
	if err != nil {
		panic("engine: snapshot does not encode: " + err.Error())
	}
	return b
}

// Restore rebuilds a sandbox from a [Engine.Snapshot], after checking it:
// its structure, that its references resolve, that its values are within
// AWS's limits, and that the sandbox it makes answers every read-only call
// and exports again. Its virtual clock carries on from where the snapshot
// left it, at the host time now. A host-seeded snapshot has no random
// stream; until the host reseeds it (Simulator.Reseed), its stream is
// derived from the snapshot's bytes.
func Restore(data []byte, now time.Time) (*Engine, error) {
	return restore(data, now, sha256.Sum256(append([]byte("keystorelab restore\x00"), data...)))
}

// restore is Restore with the seed a host-seeded snapshot's stream starts
// from.
func restore(data []byte, now time.Time, seed [32]byte) (e *Engine, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("the snapshot makes the engine fail (%v)", r)
		}
	}()
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	if s.Format != snapshotFormat {
		return nil, &wire.Error{Type: "ValidationException", Message: "unknown snapshot format " + s.Format + "; want " + snapshotFormat}
	}
	if err := noNullElements(data); err != nil {
		return nil, err
	}
	e = &Engine{st: s.Engine, rng: rand.NewChaCha8(seed)}
	if len(s.Rand) > 0 || !e.st.HostSeeded {
		if err := e.rng.UnmarshalBinary(s.Rand); err != nil {
			return nil, fmt.Errorf("rand: %w", err)
		}
	}
	hsm, err := cloudhsm.Restore(s.CloudHSM, e.rng)
	if err != nil {
		return nil, fmt.Errorf("cloudhsm: %w", err)
	}
	e.hsm = hsm
	proxies, err := xks.RestoreProxies(s.XKS, e.rng)
	if err != nil {
		return nil, fmt.Errorf("xks: %w", err)
	}
	if proxies.Region == "" {
		proxies.Region, proxies.AccountID = e.st.Region, e.st.AccountID
	}
	e.xks = proxies
	if e.st.KeyStores == nil {
		e.st.KeyStores = []*keyStore{}
	}
	if e.st.Keys == nil {
		e.st.Keys = []*kmsKey{}
	}
	if e.st.Aliases == nil {
		e.st.Aliases = []*alias{}
	}
	if e.st.Metrics == nil {
		e.st.Metrics = newMetrics()
	}
	if err := errors.Join(e.st.validate(), hsm.Validate(), proxies.Validate()); err != nil {
		return nil, err
	}
	e.metrics = e.st.Metrics
	e.indexKeys()
	e.st.Clock.resume(now)
	e.now = e.st.Clock.Last
	e.ops = e.operations()
	if err := e.probe(now); err != nil {
		return nil, err
	}
	return e, nil
}

// noNullElements refuses a null element in any list: encoding/json reads
// it as a nil object, which no operation ever writes.
func noNullElements(data []byte) error {
	var tree any
	if err := json.Unmarshal(data, &tree); err != nil {
		return err
	}
	var walk func(p string, n any) error
	walk = func(p string, n any) error {
		switch n := n.(type) {
		case []any:
			for i, x := range n {
				q := fmt.Sprintf("%s[%d]", p, i)
				if x == nil {
					return fmt.Errorf("%s is null", q)
				}
				if err := walk(q, x); err != nil {
					return err
				}
			}
		case map[string]any:
			for k, x := range n {
				if err := walk(p+"."+k, x); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk("snapshot", tree)
}

// validate checks the engine's own state: every value an operation could
// have written, and every reference between objects.
func (st *state) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !regionPattern.MatchString(st.Region) {
		bad("engine.region %q is not an AWS Region", st.Region)
	}
	if !accountIDPattern.MatchString(st.AccountID) {
		bad("engine.accountId %q is not a 12-digit account ID", st.AccountID)
	}
	c := st.Clock
	if math.IsNaN(c.Speed) || c.Speed < 0 || c.Speed > 100000 {
		bad("engine.clock.speed %v is not from 0 to 100000", c.Speed)
	}
	for name, t := range map[string]time.Time{"hostAnchor": c.HostAnchor, "virtualAnchor": c.VirtAnchor, "last": c.Last} {
		if !sane(t) {
			bad("engine.clock.%s %v is out of range", name, t)
		}
	}
	if st.Seq < 0 {
		bad("engine.seq %d is negative", st.Seq)
	}

	stores := map[string]*keyStore{}
	names := map[string]bool{}
	if len(st.KeyStores) > maxKeyStores {
		bad("engine.keyStores has %d stores; an account has at most %d", len(st.KeyStores), maxKeyStores)
	}
	for i, ks := range st.KeyStores {
		p := fmt.Sprintf("engine.keyStores[%d]", i)
		if !keyStoreIDPattern.MatchString(ks.ID) || stores[ks.ID] != nil {
			bad("%s.id %q is not a key store ID, or is not unique", p, ks.ID)
		}
		stores[ks.ID] = ks
		if ks.Name == "" || len(ks.Name) > 256 || names[ks.Name] {
			bad("%s.name %q is empty, too long or not unique", p, ks.Name)
		}
		names[ks.Name] = true
		if !validState(ks.State) {
			bad("%s.state %q is not a connection state", p, ks.State)
		}
		if ks.ErrorCode != "" && (ks.State != Failed || !validErrorCode(ks.ErrorCode)) {
			bad("%s.errorCode %q is not a connection error code of a FAILED store", p, ks.ErrorCode)
		}
		if ks.Fault != "" && ks.Fault != ErrNetworkErrors && ks.Fault != ErrInternalError {
			bad("%s.fault %q is not NETWORK_ERRORS or INTERNAL_ERROR", p, ks.Fault)
		}
		if (ks.State == Connecting || ks.State == Disconnecting) && ks.Until.IsZero() {
			bad("%s is %s with no time to settle", p, ks.State)
		}
		for _, t := range []time.Time{ks.Until, ks.Created, ks.NextHealthCheck} {
			if !t.IsZero() && !sane(t) {
				bad("%s has a time out of range: %v", p, t)
			}
		}
		switch ks.Type {
		case TypeCloudHSM:
			if ks.XKS != nil || ks.ClusterID == "" {
				bad("%s is an AWS_CLOUDHSM key store without a cluster ID, or with a proxy", p)
			}
		case TypeExternal:
			x := ks.XKS
			if x == nil {
				bad("%s is an EXTERNAL_KEY_STORE without its proxy configuration", p)
				continue
			}
			if x.Connectivity != "PUBLIC_ENDPOINT" && x.Connectivity != "VPC_ENDPOINT_SERVICE" {
				bad("%s.xks.connectivity %q is not PUBLIC_ENDPOINT or VPC_ENDPOINT_SERVICE", p, x.Connectivity)
			}
			if x.UriEndpoint == "" || x.UriPath == "" || x.AccessKeyID == "" || x.Secret == "" {
				bad("%s.xks lacks its endpoint, path or credential", p)
			}
		default:
			bad("%s.type %q is not AWS_CLOUDHSM or EXTERNAL_KEY_STORE", p, ks.Type)
		}
	}

	keys := map[string]*kmsKey{}
	xksKeys := map[xksKeyUse]bool{}
	for i, k := range st.Keys {
		p := fmt.Sprintf("engine.keys[%d]", i)
		if !isKeyID(k.ID) || keys[k.ID] != nil {
			bad("%s.id %q is not a key ID, or is not unique", p, k.ID)
		}
		keys[k.ID] = k
		if !sane(k.Created) || (!k.DeletionDate.IsZero() && !sane(k.DeletionDate)) {
			bad("%s has a time out of range", p)
		}
		if k.PendingWindow < 0 || k.PendingWindow > 30 {
			bad("%s.pendingWindowInDays %d is not from 7 to 30", p, k.PendingWindow)
		}
		ks := stores[k.StoreID]
		switch k.Origin {
		case OriginAWSKMS:
			if k.StoreID != "" || len(k.Material) != 32 {
				bad("%s is an AWS_KMS key with a key store or without 32 bytes of material", p)
			}
		case OriginCloudHSM:
			if ks == nil || ks.Type != TypeCloudHSM || k.ClusterID == "" {
				bad("%s is an AWS_CLOUDHSM key whose AWS CloudHSM key store %q is not in the snapshot", p, k.StoreID)
			}
		case OriginXKS:
			if ks == nil || ks.Type != TypeExternal || k.XksKeyID == "" || len(k.Material) != 32 {
				bad("%s is an EXTERNAL_KEY_STORE key whose external key store %q is not in the snapshot, or without its external key or material", p, k.StoreID)
			} else {
				use := xksKeyUse{k.StoreID, k.XksKeyID}
				if xksKeys[use] {
					bad("%s uses external key %q, which another key of the store uses", p, k.XksKeyID)
				}
				xksKeys[use] = true
			}
		default:
			bad("%s.origin %q is not AWS_KMS, AWS_CLOUDHSM or EXTERNAL_KEY_STORE", p, k.Origin)
		}
	}
	aliases := map[string]bool{}
	for i, a := range st.Aliases {
		p := fmt.Sprintf("engine.aliases[%d]", i)
		if !strings.HasPrefix(a.Name, "alias/") || len(a.Name) > 256 || !aliasPattern.MatchString(a.Name) || aliases[a.Name] {
			bad("%s.name %q is not an alias name, or is not unique", p, a.Name)
		}
		aliases[a.Name] = true
		if keys[a.KeyID] == nil {
			bad("%s targets key %q, which is not in the snapshot", p, a.KeyID)
		}
	}
	for i, id := range st.PendingDeletion {
		if k := keys[id]; k == nil || k.DeletionDate.IsZero() {
			bad("engine.pendingDeletion[%d] names key %q, which is not pending deletion", i, id)
		}
	}
	return errors.Join(errs...)
}

// sane reports whether t can be written as an RFC 3339 timestamp and read
// as an AWS epoch-seconds one.
func sane(t time.Time) bool { return t.Year() >= 1970 && t.Year() <= 9999 }

func validState(s ConnectionState) bool {
	for _, c := range ConnectionStates {
		if s == c {
			return true
		}
	}
	return false
}

func validErrorCode(c ConnectionErrorCode) bool {
	for _, x := range CloudHSMConnectionErrorCodes {
		if c == x {
			return true
		}
	}
	switch c {
	case ErrXksProxyAccessDenied, ErrXksProxyInvalidConfiguration, ErrXksProxyInvalidResponse,
		ErrXksProxyInvalidTLSConfiguration, ErrXksProxyNotReachable, ErrXksProxyTimedOut,
		ErrXksVpcEndpointServiceInvalidConfiguration, ErrXksVpcEndpointServiceNotFound:
		return true
	}
	return false
}

// probeTargets are the read-only calls a restored sandbox must answer
// before it is accepted; between them they read every object a snapshot
// holds.
var probeTargets = []string{
	"TrentService.DescribeCustomKeyStores", "TrentService.ListKeys", "TrentService.ListAliases",
	"BaldrApiService.DescribeClusters", "BaldrApiService.DescribeBackups",
	"Simulator.DescribeNetwork", "Simulator.DescribeXksProxies", "Simulator.DescribeClock",
	"Simulator.ListMetrics", "Simulator.ListKeyDeletions", "Simulator.ExportSnapshot",
}

// probe makes the read-only calls of probeTargets, and describes every key
// and its policy, tags and every cluster's users and keys, on a sandbox
// restored a moment ago: a snapshot that passed every check and still
// makes the engine fail (an internal error) is refused here, before it can
// replace anything. The probe changes nothing a snapshot holds.
func (e *Engine) probe(now time.Time) error {
	gen := e.gen
	defer func() { e.gen = gen }()
	call := func(target, body string) error {
		if status, resp := e.Handle(now, target, []byte(body)); status >= 500 {
			return fmt.Errorf("the sandbox it makes cannot answer %s: %s", target, resp)
		}
		return nil
	}
	for _, t := range probeTargets {
		if err := call(t, "{}"); err != nil {
			return err
		}
	}
	for _, k := range e.st.Keys {
		id, _ := json.Marshal(k.ID)
		for _, t := range []string{"TrentService.DescribeKey", "TrentService.ListResourceTags", "TrentService.ListKeyPolicies"} {
			if err := call(t, `{"KeyId":`+string(id)+`}`); err != nil {
				return err
			}
		}
	}
	out, _ := e.hsm.Invoke(e.now, "DescribeClusters", []byte("{}"), decode)
	b, _ := json.Marshal(out)
	var clusters struct{ Clusters []struct{ ClusterId string } }
	_ = json.Unmarshal(b, &clusters)
	for _, c := range clusters.Clusters {
		id, _ := json.Marshal(c.ClusterId)
		for _, t := range []string{"Simulator.DescribeCryptoUsers", "Simulator.ListHsmKeys"} {
			if err := call(t, `{"ClusterId":`+string(id)+`}`); err != nil {
				return err
			}
		}
	}
	return nil
}

// withoutSecrets returns snap (a snapshot of this sandbox) with every
// secret replaced by a fresh random one, consistently: the kmsuser password
// KMS knows and the crypto user it belongs to, and each proxy credential's
// secret access key in both the key store and the proxy. The copy behaves as
// the sandbox does (a store that could connect still can; a stale password
// stays stale) without revealing what the secrets were.
func (e *Engine) withoutSecrets(snap []byte) []byte {
	c, err := restore(snap, e.hostNow, [32]byte{})
	if err != nil {
		return snap // cannot happen: the engine's own snapshot restores
	}
	fresh := func(n int) string {
		b := make([]byte, n)
		_, _ = e.rng.Read(b)
		return base64.RawStdEncoding.EncodeToString(b)
	}
	for _, ks := range c.st.KeyStores {
		switch {
		case ks.Type == TypeCloudHSM && ks.Password != "":
			next := fresh(24)
			c.hsm.ReplacePassword(ks.Password, next)
			ks.Password = next
		case ks.XKS != nil:
			ks.XKS.Secret = ""
		}
	}
	secrets := map[string]string{}
	c.xks.ReplaceSecrets(func(old string) string {
		if secrets[old] == "" {
			secrets[old] = fresh(32)
		}
		return secrets[old]
	})
	for _, ks := range c.st.KeyStores {
		if ks.XKS != nil {
			if ks.XKS.Secret = secrets[e.store(ks.ID).XKS.Secret]; ks.XKS.Secret == "" {
				ks.XKS.Secret = fresh(32) // a credential no proxy path accepts any more
			}
		}
	}
	c.st.HostSeeded = e.st.HostSeeded
	return c.Snapshot()
}
