package tests

// Golden requests of the AWS SDK for Go v2: for each call the browser
// console makes, the exact X-Amz-Target and JSON body the SDK sends, with
// placeholder values ("$name", "$cluster", ...). They live in
// testdata/sdk-requests/<name>.json as {"target": ..., "body": ...};
// web/e2e/lib.mjs's assertSameAsSDK compares what the console sent against
// them, so the console is held to the SDK's member names, types and
// omitted members. go test -run TestSDKRequests -update rewrites them.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudhsmv2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

const sdkRequestsDir = "testdata/sdk-requests"

// capturedRequest is one request as the SDK sent it.
type capturedRequest struct {
	target string
	body   []byte
}

// capturingServer answers every request 200 with an empty JSON object (a
// valid answer to every operation used here) and keeps what was sent.
type capturingServer struct {
	mu   sync.Mutex
	reqs []capturedRequest
}

func (c *capturingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.reqs = append(c.reqs, capturedRequest{r.Header.Get("X-Amz-Target"), body})
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Write([]byte(`{}`))
}

// take returns the requests captured since the last take.
func (c *capturingServer) take() []capturedRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	reqs := c.reqs
	c.reqs = nil
	return reqs
}

func TestSDKRequests(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-aws-file")
	t.Setenv("AWS_CONFIG_FILE", missing)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", missing)

	capture := &capturingServer{}
	ts := httptest.NewServer(capture)
	defer ts.Close()
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	kc := kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(ts.URL) })
	hc := cloudhsmv2.NewFromConfig(cfg, func(o *cloudhsmv2.Options) { o.BaseEndpoint = aws.String(ts.URL) })

	calls := []struct {
		name string
		call func() error
	}{
		{"kms-CreateCustomKeyStore", func() error {
			_, err := kc.CreateCustomKeyStore(ctx, &kms.CreateCustomKeyStoreInput{
				CustomKeyStoreName:     aws.String("$name"),
				CloudHsmClusterId:      aws.String("$cluster"),
				TrustAnchorCertificate: aws.String("$anchor"),
				KeyStorePassword:       aws.String("$password"),
			})
			return err
		}},
		{"kms-CreateCustomKeyStore-external", func() error {
			_, err := kc.CreateCustomKeyStore(ctx, &kms.CreateCustomKeyStoreInput{
				CustomKeyStoreName:   aws.String("$name"),
				CustomKeyStoreType:   kmstypes.CustomKeyStoreTypeExternalKeyStore,
				XksProxyConnectivity: kmstypes.XksProxyConnectivityTypePublicEndpoint,
				XksProxyUriEndpoint:  aws.String("$endpoint"),
				XksProxyUriPath:      aws.String("$path"),
				XksProxyAuthenticationCredential: &kmstypes.XksProxyAuthenticationCredentialType{
					AccessKeyId:        aws.String("$accessKeyId"),
					RawSecretAccessKey: aws.String("$secret"),
				},
			})
			return err
		}},
		{"kms-CreateCustomKeyStore-external-vpc", func() error {
			_, err := kc.CreateCustomKeyStore(ctx, &kms.CreateCustomKeyStoreInput{
				CustomKeyStoreName:             aws.String("$name"),
				CustomKeyStoreType:             kmstypes.CustomKeyStoreTypeExternalKeyStore,
				XksProxyConnectivity:           kmstypes.XksProxyConnectivityTypeVpcEndpointService,
				XksProxyUriEndpoint:            aws.String("$endpoint"),
				XksProxyUriPath:                aws.String("$path"),
				XksProxyVpcEndpointServiceName: aws.String("$service"),
				XksProxyAuthenticationCredential: &kmstypes.XksProxyAuthenticationCredentialType{
					AccessKeyId:        aws.String("$accessKeyId"),
					RawSecretAccessKey: aws.String("$secret"),
				},
			})
			return err
		}},
		{"kms-UpdateCustomKeyStore-xks-credential", func() error {
			_, err := kc.UpdateCustomKeyStore(ctx, &kms.UpdateCustomKeyStoreInput{
				CustomKeyStoreId: aws.String("$store"),
				XksProxyAuthenticationCredential: &kmstypes.XksProxyAuthenticationCredentialType{
					AccessKeyId:        aws.String("$accessKeyId"),
					RawSecretAccessKey: aws.String("$secret"),
				},
			})
			return err
		}},
		{"kms-DescribeCustomKeyStores", func() error {
			_, err := kc.DescribeCustomKeyStores(ctx, &kms.DescribeCustomKeyStoresInput{})
			return err
		}},
		{"kms-DescribeCustomKeyStores-by-id", func() error {
			_, err := kc.DescribeCustomKeyStores(ctx, &kms.DescribeCustomKeyStoresInput{CustomKeyStoreId: aws.String("$store")})
			return err
		}},
		{"kms-ConnectCustomKeyStore", func() error {
			_, err := kc.ConnectCustomKeyStore(ctx, &kms.ConnectCustomKeyStoreInput{CustomKeyStoreId: aws.String("$store")})
			return err
		}},
		{"kms-DisconnectCustomKeyStore", func() error {
			_, err := kc.DisconnectCustomKeyStore(ctx, &kms.DisconnectCustomKeyStoreInput{CustomKeyStoreId: aws.String("$store")})
			return err
		}},
		{"kms-UpdateCustomKeyStore-name", func() error {
			_, err := kc.UpdateCustomKeyStore(ctx, &kms.UpdateCustomKeyStoreInput{
				CustomKeyStoreId:      aws.String("$store"),
				NewCustomKeyStoreName: aws.String("$name"),
			})
			return err
		}},
		{"kms-UpdateCustomKeyStore-password", func() error {
			_, err := kc.UpdateCustomKeyStore(ctx, &kms.UpdateCustomKeyStoreInput{
				CustomKeyStoreId: aws.String("$store"),
				KeyStorePassword: aws.String("$password"),
			})
			return err
		}},
		{"kms-UpdateCustomKeyStore-cluster", func() error {
			_, err := kc.UpdateCustomKeyStore(ctx, &kms.UpdateCustomKeyStoreInput{
				CustomKeyStoreId:  aws.String("$store"),
				CloudHsmClusterId: aws.String("$cluster"),
			})
			return err
		}},
		{"kms-DeleteCustomKeyStore", func() error {
			_, err := kc.DeleteCustomKeyStore(ctx, &kms.DeleteCustomKeyStoreInput{CustomKeyStoreId: aws.String("$store")})
			return err
		}},
		{"cloudhsmv2-CreateCluster", func() error {
			_, err := hc.CreateCluster(ctx, &cloudhsmv2.CreateClusterInput{
				HsmType:   aws.String("$hsmType"),
				SubnetIds: []string{"$subnet1", "$subnet2"},
			})
			return err
		}},
		{"cloudhsmv2-CreateHsm", func() error {
			_, err := hc.CreateHsm(ctx, &cloudhsmv2.CreateHsmInput{
				ClusterId:        aws.String("$cluster"),
				AvailabilityZone: aws.String("$az"),
			})
			return err
		}},
		{"cloudhsmv2-InitializeCluster", func() error {
			_, err := hc.InitializeCluster(ctx, &cloudhsmv2.InitializeClusterInput{
				ClusterId:   aws.String("$cluster"),
				SignedCert:  aws.String("$cert"),
				TrustAnchor: aws.String("$anchor"),
			})
			return err
		}},
		{"cloudhsmv2-DescribeClusters", func() error {
			_, err := hc.DescribeClusters(ctx, &cloudhsmv2.DescribeClustersInput{
				Filters: map[string][]string{"clusterIds": {"$cluster"}},
			})
			return err
		}},
	}

	var names []string
	for _, c := range calls {
		names = append(names, c.name+".json")
		if err := c.call(); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		reqs := capture.take()
		if len(reqs) != 1 {
			t.Errorf("%s: the SDK sent %d requests, want 1", c.name, len(reqs))
			continue
		}
		want, err := goldenRequest(reqs[0])
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		path := filepath.Join(sdkRequestsDir, c.name+".json")
		if *update {
			if err := os.MkdirAll(sdkRequestsDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (go test -run TestSDKRequests -update writes it)", c.name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the SDK now sends\n%s\nbut %s says\n%s\n(go test -run TestSDKRequests -update rewrites it)", c.name, want, path, got)
		}
	}

	// Every golden file is one of these calls: no stale ones.
	entries, err := os.ReadDir(sdkRequestsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(names, e.Name()) {
			if *update && strings.HasSuffix(e.Name(), ".json") {
				os.Remove(filepath.Join(sdkRequestsDir, e.Name()))
				continue
			}
			t.Errorf("%s/%s is not a request this test makes", sdkRequestsDir, e.Name())
		}
	}
}

// goldenRequest is the golden file's content for r: the target and the
// body as the SDK ordered its members, indented.
func goldenRequest(r capturedRequest) ([]byte, error) {
	if !json.Valid(r.body) {
		return nil, fmt.Errorf("the SDK sent a body that is not JSON: %q", r.body)
	}
	out, err := json.Marshal(struct {
		Target string          `json:"target"`
		Body   json.RawMessage `json:"body"`
	}{r.target, r.body})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, out, "", "  "); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
