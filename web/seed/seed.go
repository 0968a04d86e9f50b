// Package seed sets up a Keystore Lab sandbox from a YAML seed file, by
// making the same API calls a person would make with the AWS CLI.
//
// # Format
//
// A seed file is one YAML document. Every key is optional except where
// marked; unknown keys are an error, reported with their line.
//
//	seed: 0011...eeff    # 64 hex digits: the sandbox's random seed, so IDs are reproducible
//	region: us-east-1    # the sandbox's AWS Region
//	clockSpeed: 60       # virtual seconds per real second (0 pauses the clock)
//	clusters:            # CloudHSM clusters, made in this order
//	  - ref: demo        # required: the cluster's name inside this file only
//	    subnets: [subnet-0a1b2c3d4e5f60001, subnet-0a1b2c3d4e5f60002]  # required: one or more,
//	                     # placed in Availability Zones a, b, ... of the Region
//	    hsms: [us-east-1a, us-east-1b]  # one HSM per entry, in that Availability Zone
//	    initialize: true # sign the cluster's CSR, initialize and activate it (default true;
//	                     # needs at least one HSM; without it, at most one HSM)
//	    adminPassword: seedAdmin1  # the admin's password set on activation (default seedAdmin1)
//	    cryptoUsers:     # crypto users (CU) to create; needs initialize
//	      - username: kmsuser   # required
//	        password: kmsPassword1  # required
//	xksProxies:          # simulated external key store proxies
//	  - uriEndpoint: https://xks.example.com   # required: the proxy's https:// endpoint
//	    paths:           # one per key store
//	      - uriPath: /example/kms/xks/v1       # required
//	        credentials: # required: one, or two while rotating
//	          - accessKeyId: BE2J6Q2RE7ZRRCONB2M2RKBT5M
//	            secretAccessKey: oTbh0uA9Z3M5tJr1dDqHsbQn7sAkH+3v9XhXxKZbVmk=
//	        externalKeys:
//	          - keyId: bar           # required; AES_256, ENCRYPT and DECRYPT, ENABLED unless set:
//	            keySpec: AES_256
//	            keyUsage: [ENCRYPT, DECRYPT]
//	            keyStatus: ENABLED
//	    fleet:           # the key manager fleet GetHealthStatus reports (default: two ACTIVE)
//	      - {id: ekm-1, model: SoftEKM, healthStatus: DEGRADED}
//	    faults: {latencyMs: 300}   # throttle, internal, malformed, accessDenied, dependencyTimeout,
//	                               # unreachable, tls: EXPIRED_CERTIFICATE and so on
//	    rules: {kmsOperations: [Encrypt, Decrypt]}   # secondary authorization (health is exempt)
//	keyStores:           # custom key stores, made in this order
//	  - name: ExampleKeyStore   # required: CustomKeyStoreName, unique
//	    cluster: demo           # AWS_CLOUDHSM: required, the ref of an initialized cluster above
//	    keyStorePassword: kmsPassword1  # AWS_CLOUDHSM: required, the kmsuser password KMS is given
//	    connect: true           # connect it and wait until CONNECTED or FAILED (default false)
//	  - name: ExampleXksKeyStore
//	    type: EXTERNAL_KEY_STORE        # default AWS_CLOUDHSM
//	    xksProxyUriEndpoint: https://xks.example.com   # EXTERNAL_KEY_STORE: required
//	    xksProxyUriPath: /example/kms/xks/v1           # EXTERNAL_KEY_STORE: required
//	    accessKeyId: BE2J6Q2RE7ZRRCONB2M2RKBT5M        # EXTERNAL_KEY_STORE: required
//	    secretAccessKey: oTbh0uA9Z3M5tJr1dDqHsbQn7sAkH+3v9XhXxKZbVmk=  # EXTERNAL_KEY_STORE: required
//	    connect: true
//	keys:                # KMS keys, made after the key stores, in this order
//	  - alias: alias/example            # an alias for it (optional)
//	    description: a standard key     # optional
//	  - alias: alias/example-hsm
//	    keyStore: ExampleKeyStore       # a connected key store above: AWS_CLOUDHSM origin
//	  - alias: alias/example-xks
//	    keyStore: ExampleXksKeyStore    # an external key store: EXTERNAL_KEY_STORE origin
//	    xksKeyId: bar                   # required for an external key store
//
// The whole file is checked before the first call.
//
// # Calls
//
// If seed, region or clockSpeed is set, the sandbox is reset first
// (Simulator.ResetSandbox). Then, for each cluster: BaldrApiService.CreateCluster
// and wait for UNINITIALIZED; BaldrApiService.CreateHsm for the first HSM
// and wait until it is ACTIVE; if initialize, Simulator.SignClusterCsr,
// BaldrApiService.InitializeCluster, wait for INITIALIZED,
// Simulator.ActivateCluster, wait for ACTIVE, BaldrApiService.CreateHsm for
// the other HSMs (AWS CloudHSM allows only one HSM in an uninitialized
// cluster) and wait until all are ACTIVE, and Simulator.CreateCryptoUser for
// each crypto user. For each key store: TrentService.CreateCustomKeyStore
// with the trust anchor that signed its cluster's certificate and, if
// connect, TrentService.ConnectCustomKeyStore and a wait until the store is
// CONNECTED or FAILED (a FAILED store is reported, not an error). Proxies
// come first: Simulator.CreateXksProxy, Simulator.PutXksProxyPath and
// Simulator.CreateExternalKey; an external key store is created with
// PUBLIC_ENDPOINT connectivity. Last, for each key, TrentService.CreateKey
// and TrentService.CreateAlias; a key whose key store ended FAILED is
// skipped.
//
// To wait is to re-check after each Simulator.AdvanceClock of 60 seconds,
// at most 60 times. Any answer but 200 stops the seed with an error naming
// the step, the target and the AWS error. Errors never contain passwords.
package seed

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// File is a parsed seed file. See the package documentation for the
// meaning of each field.
type File struct {
	Seed       string     `yaml:"seed"`
	Region     string     `yaml:"region"`
	ClockSpeed *float64   `yaml:"clockSpeed"`
	Clusters   []Cluster  `yaml:"clusters"`
	XksProxies []XksProxy `yaml:"xksProxies"`
	KeyStores  []KeyStore `yaml:"keyStores"`
	Keys       []Key      `yaml:"keys"`
}

