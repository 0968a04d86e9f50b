package tests

// Conformance through the AWS SDK for Go v2: the KMS and CloudHSM v2
// clients talk to the real local server (web/server over a native engine)
// on a loopback port, exactly as they would talk to AWS through an
// endpoint URL. What is checked is what a Go program sees: typed outputs,
// enums, timestamps, typed exceptions through errors.As, and pagination.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudhsmv2"
	hsmtypes "github.com/aws/aws-sdk-go-v2/service/cloudhsmv2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"keystorelab/engine"
	"keystorelab/web/server"
)

// sdkEnv is one sandbox behind a loopback server, with SDK clients for it.
type sdkEnv struct {
	t      *testing.T
	ctx    context.Context
	url    string
	http   *http.Client
	kms    *kms.Client
	hsm    *cloudhsmv2.Client
	subnet int // subnets handed out so far, for unique subnet IDs
}

func sdkStart(t *testing.T) *sdkEnv {
	t.Helper()
	e := engine.New(engine.Config{ClockSpeed: 1}, time.Now())
	ts := httptest.NewServer(server.New(server.Config{Backend: server.Native(e)}))
	t.Cleanup(ts.Close)
	return sdkConnect(t, ts.URL, ts.Client())
}

// sdkConnect returns SDK clients for the sandbox whose endpoint URL is url
// (what --endpoint-url would be given); hc makes the Simulator calls.
func sdkConnect(t *testing.T, url string, hc *http.Client) *sdkEnv {
	t.Helper()
	// Keep the user's ~/.aws out of it; the CA-bundle variables stay as they are.
	missing := filepath.Join(t.TempDir(), "no-such-aws-file")
	t.Setenv("AWS_CONFIG_FILE", missing)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", missing)

	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatalf("LoadDefaultConfig: %v", err)
	}
	return &sdkEnv{
		t: t, ctx: ctx, url: url, http: hc,
		kms: kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(url) }),
		hsm: cloudhsmv2.NewFromConfig(cfg, func(o *cloudhsmv2.Options) { o.BaseEndpoint = aws.String(url) }),
	}
}

// simCall calls a Simulator operation (which has no SDK) and returns the
// status and decoded body.
func (s *sdkEnv) simCall(op string, body any) (int, map[string]any) {
	s.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		s.t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.url+"/", bytes.NewReader(b))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "Simulator."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := s.http.Do(req)
	if err != nil {
		s.t.Fatalf("Simulator.%s: %v", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("Simulator.%s: %v", op, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		s.t.Fatalf("Simulator.%s: response is not a JSON object: %s", op, raw)
	}
	return resp.StatusCode, m
}

// sim calls a Simulator operation and requires a 200.
func (s *sdkEnv) sim(op string, body any) map[string]any {
	s.t.Helper()
	status, m := s.simCall(op, body)
	if status != http.StatusOK {
		s.t.Fatalf("Simulator.%s: status %d: %v", op, status, m)
	}
	return m
}

func (s *sdkEnv) advance(seconds float64) {
	s.t.Helper()
	s.sim("AdvanceClock", map[string]any{"Seconds": seconds})
}

// virtualNow is the sandbox's clock, from Simulator.DescribeClock.
func (s *sdkEnv) virtualNow() time.Time {
	s.t.Helper()
	n, ok := s.sim("DescribeClock", map[string]any{})["Now"].(float64)
	if !ok {
		s.t.Fatal("Simulator.DescribeClock: no numeric Now")
	}
	// Epoch seconds with milliseconds, as every timestamp on the wire.
	return time.UnixMilli(int64(math.Round(n * 1000)))
}

// subnets returns n subnet IDs never used before in this sandbox.
func (s *sdkEnv) subnets(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		s.subnet++
		ids[i] = fmt.Sprintf("subnet-0a%015x", s.subnet)
	}
	return ids
}

// sdkCluster is an ACTIVE cluster with HSMs in us-east-1a and us-east-1b
// and a kmsuser whose password is kmsPassword1.
type sdkCluster struct {
	ID     string
	Anchor string // customerCA.crt
}

// clusters builds n such clusters together, through the CloudHSM v2 SDK
// and the simulator, advancing the clock once per step for all of them.
func (s *sdkEnv) clusters(n int) []sdkCluster {
	s.t.Helper()
	out := make([]sdkCluster, n)
	for i := range out {
		c, err := s.hsm.CreateCluster(s.ctx, &cloudhsmv2.CreateClusterInput{
			HsmType: aws.String("hsm2m.medium"), SubnetIds: s.subnets(3)})
		if err != nil {
			s.t.Fatalf("CreateCluster: %v", err)
		}
		out[i].ID = aws.ToString(c.Cluster.ClusterId)
	}
	s.advance(300)
	s.createHSMs(out, "us-east-1a")
	s.advance(600)
	for i, c := range out {
		signed := s.sim("SignClusterCsr", map[string]any{"ClusterId": c.ID})
		cert, _ := signed["SignedCert"].(string)
		anchor, _ := signed["TrustAnchor"].(string)
		if _, err := s.hsm.InitializeCluster(s.ctx, &cloudhsmv2.InitializeClusterInput{
			ClusterId: aws.String(c.ID), SignedCert: aws.String(cert), TrustAnchor: aws.String(anchor)}); err != nil {
			s.t.Fatalf("InitializeCluster %s: %v", c.ID, err)
		}
		out[i].Anchor = anchor
	}
	s.advance(300)
	for _, c := range out {
		s.sim("ActivateCluster", map[string]any{"ClusterId": c.ID, "AdminPassword": "adminPassword1"})
	}
	s.createHSMs(out, "us-east-1b")
	s.advance(600)
	for _, c := range out {
		s.sim("CreateCryptoUser", map[string]any{"ClusterId": c.ID, "Username": "kmsuser", "Password": "kmsPassword1"})
	}
	return out
}

