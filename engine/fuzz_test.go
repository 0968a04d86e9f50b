package engine

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
		XksProxyVpcEndpointServiceNotFoundException XksProxyVpcEndpointServiceInvalidConfigurationException
		NotFoundException DisabledException KMSInvalidStateException InvalidCiphertextException IncorrectKeyException
		InvalidKeyUsageException DryRunOperationException ThrottlingException TagException
		MalformedPolicyDocumentException AlreadyExistsException NotAuthorizedException CustomKeyStoreHasCMKsException
		XksKeyNotFoundException XksKeyInvalidConfigurationException XksKeyAlreadyInUseException`) {
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

// FuzzDecrypt feeds arbitrary ciphertext blobs to Decrypt in a sandbox with
// a key of each origin. Only an unchanged blob decrypts; anything else is
// InvalidCiphertextException (or a ValidationException for an empty or
// oversized blob), never a panic. A blob that parses is described byte for
// byte by Simulator.InspectCiphertext.
func FuzzDecrypt(f *testing.F) {
	r := newKeyRig(f)
	valid := map[string]bool{}
	for _, origin := range origins3 {
		b := r.encrypt(r.keys[origin], []byte("fuzz"), nil)
		valid[string(b)] = true
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, blob []byte) {
		r.t = t
		r.e.st.Clock.advance(time.Millisecond) // stay under the store's request quota
		status, m := r.call("TrentService.Decrypt", map[string]any{"CiphertextBlob": blob})
		switch {
		case status == 200 && valid[string(blob)]:
		case status == 400 && (m["__type"] == "InvalidCiphertextException" || m["__type"] == "ValidationException"):
		default:
			t.Fatalf("blob %x: %d %v", blob, status, m)
		}
		if b, err := parseBlob(blob); err == nil {
			end := 0
			for _, fl := range b.fields() {
				if fl.Offset != end {
					t.Fatalf("fields not contiguous: %+v", b.fields())
				}
				end += fl.Length
			}
			if end != len(blob) {
				t.Fatalf("fields cover %d of %d bytes", end, len(blob))
			}
		}
	})
}
