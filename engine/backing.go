package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"keystorelab/hsmsim/cloudhsm"
	"keystorelab/hsmsim/xks"
)

// This file is what KMS does with a custom key store key's backing key:
// the key material in a CloudHSM cluster, or the external key behind an
// XKS proxy.

func handleRef(h uint64) string { return fmt.Sprintf("0x%016x", h) }

// generateHSMKey creates a CloudHSM key's material: the cluster needs two
// active HSMs in different Availability Zones, and KMS, logged in as
// kmsuser, generates a non-extractable AES-256 key labelled with the key's
// ARN.
func (e *Engine) generateHSMKey(ks *keyStore, k *kmsKey) error {
	c, ok := e.hsm.Cluster(ks.ClusterID)
	if !ok {
		return exception("CustomKeyStoreInvalidStateException",
			"AWS KMS cannot communicate with the AWS CloudHSM cluster %s of custom key store %s: the cluster was not found.", ks.ClusterID, ks.ID)
	}
	if c.ActiveHSMs < 2 || c.ActiveHSMAZs < 2 {
		return exception("CloudHsmClusterInvalidConfigurationException",
			"The AWS CloudHSM cluster %s does not meet the configuration requirements for creating a KMS key: it must contain at least two active HSMs, each in a different Availability Zone.", c.ID)
	}
	h, err := e.hsm.GenerateKMSKey(e.now, ks.ClusterID, ks.ID, e.keyARN(k.ID))
	if err != nil {
		return exception("CustomKeyStoreInvalidStateException",
			"AWS KMS cannot create key material in the AWS CloudHSM cluster %s of custom key store %s: %s.", ks.ClusterID, ks.ID, hsmProblem(err))
	}
	k.StoreID, k.ClusterID, k.Handle = ks.ID, ks.ClusterID, h
	return nil
}

// deleteHSMKey is KMS's one try at deleting a deleted key's material.
func (e *Engine) deleteHSMKey(k *kmsKey, at time.Time) error {
	ks := e.store(k.StoreID)
	if ks == nil {
		return errors.New("the custom key store no longer exists")
	}
	if ks.State != Connected {
		return errors.New("the custom key store is " + string(ks.State) + ", so AWS KMS is not logged in to the cluster")
	}
	if err := e.hsm.DeleteKMSKey(at, k.ClusterID, ks.ID, k.Handle); err != nil {
		return errors.New(hsmProblem(err))
	}
	return nil
}

func hsmProblem(err error) string {
	switch {
	case errors.Is(err, cloudhsm.ErrClusterNotFound):
		return "the cluster was not found"
	case errors.Is(err, cloudhsm.ErrNoActiveHSM):
		return "the cluster has no active HSM"
	case errors.Is(err, cloudhsm.ErrNotLoggedIn):
		return "AWS KMS is not logged in to the cluster as kmsuser"
	case errors.Is(err, cloudhsm.ErrKeyNotFound):
		return "the key material is not in the cluster; it might have been deleted"
	}
	return err.Error()
}

// hsmCryptoError maps a cluster failure during a cryptographic operation:
// KMSInvalidStateException for every cluster problem, and
// InvalidCiphertextException when the cluster's decryption fails.
func (e *Engine) hsmCryptoError(k *kmsKey, ks *keyStore, err error) error {
	if errors.Is(err, cloudhsm.ErrDecryptFailed) {
		return invalidCiphertext()
	}
	subject := "custom key store " + ks.ID
	if k != nil {
		subject = e.keyARN(k.ID)
		if errors.Is(err, cloudhsm.ErrKeyNotFound) {
			return exception("KMSInvalidStateException",
				"%s is unusable: its key material (key handle %s) is not in the AWS CloudHSM cluster %s. It might have been deleted.", subject, handleRef(k.Handle), ks.ClusterID)
		}
	}
	return exception("KMSInvalidStateException", "%s is unusable: AWS KMS cannot communicate with your AWS CloudHSM cluster %s (%s).", subject, ks.ClusterID, hsmProblem(err))
}

// bindExternalKey checks an XksKeyId for CreateKey: unique in its store,
// and, through the proxy's GetKeyMetadata, an enabled AES-256 key that can
// encrypt and decrypt.
func (e *Engine) bindExternalKey(ks *keyStore, xksKeyID string) error {
	if other, used := e.xksKeyIDs[xksKeyUse{ks.ID, xksKeyID}]; used {
		return exception("XksKeyAlreadyInUseException",
			"The external key %s is already associated with KMS key %s in custom key store %s.", xksKeyID, e.keyARN(other), ks.ID)
	}
	out, body := e.xksCall(ks, "/keys/"+xksKeyID+"/metadata", "CreateKey", nil)
	switch out {
	case outOK:
	case "KeyNotFoundException":
		return exception("XksKeyNotFoundException", "The external key store proxy for custom key store %s cannot find the external key %s.", ks.ID, xksKeyID)
	case "InvalidStateException", "InvalidKeyUsageException":
		return exception("XksKeyInvalidConfigurationException", "The external key %s cannot back a KMS key: the proxy answered %s.", xksKeyID, out)
	default:
		return exception("CustomKeyStoreInvalidStateException",
			"AWS KMS cannot get the metadata of external key %s from the external key store proxy of custom key store %s (%s).", xksKeyID, ks.ID, describeOutcome(out))
	}
	var m struct {
		KeySpec   *string  `json:"keySpec"`
		KeyUsage  []string `json:"keyUsage"`
		KeyStatus *string  `json:"keyStatus"`
	}
	if json.Unmarshal(body, &m) != nil || m.KeySpec == nil || m.KeyStatus == nil {
		return exception("CustomKeyStoreInvalidStateException",
			"AWS KMS cannot interpret the response from the external key store proxy of custom key store %s to GetKeyMetadata.", ks.ID)
	}
	bad := func(field, value, want string) error {
		return exception("XksKeyInvalidConfigurationException",
			"The external key %s has %s %s; it must be %s.", xksKeyID, field, value, want)
	}
	switch {
	case *m.KeySpec != "AES_256":
		return bad("keySpec", *m.KeySpec, "AES_256")
	case !slices.Contains(m.KeyUsage, "ENCRYPT") || !slices.Contains(m.KeyUsage, "DECRYPT"):
		return bad("keyUsage", fmt.Sprint(m.KeyUsage), "a list that includes ENCRYPT and DECRYPT")
	case *m.KeyStatus != "ENABLED":
		return bad("keyStatus", *m.KeyStatus, "ENABLED")
	}
	return nil
}

