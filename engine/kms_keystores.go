package engine

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"keystorelab/hsmsim/cloudhsm"
	"keystorelab/hsmsim/wire"
)

// Field constraints of the KMS API model (botocore kms 2014-11-01).
var (
	clusterIDPattern    = wire.Pattern(`cluster-[2-7a-zA-Z]{11,16}`)
	uriEndpointPattern  = wire.Pattern(`^https://[a-zA-Z0-9.-]+$`)
	uriPathPattern      = wire.Pattern(`^(/[a-zA-Z0-9\/_-]+/kms/xks/v\d{1,2})$|^(/kms/xks/v\d{1,2})$`)
	vpcServicePattern   = wire.Pattern(`^(com|eu)\.amazonaws\.vpce\.([a-z]+-){2,3}\d+\.vpce-svc-[0-9a-z]+$`)
	accountIDPattern    = wire.Pattern(`^[0-9]{12}$`)
	accessKeyIDPattern  = wire.Pattern(`^[A-Z2-7]+$`)
	secretKeyPattern    = wire.Pattern(`^[a-zA-Z0-9\/+=]+$`)
	markerPattern       = wire.Pattern(`[\x{0020}-\x{00FF}]*`)
	connectivityValues  = []string{"PUBLIC_ENDPOINT", "VPC_ENDPOINT_SERVICE"}
	customKeyStoreTypes = []string{TypeCloudHSM, TypeExternal}
)

type xksCredential struct {
	AccessKeyId        *string
	RawSecretAccessKey *string
}

// xksFields are the external key store members of Create and Update.
type xksFields struct {
	XksProxyUriEndpoint              *string
	XksProxyUriPath                  *string
	XksProxyVpcEndpointServiceName   *string
	XksProxyVpcEndpointServiceOwner  *string
	XksProxyAuthenticationCredential *xksCredential
	XksProxyConnectivity             *string
}

func (x *xksFields) validate(v *wire.Validator) {
	v.String("xksProxyUriEndpoint", x.XksProxyUriEndpoint, 10, 128, uriEndpointPattern, false)
	v.String("xksProxyUriPath", x.XksProxyUriPath, 10, 128, uriPathPattern, false)
	v.String("xksProxyVpcEndpointServiceName", x.XksProxyVpcEndpointServiceName, 20, 64, vpcServicePattern, false)
	v.String("xksProxyVpcEndpointServiceOwner", x.XksProxyVpcEndpointServiceOwner, 12, 12, accountIDPattern, false)
	if c := x.XksProxyAuthenticationCredential; c != nil {
		v.Required("xksProxyAuthenticationCredential.accessKeyId", c.AccessKeyId != nil)
		v.String("xksProxyAuthenticationCredential.accessKeyId", c.AccessKeyId, 20, 30, accessKeyIDPattern, true)
		v.Required("xksProxyAuthenticationCredential.rawSecretAccessKey", c.RawSecretAccessKey != nil)
		v.String("xksProxyAuthenticationCredential.rawSecretAccessKey", c.RawSecretAccessKey, 43, 64, secretKeyPattern, true)
	}
	v.Enum("xksProxyConnectivity", x.XksProxyConnectivity, connectivityValues...)
}

func (x *xksFields) any() bool {
	return x.XksProxyUriEndpoint != nil || x.XksProxyUriPath != nil || x.XksProxyVpcEndpointServiceName != nil ||
		x.XksProxyVpcEndpointServiceOwner != nil || x.XksProxyAuthenticationCredential != nil || x.XksProxyConnectivity != nil
}

type createInput struct {
	CustomKeyStoreName     *string
	CloudHsmClusterId      *string
	TrustAnchorCertificate *string
	KeyStorePassword       *string
	CustomKeyStoreType     *string
	xksFields
}