// Key is a KMS key to create: a standard one, or one in a key store above.
type Key struct {
	Alias       string `yaml:"alias"`
	Description string `yaml:"description"`
	KeyStore    string `yaml:"keyStore"`
	XksKeyID    string `yaml:"xksKeyId"`
}

// XksProxy is a simulated external key store proxy to create.
type XksProxy struct {
	URIEndpoint string    `yaml:"uriEndpoint"`
	Paths       []XksPath `yaml:"paths"`
	// Fleet replaces the default healthy two-instance key manager fleet.
	Fleet []EKMInstance `yaml:"fleet"`
	// Faults switches misbehaviours on (Simulator.SetXksProxyFaults).
	Faults *XksFaults `yaml:"faults"`
	// Rules is the proxy's secondary authorization (Simulator.SetXksProxyRules).
	Rules *XksRules `yaml:"rules"`
}

// EKMInstance is one external key manager instance and its health.
type EKMInstance struct {
	ID           string `yaml:"id" json:"Id"`
	Model        string `yaml:"model" json:"Model"`
	HealthStatus string `yaml:"healthStatus" json:"HealthStatus"`
}

// XksFaults are the faults of Simulator.SetXksProxyFaults.
type XksFaults struct {
	LatencyMs         int64  `yaml:"latencyMs" json:"LatencyMs,omitempty"`
	Throttle          bool   `yaml:"throttle" json:"Throttle,omitempty"`
	Internal          bool   `yaml:"internal" json:"Internal,omitempty"`
	Malformed         bool   `yaml:"malformed" json:"Malformed,omitempty"`
	AccessDenied      bool   `yaml:"accessDenied" json:"AccessDenied,omitempty"`
	DependencyTimeout bool   `yaml:"dependencyTimeout" json:"DependencyTimeout,omitempty"`
	Unreachable       bool   `yaml:"unreachable" json:"Unreachable,omitempty"`
	TLS               string `yaml:"tls" json:"Tls,omitempty"`
}

// XksRules are the rules of Simulator.SetXksProxyRules.
type XksRules struct {
	KmsOperations  []string `yaml:"kmsOperations" json:"KmsOperations,omitempty"`
	KmsViaServices []string `yaml:"kmsViaServices" json:"KmsViaServices,omitempty"`
}

