package engine

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"keystorelab/hsmsim/wire"
	"keystorelab/hsmsim/xks"
)

// xksBackend is what the engine needs of the external key store proxies:
// the transport KMS uses to reach them (in the module, the simulated
// proxies in memory), the Simulator operations that manage them, and their
// state for snapshots. hsmsim/xks provides it.
type xksBackend interface {
	Exchange(now time.Time, r xks.Request) (xks.Response, time.Duration, error)
	ServiceProblem(name, owner, endpoint string) (found bool, problem string)
	Connect(serviceName, owner, keyStoreID string)
	Disconnect(keyStoreID string)
	Route(r xks.Request) *xks.Proxy
	Invoke(now time.Time, op string, body []byte, decode func([]byte, any) error) (any, error)
	MarshalJSON() ([]byte, error)
	Validate() error
	ReplaceSecrets(replace func(secret string) string)
	Host(host string) *xks.Proxy
}

// XKSTransport reaches an XKS proxy outside the sandbox, for example a
// real proxy over HTTPS. It returns the proxy's response and how long it
// took; a connection that cannot be made is [xks.ErrUnreachable], a failed
// handshake an [*xks.TLSError], no answer in time [xks.ErrTimeout].
type XKSTransport func(r xks.Request) (xks.Response, time.Duration, error)

// SetXKSTransport lets key stores whose proxy host is not a simulated
// proxy reach it through t, signed with the host's clock. The transport is
// the host's, not the sandbox's: snapshots do not hold it. engine.wasm
// has none, so there only simulated proxies answer.
func (e *Engine) SetXKSTransport(t XKSTransport) { e.external = t }

// xksTimeout is how long KMS waits for any proxy call.
const xksTimeout = 250 * time.Millisecond

// How long external key store connection changes take: "about 5 minutes".
const (
	xksConnectTime    = 5 * time.Minute
	xksDisconnectTime = 5 * time.Minute
)

// The connection error codes that apply to external key stores.
const (
	ErrXksProxyAccessDenied                      ConnectionErrorCode = "XKS_PROXY_ACCESS_DENIED"
	ErrXksProxyInvalidConfiguration              ConnectionErrorCode = "XKS_PROXY_INVALID_CONFIGURATION"
	ErrXksProxyInvalidResponse                   ConnectionErrorCode = "XKS_PROXY_INVALID_RESPONSE"
	ErrXksProxyInvalidTLSConfiguration           ConnectionErrorCode = "XKS_PROXY_INVALID_TLS_CONFIGURATION"
	ErrXksProxyNotReachable                      ConnectionErrorCode = "XKS_PROXY_NOT_REACHABLE"
	ErrXksProxyTimedOut                          ConnectionErrorCode = "XKS_PROXY_TIMED_OUT"
	ErrXksVpcEndpointServiceInvalidConfiguration ConnectionErrorCode = "XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION"
	ErrXksVpcEndpointServiceNotFound             ConnectionErrorCode = "XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND"
)

// outcome classifies one proxy call the way KMS's error mapping needs it.
type outcome string

const (
	outOK             outcome = "OK"
	outUnreachable    outcome = "TCP connection failure"
	outTLS            outcome = "TLS failure"
	outTimeout        outcome = "socket timeout"
	outMalformed      outcome = "malformed response"
	outAllUnavailable outcome = "every external key manager UNAVAILABLE"
	// Proxy errors are their errorName (ValidationException, ...).
)

