package tests

import (
	"bytes"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// TestSDKKeys drives KMS keys in both kinds of custom key store through the
// AWS SDK for Go v2: CreateKey, the encryption path, the typed errors of an
// Unavailable, Disabled or misconfigured key, and the ListKeys and
// ListAliases paginators.
func TestSDKKeys(t *testing.T) { testSDKKeys(t, sdkStart(t)) }

func testSDKKeys(t *testing.T, s *sdkEnv) {
	ctx := s.ctx
	c := s.clusters(1)[0]
	hsmStore := s.createStore("sdk-keys", c)
	s.connect(hsmStore)

	const endpoint, path = "https://xks.sdk.example.com", "/sdk/kms/xks/v1"
	const accessKey, secret = "SDKXKSACCESSKEYID234567ABC", "sdkSecretKeyThatIsLongEnoughForTheXksProxy123="
	s.sim("CreateXksProxy", map[string]any{"UriEndpoint": endpoint})
	s.sim("PutXksProxyPath", map[string]any{"UriEndpoint": endpoint, "UriPath": path,
		"Credentials": []any{map[string]any{"AccessKeyId": accessKey, "SecretAccessKey": secret}}})
	s.sim("CreateExternalKey", map[string]any{"UriEndpoint": endpoint, "UriPath": path, "KeyId": "ext-1"})
	xs, err := s.kms.CreateCustomKeyStore(ctx, &kms.CreateCustomKeyStoreInput{
		CustomKeyStoreName: aws.String("sdk-xks"), CustomKeyStoreType: types.CustomKeyStoreTypeExternalKeyStore,
		XksProxyConnectivity: types.XksProxyConnectivityTypePublicEndpoint,
		XksProxyUriEndpoint:  aws.String(endpoint), XksProxyUriPath: aws.String(path),
		XksProxyAuthenticationCredential: &types.XksProxyAuthenticationCredentialType{
			AccessKeyId: aws.String(accessKey), RawSecretAccessKey: aws.String(secret)}})
	if err != nil {
		t.Fatalf("CreateCustomKeyStore EXTERNAL_KEY_STORE: %v", err)
	}
	xksStore := aws.ToString(xs.CustomKeyStoreId)
	s.connect(xksStore)
	s.advance(1200)
	s.wantState(hsmStore, types.ConnectionStateTypeConnected, "")
	s.wantState(xksStore, types.ConnectionStateTypeConnected, "")

	hk, err := s.kms.CreateKey(ctx, &kms.CreateKeyInput{Origin: types.OriginTypeAwsCloudhsm, CustomKeyStoreId: aws.String(hsmStore)})
	if err != nil {
		t.Fatalf("CreateKey AWS_CLOUDHSM: %v", err)
	}
	if m := hk.KeyMetadata; m.Origin != types.OriginTypeAwsCloudhsm || aws.ToString(m.CloudHsmClusterId) != c.ID ||
		aws.ToString(m.CustomKeyStoreId) != hsmStore || m.KeyState != types.KeyStateEnabled || !m.Enabled || m.CreationDate == nil {
		t.Fatalf("CloudHSM key metadata: %+v", m)
	}
	xk, err := s.kms.CreateKey(ctx, &kms.CreateKeyInput{Origin: types.OriginTypeExternalKeyStore,
		CustomKeyStoreId: aws.String(xksStore), XksKeyId: aws.String("ext-1"), Description: aws.String("sdk")})
	if err != nil {
		t.Fatalf("CreateKey EXTERNAL_KEY_STORE: %v", err)
	}
	if m := xk.KeyMetadata; m.XksKeyConfiguration == nil || aws.ToString(m.XksKeyConfiguration.Id) != "ext-1" {
		t.Fatalf("XKS key metadata: %+v", m)
	}
	_, err = s.kms.CreateKey(ctx, &kms.CreateKeyInput{Origin: types.OriginTypeExternalKeyStore,
		CustomKeyStoreId: aws.String(xksStore), XksKeyId: aws.String("ext-1")})
	sdkWant[*types.XksKeyAlreadyInUseException](t, "CreateKey with a bound XksKeyId", err)
	_, err = s.kms.CreateKey(ctx, &kms.CreateKeyInput{Origin: types.OriginTypeExternalKeyStore,
		CustomKeyStoreId: aws.String(xksStore), XksKeyId: aws.String("nope")})
	sdkWant[*types.XksKeyNotFoundException](t, "CreateKey with an unknown XksKeyId", err)
	if _, err := s.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/sdk-xks"), TargetKeyId: xk.KeyMetadata.KeyId}); err != nil {
		t.Fatalf("CreateAlias: %v", err)
	}

	ctxMap := map[string]string{"app": "sdk"}
	for _, id := range []string{aws.ToString(hk.KeyMetadata.KeyId), "alias/sdk-xks"} {
		enc, err := s.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("secret"), EncryptionContext: ctxMap})
		if err != nil {
			t.Fatalf("Encrypt %s: %v", id, err)
		}
		dec, err := s.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ctxMap})
		if err != nil || !bytes.Equal(dec.Plaintext, []byte("secret")) || aws.ToString(dec.KeyId) != aws.ToString(enc.KeyId) {
			t.Fatalf("Decrypt %s: %v %+v", id, err, dec)
		}
		_, err = s.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
		sdkWant[*types.InvalidCiphertextException](t, "Decrypt without the encryption context", err)
	}
	dk, err := s.kms.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: xk.KeyMetadata.KeyId, KeySpec: types.DataKeySpecAes256})
	if err != nil || len(dk.Plaintext) != 32 {
		t.Fatalf("GenerateDataKey: %v", err)
	}
	rnd, err := s.kms.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(12), CustomKeyStoreId: aws.String(hsmStore)})
	if err != nil || len(rnd.Plaintext) != 12 {
		t.Fatalf("GenerateRandom: %v", err)
	}
	_, err = s.kms.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(12), CustomKeyStoreId: aws.String(xksStore)})
	sdkWant[*types.UnsupportedOperationException](t, "GenerateRandom in an external key store", err)

	// The proxy throttles: KMSInvalidStateException, and the key stays Enabled.
	s.sim("SetXksProxyFaults", map[string]any{"UriEndpoint": endpoint, "Throttle": true})
	_, err = s.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob})
	sdkWant[*types.KMSInvalidStateException](t, "Decrypt while the proxy throttles", err)
	s.sim("SetXksProxyFaults", map[string]any{"UriEndpoint": endpoint})

	// Disconnected: Unavailable and KMSInvalidStateException; Disabled: DisabledException.
	if _, err := s.kms.DisconnectCustomKeyStore(ctx, &kms.DisconnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(xksStore)}); err != nil {
		t.Fatal(err)
	}
	s.advance(300)
	d, err := s.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: xk.KeyMetadata.KeyId})
	if err != nil || d.KeyMetadata.KeyState != types.KeyStateUnavailable || d.KeyMetadata.Enabled {
		t.Fatalf("DescribeKey after disconnect: %v %+v", err, d)
	}
	_, err = s.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob})
	sdkWant[*types.KMSInvalidStateException](t, "Decrypt with an Unavailable key", err)
	_, err = s.kms.CreateKey(ctx, &kms.CreateKeyInput{Origin: types.OriginTypeExternalKeyStore,
		CustomKeyStoreId: aws.String(xksStore), XksKeyId: aws.String("ext-2")})
	sdkWant[*types.CustomKeyStoreInvalidStateException](t, "CreateKey in a disconnected store", err)
	_, err = s.kms.DeleteCustomKeyStore(ctx, &kms.DeleteCustomKeyStoreInput{CustomKeyStoreId: aws.String(xksStore)})
	sdkWant[*types.CustomKeyStoreHasCMKsException](t, "DeleteCustomKeyStore with keys", err)
	s.connect(xksStore)
	s.advance(300)
	dec, err := s.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob})
	if err != nil || !bytes.Equal(dec.Plaintext, dk.Plaintext) {
		t.Fatalf("Decrypt after reconnecting: %v", err)
	}
	if _, err := s.kms.DisableKey(ctx, &kms.DisableKeyInput{KeyId: xk.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = s.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: xk.KeyMetadata.KeyId, Plaintext: []byte("x")})
	sdkWant[*types.DisabledException](t, "Encrypt with a Disabled key", err)
	_, err = s.kms.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: hk.KeyMetadata.KeyId})
	sdkWant[*types.UnsupportedOperationException](t, "EnableKeyRotation on a CloudHSM key", err)
	_, err = s.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/none")})
	sdkWant[*types.NotFoundException](t, "DescribeKey of an unknown alias", err)
	sched, err := s.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: hk.KeyMetadata.KeyId, PendingWindowInDays: aws.Int32(7)})
	if err != nil || sched.KeyState != types.KeyStatePendingDeletion || sched.DeletionDate == nil {
		t.Fatalf("ScheduleKeyDeletion: %v %+v", err, sched)
	}

	// Paginators end.
	for i := 0; i < 3; i++ {
		if _, err := s.kms.CreateKey(ctx, &kms.CreateKeyInput{}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for p := kms.NewListKeysPaginator(s.kms, &kms.ListKeysInput{Limit: aws.Int32(2)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListKeys: %v", err)
		}
		n += len(page.Keys)
	}
	if n != 5 {
		t.Fatalf("ListKeys paginator saw %d keys, want 5", n)
	}
	al := 0
	for p := kms.NewListAliasesPaginator(s.kms, &kms.ListAliasesInput{Limit: aws.Int32(1)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListAliases: %v", err)
		}
		al += len(page.Aliases)
	}
	if al != 1 {
		t.Fatalf("ListAliases saw %d aliases, want 1", al)
	}
}