// XksPath is one key store's path on a proxy.
type XksPath struct {
	URIPath      string          `yaml:"uriPath"`
	Credentials  []XksCredential `yaml:"credentials"`
	ExternalKeys []ExternalKey   `yaml:"externalKeys"`
}

// XksCredential is a proxy authentication credential.
type XksCredential struct {
	AccessKeyID     string `yaml:"accessKeyId" json:"AccessKeyId"`
	SecretAccessKey string `yaml:"secretAccessKey" json:"SecretAccessKey"`
}

// ExternalKey is a key in the external key manager behind a proxy.
type ExternalKey struct {
	KeyID     string   `yaml:"keyId"`
	KeySpec   string   `yaml:"keySpec"`
	KeyUsage  []string `yaml:"keyUsage"`
	KeyStatus string   `yaml:"keyStatus"`
}

// Cluster is a CloudHSM cluster to create.
type Cluster struct {
	Ref           string       `yaml:"ref"`
	Subnets       []string     `yaml:"subnets"`
	HSMs          []string     `yaml:"hsms"`
	Initialize    *bool        `yaml:"initialize"`
	AdminPassword string       `yaml:"adminPassword"`
	CryptoUsers   []CryptoUser `yaml:"cryptoUsers"`
}

// CryptoUser is a crypto user (CU) to create in a cluster.
type CryptoUser struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// KeyStore is a custom key store to create: an AWS CloudHSM key store, or
// an external key store (Type EXTERNAL_KEY_STORE).
type KeyStore struct {
	Name             string `yaml:"name"`
	Type             string `yaml:"type"`
	Cluster          string `yaml:"cluster"`
	KeyStorePassword string `yaml:"keyStorePassword"`
	URIEndpoint      string `yaml:"xksProxyUriEndpoint"`
	URIPath          string `yaml:"xksProxyUriPath"`
	AccessKeyID      string `yaml:"accessKeyId"`
	SecretAccessKey  string `yaml:"secretAccessKey"`
	Connect          bool   `yaml:"connect"`
}

func (ks *KeyStore) external() bool { return ks.Type == "EXTERNAL_KEY_STORE" }

// DefaultAdminPassword is the admin password of a cluster whose
// adminPassword is not set.
const DefaultAdminPassword = "seedAdmin1"

// initialize reports whether the cluster is to be initialized (the default).
func (c *Cluster) initialize() bool { return c.Initialize == nil || *c.Initialize }

func (c *Cluster) adminPassword() string {
	if c.AdminPassword == "" {
		return DefaultAdminPassword
	}
	return c.AdminPassword
}

// Parse decodes and checks a seed file. Unknown keys, values of the wrong
// type, more than one document and every rule of the format (required
// fields, unknown or duplicate refs) are errors.
func Parse(data []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("seed file is empty")
		}
		return nil, fmt.Errorf("seed file: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("seed file: only one YAML document is allowed")
	}
	if err := f.check(); err != nil {
		return nil, fmt.Errorf("seed file: %w", err)
	}
	return &f, nil
}