func (s *sdkEnv) createHSMs(cs []sdkCluster, az string) {
	s.t.Helper()
	for _, c := range cs {
		if _, err := s.hsm.CreateHsm(s.ctx, &cloudhsmv2.CreateHsmInput{
			ClusterId: aws.String(c.ID), AvailabilityZone: aws.String(az)}); err != nil {
			s.t.Fatalf("CreateHsm %s in %s: %v", c.ID, az, err)
		}
	}
}

// createStore makes a CloudHSM key store for c and returns its ID.
func (s *sdkEnv) createStore(name string, c sdkCluster) string {
	s.t.Helper()
	out, err := s.kms.CreateCustomKeyStore(s.ctx, &kms.CreateCustomKeyStoreInput{
		CustomKeyStoreName: aws.String(name), CloudHsmClusterId: aws.String(c.ID),
		TrustAnchorCertificate: aws.String(c.Anchor), KeyStorePassword: aws.String("kmsPassword1")})
	if err != nil {
		s.t.Fatalf("CreateCustomKeyStore %s: %v", name, err)
	}
	return aws.ToString(out.CustomKeyStoreId)
}

func (s *sdkEnv) describeStore(id string) types.CustomKeyStoresListEntry {
	s.t.Helper()
	out, err := s.kms.DescribeCustomKeyStores(s.ctx, &kms.DescribeCustomKeyStoresInput{CustomKeyStoreId: aws.String(id)})
	if err != nil {
		s.t.Fatalf("DescribeCustomKeyStores %s: %v", id, err)
	}
	if len(out.CustomKeyStores) != 1 {
		s.t.Fatalf("DescribeCustomKeyStores %s: %d entries, want 1", id, len(out.CustomKeyStores))
	}
	if got := aws.ToString(out.CustomKeyStores[0].CustomKeyStoreId); got != id {
		s.t.Fatalf("DescribeCustomKeyStores %s returned store %s", id, got)
	}
	return out.CustomKeyStores[0]
}

// wantState requires the store's connection state and error code ("" for none).
func (s *sdkEnv) wantState(id string, state types.ConnectionStateType, code types.ConnectionErrorCodeType) {
	s.t.Helper()
	e := s.describeStore(id)
	if e.ConnectionState != state || e.ConnectionErrorCode != code {
		s.t.Fatalf("store %s is %q/%q, want %q/%q", id, e.ConnectionState, e.ConnectionErrorCode, state, code)
	}
}

func (s *sdkEnv) connect(id string) {
	s.t.Helper()
	if _, err := s.kms.ConnectCustomKeyStore(s.ctx, &kms.ConnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)}); err != nil {
		s.t.Fatalf("ConnectCustomKeyStore %s: %v", id, err)
	}
}

// disconnect disconnects a store and waits until it is DISCONNECTED.
func (s *sdkEnv) disconnect(id string) {
	s.t.Helper()
	if _, err := s.kms.DisconnectCustomKeyStore(s.ctx, &kms.DisconnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)}); err != nil {
		s.t.Fatalf("DisconnectCustomKeyStore %s: %v", id, err)
	}
	s.wantState(id, types.ConnectionStateTypeDisconnecting, "")
	s.advance(120)
	s.wantState(id, types.ConnectionStateTypeDisconnected, "")
}

// sdkWant requires err to be (or wrap) the API error type T, a client
// fault sent with HTTP 400 (409 for the key state conflicts, as the model
// says; the SDK retries 5xx) and with a message, and returns it.
func sdkWant[T smithy.APIError](t *testing.T, what string, err error) T {
	t.Helper()
	var target T
	if err == nil {
		t.Fatalf("%s: succeeded, want %T", what, target)
	}
	if !errors.As(err, &target) {
		t.Fatalf("%s: got %T (%v), want %T", what, err, err, target)
	}
	if target.ErrorMessage() == "" {
		t.Errorf("%s: %s has an empty ErrorMessage()", what, target.ErrorCode())
	}
	if target.ErrorFault() != smithy.FaultClient {
		t.Errorf("%s: %s is a %v fault, want a client fault", what, target.ErrorCode(), target.ErrorFault())
	}
	status := http.StatusBadRequest
	switch target.ErrorCode() {
	case "KMSInvalidStateException", "DisabledException", "AlreadyExistsException":
		status = http.StatusConflict // the model's httpError for the key state conflicts
	}
	sdkWantStatus(t, what, err, status)
	return target
}

func sdkWantStatus(t *testing.T, what string, err error, want int) {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Errorf("%s: %v carries no HTTP response", what, err)
	} else if re.HTTPStatusCode() != want {
		t.Errorf("%s: HTTP status %d, want %d", what, re.HTTPStatusCode(), want)
	}
}

// sdkWantValidation requires a ValidationException, which neither KMS nor
// CloudHSM v2 models, so it arrives as a generic smithy.APIError.
func sdkWantValidation(t *testing.T, what string, err error, wantMessage string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("%s: got %T (%v), want a smithy.APIError", what, err, err)
	}
	if ae.ErrorCode() != "ValidationException" {
		t.Fatalf("%s: code %q (%v), want ValidationException", what, ae.ErrorCode(), err)
	}
	if ae.ErrorMessage() != wantMessage {
		t.Errorf("%s: message\n %q\nwant\n %q", what, ae.ErrorMessage(), wantMessage)
	}
	sdkWantStatus(t, what, err, http.StatusBadRequest)
}

