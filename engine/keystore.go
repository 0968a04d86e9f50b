package engine

import (
	"slices"
	"strings"
	"time"

	"keystorelab/hsmsim/cloudhsm"
	"keystorelab/hsmsim/wire"
)

// ConnectionState is a custom key store's connection state.
type ConnectionState string

// The connection states, with AWS's spelling.
const (
	Connected     ConnectionState = "CONNECTED"
	Connecting    ConnectionState = "CONNECTING"
	Disconnected  ConnectionState = "DISCONNECTED"
	Disconnecting ConnectionState = "DISCONNECTING"
	Failed        ConnectionState = "FAILED"
)

// ConnectionStates lists every connection state.
var ConnectionStates = []ConnectionState{Connected, Connecting, Disconnected, Disconnecting, Failed}

// ConnectionErrorCode says why a connection FAILED.
type ConnectionErrorCode string

// The connection error codes that apply to AWS CloudHSM key stores.
const (
	ErrInvalidCredentials        ConnectionErrorCode = "INVALID_CREDENTIALS"
	ErrClusterNotFound           ConnectionErrorCode = "CLUSTER_NOT_FOUND"
	ErrNetworkErrors             ConnectionErrorCode = "NETWORK_ERRORS"
	ErrInternalError             ConnectionErrorCode = "INTERNAL_ERROR"
	ErrInsufficientCloudHSMHSMs  ConnectionErrorCode = "INSUFFICIENT_CLOUDHSM_HSMS"
	ErrUserLockedOut             ConnectionErrorCode = "USER_LOCKED_OUT"
	ErrUserNotFound              ConnectionErrorCode = "USER_NOT_FOUND"
	ErrUserLoggedIn              ConnectionErrorCode = "USER_LOGGED_IN"
	ErrSubnetNotFound            ConnectionErrorCode = "SUBNET_NOT_FOUND"
	ErrInsufficientFreeAddresses ConnectionErrorCode = "INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET"
)

// CloudHSMConnectionErrorCodes are the ten codes a CloudHSM key store's
// connection can fail with.
var CloudHSMConnectionErrorCodes = []ConnectionErrorCode{ErrInvalidCredentials, ErrClusterNotFound,
	ErrNetworkErrors, ErrInternalError, ErrInsufficientCloudHSMHSMs, ErrUserLockedOut, ErrUserNotFound,
	ErrUserLoggedIn, ErrSubnetNotFound, ErrInsufficientFreeAddresses}

// connectFailures maps what the CloudHSM simulator reports when KMS
// connects to the code the key store fails with. Anything else is an
// INTERNAL_ERROR.
var connectFailures = map[error]ConnectionErrorCode{
	cloudhsm.ErrClusterNotFound:    ErrClusterNotFound,
	cloudhsm.ErrNoActiveHSM:        ErrInsufficientCloudHSMHSMs,
	cloudhsm.ErrSubnetNotFound:     ErrSubnetNotFound,
	cloudhsm.ErrNoFreeAddresses:    ErrInsufficientFreeAddresses,
	cloudhsm.ErrUserNotFound:       ErrUserNotFound,
	cloudhsm.ErrUserLockedOut:      ErrUserLockedOut,
	cloudhsm.ErrUserLoggedIn:       ErrUserLoggedIn,
	cloudhsm.ErrInvalidCredentials: ErrInvalidCredentials,
}

// Store types.
const (
	TypeCloudHSM = "AWS_CLOUDHSM"
	TypeExternal = "EXTERNAL_KEY_STORE"
)

// How long connection changes take, in virtual time. AWS documents "up to
// 20 minutes" for connecting a CloudHSM key store.
const (
	connectMin     = 10 * time.Minute
	connectMax     = 20 * time.Minute
	disconnectTime = 2 * time.Minute
	maxKeyStores   = 10
)