var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// check applies the rules that the YAML types cannot express.
func (f *File) check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if f.Seed != "" {
		if b, err := hex.DecodeString(f.Seed); err != nil || len(b) != 32 {
			bad("seed: must be 64 hexadecimal digits")
		}
	}
	if f.Region != "" && !regionRE.MatchString(f.Region) {
		bad("region: %q is not an AWS Region name such as us-east-1", f.Region)
	}
	if s := f.ClockSpeed; s != nil && (*s < 0 || math.IsInf(*s, 0) || math.IsNaN(*s)) {
		bad("clockSpeed: must be a number, 0 or more")
	}

	clusters := map[string]*Cluster{}
	for i := range f.Clusters {
		c := &f.Clusters[i]
		at := fmt.Sprintf("clusters[%d]", i)
		switch {
		case c.Ref == "":
			bad("%s: ref is required", at)
		case clusters[c.Ref] != nil:
			bad("%s: ref %q is used twice", at, c.Ref)
		default:
			clusters[c.Ref] = c
			at = fmt.Sprintf("cluster %q", c.Ref)
		}
		if len(c.Subnets) == 0 {
			bad("%s: subnets: at least one subnet ID is required", at)
		}
		for j, s := range c.Subnets {
			if s == "" {
				bad("%s: subnets[%d] is empty", at, j)
			}
		}
		for j, az := range c.HSMs {
			if az == "" {
				bad("%s: hsms[%d]: an Availability Zone is required", at, j)
			}
		}
		if c.initialize() && len(c.HSMs) == 0 {
			bad("%s: initialize needs at least one HSM (set initialize: false to leave it uninitialized)", at)
		}
		if !c.initialize() && len(c.HSMs) > 1 {
			bad("%s: an uninitialized cluster can have only one HSM", at)
		}
		if !c.initialize() && len(c.CryptoUsers) > 0 {
			bad("%s: cryptoUsers need an initialized cluster", at)
		}
		users := map[string]bool{}
		for j, u := range c.CryptoUsers {
			switch {
			case u.Username == "":
				bad("%s: cryptoUsers[%d]: username is required", at, j)
			case users[u.Username]:
				bad("%s: cryptoUsers[%d]: username %q is used twice", at, j, u.Username)
			}
			users[u.Username] = true
			if u.Password == "" {
				bad("%s: cryptoUsers[%d]: password is required", at, j)
			}
		}
	}

	for i, p := range f.XksProxies {
		at := fmt.Sprintf("xksProxies[%d]", i)
		if !strings.HasPrefix(p.URIEndpoint, "https://") {
			bad("%s: uriEndpoint must start with https://", at)
		}
		if n := len(p.Fleet); n > 10 {
			bad("%s: fleet can list at most 10 instances", at)
		}
		for j, e := range p.Fleet {
			if e.ID == "" || (e.HealthStatus != "ACTIVE" && e.HealthStatus != "DEGRADED" && e.HealthStatus != "UNAVAILABLE") {
				bad("%s: fleet[%d]: needs an id and a healthStatus of ACTIVE, DEGRADED or UNAVAILABLE", at, j)
			}
		}
		for j, path := range p.Paths {
			if path.URIPath == "" {
				bad("%s: paths[%d]: uriPath is required", at, j)
			}
			if len(path.Credentials) < 1 || len(path.Credentials) > 2 {
				bad("%s: paths[%d]: credentials must hold one credential, or two while rotating", at, j)
			}
			for k, key := range path.ExternalKeys {
				if key.KeyID == "" {
					bad("%s: paths[%d]: externalKeys[%d]: keyId is required", at, j, k)
				}
			}
		}
	}

	names := map[string]bool{}
	for i, ks := range f.KeyStores {
		at := fmt.Sprintf("keyStores[%d]", i)
		switch {
		case ks.Name == "":
			bad("%s: name is required", at)
		case names[ks.Name]:
			bad("%s: name %q is used twice", at, ks.Name)
		default:
			names[ks.Name] = true
			at = fmt.Sprintf("key store %q", ks.Name)
		}
		if ks.Type != "" && ks.Type != "AWS_CLOUDHSM" && !ks.external() {
			bad("%s: type must be AWS_CLOUDHSM or EXTERNAL_KEY_STORE", at)
		}
		if ks.external() {
			if ks.URIEndpoint == "" || ks.URIPath == "" || ks.AccessKeyID == "" || ks.SecretAccessKey == "" {
				bad("%s: an EXTERNAL_KEY_STORE needs xksProxyUriEndpoint, xksProxyUriPath, accessKeyId and secretAccessKey", at)
			}
			if ks.Cluster != "" || ks.KeyStorePassword != "" {
				bad("%s: cluster and keyStorePassword are for AWS_CLOUDHSM key stores", at)
			}
			continue
		}
		if ks.KeyStorePassword == "" {
			bad("%s: keyStorePassword is required", at)
		}
		c := clusters[ks.Cluster]
		switch {
		case ks.Cluster == "":
			bad("%s: cluster is required", at)
		case c == nil:
			bad("%s: cluster %q is not a ref in clusters", at, ks.Cluster)
		case !c.initialize():
			bad("%s: cluster %q is not initialized, so it has no trust anchor", at, ks.Cluster)
		}
	}
	aliases := map[string]bool{}
	for i, k := range f.Keys {
		at := fmt.Sprintf("key %d", i+1)
		if k.Alias != "" {
			switch {
			case !strings.HasPrefix(k.Alias, "alias/") || strings.HasPrefix(k.Alias, "alias/aws/"):
				bad("%s: alias %q must start with alias/ (and not alias/aws/)", at, k.Alias)
			case aliases[k.Alias]:
				bad("%s: alias %q is used twice", at, k.Alias)
			}
			aliases[k.Alias] = true
		}
		var store *KeyStore
		for j := range f.KeyStores {
			if f.KeyStores[j].Name == k.KeyStore {
				store = &f.KeyStores[j]
			}
		}
		switch {
		case k.KeyStore == "" && k.XksKeyID != "":
			bad("%s: xksKeyId is for keys in an external key store", at)
		case k.KeyStore == "":
		case store == nil:
			bad("%s: keyStore %q is not a key store above", at, k.KeyStore)
		case !store.Connect:
			bad("%s: key store %q is not connected (connect: true), so it cannot hold new keys", at, k.KeyStore)
		case store.external() && k.XksKeyID == "":
			bad("%s: xksKeyId is required for a key in external key store %q", at, k.KeyStore)
		case !store.external() && k.XksKeyID != "":
			bad("%s: xksKeyId is for keys in an external key store", at)
		}
	}
	return errors.Join(errs...)
}