// sdkSignCSR checks a cluster CSR and signs it with a new customer CA made
// the way AWS's guide makes customerCA.crt, but in Go and with ECDSA
// P-256. It returns the signed certificate and the CA (the trust anchor).
func sdkSignCSR(t *testing.T, csrPEM string) (signed, anchor string) {
	t.Helper()
	block, _ := pem.Decode([]byte(csrPEM))
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		t.Fatalf("ClusterCsr is not a PEM CERTIFICATE REQUEST: %q", csrPEM)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatalf("ClusterCsr: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Fatalf("ClusterCsr signature: %v", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example customer CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: csr.Subject,
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, csr.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
}

var (
	sdkStoreIDPattern   = regexp.MustCompile(`^cks-[0-9a-f]{17}$`)
	sdkClusterIDPattern = regexp.MustCompile(`^cluster-[2-7a-zA-Z]{11,16}$`)
)

// TestSDKCloudHSMKeyStoreLifecycle is the README walk-through through the
// SDKs: a cluster with HSMs in two AZs, initialized with a CA made here,
// then a key store created, described, connected, failed by an injected
// NETWORK_ERRORS fault, reconnected, updated, disconnected and deleted.
func TestSDKCloudHSMKeyStoreLifecycle(t *testing.T) { testSDKCloudHSMKeyStoreLifecycle(t, sdkStart(t)) }

// testSDKCloudHSMKeyStoreLifecycle is the test's body, for any endpoint (see worker_test.go).
func testSDKCloudHSMKeyStoreLifecycle(t *testing.T, s *sdkEnv) {
	ctx := s.ctx

	created, err := s.hsm.CreateCluster(ctx, &cloudhsmv2.CreateClusterInput{
		HsmType: aws.String("hsm2m.medium"), SubnetIds: s.subnets(3)})
	if err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	cluster := aws.ToString(created.Cluster.ClusterId)
	if !sdkClusterIDPattern.MatchString(cluster) {
		t.Fatalf("cluster ID %q", cluster)
	}
	if created.Cluster.State != hsmtypes.ClusterStateCreateInProgress {
		t.Errorf("new cluster is %q, want CREATE_IN_PROGRESS", created.Cluster.State)
	}
	if len(created.Cluster.SubnetMapping) != 3 {
		t.Errorf("SubnetMapping %v, want 3 AZs", created.Cluster.SubnetMapping)
	}
	s.advance(300)

	hsm, err := s.hsm.CreateHsm(ctx, &cloudhsmv2.CreateHsmInput{ClusterId: aws.String(cluster), AvailabilityZone: aws.String("us-east-1a")})
	if err != nil {
		t.Fatalf("CreateHsm: %v", err)
	}
	if hsm.Hsm.State != hsmtypes.HsmStateCreateInProgress || aws.ToString(hsm.Hsm.AvailabilityZone) != "us-east-1a" {
		t.Errorf("new HSM: state %q in %q", hsm.Hsm.State, aws.ToString(hsm.Hsm.AvailabilityZone))
	}
	s.advance(600)

	dc, err := s.hsm.DescribeClusters(ctx, &cloudhsmv2.DescribeClustersInput{Filters: map[string][]string{"clusterIds": {cluster}}})
	if err != nil {
		t.Fatalf("DescribeClusters: %v", err)
	}
	if len(dc.Clusters) != 1 || aws.ToString(dc.Clusters[0].ClusterId) != cluster {
		t.Fatalf("DescribeClusters filtered on %s: %d clusters", cluster, len(dc.Clusters))
	}
	c := dc.Clusters[0]
	if c.State != hsmtypes.ClusterStateUninitialized {
		t.Errorf("cluster is %q, want UNINITIALIZED", c.State)
	}
	if len(c.Hsms) != 1 || c.Hsms[0].State != hsmtypes.HsmStateActive || aws.ToString(c.Hsms[0].HsmId) != aws.ToString(hsm.Hsm.HsmId) {
		t.Fatalf("cluster HSMs: %+v, want the one HSM ACTIVE", c.Hsms)
	}
	if c.CreateTimestamp == nil || c.Certificates == nil || c.Certificates.ClusterCsr == nil {
		t.Fatalf("cluster lacks CreateTimestamp or Certificates.ClusterCsr: %+v", c)
	}
	signed, anchor := sdkSignCSR(t, *c.Certificates.ClusterCsr)
	none, err := s.hsm.DescribeClusters(ctx, &cloudhsmv2.DescribeClustersInput{Filters: map[string][]string{"clusterIds": {"cluster-2a2a2a2a2a2"}}})
	if err != nil || len(none.Clusters) != 0 {
		t.Errorf("DescribeClusters filtered on an unknown cluster: %v, %d clusters", err, len(none.Clusters))
	}

	ic, err := s.hsm.InitializeCluster(ctx, &cloudhsmv2.InitializeClusterInput{
		ClusterId: aws.String(cluster), SignedCert: aws.String(signed), TrustAnchor: aws.String(anchor)})
	if err != nil {
		t.Fatalf("InitializeCluster: %v", err)
	}
	if ic.State != hsmtypes.ClusterStateInitializeInProgress {
		t.Errorf("InitializeCluster state %q", ic.State)
	}
	s.advance(300)
	s.sim("ActivateCluster", map[string]any{"ClusterId": cluster, "AdminPassword": "adminPassword1"})
	hsm2, err := s.hsm.CreateHsm(ctx, &cloudhsmv2.CreateHsmInput{ClusterId: aws.String(cluster), AvailabilityZone: aws.String("us-east-1b")})
	if err != nil {
		t.Fatalf("CreateHsm in us-east-1b: %v", err)
	}
	if got := aws.ToString(hsm2.Hsm.AvailabilityZone); got != "us-east-1b" {
		t.Errorf("second HSM in %q", got)
	}
	s.advance(600)
	s.sim("CreateCryptoUser", map[string]any{"ClusterId": cluster, "Username": "kmsuser", "Password": "kmsPassword1"})
	dc, err = s.hsm.DescribeClusters(ctx, &cloudhsmv2.DescribeClustersInput{Filters: map[string][]string{"clusterIds": {cluster}}})
	if err != nil {
		t.Fatalf("DescribeClusters: %v", err)
	}
	c = dc.Clusters[0]
	if c.State != hsmtypes.ClusterStateActive || len(c.Hsms) != 2 {
		t.Fatalf("cluster is %q with %d HSMs, want ACTIVE with 2", c.State, len(c.Hsms))
	}
	if c.Certificates == nil || aws.ToString(c.Certificates.ClusterCertificate) != signed {
		t.Errorf("Certificates.ClusterCertificate is not the signed certificate")
	}

	// The key store.
	out, err := s.kms.CreateCustomKeyStore(ctx, &kms.CreateCustomKeyStoreInput{
		CustomKeyStoreName: aws.String("ExampleKeyStore"), CloudHsmClusterId: aws.String(cluster),
		TrustAnchorCertificate: aws.String(anchor), KeyStorePassword: aws.String("kmsPassword1")})
	if err != nil {
		t.Fatalf("CreateCustomKeyStore: %v", err)
	}
	ks := aws.ToString(out.CustomKeyStoreId)
	if !sdkStoreIDPattern.MatchString(ks) {
		t.Fatalf("CustomKeyStoreId %q does not match %s", ks, sdkStoreIDPattern)
	}
	if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); !ok || id == "" {
		t.Errorf("no request ID in the response metadata")
	}
	now := s.virtualNow()
	e := s.describeStore(ks)
	if e.ConnectionState != types.ConnectionStateTypeDisconnected || e.ConnectionErrorCode != "" {
		t.Errorf("new store is %q/%q, want DISCONNECTED", e.ConnectionState, e.ConnectionErrorCode)
	}
	if e.CustomKeyStoreType != types.CustomKeyStoreTypeAwsCloudhsm {
		t.Errorf("CustomKeyStoreType %q", e.CustomKeyStoreType)
	}
	if e.CreationDate == nil {
		t.Fatal("CreationDate is nil")
	}
	if d := now.Sub(*e.CreationDate); d.Abs() > time.Minute {
		t.Errorf("CreationDate %v is not within a minute of the virtual clock %v", *e.CreationDate, now)
	}
	if aws.ToString(e.CustomKeyStoreName) != "ExampleKeyStore" || aws.ToString(e.CloudHsmClusterId) != cluster ||
		aws.ToString(e.TrustAnchorCertificate) != anchor || e.XksProxyConfiguration != nil {
		t.Errorf("described store: %+v", e)
	}

	s.connect(ks)
	s.wantState(ks, types.ConnectionStateTypeConnecting, "")
	s.connect(ks) // connecting again while CONNECTING does nothing
	s.wantState(ks, types.ConnectionStateTypeConnecting, "")
	s.advance(1200)
	s.wantState(ks, types.ConnectionStateTypeConnected, "")

	// The FAILED path: trouble on AWS's side, then "connect again".
	s.disconnect(ks)
	s.sim("InjectConnectFault", map[string]any{"CustomKeyStoreId": ks, "ConnectionErrorCode": "NETWORK_ERRORS"})
	s.connect(ks)
	s.wantState(ks, types.ConnectionStateTypeConnecting, "")
	s.advance(1200)
	s.wantState(ks, types.ConnectionStateTypeFailed, types.ConnectionErrorCodeTypeNetworkErrors)
	_, err = s.kms.ConnectCustomKeyStore(ctx, &kms.ConnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(ks)})
	sdkWant[*types.CustomKeyStoreInvalidStateException](t, "ConnectCustomKeyStore while FAILED", err)
	s.disconnect(ks)
	s.connect(ks)
	s.advance(1200)
	s.wantState(ks, types.ConnectionStateTypeConnected, "")

	// Update: the name in any state, the password only while disconnected.
	if _, err := s.kms.UpdateCustomKeyStore(ctx, &kms.UpdateCustomKeyStoreInput{
		CustomKeyStoreId: aws.String(ks), NewCustomKeyStoreName: aws.String("RenamedKeyStore")}); err != nil {
		t.Fatalf("UpdateCustomKeyStore (rename while CONNECTED): %v", err)
	}
	if got := aws.ToString(s.describeStore(ks).CustomKeyStoreName); got != "RenamedKeyStore" {
		t.Errorf("name after rename: %q", got)
	}
	_, err = s.kms.UpdateCustomKeyStore(ctx, &kms.UpdateCustomKeyStoreInput{
		CustomKeyStoreId: aws.String(ks), KeyStorePassword: aws.String("newPassword1")})
	sdkWant[*types.CustomKeyStoreInvalidStateException](t, "UpdateCustomKeyStore password while CONNECTED", err)

	s.disconnect(ks)
	if _, err := s.kms.DeleteCustomKeyStore(ctx, &kms.DeleteCustomKeyStoreInput{CustomKeyStoreId: aws.String(ks)}); err != nil {
		t.Fatalf("DeleteCustomKeyStore: %v", err)
	}
	_, err = s.kms.DescribeCustomKeyStores(ctx, &kms.DescribeCustomKeyStoresInput{CustomKeyStoreId: aws.String(ks)})
	sdkWant[*types.CustomKeyStoreNotFoundException](t, "DescribeCustomKeyStores after delete", err)
	all, err := s.kms.DescribeCustomKeyStores(ctx, &kms.DescribeCustomKeyStoresInput{})
	if err != nil {
		t.Fatalf("DescribeCustomKeyStores: %v", err)
	}
	if len(all.CustomKeyStores) != 0 || all.Truncated || all.NextMarker != nil {
		t.Errorf("after delete: %d stores, truncated %v, marker %q", len(all.CustomKeyStores), all.Truncated, aws.ToString(all.NextMarker))
	}
}

