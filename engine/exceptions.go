package engine

import (
	"fmt"
	"strings"

	"keystorelab/hsmsim/wire"
)

// exception returns a KMS exception with its HTTP status: 409 for the key
// state conflicts, 500 for KMS's own faults, 400 for everything else.
func exception(typ, format string, args ...any) error {
	status := 400
	switch typ {
	case "KMSInvalidStateException", "DisabledException", "AlreadyExistsException", "ConflictException":
		status = 409
	case "KMSInternalException", "KeyUnavailableException":
		status = 500
	case "DependencyTimeoutException":
		status = 503
	case "DryRunOperationException":
		status = 412
	}
	return &wire.Error{Type: typ, Status: status, Message: fmt.Sprintf(format, args...)}
}

func unknownOperation(target string) error {
	service, opName, _ := strings.Cut(target, ".")
	if service == "TrentService" && kmsOperations[opName] {
		return exception("UnsupportedOperationException",
			"Keystore Lab does not implement %s yet. It implements custom key stores, symmetric encryption keys and their aliases, tags and key policies; see the README.", opName)
	}
	if target == "" {
		return exception("UnknownOperationException", "The request has no X-Amz-Target header.")
	}
	return exception("UnknownOperationException", "Operation %s is not recognized.", target)
}

// kmsOperations are every operation of the KMS API (service/kms v1.62.4),
// so that a real operation Keystore Lab does not serve yet is told apart
// from a misspelt one.
var kmsOperations = map[string]bool{}

func init() {
	for _, op := range strings.Fields(`CancelKeyDeletion ConnectCustomKeyStore CreateAlias CreateCustomKeyStore
		CreateGrant CreateKey Decapsulate Decrypt DeleteAlias DeleteCustomKeyStore DeleteImportedKeyMaterial
		DeriveSharedSecret DescribeCustomKeyStores DescribeKey DisableKey DisableKeyRotation
		DisconnectCustomKeyStore EnableKey EnableKeyRotation Encapsulate Encrypt GenerateDataKey
		GenerateDataKeyPair GenerateDataKeyPairWithoutPlaintext GenerateDataKeyWithoutPlaintext GenerateMac
		GenerateRandom GetKeyLastUsage GetKeyPolicy GetKeyRotationStatus GetParametersForImport GetPublicKey
		ImportKeyMaterial ListAliases ListGrants ListKeyPolicies ListKeyRotations ListKeys ListResourceTags
		ListRetirableGrants PutKeyPolicy ReEncrypt ReplicateKey RetireGrant RevokeGrant RotateKeyOnDemand
		ScheduleKeyDeletion Sign TagResource UntagResource UpdateAlias UpdateCustomKeyStore
		UpdateKeyDescription UpdatePrimaryRegion Verify VerifyMac`) {
		kmsOperations[op] = true
	}
}