// createCustomKeyStore is TrentService.CreateCustomKeyStore for AWS_CLOUDHSM
// stores. The cluster must exist, be ACTIVE, not be associated (nor share
// backup history with a cluster associated) with another store, have two
// ACTIVE HSMs in different AZs, subnets in two AZs and its 2223-2225
// security group rules, and the trust anchor must be the cluster's. The new
// store is DISCONNECTED. Repeating the call with exactly the values of an
// existing DISCONNECTED store returns that store's ID.
func (e *Engine) createCustomKeyStore(_ time.Time, body []byte) (any, error) {
	var in createInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	v.Required("customKeyStoreName", in.CustomKeyStoreName != nil)
	v.String("customKeyStoreName", in.CustomKeyStoreName, 1, 256, nil, false)
	v.String("cloudHsmClusterId", in.CloudHsmClusterId, 19, 24, clusterIDPattern, false)
	v.String("trustAnchorCertificate", in.TrustAnchorCertificate, 1, 5000, nil, false)
	v.String("keyStorePassword", in.KeyStorePassword, 7, 32, nil, true)
	v.Enum("customKeyStoreType", in.CustomKeyStoreType, customKeyStoreTypes...)
	in.xksFields.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.CustomKeyStoreType != nil && *in.CustomKeyStoreType == TypeExternal {
		return e.createExternalKeyStore(in)
	}
	if in.xksFields.any() {
		return nil, exception("ValidationException", "The XksProxy* parameters are valid only for a custom key store of type EXTERNAL_KEY_STORE.")
	}
	var missing []string
	for name, p := range map[string]*string{"CloudHsmClusterId": in.CloudHsmClusterId,
		"KeyStorePassword": in.KeyStorePassword, "TrustAnchorCertificate": in.TrustAnchorCertificate} {
		if p == nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, exception("ValidationException", "A custom key store of type AWS_CLOUDHSM requires %s.", strings.Join(missing, ", "))
	}
	name, clusterID, anchor, password := *in.CustomKeyStoreName, *in.CloudHsmClusterId, *in.TrustAnchorCertificate, *in.KeyStorePassword

	for _, ks := range e.st.KeyStores {
		if ks.State == Disconnected && ks.Type == TypeCloudHSM && ks.Name == name && ks.ClusterID == clusterID &&
			ks.TrustAnchor == anchor && ks.Password == password {
			return map[string]string{"CustomKeyStoreId": ks.ID}, nil
		}
	}
	if err := e.roomForStore(name); err != nil {
		return nil, err
	}
	c, err := e.usableCluster(clusterID, nil)
	if err != nil {
		return nil, err
	}
	if !cloudhsm.SameCertificate(anchor, c.TrustAnchor) {
		return nil, exception("IncorrectTrustAnchorException",
			"The trust anchor certificate does not match the trust anchor certificate of cluster %s (the customerCA.crt it was initialized with).", clusterID)
	}
	e.st.Seq++
	ks := &keyStore{ID: "cks-" + e.hex(17), Name: name, Type: TypeCloudHSM, ClusterID: clusterID, TrustAnchor: anchor,
		Password: password, State: Disconnected, Created: e.now, Seq: e.st.Seq}
	e.st.KeyStores = append(e.st.KeyStores, ks)
	return map[string]string{"CustomKeyStoreId": ks.ID}, nil
}

// roomForStore checks that a new store named name may be created: the
// name is free and the account has fewer than 10 stores.
func (e *Engine) roomForStore(name string) error {
	if err := e.nameFree(&name, nil); err != nil {
		return err
	}
	if len(e.st.KeyStores) >= maxKeyStores {
		return exception("LimitExceededException", "You have reached the limit of %d custom key stores in this account and Region.", maxKeyStores)
	}
	return nil
}

// nameFree checks that no store but self is named *name (a nil name is
// not being set).
func (e *Engine) nameFree(name *string, self *keyStore) error {
	if name == nil {
		return nil
	}
	if other := e.storeNamed(*name); other != nil && other != self {
		return exception("CustomKeyStoreNameInUseException", "Custom key store name %s is already in use in this account and Region.", *name)
	}
	return nil
}