// keyStore is a custom key store. State and ErrorCode are the one source
// of truth for its connection; Until is when a CONNECTING or DISCONNECTING
// store settles.
type keyStore struct {
	ID          string              `json:"id"`
	Name        string              `json:"name"`
	Type        string              `json:"type"`
	ClusterID   string              `json:"clusterId"`
	TrustAnchor string              `json:"trustAnchor"`
	Password    string              `json:"password"` // the kmsuser password KMS knows; never returned
	State       ConnectionState     `json:"state"`
	ErrorCode   ConnectionErrorCode `json:"errorCode,omitempty"`
	Until       time.Time           `json:"until,omitzero"`
	Fault       ConnectionErrorCode `json:"fault,omitempty"` // makes the next connect fail so
	Created     time.Time           `json:"created"`
	Seq         int64               `json:"seq"`
	XKS         *xksConfig          `json:"xks,omitempty"`
	// NextHealthCheck is when KMS next probes a connected external key
	// store's proxy (KmsHealthCheck).
	NextHealthCheck time.Time `json:"nextHealthCheck,omitzero"`

	// The request quota's current second (Unix, virtual) and the requests
	// counted in it.
	QuotaSecond int64 `json:"quotaSecond,omitempty"`
	QuotaCount  int   `json:"quotaCount,omitempty"`
}

// xksConfig is an external key store's proxy configuration.
type xksConfig struct {
	Connectivity            string    `json:"connectivity"`
	UriEndpoint             string    `json:"uriEndpoint"`
	UriPath                 string    `json:"uriPath"`
	VpcEndpointServiceName  string    `json:"vpcEndpointServiceName,omitempty"`
	VpcEndpointServiceOwner string    `json:"vpcEndpointServiceOwner,omitempty"`
	AccessKeyID             string    `json:"accessKeyId"`
	Secret                  string    `json:"secretAccessKey"` // never returned
	CredentialSet           time.Time `json:"credentialSet"`
}

func (c *xksConfig) host() string { return strings.TrimPrefix(c.UriEndpoint, "https://") }

// xksProxyConfiguration is an external key store's configuration as
// DescribeCustomKeyStores shows it: the secret access key never appears.
type xksProxyConfiguration struct {
	AccessKeyId             string
	Connectivity            string
	UriEndpoint             string
	UriPath                 string
	VpcEndpointServiceName  string `json:",omitempty"`
	VpcEndpointServiceOwner string `json:",omitempty"`
}

// entry is the store as DescribeCustomKeyStores lists it.
type entry struct {
	CloudHsmClusterId      string              `json:",omitempty"`
	ConnectionErrorCode    ConnectionErrorCode `json:",omitempty"`
	ConnectionState        ConnectionState
	CreationDate           wire.Timestamp
	CustomKeyStoreId       string
	CustomKeyStoreName     string
	CustomKeyStoreType     string
	TrustAnchorCertificate string                 `json:",omitempty"`
	XksProxyConfiguration  *xksProxyConfiguration `json:",omitempty"`
}

func (ks *keyStore) entry() entry {
	e := entry{CloudHsmClusterId: ks.ClusterID, ConnectionState: ks.State, CreationDate: wire.Timestamp(ks.Created),
		CustomKeyStoreId: ks.ID, CustomKeyStoreName: ks.Name, CustomKeyStoreType: ks.Type,
		TrustAnchorCertificate: ks.TrustAnchor}
	if ks.State == Failed {
		e.ConnectionErrorCode = ks.ErrorCode
	}
	if c := ks.XKS; c != nil {
		e.XksProxyConfiguration = &xksProxyConfiguration{AccessKeyId: c.AccessKeyID, Connectivity: c.Connectivity,
			UriEndpoint: c.UriEndpoint, UriPath: c.UriPath, VpcEndpointServiceName: c.VpcEndpointServiceName,
			VpcEndpointServiceOwner: c.VpcEndpointServiceOwner}
	}
	return e
}

func (e *Engine) store(id string) *keyStore {
	for _, ks := range e.st.KeyStores {
		if ks.ID == id {
			return ks
		}
	}
	return nil
}