// kmsHealthCheck is KMS's periodic probe of a connected external key store:
// GetHealthStatus, and the metrics it feeds.
func (e *Engine) kmsHealthCheck(ks *keyStore) {
	out, body := e.xksCall(ks, "/health", "KmsHealthCheck", nil)
	if out == outOK {
		var h struct {
			EkmFleetDetails []struct{ HealthStatus string }
		}
		if json.Unmarshal(body, &h) == nil {
			count := map[string]int{}
			for _, d := range h.EkmFleetDetails {
				count[d.HealthStatus]++
			}
			for _, s := range []struct{ wire, metric string }{{xks.Active, "Active"}, {xks.Degraded, "Degraded"}, {xks.Unavailable, "Unavailable"}} {
				e.metrics.record(e.now, MetricXksExternalKeyManagerStates,
					dims{CustomKeyStoreId: ks.ID, XksExternalKeyManagerState: s.metric}, float64(count[s.wire]))
			}
		}
	}
	age := math.Floor(e.now.Sub(ks.XKS.CredentialSet).Hours() / 24)
	e.metrics.record(e.now, MetricXksProxyCredentialAge, dims{CustomKeyStoreId: ks.ID}, age)
	if p := e.xks.Host(ks.XKS.host()); p != nil && !p.CertificateNotAfter.IsZero() {
		days := math.Floor(p.CertificateNotAfter.Sub(e.now).Hours() / 24)
		e.metrics.record(e.now, MetricXksProxyCertificateDaysToExpire,
			dims{CustomKeyStoreId: ks.ID, CertificateName: p.Host}, days)
	}
}

// keyOnlyOp is an operation Keystore Lab answers for any key but does not
// carry out: rotation, imported key material, asymmetric data key pairs
// and signing. Custom key store keys are refused as AWS refuses them.
func (e *Engine) keyOnlyOp(op string) func(time.Time, []byte) (any, error) {
	return func(_ time.Time, body []byte) (any, error) {
		var in keyIDInput
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		k, err := e.findKey("keyId", in.KeyId, op != "EnableKeyRotation" && op != "DisableKeyRotation" &&
			op != "GetKeyRotationStatus" && op != "RotateKeyOnDemand" && op != "ListKeyRotations" &&
			op != "GetParametersForImport" && op != "ImportKeyMaterial" && op != "DeleteImportedKeyMaterial")
		if err != nil {
			return nil, err
		}
		arn := e.keyARN(k.ID)
		switch op {
		case "GetPublicKey":
			return nil, exception("UnsupportedOperationException", "%s is a symmetric encryption key; GetPublicKey needs an asymmetric KMS key.", arn)
		case "Sign", "Verify", "GenerateMac", "VerifyMac", "DeriveSharedSecret":
			if err := e.checkKeyState("Sign", k); err != nil {
				return nil, err
			}
			return nil, exception("InvalidKeyUsageException", "%s key usage is ENCRYPT_DECRYPT which is not valid for %s.", arn, op)
		case "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext":
			if k.StoreID != "" {
				return nil, exception("UnsupportedOperationException", "%s is in a custom key store; %s is not supported for KMS keys in custom key stores.", arn, op)
			}
		default: // rotation and import
			if k.StoreID != "" {
				return nil, exception("UnsupportedOperationException", "%s origin is %s which is not valid for this operation.", arn, k.Origin)
			}
			if op == "GetParametersForImport" || op == "ImportKeyMaterial" || op == "DeleteImportedKeyMaterial" {
				return nil, exception("UnsupportedOperationException", "%s origin is %s which is not valid for this operation.", arn, k.Origin)
			}
		}
		return nil, exception("UnsupportedOperationException", "Keystore Lab does not implement %s for AWS_KMS keys yet; see the README.", op)
	}
}

// keyDeletions lists the latest key deletions, with what happened to a
// CloudHSM key's material (SUCCESS, or FAILURE and an orphaned key).
func (e *Engine) simListKeyDeletions(_ time.Time, body []byte) (any, error) {
	var in struct{}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	out := slices.Clone(e.st.Deletions)
	if out == nil {
		out = []keyDeletion{}
	}
	return map[string]any{"KeyDeletions": out}, nil
}