// xksCall sends one signed XKS management request (GetHealthStatus,
// GetKeyMetadata) for a store, records its metrics and classifies the
// answer. For a successful call it returns the response body.
func (e *Engine) xksCall(ks *keyStore, path, kmsOperation string, fields map[string]any) (outcome, []byte) {
	meta := map[string]any{"kmsRequestId": e.requestID(), "kmsOperation": kmsOperation}
	if path != "/health" {
		meta["awsPrincipalArn"] = "arn:aws:iam::" + e.st.AccountID + ":root"
	}
	body := map[string]any{"requestMetadata": meta}
	for k, v := range fields {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	out, resp, took := e.xksSend(ks, path, b)
	e.recordXks(ks, kmsOperation, xksOperation(path), out, took)
	return out, resp
}

func xksOperation(path string) string {
	switch {
	case path == "/health":
		return "GetHealthStatus"
	case strings.HasSuffix(path, "/encrypt"):
		return "Encrypt"
	case strings.HasSuffix(path, "/decrypt"):
		return "Decrypt"
	}
	return "GetKeyMetadata"
}

// xksSend sends one signed request to a store's proxy and classifies the
// answer; it also returns how long the proxy took (the 250 ms timeout when
// it did not answer in time).
func (e *Engine) xksSend(ks *keyStore, path string, body []byte) (outcome, []byte, time.Duration) {
	r := xks.Request{Method: "POST", Host: ks.XKS.host(), Path: ks.XKS.UriPath + path,
		Header: map[string]string{"content-type": "application/json"}, Body: body}
	cred := xks.Credential{AccessKeyID: ks.XKS.AccessKeyID, SecretAccessKey: ks.XKS.Secret}
	var resp xks.Response
	var took time.Duration
	var err error
	if e.external != nil && e.xks.Host(r.Host) == nil {
		xks.Sign(&r, cred, e.st.Region, e.hostNow) // a real proxy checks the date against real time
		resp, took, err = e.external(r)
	} else {
		xks.Sign(&r, cred, e.st.Region, e.now)
		resp, took, err = e.xks.Exchange(e.now, r)
	}
	var tlsErr *xks.TLSError
	switch {
	case errors.Is(err, xks.ErrTimeout):
		return outTimeout, nil, xksTimeout
	case errors.As(err, &tlsErr):
		return outTLS, nil, 0
	case err != nil:
		return outUnreachable, nil, 0
	case took > xksTimeout:
		return outTimeout, nil, xksTimeout
	}
	if resp.Status != 200 {
		var pe struct {
			ErrorName string `json:"errorName"`
		}
		if json.Unmarshal(resp.Body, &pe) != nil || pe.ErrorName == "" {
			return outMalformed, nil, took
		}
		return outcome(pe.ErrorName), nil, took
	}
	if !wire.PlainObject(resp.Body, func(_, _ []byte) bool { return true }) && !json.Valid(resp.Body) {
		return outMalformed, nil, took
	}
	return outOK, resp.Body, took
}

// recordXks records XksProxyErrors and XksProxyLatency for one proxy call
// of a store that exists (not for the probe of a store being created).
func (e *Engine) recordXks(ks *keyStore, kmsOperation, xksOp string, o outcome, took time.Duration) {
	if ks.ID == "" || e.store(ks.ID) == nil {
		return
	}
	d := dims{CustomKeyStoreId: ks.ID, KmsOperation: kmsOperation, XksOperation: xksOp}
	if xksOp != "GetHealthStatus" {
		d.KeySpec = "SYMMETRIC_DEFAULT"
	}
	if o != outUnreachable && o != outTLS {
		e.metrics.record(e.now, MetricXksProxyLatency, d, float64(took.Milliseconds()))
	}
	d.ErrorType, d.ExceptionName = errorClass(o)
	e.metrics.record(e.now, MetricXksProxyErrors, d, 1)
}

// errorClass gives a proxy call's ErrorType and ExceptionName dimensions.
func errorClass(o outcome) (errorType, exceptionName string) {
	switch o {
	case outOK, outAllUnavailable:
		return "N/A", "None"
	case outUnreachable, outTLS, outTimeout:
		return "Retryable errors", "XksProxyUnreachableException"
	case "DependencyTimeoutException", "InternalException", "ThrottlingException":
		return "Retryable errors", string(o)
	case outMalformed, outBadCiphertext:
		return "Non-retryable errors", "XksProxyInvalidResponseException"
	}
	return "Non-retryable errors", string(o)
}

// healthCheck calls GetHealthStatus and also judges the report: it must
// parse, and at least one external key manager must be able to serve.
func (e *Engine) healthCheck(ks *keyStore, kmsOperation string) outcome {
	out, body := e.xksCall(ks, "/health", kmsOperation, nil)
	if out != outOK {
		return out
	}
	var h struct {
		XksProxyFleetSize int
		EkmFleetDetails   []struct{ HealthStatus string }
	}
	if json.Unmarshal(body, &h) != nil || h.XksProxyFleetSize < 1 || len(h.EkmFleetDetails) < 1 || len(h.EkmFleetDetails) > 10 {
		return outMalformed
	}
	usable := false
	for _, d := range h.EkmFleetDetails {
		switch d.HealthStatus {
		case xks.Active, xks.Degraded:
			usable = true
		case xks.Unavailable:
		default:
			return outMalformed
		}
	}
	if !usable {
		return outAllUnavailable
	}
	return outOK
}

// storeManagementError maps a failed health check during Create or
// UpdateCustomKeyStore to the exception KMS throws (the XKS proxy API
// specification's mapping table).
func storeManagementError(o outcome, ks *keyStore) error {
	where := ks.XKS.UriEndpoint + ks.XKS.UriPath
	switch o {
	case "AuthenticationFailedException":
		return exception("XksProxyIncorrectAuthenticationCredentialException",
			"The external key store proxy rejected the request because it could not authenticate AWS KMS. Verify the XksProxyAuthenticationCredential of the external key store and the credentials configured on the proxy at %s.", where)
	case "InvalidUriPathException":
		return exception("XksProxyInvalidConfigurationException",
			"The external key store proxy at %s does not recognise the URI path %s. Verify the XksProxyUriPath.", ks.XKS.UriEndpoint, ks.XKS.UriPath)
	case "DependencyTimeoutException", "ThrottlingException", outUnreachable, outTLS, outTimeout:
		return exception("XksProxyUriUnreachableException",
			"AWS KMS cannot communicate with the external key store proxy at %s (%s). Verify the XksProxyUriEndpoint and XksProxyUriPath, that the proxy is running, and its TLS configuration.", where, describeOutcome(o))
	case outAllUnavailable:
		return exception("XksProxyUriUnreachableException",
			"The external key store proxy at %s reports that every external key manager instance is UNAVAILABLE.", where)
	default: // ValidationException, InternalException, malformed and unexpected answers
		return exception("XksProxyInvalidResponseException",
			"AWS KMS cannot interpret the response from the external key store proxy at %s (%s). If you see this error repeatedly, report it to your proxy vendor.", where, describeOutcome(o))
	}
}

// connectErrorCode maps a failed health check at connect to the store's
// ConnectionErrorCode.
func connectErrorCode(o outcome) ConnectionErrorCode {
	switch o {
	case "AuthenticationFailedException":
		return ErrInvalidCredentials
	case "AccessDeniedException":
		return ErrXksProxyAccessDenied
	case "InvalidUriPathException":
		return ErrXksProxyInvalidConfiguration
	case outTLS:
		return ErrXksProxyInvalidTLSConfiguration
	case outUnreachable, outAllUnavailable:
		return ErrXksProxyNotReachable
	case outTimeout, "DependencyTimeoutException", "ThrottlingException":
		return ErrXksProxyTimedOut
	default:
		return ErrXksProxyInvalidResponse
	}
}

func describeOutcome(o outcome) string {
	switch o {
	case outUnreachable, outTLS, outTimeout, outMalformed, outAllUnavailable:
		return string(o)
	}
	return "the proxy answered " + string(o)
}

// requestID returns a UUID-shaped kmsRequestId.
func (e *Engine) requestID() string {
	h := e.hex(32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

type proxyRequest struct {
	Method  string
	Host    string
	Path    string
	Query   string
	Headers map[string]string
	Body    []byte
}

type proxyResponse struct {
	Status  int
	Headers map[string]string
	Body    []byte
}

// simXksProxyRequest lets a host serve the simulated proxies over real
// HTTP: it takes a request as it arrived (headers keyed in lower case, the
// body in Base64) and returns the proxy's answer. SigV4's clock-skew check
// uses the host's clock, because an outside client signs with real time;
// injected latency is not waited for.
func (e *Engine) simXksProxyRequest(host time.Time, body []byte) (any, error) {
	var in proxyRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	headers := map[string]string{}
	for k, v := range in.Headers {
		headers[strings.ToLower(k)] = v
	}
	r := xks.Request{Method: in.Method, Host: in.Host, Path: in.Path, Query: in.Query, Header: headers, Body: in.Body}
	p := e.xks.Route(r)
	if p == nil {
		body, _ := json.Marshal(map[string]string{"errorName": "InvalidUriPathException", "errorMessage": "no simulated proxy serves " + in.Path})
		return proxyResponse{Status: 404, Headers: map[string]string{"content-type": "application/json"}, Body: body}, nil
	}
	resp, _, err := p.Exchange(host, r)
	if err != nil {
		return nil, exception("XksProxyUriUnreachableException", "The simulated proxy at %s does not accept connections: %v", p.Host, err)
	}
	return proxyResponse{Status: resp.Status, Headers: resp.Header, Body: resp.Body}, nil
}