// TestSDKTypedErrors checks that every exception the custom key store and
// CloudHSM operations raise reaches a Go program as the SDK's typed error
// (matched with errors.As, with a message), and ValidationException as a
// generic smithy.APIError with AWS's message.
func TestSDKTypedErrors(t *testing.T) { testSDKTypedErrors(t, sdkStart(t)) }

// testSDKTypedErrors is the test's body, for any endpoint (see worker_test.go).
func testSDKTypedErrors(t *testing.T, s *sdkEnv) {
	ctx := s.ctx
	cs := s.clusters(11)
	const unknownStore = "cks-0123456789abcdef0"
	const unknownCluster = "cluster-2a2a2a2a2a2"

	create := func(name string, c sdkCluster, anchor string) error {
		_, err := s.kms.CreateCustomKeyStore(ctx, &kms.CreateCustomKeyStoreInput{
			CustomKeyStoreName: aws.String(name), CloudHsmClusterId: aws.String(c.ID),
			TrustAnchorCertificate: aws.String(anchor), KeyStorePassword: aws.String("kmsPassword1")})
		return err
	}

	t.Run("CustomKeyStoreNotFound", func(t *testing.T) {
		id := aws.String(unknownStore)
		_, err := s.kms.DescribeCustomKeyStores(ctx, &kms.DescribeCustomKeyStoresInput{CustomKeyStoreId: id})
		e := sdkWant[*types.CustomKeyStoreNotFoundException](t, "DescribeCustomKeyStores", err)
		if !strings.Contains(e.ErrorMessage(), unknownStore) {
			t.Errorf("message %q does not name the store", e.ErrorMessage())
		}
		_, err = s.kms.DescribeCustomKeyStores(ctx, &kms.DescribeCustomKeyStoresInput{CustomKeyStoreName: aws.String("nobody")})
		sdkWant[*types.CustomKeyStoreNotFoundException](t, "DescribeCustomKeyStores by name", err)
		_, err = s.kms.ConnectCustomKeyStore(ctx, &kms.ConnectCustomKeyStoreInput{CustomKeyStoreId: id})
		sdkWant[*types.CustomKeyStoreNotFoundException](t, "ConnectCustomKeyStore", err)
		_, err = s.kms.DisconnectCustomKeyStore(ctx, &kms.DisconnectCustomKeyStoreInput{CustomKeyStoreId: id})
		sdkWant[*types.CustomKeyStoreNotFoundException](t, "DisconnectCustomKeyStore", err)
		_, err = s.kms.UpdateCustomKeyStore(ctx, &kms.UpdateCustomKeyStoreInput{CustomKeyStoreId: id, NewCustomKeyStoreName: aws.String("x")})
		sdkWant[*types.CustomKeyStoreNotFoundException](t, "UpdateCustomKeyStore", err)
		_, err = s.kms.DeleteCustomKeyStore(ctx, &kms.DeleteCustomKeyStoreInput{CustomKeyStoreId: id})
		sdkWant[*types.CustomKeyStoreNotFoundException](t, "DeleteCustomKeyStore", err)
	})

	t.Run("CloudHsmClusterNotFound", func(t *testing.T) {
		err := create("nowhere", sdkCluster{ID: unknownCluster}, cs[0].Anchor)
		sdkWant[*types.CloudHsmClusterNotFoundException](t, "CreateCustomKeyStore", err)
	})

	t.Run("IncorrectTrustAnchor", func(t *testing.T) {
		err := create("wrong-anchor", cs[0], cs[1].Anchor)
		sdkWant[*types.IncorrectTrustAnchorException](t, "CreateCustomKeyStore with another cluster's anchor", err)
	})

	// From here on cs[0] backs store0.
	store0 := s.createStore("store-0", cs[0])

	t.Run("CloudHsmClusterInUse", func(t *testing.T) {
		err := create("second-store", cs[0], cs[0].Anchor)
		sdkWant[*types.CloudHsmClusterInUseException](t, "CreateCustomKeyStore on a used cluster", err)
	})

	t.Run("CustomKeyStoreNameInUse", func(t *testing.T) {
		err := create("store-0", cs[1], cs[1].Anchor)
		sdkWant[*types.CustomKeyStoreNameInUseException](t, "CreateCustomKeyStore with a taken name", err)
		store1 := s.createStore("store-1", cs[1])
		_, err = s.kms.UpdateCustomKeyStore(ctx, &kms.UpdateCustomKeyStoreInput{
			CustomKeyStoreId: aws.String(store1), NewCustomKeyStoreName: aws.String("store-0")})
		sdkWant[*types.CustomKeyStoreNameInUseException](t, "UpdateCustomKeyStore to a taken name", err)
		if _, err := s.kms.DeleteCustomKeyStore(ctx, &kms.DeleteCustomKeyStoreInput{CustomKeyStoreId: aws.String(store1)}); err != nil {
			t.Fatalf("DeleteCustomKeyStore: %v", err)
		}
	})

	t.Run("CustomKeyStoreInvalidState", func(t *testing.T) {
		_, err := s.kms.DisconnectCustomKeyStore(ctx, &kms.DisconnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(store0)})
		sdkWant[*types.CustomKeyStoreInvalidStateException](t, "DisconnectCustomKeyStore while DISCONNECTED", err)
		s.connect(store0)
		s.advance(1200)
		s.wantState(store0, types.ConnectionStateTypeConnected, "")
		_, err = s.kms.DeleteCustomKeyStore(ctx, &kms.DeleteCustomKeyStoreInput{CustomKeyStoreId: aws.String(store0)})
		e := sdkWant[*types.CustomKeyStoreInvalidStateException](t, "DeleteCustomKeyStore while CONNECTED", err)
		if !strings.Contains(e.ErrorMessage(), "CONNECTED") {
			t.Errorf("message %q does not say the state", e.ErrorMessage())
		}
		_, err = s.kms.UpdateCustomKeyStore(ctx, &kms.UpdateCustomKeyStoreInput{
			CustomKeyStoreId: aws.String(store0), KeyStorePassword: aws.String("kmsPassword2")})
		sdkWant[*types.CustomKeyStoreInvalidStateException](t, "UpdateCustomKeyStore password while CONNECTED", err)
		s.disconnect(store0)
	})

	t.Run("InvalidMarker", func(t *testing.T) {
		_, err := s.kms.DescribeCustomKeyStores(ctx, &kms.DescribeCustomKeyStoresInput{Marker: aws.String("not-a-marker")})
		sdkWant[*types.InvalidMarkerException](t, "DescribeCustomKeyStores with a made-up marker", err)
	})

	t.Run("UnsupportedOperation", func(t *testing.T) {
		_, err := s.kms.CreateCustomKeyStore(ctx, &kms.CreateCustomKeyStoreInput{
			CustomKeyStoreName:   aws.String("xks"),
			CustomKeyStoreType:   types.CustomKeyStoreTypeExternalKeyStore,
			XksProxyUriEndpoint:  aws.String("https://xks.example.com"),
			XksProxyUriPath:      aws.String("/example/kms/xks/v1"),
			XksProxyConnectivity: types.XksProxyConnectivityTypePublicEndpoint,
			XksProxyAuthenticationCredential: &types.XksProxyAuthenticationCredentialType{
				AccessKeyId:        aws.String("ABCDEFGHIJKLMNOPQRST"),
				RawSecretAccessKey: aws.String("K4Hm9cQ2xZ/bL8pR+vT1nW6yE3uJ0aS5dF7gH2jK9lM="),
			}})
		sdkWant[*types.XksProxyUriUnreachableException](t, "CreateCustomKeyStore EXTERNAL_KEY_STORE with no proxy at the endpoint", err)
		_, err = s.kms.CreateKey(ctx, &kms.CreateKeyInput{Origin: types.OriginTypeAwsCloudhsm})
		sdkWant[*types.UnsupportedOperationException](t, "CreateKey AWS_CLOUDHSM without a CustomKeyStoreId", err)
	})

	t.Run("LimitExceeded", func(t *testing.T) {
		// store0 plus nine more makes ten, the quota.
		for i := 2; i <= 10; i++ {
			s.createStore(fmt.Sprintf("store-%d", i), cs[i-1])
		}
		list, err := s.kms.DescribeCustomKeyStores(ctx, &kms.DescribeCustomKeyStoresInput{})
		if err != nil || len(list.CustomKeyStores) != 10 {
			t.Fatalf("DescribeCustomKeyStores: %v, %d stores, want 10", err, len(list.CustomKeyStores))
		}
		err = create("store-11", cs[10], cs[10].Anchor)
		sdkWant[*types.LimitExceededException](t, "the eleventh CreateCustomKeyStore", err)
		// Deleting one makes room again.
		if _, err := s.kms.DeleteCustomKeyStore(ctx, &kms.DeleteCustomKeyStoreInput{CustomKeyStoreId: list.CustomKeyStores[9].CustomKeyStoreId}); err != nil {
			t.Fatalf("DeleteCustomKeyStore: %v", err)
		}
		if err := create("store-11", cs[10], cs[10].Anchor); err != nil {
			t.Fatalf("CreateCustomKeyStore after freeing a slot: %v", err)
		}
	})

	t.Run("CloudHsmInvalidRequest", func(t *testing.T) {
		_, err := s.hsm.InitializeCluster(ctx, &cloudhsmv2.InitializeClusterInput{
			ClusterId: aws.String(cs[0].ID), SignedCert: aws.String(cs[0].Anchor), TrustAnchor: aws.String(cs[0].Anchor)})
		sdkWant[*hsmtypes.CloudHsmInvalidRequestException](t, "InitializeCluster on an ACTIVE cluster", err)
		_, err = s.hsm.CreateHsm(ctx, &cloudhsmv2.CreateHsmInput{ClusterId: aws.String(cs[0].ID), AvailabilityZone: aws.String("us-east-1f")})
		sdkWant[*hsmtypes.CloudHsmInvalidRequestException](t, "CreateHsm in an AZ outside the subnet mapping", err)
	})

	t.Run("CloudHsmResourceNotFound", func(t *testing.T) {
		_, err := s.hsm.CreateHsm(ctx, &cloudhsmv2.CreateHsmInput{ClusterId: aws.String(unknownCluster), AvailabilityZone: aws.String("us-east-1a")})
		sdkWant[*hsmtypes.CloudHsmResourceNotFoundException](t, "CreateHsm in an unknown cluster", err)
		_, err = s.hsm.DeleteCluster(ctx, &cloudhsmv2.DeleteClusterInput{ClusterId: aws.String(unknownCluster)})
		sdkWant[*hsmtypes.CloudHsmResourceNotFoundException](t, "DeleteCluster of an unknown cluster", err)
	})

	t.Run("Validation", func(t *testing.T) {
		long := strings.Repeat("n", 257)
		_, err := s.kms.CreateCustomKeyStore(ctx, &kms.CreateCustomKeyStoreInput{
			CustomKeyStoreName: aws.String(long), CloudHsmClusterId: aws.String(cs[10].ID),
			TrustAnchorCertificate: aws.String(cs[10].Anchor), KeyStorePassword: aws.String("kmsPassword1")})
		sdkWantValidation(t, "CreateCustomKeyStore with a 257-character name", err,
			"1 validation error detected: Value '"+long+"' at 'customKeyStoreName' failed to satisfy constraint: Member must have length less than or equal to 256")

		// A sensitive member is reported without its value.
		_, err = s.kms.UpdateCustomKeyStore(ctx, &kms.UpdateCustomKeyStoreInput{
			CustomKeyStoreId: aws.String(store0), KeyStorePassword: aws.String("short")})
		sdkWantValidation(t, "UpdateCustomKeyStore with a 5-character password", err,
			"1 validation error detected: Value at 'keyStorePassword' failed to satisfy constraint: Member must have length greater than or equal to 7")

		_, err = s.kms.DescribeCustomKeyStores(ctx, &kms.DescribeCustomKeyStoresInput{Limit: aws.Int32(1001)})
		sdkWantValidation(t, "DescribeCustomKeyStores with Limit 1001", err,
			"1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000")

		_, err = s.hsm.CreateCluster(ctx, &cloudhsmv2.CreateClusterInput{HsmType: aws.String("hsm2m.medium"), SubnetIds: []string{"subnet-xyz"}})
		sdkWantValidation(t, "CreateCluster with a malformed subnet ID", err,
			"1 validation error detected: Value 'subnet-xyz' at 'subnetIds.member' failed to satisfy constraint: Member must satisfy regular expression pattern: subnet-[0-9a-fA-F]{8,17}")
	})
}