// usableCluster checks that a cluster can back a key store (self, when
// updating, is the store being changed): it exists, is not in use by
// another store nor related to a cluster that is, is ACTIVE, and meets the
// configuration requirements.
func (e *Engine) usableCluster(clusterID string, self *keyStore) (cloudhsm.ClusterInfo, error) {
	c, ok := e.hsm.Cluster(clusterID)
	if !ok {
		return c, exception("CloudHsmClusterNotFoundException", "AWS KMS cannot find the AWS CloudHSM cluster with the specified cluster ID %s.", clusterID)
	}
	for _, ks := range e.st.KeyStores {
		if ks == self || ks.Type != TypeCloudHSM {
			continue
		}
		other, _ := e.hsm.Cluster(ks.ClusterID)
		if ks.ClusterID == clusterID || (c.Certificate != "" && other.Certificate != "" && cloudhsm.SameCertificate(c.Certificate, other.Certificate)) {
			return c, exception("CloudHsmClusterInUseException",
				"The AWS CloudHSM cluster %s is already associated with custom key store %s, or shares its backup history with that store's cluster.", clusterID, ks.ID)
		}
	}
	if c.State != cloudhsm.StateActive {
		return c, exception("CloudHsmClusterNotActiveException",
			"The AWS CloudHSM cluster %s is %s, not ACTIVE. Initialize and activate the cluster and try again.", clusterID, c.State)
	}
	if err := configurationProblem(c, 2); err != nil {
		return c, err
	}
	return c, nil
}

// configurationProblem checks KMS's cluster requirements; minHSMs is 2 for
// Create/Update (in two AZs) and 0 for Connect (whose missing HSMs show up
// as the connection error INSUFFICIENT_CLOUDHSM_HSMS).
func configurationProblem(c cloudhsm.ClusterInfo, minHSMs int) error {
	var why string
	switch {
	case c.SubnetAZs < 2:
		why = "it must have private subnets in at least two Availability Zones"
	case !c.SecurityGroupOK:
		why = "its security group (cloudhsm-" + c.ID + "-sg) must have inbound and outbound TCP 2223-2225 rules whose source and destination is the security group itself"
	case c.ActiveHSMs < minHSMs || (minHSMs > 1 && c.ActiveHSMAZs < 2):
		why = "it must contain at least two active HSMs, each in a different Availability Zone"
	default:
		return nil
	}
	return exception("CloudHsmClusterInvalidConfigurationException",
		"The AWS CloudHSM cluster %s does not meet the configuration requirements for an AWS CloudHSM key store: %s.", c.ID, why)
}

type describeStoresInput struct {
	CustomKeyStoreId   *string
	CustomKeyStoreName *string
	Limit              *int64
	Marker             *string
}

// describeCustomKeyStores is TrentService.DescribeCustomKeyStores: every
// store in creation order, or the one named by ID or by name (not both),
// paginated by Limit and Marker. NextMarker is present only when Truncated.
func (e *Engine) describeCustomKeyStores(_ time.Time, body []byte) (any, error) {
	var in describeStoresInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	v.String("customKeyStoreId", in.CustomKeyStoreId, 1, 64, nil, false)
	v.String("customKeyStoreName", in.CustomKeyStoreName, 1, 256, nil, false)
	v.Int("limit", in.Limit, 1, 1000)
	v.String("marker", in.Marker, 1, 1024, markerPattern, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.CustomKeyStoreId != nil && in.CustomKeyStoreName != nil {
		return nil, exception("ValidationException", "You can specify either the CustomKeyStoreId or the CustomKeyStoreName parameter, but not both.")
	}
	list := e.st.KeyStores
	switch {
	case in.CustomKeyStoreId != nil:
		ks := e.store(*in.CustomKeyStoreId)
		if ks == nil {
			return nil, storeNotFound(*in.CustomKeyStoreId)
		}
		list = []*keyStore{ks}
	case in.CustomKeyStoreName != nil:
		ks := e.storeNamed(*in.CustomKeyStoreName)
		if ks == nil {
			return nil, exception("CustomKeyStoreNotFoundException", "AWS KMS cannot find a custom key store named %s.", *in.CustomKeyStoreName)
		}
		list = []*keyStore{ks}
	}
	start := 0
	if in.Marker != nil {
		seq, ok := parseMarker(*in.Marker)
		if !ok {
			return nil, exception("InvalidMarkerException", "The marker %s is not valid. Use the NextMarker value from a previous response.", *in.Marker)
		}
		for start < len(list) && list[start].Seq < seq {
			start++
		}
	}
	limit := 1000
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	end := min(start+limit, len(list))
	out := struct {
		CustomKeyStores []entry
		NextMarker      string `json:",omitempty"`
		Truncated       bool
	}{CustomKeyStores: []entry{}}
	for _, ks := range list[start:end] {
		out.CustomKeyStores = append(out.CustomKeyStores, ks.entry())
	}
	if end < len(list) {
		out.Truncated = true
		out.NextMarker = makeMarker(list[end].Seq)
	}
	return out, nil
}

// Markers are opaque to callers: the creation sequence number of the next
// store, so that a page boundary survives stores being deleted.
const markerPrefix = "cks-page:"

func makeMarker(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(markerPrefix + strconv.FormatInt(seq, 10)))
}