func (e *Engine) storeNamed(name string) *keyStore {
	for _, ks := range e.st.KeyStores {
		if ks.Name == name {
			return ks
		}
	}
	return nil
}

// settle applies every transition due at or before now, in time order,
// interleaving the key stores' with the CloudHSM simulator's so that a
// connect completing at 10:20 sees an HSM that became active at 10:15. It
// reports whether anything changed.
func (e *Engine) settle(now time.Time) bool {
	changed := false
	for {
		hsmAt, hsmDue := e.hsm.NextDeadline()
		hsmDue = hsmDue && !hsmAt.After(now)
		var due *keyStore
		for _, ks := range e.st.KeyStores {
			if !ks.Until.IsZero() && !ks.Until.After(now) && (due == nil || ks.Until.Before(due.Until)) {
				due = ks
			}
		}
		key, keyDue := e.nextKeyDeletion()
		keyDue = keyDue && !key.DeletionDate.After(now)
		switch {
		case hsmDue && (due == nil || !hsmAt.After(due.Until)) && (!keyDue || !hsmAt.After(key.DeletionDate)):
			e.hsm.Settle(hsmAt)
		case due != nil && (!keyDue || !due.Until.After(key.DeletionDate)):
			e.complete(due)
		case keyDue:
			e.st.PendingDeletion = slices.DeleteFunc(e.st.PendingDeletion, func(id string) bool { return id == key.ID })
			e.deleteKeyNow(key, key.DeletionDate)
		default:
			if e.hsm.Settle(now) {
				changed = true
			}
			e.healthChecks(now)
			return changed
		}
		changed = true
	}
}

// healthChecks runs the periodic KmsHealthCheck of every connected external
// key store that is due, at the virtual times they were due. After a long
// jump of the clock only the last three hours' worth run.
func (e *Engine) healthChecks(now time.Time) {
	for _, ks := range e.st.KeyStores {
		if ks.Type != TypeExternal || ks.State != Connected || ks.NextHealthCheck.IsZero() {
			continue
		}
		if earliest := now.Add(-3 * time.Hour); ks.NextHealthCheck.Before(earliest) {
			ks.NextHealthCheck = earliest
		}
		saved := e.now
		for !ks.NextHealthCheck.After(now) {
			e.now = ks.NextHealthCheck
			e.kmsHealthCheck(ks)
			ks.NextHealthCheck = ks.NextHealthCheck.Add(healthCheckInterval)
		}
		e.now = saved
	}
}

// complete ends a store's CONNECTING or DISCONNECTING at its deadline.
func (e *Engine) complete(ks *keyStore) {
	at := ks.Until
	ks.Until = time.Time{}
	switch ks.State {
	case Connecting:
		if ks.Fault != "" {
			ks.State, ks.ErrorCode, ks.Fault = Failed, ks.Fault, ""
			return
		}
		if ks.Type == TypeExternal {
			e.completeExternalConnect(ks)
			return
		}
		rotated, err := e.hsm.ConnectKMS(at, ks.ClusterID, ks.ID, ks.Password)
		if err != nil {
			code, ok := connectFailures[err]
			if !ok {
				code = ErrInternalError
			}
			ks.State, ks.ErrorCode = Failed, code
			return
		}
		ks.Password = rotated
		ks.State, ks.ErrorCode = Connected, ""
	case Disconnecting:
		if ks.Type == TypeCloudHSM {
			e.hsm.DisconnectKMS(at, ks.ClusterID, ks.ID)
		} else {
			e.xks.Disconnect(ks.ID)
		}
		ks.State, ks.ErrorCode = Disconnected, ""
		ks.NextHealthCheck = time.Time{}
	}
}

// connectDuration draws how long a connect takes.
func (e *Engine) connectDuration() time.Duration {
	span := uint64(connectMax - connectMin)
	return connectMin + time.Duration(e.rng.Uint64()%uint64(span/uint64(time.Second)))*time.Second
}
