package engine

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"keystorelab/tests/scenario"
)

// exceptionNames are the error types the engine may answer with.
var exceptionNames = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`ValidationException SerializationException UnknownOperationException
		UnsupportedOperationException CustomKeyStoreNotFoundException CustomKeyStoreNameInUseException
		CustomKeyStoreInvalidStateException CloudHsmClusterInUseException CloudHsmClusterNotFoundException
		CloudHsmClusterNotActiveException CloudHsmClusterInvalidConfigurationException CloudHsmClusterNotRelatedException
		IncorrectTrustAnchorException LimitExceededException InvalidMarkerException
		CloudHsmInvalidRequestException CloudHsmResourceNotFoundException CloudHsmResourceLimitExceededException
		DependencyViolation ResourceNotFoundException XksProxyUriInUseException XksProxyUriEndpointInUseException
		XksProxyUriUnreachableException XksProxyIncorrectAuthenticationCredentialException
		XksProxyInvalidConfigurationException XksProxyInvalidResponseException XksProxyVpcEndpointServiceInUseException
		XksProxyVpcEndpointServiceNotFoundException`) {
		exceptionNames[n] = true
	}
}

// FuzzHandle sends arbitrary targets and bodies to a sandbox that already
// holds a cluster and a key store. Whatever comes in, the engine answers
// with JSON: 200, or a 4xx with a known exception; never a panic (a 500)
// and never a state that no longer snapshots and restores.
func FuzzHandle(f *testing.F) {
	files, _ := filepath.Glob("testdata/scenarios/*.txtar")
	for _, file := range files {
		arch, err := scenario.Load(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range arch.Files {
			if fields := strings.Fields(file.Name); len(fields) >= 2 && fields[0] == "req" {
				f.Add(fields[1], string(file.Data))
			}
		}
	}
	s := newSandbox(f)
	base := func() []byte {
		cluster, anchor := s.cluster([]string{"subnet-0a000001", "subnet-0a000002"}, "us-east-1a", "us-east-1b")
		ks := s.store("fuzz", cluster, anchor)
		s.ok("TrentService.ConnectCustomKeyStore", map[string]any{"CustomKeyStoreId": ks})
		return s.e.Snapshot()
	}()
	f.Fuzz(func(t *testing.T, target, body string) {
		e, err := Restore(base, t0)
		if err != nil {
			t.Fatal(err)
		}
		status, out := e.Handle(t0, target, []byte(body))
		if !json.Valid(out) {
			t.Fatalf("%s %q: response is not JSON: %q", target, body, out)
		}
		if status != 200 {
			var m map[string]string
			_ = json.Unmarshal(out, &m)
			if status >= 500 || !exceptionNames[m["__type"]] {
				t.Fatalf("%s %q: %d %s", target, body, status, out)
			}
		}
		if _, err := Restore(e.Snapshot(), t0); err != nil {
			t.Fatalf("%s %q: state no longer restores: %v", target, body, err)
		}
	})
}