func parseMarker(m string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil || !strings.HasPrefix(string(b), markerPrefix) {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(string(b), markerPrefix), 10, 64)
	return n, err == nil && n > 0
}

func storeNotFound(id string) error {
	return exception("CustomKeyStoreNotFoundException", "AWS KMS cannot find a custom key store with ID %s.", id)
}

type storeIDInput struct {
	CustomKeyStoreId *string
}

// lookup validates a CustomKeyStoreId member and finds the store.
func (e *Engine) lookup(id *string) (*keyStore, error) {
	var v wire.Validator
	v.Required("customKeyStoreId", id != nil)
	v.String("customKeyStoreId", id, 1, 64, nil, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	ks := e.store(*id)
	if ks == nil {
		return nil, storeNotFound(*id)
	}
	return ks, nil
}

// connectCustomKeyStore is TrentService.ConnectCustomKeyStore. It returns
// at once; the store is CONNECTING until the connect completes, 10 to 20
// virtual minutes later, as CONNECTED or FAILED. A cluster that is not
// ACTIVE or misconfigured fails at once and leaves the store DISCONNECTED.
// On a CONNECTING or CONNECTED store it does nothing.
func (e *Engine) connectCustomKeyStore(_ time.Time, body []byte) (any, error) {
	var in storeIDInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	ks, err := e.lookup(in.CustomKeyStoreId)
	if err != nil {
		return nil, err
	}
	if err := check(actConnect, ks); err != nil {
		return nil, err
	}
	if ks.State != Disconnected {
		return struct{}{}, nil
	}
	if ks.Type == TypeExternal {
		ks.State, ks.ErrorCode = Connecting, ""
		ks.Until = e.now.Add(xksConnectTime)
		return struct{}{}, nil
	}
	if c, ok := e.hsm.Cluster(ks.ClusterID); ok {
		if c.State != cloudhsm.StateActive {
			return nil, exception("CloudHsmClusterNotActiveException",
				"The AWS CloudHSM cluster %s is %s, not ACTIVE. Initialize and activate the cluster and try again.", c.ID, c.State)
		}
		if err := configurationProblem(c, 0); err != nil {
			return nil, err
		}
	}
	ks.State, ks.ErrorCode = Connecting, ""
	ks.Until = e.now.Add(e.connectDuration())
	return struct{}{}, nil
}

// disconnectCustomKeyStore is TrentService.DisconnectCustomKeyStore: the
// store is DISCONNECTING for two virtual minutes, then DISCONNECTED, KMS
// logged out of kmsuser and its security group and ENIs removed.
func (e *Engine) disconnectCustomKeyStore(_ time.Time, body []byte) (any, error) {
	var in storeIDInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	ks, err := e.lookup(in.CustomKeyStoreId)
	if err != nil {
		return nil, err
	}
	if err := check(actDisconnect, ks); err != nil {
		return nil, err
	}
	ks.State, ks.ErrorCode = Disconnecting, ""
	ks.Until = e.now.Add(disconnectTime)
	if ks.Type == TypeExternal {
		ks.Until = e.now.Add(xksDisconnectTime)
	}
	return struct{}{}, nil
}

// deleteCustomKeyStore is TrentService.DeleteCustomKeyStore: only a
// DISCONNECTED store can be deleted. The cluster, its HSMs and users are
// untouched.
func (e *Engine) deleteCustomKeyStore(_ time.Time, body []byte) (any, error) {
	var in storeIDInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	ks, err := e.lookup(in.CustomKeyStoreId)
	if err != nil {
		return nil, err
	}
	if err := check(actDelete, ks); err != nil {
		return nil, err
	}
	for _, k := range e.st.Keys {
		if k.StoreID == ks.ID {
			return nil, exception("CustomKeyStoreHasCMKsException",
				"Custom key store %s cannot be deleted because it contains KMS keys, including keys pending deletion. Schedule the deletion of every KMS key in it and wait until they are deleted.", ks.ID)
		}
	}
	for i, x := range e.st.KeyStores {
		if x == ks {
			e.st.KeyStores = append(e.st.KeyStores[:i], e.st.KeyStores[i+1:]...)
			break
		}
	}
	return struct{}{}, nil
}

type updateInput struct {
	CustomKeyStoreId      *string
	NewCustomKeyStoreName *string
	KeyStorePassword      *string
	CloudHsmClusterId     *string
	xksFields
}

// updateCustomKeyStore is TrentService.UpdateCustomKeyStore for CloudHSM
// stores. The name can change in any state; the password (which tells KMS
// the current kmsuser password, without changing it in the cluster) and the
// cluster (which must share the old one's backup history) only while
// DISCONNECTED. Nothing changes unless every requested change is allowed.
func (e *Engine) updateCustomKeyStore(_ time.Time, body []byte) (any, error) {
	var in updateInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	v.Required("customKeyStoreId", in.CustomKeyStoreId != nil)
	v.String("customKeyStoreId", in.CustomKeyStoreId, 1, 64, nil, false)
	v.String("newCustomKeyStoreName", in.NewCustomKeyStoreName, 1, 256, nil, false)
	v.String("keyStorePassword", in.KeyStorePassword, 7, 32, nil, true)
	v.String("cloudHsmClusterId", in.CloudHsmClusterId, 19, 24, clusterIDPattern, false)
	in.xksFields.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	ks, err := e.lookup(in.CustomKeyStoreId)
	if err != nil {
		return nil, err
	}
	if ks.Type == TypeExternal {
		return e.updateExternalKeyStore(ks, in)
	}
	if in.xksFields.any() {
		return nil, exception("ValidationException", "The XksProxy* parameters are valid only for a custom key store of type EXTERNAL_KEY_STORE; %s is an AWS_CLOUDHSM key store.", ks.ID)
	}
	if err := e.nameFree(in.NewCustomKeyStoreName, ks); err != nil {
		return nil, err
	}
	if in.KeyStorePassword != nil {
		if err := check(actUpdatePassword, ks); err != nil {
			return nil, err
		}
	}
	if in.CloudHsmClusterId != nil {
		if err := check(actUpdateCluster, ks); err != nil {
			return nil, err
		}
	}
	if in.CloudHsmClusterId != nil && *in.CloudHsmClusterId != ks.ClusterID {
		c, ok := e.hsm.Cluster(*in.CloudHsmClusterId)
		if !ok {
			return nil, exception("CloudHsmClusterNotFoundException", "AWS KMS cannot find the AWS CloudHSM cluster with the specified cluster ID %s.", *in.CloudHsmClusterId)
		}
		if !cloudhsm.SameCertificate(c.Certificate, ks.certificate(e)) {
			return nil, exception("CloudHsmClusterNotRelatedException",
				"The AWS CloudHSM cluster %s is not related to the cluster of custom key store %s: it does not share its backup history (cluster certificate).", c.ID, ks.ID)
		}
		if _, err := e.usableCluster(c.ID, ks); err != nil {
			return nil, err
		}
	}
	if in.NewCustomKeyStoreName != nil {
		ks.Name = *in.NewCustomKeyStoreName
	}
	if in.KeyStorePassword != nil {
		ks.Password = *in.KeyStorePassword
	}
	if in.CloudHsmClusterId != nil {
		ks.ClusterID = *in.CloudHsmClusterId
	}
	return struct{}{}, nil
}

// certificate is the cluster certificate of a store's cluster: the current
// cluster's if it still exists, or else the one recorded from the trust
// anchor's cluster lineage (a deleted cluster's certificate survives in its
// backups).
func (ks *keyStore) certificate(e *Engine) string {
	if c, ok := e.hsm.Cluster(ks.ClusterID); ok {
		return c.Certificate
	}
	return e.hsm.CertificateOf(ks.ClusterID)
}

func (e *Engine) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[e.rng.Uint64()%16]
	}
	return string(b)
}