// Caller makes one API call: target is an X-Amz-Target value, body the JSON
// request. It returns the HTTP status and the JSON response.
type Caller func(target string, body []byte) (status int, resp []byte)

// Result tells what [File.Apply] made.
type Result struct {
	// Clusters lists the clusters in file order.
	Clusters []ClusterResult
	// KeyStores lists the key stores in file order.
	KeyStores []KeyStoreResult
	// KeyIDs lists the IDs of the keys made, in file order; "" for a key
	// whose key store did not connect, which is skipped.
	KeyIDs []string
}

// ClusterResult is a cluster that was made.
type ClusterResult struct {
	Ref       string
	ClusterID string
}

// KeyStoreResult is a key store that was made. ConnectionState is
// DISCONNECTED unless it was connected; ConnectionErrorCode is set when it
// ended FAILED.
type KeyStoreResult struct {
	Name                string
	CustomKeyStoreID    string
	ConnectionState     string
	ConnectionErrorCode string
}

// MaxWaits is how many times a wait advances the clock by 60 seconds
// before it gives up.
const MaxWaits = 60

// Apply makes the calls the file describes, in order, through call. It
// stops at the first call that does not answer 200 and returns what was
// made so far with the error. f must come from [Parse].
func (f *File) Apply(call Caller) (*Result, error) {
	a := &applier{call: call, res: &Result{}}
	for _, c := range f.Clusters {
		a.secrets = append(a.secrets, c.adminPassword())
		for _, u := range c.CryptoUsers {
			a.secrets = append(a.secrets, u.Password)
		}
	}
	for _, ks := range f.KeyStores {
		a.secrets = append(a.secrets, ks.KeyStorePassword, ks.SecretAccessKey)
	}
	for _, p := range f.XksProxies {
		for _, path := range p.Paths {
			for _, c := range path.Credentials {
				a.secrets = append(a.secrets, c.SecretAccessKey)
			}
		}
	}

	if f.Seed != "" || f.Region != "" || f.ClockSpeed != nil {
		req := struct {
			Seed       string   `json:",omitempty"`
			Region     string   `json:",omitempty"`
			ClockSpeed *float64 `json:",omitempty"`
		}{f.Seed, f.Region, f.ClockSpeed}
		if err := a.do("reset the sandbox", "Simulator.ResetSandbox", req, nil); err != nil {
			return a.res, fmt.Errorf("seed: %w", err)
		}
	}
	for _, p := range f.XksProxies {
		if err := a.proxy(p); err != nil {
			return a.res, fmt.Errorf("seed: proxy %s: %w", p.URIEndpoint, err)
		}
	}
	anchors := map[string]string{}
	clusterIDs := map[string]string{}
	for i := range f.Clusters {
		c := &f.Clusters[i]
		id, anchor, err := a.cluster(c)
		if err != nil {
			return a.res, fmt.Errorf("seed: cluster %q: %w", c.Ref, err)
		}
		clusterIDs[c.Ref], anchors[c.Ref] = id, anchor
	}
	for _, ks := range f.KeyStores {
		if err := a.keyStore(ks, clusterIDs[ks.Cluster], anchors[ks.Cluster]); err != nil {
			return a.res, fmt.Errorf("seed: key store %q: %w", ks.Name, err)
		}
	}
	for i, k := range f.Keys {
		if err := a.key(k); err != nil {
			return a.res, fmt.Errorf("seed: key %d: %w", i+1, err)
		}
	}
	return a.res, nil
}