// TestSDKDescribePaginator pages through five stores two at a time with
// the SDK's paginator, which follows NextMarker until it is absent.
func TestSDKDescribePaginator(t *testing.T) { testSDKDescribePaginator(t, sdkStart(t)) }

// testSDKDescribePaginator is the test's body, for any endpoint (see worker_test.go).
func testSDKDescribePaginator(t *testing.T, s *sdkEnv) {
	var want []string
	for i, c := range s.clusters(5) {
		want = append(want, s.createStore(fmt.Sprintf("paged-%d", i), c))
	}

	const maxPages = 3 // ceil(5/2)
	p := kms.NewDescribeCustomKeyStoresPaginator(s.kms, &kms.DescribeCustomKeyStoresInput{Limit: aws.Int32(2)})
	var got []string
	pages := 0
	for p.HasMorePages() {
		if pages++; pages > maxPages {
			t.Fatalf("the paginator wants a page %d after visiting %v", pages, got)
		}
		out, err := p.NextPage(s.ctx)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		if len(out.CustomKeyStores) == 0 || len(out.CustomKeyStores) > 2 {
			t.Fatalf("page %d has %d stores", pages, len(out.CustomKeyStores))
		}
		last := pages == maxPages
		if out.Truncated == last || (out.NextMarker == nil) != last {
			t.Errorf("page %d: Truncated %v, NextMarker %v", pages, out.Truncated, aws.ToString(out.NextMarker))
		}
		for _, e := range out.CustomKeyStores {
			got = append(got, aws.ToString(e.CustomKeyStoreId))
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("visited %v, want each store once in creation order %v", got, want)
	}

	// A marker still works after the store it points at is deleted.
	first, err := s.kms.DescribeCustomKeyStores(s.ctx, &kms.DescribeCustomKeyStoresInput{Limit: aws.Int32(2)})
	if err != nil || first.NextMarker == nil {
		t.Fatalf("first page: %v, marker %v", err, first.NextMarker)
	}
	if _, err := s.kms.DeleteCustomKeyStore(s.ctx, &kms.DeleteCustomKeyStoreInput{CustomKeyStoreId: aws.String(want[2])}); err != nil {
		t.Fatalf("DeleteCustomKeyStore: %v", err)
	}
	next, err := s.kms.DescribeCustomKeyStores(s.ctx, &kms.DescribeCustomKeyStoresInput{Limit: aws.Int32(2), Marker: first.NextMarker})
	if err != nil {
		t.Fatalf("page after a deletion: %v", err)
	}
	if len(next.CustomKeyStores) != 2 || aws.ToString(next.CustomKeyStores[0].CustomKeyStoreId) != want[3] ||
		aws.ToString(next.CustomKeyStores[1].CustomKeyStoreId) != want[4] || next.Truncated || next.NextMarker != nil {
		t.Errorf("page after deleting %s: %+v", want[2], next)
	}
}

// TestSDKRequestRoundTrip checks that every member the SDK serializes is
// read by the engine: a CreateCustomKeyStore with every member an
// AWS_CLOUDHSM store takes comes back identical from Describe (the
// password proves itself by connecting), UpdateCustomKeyStore's members
// each take effect, and CreateCluster's optional members come back from
// DescribeClusters.
func TestSDKRequestRoundTrip(t *testing.T) { testSDKRequestRoundTrip(t, sdkStart(t)) }

// testSDKRequestRoundTrip is the test's body, for any endpoint (see worker_test.go).
func testSDKRequestRoundTrip(t *testing.T, s *sdkEnv) {
	ctx := s.ctx
	cs := s.clusters(1)
	c := cs[0]

	// A name that needs JSON escaping, and an anchor with its newlines.
	name := `Ünïcode store "quoted" <&> \ / tab	end`
	out, err := s.kms.CreateCustomKeyStore(ctx, &kms.CreateCustomKeyStoreInput{
		CustomKeyStoreName:     aws.String(name),
		CloudHsmClusterId:      aws.String(c.ID),
		TrustAnchorCertificate: aws.String(c.Anchor),
		KeyStorePassword:       aws.String("kmsPassword1"),
		CustomKeyStoreType:     types.CustomKeyStoreTypeAwsCloudhsm,
	})
	if err != nil {
		t.Fatalf("CreateCustomKeyStore: %v", err)
	}
	ks := aws.ToString(out.CustomKeyStoreId)
	e := s.describeStore(ks)
	if aws.ToString(e.CustomKeyStoreName) != name {
		t.Errorf("CustomKeyStoreName %q, want %q", aws.ToString(e.CustomKeyStoreName), name)
	}
	if aws.ToString(e.CloudHsmClusterId) != c.ID {
		t.Errorf("CloudHsmClusterId %q, want %q", aws.ToString(e.CloudHsmClusterId), c.ID)
	}
	if aws.ToString(e.TrustAnchorCertificate) != c.Anchor {
		t.Errorf("TrustAnchorCertificate changed on the way:\n%q\nwant\n%q", aws.ToString(e.TrustAnchorCertificate), c.Anchor)
	}
	if e.CustomKeyStoreType != types.CustomKeyStoreTypeAwsCloudhsm {
		t.Errorf("CustomKeyStoreType %q", e.CustomKeyStoreType)
	}
	byName, err := s.kms.DescribeCustomKeyStores(ctx, &kms.DescribeCustomKeyStoresInput{CustomKeyStoreName: aws.String(name)})
	if err != nil || len(byName.CustomKeyStores) != 1 || aws.ToString(byName.CustomKeyStores[0].CustomKeyStoreId) != ks {
		t.Fatalf("DescribeCustomKeyStores by name: %v %+v", err, byName)
	}

	// UpdateCustomKeyStore's KeyStorePassword reaches KMS: a wrong one fails the connect ...
	if _, err := s.kms.UpdateCustomKeyStore(ctx, &kms.UpdateCustomKeyStoreInput{
		CustomKeyStoreId: aws.String(ks), KeyStorePassword: aws.String("notThePassword1")}); err != nil {
		t.Fatalf("UpdateCustomKeyStore password: %v", err)
	}
	s.connect(ks)
	s.advance(1200)
	s.wantState(ks, types.ConnectionStateTypeFailed, types.ConnectionErrorCodeTypeInvalidCredentials)
	s.disconnect(ks)
	// ... and the right one connects.
	if _, err := s.kms.UpdateCustomKeyStore(ctx, &kms.UpdateCustomKeyStoreInput{
		CustomKeyStoreId: aws.String(ks), KeyStorePassword: aws.String("kmsPassword1")}); err != nil {
		t.Fatalf("UpdateCustomKeyStore password: %v", err)
	}
	s.connect(ks)
	s.advance(1200)
	s.wantState(ks, types.ConnectionStateTypeConnected, "")
	s.disconnect(ks)

	// CreateCluster's optional members, in a restore of c from its backup:
	// the cluster a store can be moved to with UpdateCustomKeyStore.
	backups, err := s.hsm.DescribeBackups(ctx, &cloudhsmv2.DescribeBackupsInput{Filters: map[string][]string{"clusterIds": {c.ID}}})
	if err != nil || len(backups.Backups) == 0 {
		t.Fatalf("DescribeBackups: %v, %d backups", err, len(backups.Backups))
	}
	backup := aws.ToString(backups.Backups[0].BackupId)
	if got := aws.ToString(backups.Backups[0].ClusterId); got != c.ID {
		t.Errorf("backup %s is of cluster %q", backup, got)
	}
	tags := []hsmtypes.Tag{{Key: aws.String("team"), Value: aws.String("crypto")}, {Key: aws.String("env"), Value: aws.String("lab")}}
	restored, err := s.hsm.CreateCluster(ctx, &cloudhsmv2.CreateClusterInput{
		HsmType: aws.String("hsm2m.medium"), SubnetIds: s.subnets(2), SourceBackupId: aws.String(backup),
		NetworkType: hsmtypes.NetworkTypeIpv4, TagList: tags})
	if err != nil {
		t.Fatalf("CreateCluster from backup: %v", err)
	}
	rid := aws.ToString(restored.Cluster.ClusterId)
	s.advance(300)
	for _, az := range []string{"us-east-1a", "us-east-1b"} {
		if _, err := s.hsm.CreateHsm(ctx, &cloudhsmv2.CreateHsmInput{ClusterId: aws.String(rid), AvailabilityZone: aws.String(az)}); err != nil {
			t.Fatalf("CreateHsm: %v", err)
		}
	}
	s.advance(600)
	dc, err := s.hsm.DescribeClusters(ctx, &cloudhsmv2.DescribeClustersInput{Filters: map[string][]string{"clusterIds": {rid}}})
	if err != nil || len(dc.Clusters) != 1 {
		t.Fatalf("DescribeClusters filtered on %s: %v, %d clusters", rid, err, len(dc.Clusters))
	}
	rc := dc.Clusters[0]
	if aws.ToString(rc.SourceBackupId) != backup || rc.NetworkType != hsmtypes.NetworkTypeIpv4 || rc.State != hsmtypes.ClusterStateActive {
		t.Errorf("restored cluster: source %q, network %q, state %q", aws.ToString(rc.SourceBackupId), rc.NetworkType, rc.State)
	}
	if len(rc.TagList) != 2 || aws.ToString(rc.TagList[0].Key) != "team" || aws.ToString(rc.TagList[1].Value) != "lab" {
		t.Errorf("TagList %+v", rc.TagList)
	}

	// Every UpdateCustomKeyStore member at once.
	if _, err := s.kms.UpdateCustomKeyStore(ctx, &kms.UpdateCustomKeyStoreInput{
		CustomKeyStoreId: aws.String(ks), NewCustomKeyStoreName: aws.String("moved"),
		KeyStorePassword: aws.String("kmsPassword1"), CloudHsmClusterId: aws.String(rid)}); err != nil {
		t.Fatalf("UpdateCustomKeyStore with every member: %v", err)
	}
	e = s.describeStore(ks)
	if aws.ToString(e.CustomKeyStoreName) != "moved" || aws.ToString(e.CloudHsmClusterId) != rid {
		t.Errorf("after update: name %q cluster %q, want moved %s", aws.ToString(e.CustomKeyStoreName), aws.ToString(e.CloudHsmClusterId), rid)
	}
	if aws.ToString(e.TrustAnchorCertificate) != c.Anchor {
		t.Errorf("the trust anchor changed with the cluster")
	}
}