// key creates a KMS key and its alias.
func (a *applier) key(k Key) error {
	req := map[string]any{"Description": k.Description}
	if k.KeyStore != "" {
		var id string
		for _, ks := range a.res.KeyStores {
			if ks.Name == k.KeyStore {
				id = ks.CustomKeyStoreID
				if ks.ConnectionState != "CONNECTED" {
					a.res.KeyIDs = append(a.res.KeyIDs, "") // reported with the store's FAILED state
					return nil
				}
			}
		}
		req["CustomKeyStoreId"] = id
		req["Origin"] = "AWS_CLOUDHSM"
		if k.XksKeyID != "" {
			req["Origin"], req["XksKeyId"] = "EXTERNAL_KEY_STORE", k.XksKeyID
		}
	}
	var out struct{ KeyMetadata struct{ KeyId string } }
	if err := a.do("create the key", "TrentService.CreateKey", req, &out); err != nil {
		return err
	}
	a.res.KeyIDs = append(a.res.KeyIDs, out.KeyMetadata.KeyId)
	if k.Alias == "" {
		return nil
	}
	return a.do("create the alias", "TrentService.CreateAlias", map[string]string{"AliasName": k.Alias, "TargetKeyId": out.KeyMetadata.KeyId}, nil)
}

type applier struct {
	call    Caller
	secrets []string // redacted from every error
	res     *Result
}

// The parts of the responses that a seed reads.
type (
	clusterJSON struct {
		ClusterID string `json:"ClusterId"`
		State     string
		Hsms      []struct {
			HsmID            string `json:"HsmId"`
			AvailabilityZone string
			State            string
		}
	}
	keyStoreJSON struct {
		CustomKeyStoreID    string `json:"CustomKeyStoreId"`
		ConnectionState     string
		ConnectionErrorCode string
	}
)

// cluster makes c and returns its ID and, if it was initialized, the PEM
// trust anchor that signed its certificate.
func (a *applier) cluster(c *Cluster) (id, trustAnchor string, err error) {
	var created struct{ Cluster clusterJSON }
	err = a.do("create the cluster", "BaldrApiService.CreateCluster",
		map[string]any{"HsmType": "hsm2m.medium", "SubnetIds": c.Subnets}, &created)
	if err != nil {
		return "", "", err
	}
	id = created.Cluster.ClusterID
	if id == "" {
		return "", "", errors.New("create the cluster: BaldrApiService.CreateCluster answered no Cluster.ClusterId")
	}
	a.res.Clusters = append(a.res.Clusters, ClusterResult{Ref: c.Ref, ClusterID: id})

	if err := a.waitCluster(id, "UNINITIALIZED"); err != nil {
		return id, "", err
	}
	// An uninitialized cluster can have only one HSM: the others come
	// once the cluster is active, as in AWS CloudHSM's getting started.
	first, rest := c.HSMs, []string(nil)
	if len(c.HSMs) > 1 {
		first, rest = c.HSMs[:1], c.HSMs[1:]
	}
	if err := a.createHSMs(id, first, len(first)); err != nil {
		return id, "", err
	}
	if !c.initialize() {
		return id, "", nil
	}

	var signed struct{ SignedCert, TrustAnchor string }
	if err := a.do("sign the cluster CSR", "Simulator.SignClusterCsr", map[string]string{"ClusterId": id}, &signed); err != nil {
		return id, "", err
	}
	err = a.do("initialize the cluster", "BaldrApiService.InitializeCluster",
		map[string]string{"ClusterId": id, "SignedCert": signed.SignedCert, "TrustAnchor": signed.TrustAnchor}, nil)
	if err != nil {
		return id, "", err
	}
	if err := a.waitCluster(id, "INITIALIZED"); err != nil {
		return id, "", err
	}
	err = a.do("activate the cluster", "Simulator.ActivateCluster",
		map[string]string{"ClusterId": id, "AdminPassword": c.adminPassword()}, nil)
	if err != nil {
		return id, "", err
	}
	if err := a.waitCluster(id, "ACTIVE"); err != nil {
		return id, "", err
	}
	if err := a.createHSMs(id, rest, len(c.HSMs)); err != nil {
		return id, "", err
	}
	for _, u := range c.CryptoUsers {
		err := a.do("create crypto user "+u.Username, "Simulator.CreateCryptoUser",
			map[string]string{"ClusterId": id, "Username": u.Username, "Password": u.Password}, nil)
		if err != nil {
			return id, "", err
		}
	}
	return id, signed.TrustAnchor, nil
}

// createHSMs creates an HSM in each of azs and waits until the cluster has
// total HSMs, all ACTIVE.
func (a *applier) createHSMs(clusterID string, azs []string, total int) error {
	if len(azs) == 0 {
		return nil
	}
	for _, az := range azs {
		err := a.do("create an HSM in "+az, "BaldrApiService.CreateHsm", map[string]string{"ClusterId": clusterID, "AvailabilityZone": az}, nil)
		if err != nil {
			return err
		}
	}
	return a.wait("wait for the HSMs to be ACTIVE", func() (bool, string, error) {
		cl, err := a.describeCluster(clusterID)
		if err != nil {
			return false, "", err
		}
		var pending []string
		for _, h := range cl.Hsms {
			if h.State != "ACTIVE" {
				pending = append(pending, fmt.Sprintf("%s in %s is %s", h.HsmID, h.AvailabilityZone, h.State))
			}
		}
		if len(cl.Hsms) < total {
			pending = append(pending, fmt.Sprintf("the cluster has %d of %d HSMs", len(cl.Hsms), total))
		}
		return len(pending) == 0, strings.Join(pending, "; "), nil
	})
}

// proxy makes a simulated XKS proxy with its paths and external keys.
func (a *applier) proxy(p XksProxy) error {
	if err := a.do("create the proxy", "Simulator.CreateXksProxy", map[string]string{"UriEndpoint": p.URIEndpoint}, nil); err != nil {
		return err
	}
	if len(p.Fleet) > 0 {
		err := a.do("set the key manager fleet", "Simulator.SetXksProxyFleet", map[string]any{"UriEndpoint": p.URIEndpoint, "EkmFleetDetails": p.Fleet}, nil)
		if err != nil {
			return err
		}
	}
	if p.Faults != nil {
		req, _ := json.Marshal(p.Faults)
		var body map[string]any
		_ = json.Unmarshal(req, &body)
		body["UriEndpoint"] = p.URIEndpoint
		if err := a.do("set the proxy's faults", "Simulator.SetXksProxyFaults", body, nil); err != nil {
			return err
		}
	}
	if p.Rules != nil {
		err := a.do("set the proxy's authorization rules", "Simulator.SetXksProxyRules",
			map[string]any{"UriEndpoint": p.URIEndpoint, "KmsOperations": p.Rules.KmsOperations, "KmsViaServices": p.Rules.KmsViaServices}, nil)
		if err != nil {
			return err
		}
	}
	for _, path := range p.Paths {
		err := a.do("configure path "+path.URIPath, "Simulator.PutXksProxyPath",
			map[string]any{"UriEndpoint": p.URIEndpoint, "UriPath": path.URIPath, "Credentials": path.Credentials}, nil)
		if err != nil {
			return err
		}
		for _, k := range path.ExternalKeys {
			req := map[string]any{"UriEndpoint": p.URIEndpoint, "UriPath": path.URIPath, "KeyId": k.KeyID}
			if k.KeySpec != "" {
				req["KeySpec"] = k.KeySpec
			}
			if k.KeyUsage != nil {
				req["KeyUsage"] = k.KeyUsage
			}
			if k.KeyStatus != "" {
				req["KeyStatus"] = k.KeyStatus
			}
			if err := a.do("create external key "+k.KeyID, "Simulator.CreateExternalKey", req, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// keyStore makes ks (for a CloudHSM key store, in the cluster with the
// given ID).
func (a *applier) keyStore(ks KeyStore, clusterID, trustAnchor string) error {
	var created keyStoreJSON
	req := map[string]any{
		"CustomKeyStoreName":     ks.Name,
		"CloudHsmClusterId":      clusterID,
		"TrustAnchorCertificate": trustAnchor,
		"KeyStorePassword":       ks.KeyStorePassword,
	}
	if ks.external() {
		req = map[string]any{
			"CustomKeyStoreName":   ks.Name,
			"CustomKeyStoreType":   "EXTERNAL_KEY_STORE",
			"XksProxyConnectivity": "PUBLIC_ENDPOINT",
			"XksProxyUriEndpoint":  ks.URIEndpoint,
			"XksProxyUriPath":      ks.URIPath,
			"XksProxyAuthenticationCredential": map[string]string{
				"AccessKeyId": ks.AccessKeyID, "RawSecretAccessKey": ks.SecretAccessKey},
		}
	}
	err := a.do("create the key store", "TrentService.CreateCustomKeyStore", req, &created)
	if err != nil {
		return err
	}
	id := created.CustomKeyStoreID
	if id == "" {
		return errors.New("create the key store: TrentService.CreateCustomKeyStore answered no CustomKeyStoreId")
	}
	a.res.KeyStores = append(a.res.KeyStores, KeyStoreResult{Name: ks.Name, CustomKeyStoreID: id, ConnectionState: "DISCONNECTED"})
	res := &a.res.KeyStores[len(a.res.KeyStores)-1]
	if !ks.Connect {
		return nil
	}
	if err := a.do("connect the key store", "TrentService.ConnectCustomKeyStore", map[string]string{"CustomKeyStoreId": id}, nil); err != nil {
		return err
	}
	return a.wait("wait for the key store to be CONNECTED or FAILED", func() (bool, string, error) {
		var out struct{ CustomKeyStores []keyStoreJSON }
		err := a.do("describe the key store", "TrentService.DescribeCustomKeyStores", map[string]string{"CustomKeyStoreId": id}, &out)
		if err != nil {
			return false, "", err
		}
		if len(out.CustomKeyStores) != 1 {
			return false, "", fmt.Errorf("describe the key store: TrentService.DescribeCustomKeyStores answered %d key stores, want 1", len(out.CustomKeyStores))
		}
		s := out.CustomKeyStores[0]
		res.ConnectionState, res.ConnectionErrorCode = s.ConnectionState, s.ConnectionErrorCode
		return s.ConnectionState == "CONNECTED" || s.ConnectionState == "FAILED", s.ConnectionState, nil
	})
}

func (a *applier) describeCluster(id string) (*clusterJSON, error) {
	var out struct{ Clusters []clusterJSON }
	req := map[string]any{"Filters": map[string][]string{"clusterIds": {id}}}
	if err := a.do("describe the cluster", "BaldrApiService.DescribeClusters", req, &out); err != nil {
		return nil, err
	}
	if len(out.Clusters) != 1 {
		return nil, fmt.Errorf("describe the cluster: BaldrApiService.DescribeClusters answered %d clusters, want 1", len(out.Clusters))
	}
	return &out.Clusters[0], nil
}

// waitCluster waits until the cluster's State is want.
func (a *applier) waitCluster(id, want string) error {
	return a.wait("wait for the cluster to be "+want, func() (bool, string, error) {
		cl, err := a.describeCluster(id)
		if err != nil {
			return false, "", err
		}
		return cl.State == want, "the cluster is " + cl.State, nil
	})
}

// wait calls check, advancing the clock by 60 seconds between calls, until
// it reports done, at most MaxWaits times. check also returns a description
// of what it saw, for the error when time runs out.
func (a *applier) wait(step string, check func() (done bool, saw string, err error)) error {
	for i := 0; ; i++ {
		done, saw, err := check()
		if err != nil || done {
			return err
		}
		if i == MaxWaits {
			return fmt.Errorf("%s: gave up after %d virtual minutes: %s", step, MaxWaits, saw)
		}
		if err := a.do(step, "Simulator.AdvanceClock", map[string]int{"Seconds": 60}, nil); err != nil {
			return err
		}
	}
}

// do calls target with req encoded as JSON and decodes a 200 answer into
// out (unless out is nil). Any other answer is an error naming step, target
// and the AWS error.
func (a *applier) do(step, target string, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("%s: %v", step, err)
	}
	status, resp := a.call(target, body)
	if status != 200 {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
			Capital string `json:"Message"`
		}
		json.Unmarshal(resp, &e)
		msg := e.Message + e.Capital
		if e.Type == "" {
			e.Type = "an error"
		}
		return fmt.Errorf("%s: %s answered %d %s: %s", step, target, status, e.Type, a.redact(msg))
	}
	if out != nil {
		if err := json.Unmarshal(resp, out); err != nil {
			return fmt.Errorf("%s: %s answered a body that is not the expected JSON: %v", step, target, err)
		}
	}
	return nil
}

// redact hides every password of the seed file in s.
func (a *applier) redact(s string) string {
	for _, p := range a.secrets {
		if p != "" {
			s = strings.ReplaceAll(s, p, "********")
		}
	}
	return s
}
