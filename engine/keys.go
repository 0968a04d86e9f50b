package engine

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"keystorelab/hsmsim/wire"
)

// Key origins.
const (
	OriginAWSKMS   = "AWS_KMS"
	OriginExternal = "EXTERNAL"
	OriginCloudHSM = "AWS_CLOUDHSM"
	OriginXKS      = "EXTERNAL_KEY_STORE"
)

// kmsKey is a KMS key. Its KeyState is never stored: it is derived from
// Enabled (the state its owner asked for), DeletionDate and, for a key in
// a custom key store, the store's connection state (see [Engine.keyState]).
type kmsKey struct {
	ID          string    `json:"id"`
	Created     time.Time `json:"created"`
	Description string    `json:"description"`
	Origin      string    `json:"origin"`
	Enabled     bool      `json:"enabled"`
	// DeletionDate is when a key pending deletion is deleted; zero otherwise.
	DeletionDate  time.Time `json:"deletionDate,omitzero"`
	PendingWindow int       `json:"pendingWindowInDays,omitempty"`
	// StoreID is the custom key store; ClusterID the CloudHSM cluster the
	// key material was generated in; XksKeyID the external key.
	StoreID   string `json:"customKeyStoreId,omitempty"`
	ClusterID string `json:"cloudHsmClusterId,omitempty"`
	XksKeyID  string `json:"xksKeyId,omitempty"`
	// Material is the KMS-side key material (AWS_KMS keys, and the inner
	// layer of external key store keys). CloudHSM keys keep theirs in the
	// cluster, under Handle.
	Material []byte `json:"material,omitempty"`
	Handle   uint64 `json:"keyHandle,omitempty"`
	Policy   string `json:"policy"`
	Tags     []tag  `json:"tags,omitempty"`
	Seq      int64  `json:"seq"`

	aead cipher.AEAD // Material's AES-GCM, built on first use
}

type tag struct {
	TagKey   string
	TagValue string
}

// gcm returns the AES-256-GCM of the key's KMS-side material.
func (k *kmsKey) gcm() cipher.AEAD {
	if k.aead == nil {
		block, err := aes.NewCipher(k.Material)
		if err != nil {
			panic("engine: key " + k.ID + " has bad material")
		}
		k.aead, _ = cipher.NewGCM(block)
	}
	return k.aead
}

// alias is a KMS alias.
type alias struct {
	Name    string    `json:"name"`
	KeyID   string    `json:"keyId"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

const maxKeyDescription = 8192

// defaultKeyPolicy is the key policy KMS gives a key created without one,
// formatted as GetKeyPolicy returns it.
func defaultKeyPolicy(account string) string {
	return `{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::` + account + `:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`
}

func (e *Engine) keyARN(id string) string {
	return "arn:aws:kms:" + e.st.Region + ":" + e.st.AccountID + ":key/" + id
}

func (e *Engine) aliasARN(name string) string {
	return "arn:aws:kms:" + e.st.Region + ":" + e.st.AccountID + ":" + name
}

// keyState derives a key's KeyState.
func (e *Engine) keyState(k *kmsKey) string {
	switch {
	case !k.DeletionDate.IsZero():
		return KeyPendingDeletion
	case k.StoreID != "" && !e.storeConnected(k.StoreID):
		return KeyUnavailable
	case k.Enabled:
		return KeyEnabled
	default:
		return KeyDisabled
	}
}

func (e *Engine) storeConnected(id string) bool {
	ks := e.store(id)
	return ks != nil && ks.State == Connected
}

// keyMetadata is KeyMetadata as DescribeKey and CreateKey return it.
type keyMetadata struct {
	AWSAccountId                string
	Arn                         string
	CloudHsmClusterId           string `json:",omitempty"`
	CreationDate                wire.Timestamp
	CustomKeyStoreId            string `json:",omitempty"`
	CustomerMasterKeySpec       string
	DeletionDate                *wire.Timestamp `json:",omitempty"`
	Description                 string
	Enabled                     bool
	EncryptionAlgorithms        []string
	KeyId                       string
	KeyManager                  string
	KeySpec                     string
	KeyState                    string
	KeyUsage                    string
	MultiRegion                 bool
	Origin                      string
	PendingDeletionWindowInDays int                  `json:",omitempty"`
	XksKeyConfiguration         *struct{ Id string } `json:",omitempty"`
}

func (e *Engine) metadata(k *kmsKey) keyMetadata {
	state := e.keyState(k)
	m := keyMetadata{AWSAccountId: e.st.AccountID, Arn: e.keyARN(k.ID), CloudHsmClusterId: k.ClusterID,
		CreationDate: wire.Timestamp(k.Created), CustomKeyStoreId: k.StoreID,
		CustomerMasterKeySpec: "SYMMETRIC_DEFAULT", Description: k.Description, Enabled: state == KeyEnabled,
		EncryptionAlgorithms: []string{"SYMMETRIC_DEFAULT"}, KeyId: k.ID, KeyManager: "CUSTOMER",
		KeySpec: "SYMMETRIC_DEFAULT", KeyState: state, KeyUsage: "ENCRYPT_DECRYPT", Origin: k.Origin}
	if state == KeyPendingDeletion {
		d := wire.Timestamp(k.DeletionDate)
		m.DeletionDate = &d
		m.PendingDeletionWindowInDays = k.PendingWindow
	}
	if k.XksKeyID != "" {
		m.XksKeyConfiguration = &struct{ Id string }{k.XksKeyID}
	}
	return m
}

// newKeyID draws a key ID in the UUID form AWS uses.
func (e *Engine) newKeyID() string {
	h := e.hex(32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + string("89ab"[e.rng.Uint64()%4]) + h[17:20] + "-" + h[20:]
}

// addKey stores a new key.
func (e *Engine) addKey(k *kmsKey) {
	e.st.Seq++
	k.Seq = e.st.Seq
	e.st.Keys = append(e.st.Keys, k)
	e.keys[k.ID] = k
}

// removeKey deletes a key and the aliases that point to it.
func (e *Engine) removeKey(k *kmsKey) {
	delete(e.keys, k.ID)
	e.st.Keys = slices.DeleteFunc(e.st.Keys, func(x *kmsKey) bool { return x == k })
	e.st.Aliases = slices.DeleteFunc(e.st.Aliases, func(a *alias) bool { return a.KeyID == k.ID })
	if k.XksKeyID != "" {
		delete(e.xksKeyIDs, xksKeyUse{k.StoreID, k.XksKeyID})
	}
}

// indexKeys rebuilds the lookup maps after a restore.
func (e *Engine) indexKeys() {
	e.keys = make(map[string]*kmsKey, len(e.st.Keys))
	e.xksKeyIDs = map[xksKeyUse]string{}
	for _, k := range e.st.Keys {
		e.keys[k.ID] = k
		if k.XksKeyID != "" {
			e.xksKeyIDs[xksKeyUse{k.StoreID, k.XksKeyID}] = k.ID
		}
	}
}

// xksKeyUse is an external key as bound to a store: XksKeyId is unique
// within its external key store.
type xksKeyUse struct{ store, xksKeyID string }

var (
	aliasPattern   = wire.Pattern(`^[a-zA-Z0-9:/_-]+$`)
	xksKeyIDFormat = wire.Pattern(`^[a-zA-Z0-9-_.]+$`)
)

// findKey resolves a KeyId member: a key ID or key ARN, and, when
// aliases is true, an alias name or alias ARN too.
func (e *Engine) findKey(member string, id *string, aliases bool) (*kmsKey, error) {
	var v wire.Validator
	v.Required(member, id != nil)
	v.String(member, id, 1, 2048, nil, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	s := *id
	arnPrefix := "arn:aws:kms:" + e.st.Region + ":" + e.st.AccountID + ":"
	bare := strings.TrimPrefix(s, arnPrefix)
	if strings.HasPrefix(bare, "alias/") {
		if !aliases {
			return nil, exception("NotFoundException", "Invalid keyId %s", s)
		}
		a := e.aliasNamed(bare)
		if a == nil {
			return nil, exception("NotFoundException", "Alias %s is not found.", e.aliasARN(bare))
		}
		return e.keys[a.KeyID], nil
	}
	bare = strings.TrimPrefix(bare, "key/")
	if bare == s && strings.HasPrefix(s, "arn:") || !isKeyID(bare) {
		if strings.HasPrefix(s, "arn:") {
			return nil, exception("NotFoundException", "Key '%s' does not exist", s)
		}
		return nil, exception("NotFoundException", "Invalid keyId %s", s)
	}
	k := e.keys[bare]
	if k == nil {
		return nil, exception("NotFoundException", "Key '%s' does not exist", e.keyARN(bare))
	}
	return k, nil
}

// isKeyID reports whether s has the form of a key ID: a UUID in lower case.
func isKeyID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

func (e *Engine) aliasNamed(name string) *alias {
	for _, a := range e.st.Aliases {
		if a.Name == name {
			return a
		}
	}
	return nil
}

type createKeyInput struct {
	Policy                         *string
	Description                    *string
	KeyUsage                       *string
	CustomerMasterKeySpec          *string
	KeySpec                        *string
	Origin                         *string
	CustomKeyStoreId               *string
	BypassPolicyLockoutSafetyCheck *bool
	Tags                           []tagInput
	MultiRegion                    *bool
	XksKeyId                       *string
}

type tagInput struct {
	TagKey   *string
	TagValue *string
}

var (
	keyUsages = []string{"SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"}
	keySpecs  = []string{"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
		"ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512", "SM2",
		"ML_DSA_44", "ML_DSA_65", "ML_DSA_87", "ECC_NIST_EDWARDS25519"}
	origins = []string{OriginAWSKMS, OriginExternal, OriginCloudHSM, OriginXKS}
)

// createKey is TrentService.CreateKey for symmetric encryption keys: in
// AWS KMS's own key store (Origin AWS_KMS), in an AWS CloudHSM key store
// (key material generated in the cluster as kmsuser) and in an external key
// store (bound to an external key the proxy vouches for).
func (e *Engine) createKey(_ time.Time, body []byte) (any, error) {
	var in createKeyInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	v.String("policy", in.Policy, 1, 131072, nil, false)
	v.String("description", in.Description, 0, maxKeyDescription, nil, false)
	v.Enum("keyUsage", in.KeyUsage, keyUsages...)
	v.Enum("customerMasterKeySpec", in.CustomerMasterKeySpec, keySpecs...)
	v.Enum("keySpec", in.KeySpec, keySpecs...)
	v.Enum("origin", in.Origin, origins...)
	v.String("customKeyStoreId", in.CustomKeyStoreId, 1, 64, nil, false)
	v.String("xksKeyId", in.XksKeyId, 1, 128, xksKeyIDFormat, false)
	validateTags(&v, in.Tags)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	origin := OriginAWSKMS
	if in.Origin != nil {
		origin = *in.Origin
	}
	policy := defaultKeyPolicy(e.st.AccountID)
	if in.Policy != nil {
		if err := checkPolicy(*in.Policy); err != nil {
			return nil, err
		}
		policy = *in.Policy
	}
	if err := e.checkKeyShape(in, origin); err != nil {
		return nil, err
	}
	k := &kmsKey{Created: e.now, Origin: origin, Enabled: true, Policy: policy}
	if in.Description != nil {
		k.Description = *in.Description
	}
	for _, t := range in.Tags {
		k.Tags = append(k.Tags, tag{*t.TagKey, *t.TagValue})
	}
	switch origin {
	case OriginAWSKMS:
		k.ID = e.newKeyID()
		k.Material = e.random(32)
	case OriginCloudHSM:
		ks, err := e.customStore(in.CustomKeyStoreId, TypeCloudHSM, origin)
		if err != nil {
			return nil, err
		}
		k.ID = e.newKeyID()
		if err := e.generateHSMKey(ks, k); err != nil {
			return nil, err
		}
	case OriginXKS:
		ks, err := e.customStore(in.CustomKeyStoreId, TypeExternal, origin)
		if err != nil {
			return nil, err
		}
		if err := e.bindExternalKey(ks, *in.XksKeyId); err != nil {
			return nil, err
		}
		k.ID = e.newKeyID()
		k.StoreID, k.XksKeyID = ks.ID, *in.XksKeyId
		k.Material = e.random(32)
		e.xksKeyIDs[xksKeyUse{ks.ID, k.XksKeyID}] = k.ID
	}
	e.addKey(k)
	return map[string]any{"KeyMetadata": e.metadata(k)}, nil
}

// checkKeyShape refuses the key specs, usages, origins and parameter
// combinations Keystore Lab does not create, the way KMS refuses them in a
// custom key store.
func (e *Engine) checkKeyShape(in createKeyInput, origin string) error {
	spec := "SYMMETRIC_DEFAULT"
	if in.KeySpec != nil {
		spec = *in.KeySpec
	} else if in.CustomerMasterKeySpec != nil {
		spec = *in.CustomerMasterKeySpec
	}
	if in.KeySpec != nil && in.CustomerMasterKeySpec != nil {
		return exception("ValidationException", "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.")
	}
	usage := "ENCRYPT_DECRYPT"
	if in.KeyUsage != nil {
		usage = *in.KeyUsage
	}
	custom := origin == OriginCloudHSM || origin == OriginXKS
	multi := in.MultiRegion != nil && *in.MultiRegion
	switch {
	case custom && in.CustomKeyStoreId == nil:
		return exception("UnsupportedOperationException", "A KMS key with Origin %s must be created in a custom key store. Specify its CustomKeyStoreId.", origin)
	case !custom && in.CustomKeyStoreId != nil:
		return exception("UnsupportedOperationException", "To create a KMS key in a custom key store, set Origin to AWS_CLOUDHSM (AWS CloudHSM key store) or EXTERNAL_KEY_STORE (external key store), not %s.", origin)
	case origin == OriginXKS && in.XksKeyId == nil:
		return exception("ValidationException", "XksKeyId is required when Origin is EXTERNAL_KEY_STORE.")
	case origin != OriginXKS && in.XksKeyId != nil:
		return exception("ValidationException", "XksKeyId is valid only when Origin is EXTERNAL_KEY_STORE.")
	case custom && (spec != "SYMMETRIC_DEFAULT" || usage != "ENCRYPT_DECRYPT"):
		return exception("UnsupportedOperationException", "KMS keys in a custom key store must be symmetric encryption keys (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT); %s with %s is not supported.", spec, usage)
	case custom && multi:
		return exception("UnsupportedOperationException", "Multi-Region keys cannot be created in a custom key store.")
	case spec != "SYMMETRIC_DEFAULT" || usage != "ENCRYPT_DECRYPT":
		return exception("UnsupportedOperationException", "Keystore Lab creates symmetric encryption keys only (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT); %s with %s is not implemented.", spec, usage)
	case origin == OriginExternal:
		return exception("UnsupportedOperationException", "Keystore Lab does not implement keys with imported key material (Origin EXTERNAL).")
	case multi:
		return exception("UnsupportedOperationException", "Keystore Lab does not implement multi-Region keys.")
	}
	return nil
}

// customStore finds the store a CreateKey names and checks that it can take
// a key of this origin now.
func (e *Engine) customStore(id *string, storeType, origin string) (*keyStore, error) {
	ks := e.store(*id)
	if ks == nil {
		return nil, storeNotFound(*id)
	}
	if ks.Type != storeType {
		return nil, exception("UnsupportedOperationException",
			"Custom key store %s is of type %s; a KMS key with Origin %s needs a custom key store of type %s.", ks.ID, ks.Type, origin, storeType)
	}
	if ks.State != Connected {
		return nil, exception("CustomKeyStoreInvalidStateException",
			"AWS KMS cannot create a KMS key in custom key store %s because its connection state is %s. Connect the custom key store and try again.", ks.ID, ks.State)
	}
	return ks, nil
}

var tagKeyPattern = wire.Pattern(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`)

func validateTags(v *wire.Validator, tags []tagInput) {
	for i, t := range tags {
		m := "tags." + strconv.Itoa(i+1) + ".member."
		v.Required(m+"tagKey", t.TagKey != nil)
		v.String(m+"tagKey", t.TagKey, 1, 128, nil, false)
		v.Required(m+"tagValue", t.TagValue != nil)
		v.String(m+"tagValue", t.TagValue, 0, 256, nil, false)
	}
}

// checkTags applies TagException's rules: no aws: prefix, no duplicate
// keys in one request, at most 50 tags.
func checkTags(tags []tagInput) error {
	seen := map[string]bool{}
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(*t.TagKey), "aws:") {
			return exception("TagException", "Tag keys cannot start with aws: (%s).", *t.TagKey)
		}
		if seen[*t.TagKey] {
			return exception("TagException", "Duplicate tag key %s in the request.", *t.TagKey)
		}
		seen[*t.TagKey] = true
	}
	if len(tags) > 50 {
		return exception("TagException", "A KMS key can have at most 50 tags.")
	}
	return nil
}

// checkPolicy accepts a key policy that is a JSON object with a Statement.
func checkPolicy(p string) error {
	var doc map[string]json.RawMessage
	if json.Unmarshal([]byte(p), &doc) != nil {
		return exception("MalformedPolicyDocumentException", "The key policy is not valid JSON.")
	}
	if _, ok := doc["Statement"]; !ok {
		return exception("MalformedPolicyDocumentException", "The key policy has no Statement.")
	}
	return nil
}

type keyIDInput struct {
	KeyId *string
}

// describeKey is TrentService.DescribeKey.
func (e *Engine) describeKey(_ time.Time, body []byte) (any, error) {
	var in keyIDInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	k, err := e.findKey("keyId", in.KeyId, true)
	if err != nil {
		return nil, err
	}
	return map[string]any{"KeyMetadata": e.metadata(k)}, nil
}

// keyOp is the shape of the simple key operations: find the key (never by
// alias), apply the key state table, run.
func (e *Engine) keyOp(op string, body []byte, run func(k *kmsKey) (any, error)) (any, error) {
	var in keyIDInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	k, err := e.findKey("keyId", in.KeyId, false)
	if err != nil {
		return nil, err
	}
	if err := e.checkKeyState(op, k); err != nil {
		return nil, err
	}
	return run(k)
}

// enableKey and disableKey set the state the owner wants. On an Unavailable
// key they succeed, and the state shows when the store is connected again.
func (e *Engine) enableKey(_ time.Time, body []byte) (any, error) {
	return e.keyOp("EnableKey", body, func(k *kmsKey) (any, error) {
		k.Enabled = true
		return struct{}{}, nil
	})
}

func (e *Engine) disableKey(_ time.Time, body []byte) (any, error) {
	return e.keyOp("DisableKey", body, func(k *kmsKey) (any, error) {
		k.Enabled = false
		return struct{}{}, nil
	})
}

type scheduleInput struct {
	KeyId               *string
	PendingWindowInDays *int64
}

// scheduleKeyDeletion is TrentService.ScheduleKeyDeletion: the key is
// PendingDeletion for 7 to 30 days (30 by default) of virtual time, then
// deleted (see [Engine.deleteKeyNow]).
func (e *Engine) scheduleKeyDeletion(_ time.Time, body []byte) (any, error) {
	var in scheduleInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	v.Int("pendingWindowInDays", in.PendingWindowInDays, 1, 365)
	if err := v.Err(); err != nil {
		return nil, err
	}
	k, err := e.findKey("keyId", in.KeyId, false)
	if err != nil {
		return nil, err
	}
	if err := e.checkKeyState("ScheduleKeyDeletion", k); err != nil {
		return nil, err
	}
	days := int64(30)
	if in.PendingWindowInDays != nil {
		days = *in.PendingWindowInDays
	}
	if days < 7 || days > 30 {
		return nil, exception("ValidationException", "PendingWindowInDays must be between 7 and 30.")
	}
	k.PendingWindow = int(days)
	k.DeletionDate = e.now.Add(time.Duration(days) * 24 * time.Hour)
	e.st.PendingDeletion = append(e.st.PendingDeletion, k.ID)
	return map[string]any{"KeyId": e.keyARN(k.ID), "DeletionDate": wire.Timestamp(k.DeletionDate),
		"KeyState": KeyPendingDeletion, "PendingWindowInDays": days}, nil
}

// cancelKeyDeletion is TrentService.CancelKeyDeletion: the key comes back
// Disabled (Unavailable while its store is disconnected).
func (e *Engine) cancelKeyDeletion(_ time.Time, body []byte) (any, error) {
	return e.keyOp("CancelKeyDeletion", body, func(k *kmsKey) (any, error) {
		k.DeletionDate, k.PendingWindow, k.Enabled = time.Time{}, 0, false
		e.st.PendingDeletion = slices.DeleteFunc(e.st.PendingDeletion, func(id string) bool { return id == k.ID })
		return map[string]string{"KeyId": e.keyARN(k.ID)}, nil
	})
}

// deleteKeyNow ends a key's deletion window: the key and its aliases are
// gone. For a CloudHSM key KMS tries once to delete the key material in the
// cluster; if it cannot (the store is disconnected, the cluster is gone),
// the material is left orphaned, as the deletion record says.
func (e *Engine) deleteKeyNow(k *kmsKey, at time.Time) {
	rec := keyDeletion{KeyID: k.ID, Arn: e.keyARN(k.ID), DeletedAt: at, Origin: k.Origin, CustomKeyStoreID: k.StoreID}
	if k.Origin == OriginCloudHSM {
		rec.ClusterID = k.ClusterID
		rec.KeyHandle = handleRef(k.Handle)
		rec.BackingKeysDeletionStatus = "SUCCESS"
		if err := e.deleteHSMKey(k, at); err != nil {
			rec.BackingKeysDeletionStatus = "FAILURE"
			rec.Reason = err.Error()
		}
	}
	e.st.Deletions = append(e.st.Deletions, rec)
	if n := len(e.st.Deletions); n > maxDeletionRecords {
		e.st.Deletions = slices.Clone(e.st.Deletions[n-maxDeletionRecords:])
	}
	e.removeKey(k)
}

const maxDeletionRecords = 100

// keyDeletion records what happened when a key was deleted, like the
// DeleteKey event KMS writes to CloudTrail.
type keyDeletion struct {
	KeyID                     string    `json:"KeyId"`
	Arn                       string    `json:"Arn"`
	DeletedAt                 time.Time `json:"DeletedAt"`
	Origin                    string    `json:"Origin"`
	CustomKeyStoreID          string    `json:"CustomKeyStoreId,omitempty"`
	ClusterID                 string    `json:"ClusterId,omitempty"`
	KeyHandle                 string    `json:"KeyHandle,omitempty"`
	BackingKeysDeletionStatus string    `json:"BackingKeysDeletionStatus,omitempty"`
	Reason                    string    `json:"Reason,omitempty"`
}

// nextKeyDeletion is the earliest deletion date of a key pending deletion.
func (e *Engine) nextKeyDeletion() (*kmsKey, bool) {
	var first *kmsKey
	for _, id := range e.st.PendingDeletion {
		if k := e.keys[id]; k != nil && (first == nil || k.DeletionDate.Before(first.DeletionDate)) {
			first = k
		}
	}
	return first, first != nil
}

type listInput struct {
	KeyId  *string
	Limit  *int64
	Marker *string
}

// page validates Limit and Marker for the List* operations: markers are
// the position (sequence number) to continue from.
func page(in listInput, kind string) (limit int, after int64, err error) {
	var v wire.Validator
	v.Int("limit", in.Limit, 1, 1000)
	v.String("marker", in.Marker, 1, 1024, markerPattern, false)
	if err := v.Err(); err != nil {
		return 0, 0, err
	}
	limit = 100
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	if in.Marker != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.Marker)
		rest, ok := strings.CutPrefix(string(b), kind+":")
		n, perr := strconv.ParseInt(rest, 10, 64)
		if err != nil || !ok || perr != nil || n < 0 {
			return 0, 0, exception("InvalidMarkerException", "The marker %s is not valid for %s.", *in.Marker, kindOp[kind])
		}
		after = n
	}
	return limit, after, nil
}

var kindOp = map[string]string{"keys": "ListKeys", "aliases": "ListAliases", "tags": "ListResourceTags"}

func nextMarker(kind string, n int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + strconv.FormatInt(n, 10)))
}

// listKeys is TrentService.ListKeys: every key, including keys pending
// deletion, in creation order.
func (e *Engine) listKeys(_ time.Time, body []byte) (any, error) {
	var in listInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, after, err := page(in, "keys")
	if err != nil {
		return nil, err
	}
	start, _ := slices.BinarySearchFunc(e.st.Keys, after+1, func(k *kmsKey, seq int64) int { return int(k.Seq - seq) })
	type entry struct{ KeyArn, KeyId string }
	out := struct {
		Keys       []entry
		NextMarker string `json:",omitempty"`
		Truncated  bool
	}{Keys: []entry{}}
	for i, k := range e.st.Keys[start:] {
		if len(out.Keys) == limit {
			out.Truncated, out.NextMarker = true, nextMarker("keys", e.st.Keys[start+i-1].Seq)
			break
		}
		out.Keys = append(out.Keys, entry{e.keyARN(k.ID), k.ID})
	}
	return out, nil
}

type updateDescriptionInput struct {
	KeyId       *string
	Description *string
}

func (e *Engine) updateKeyDescription(_ time.Time, body []byte) (any, error) {
	var in updateDescriptionInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	v.Required("description", in.Description != nil)
	v.String("description", in.Description, 0, maxKeyDescription, nil, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	k, err := e.findKey("keyId", in.KeyId, false)
	if err != nil {
		return nil, err
	}
	if err := e.checkKeyState("UpdateKeyDescription", k); err != nil {
		return nil, err
	}
	k.Description = *in.Description
	return struct{}{}, nil
}

type policyInput struct {
	KeyId                          *string
	PolicyName                     *string
	Policy                         *string
	BypassPolicyLockoutSafetyCheck *bool
}

func checkPolicyName(v *wire.Validator, name *string, required bool) {
	if required {
		v.Required("policyName", name != nil)
	}
	v.String("policyName", name, 1, 128, wire.Pattern(`^[\w]+$`), false)
}

func (e *Engine) getKeyPolicy(_ time.Time, body []byte) (any, error) {
	var in policyInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	checkPolicyName(&v, in.PolicyName, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	k, err := e.findKey("keyId", in.KeyId, false)
	if err != nil {
		return nil, err
	}
	if in.PolicyName != nil && *in.PolicyName != "default" {
		return nil, exception("NotFoundException", "No such policy exists: %s", *in.PolicyName)
	}
	return map[string]string{"Policy": k.Policy, "PolicyName": "default"}, nil
}

func (e *Engine) putKeyPolicy(_ time.Time, body []byte) (any, error) {
	var in policyInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	checkPolicyName(&v, in.PolicyName, false)
	v.Required("policy", in.Policy != nil)
	v.String("policy", in.Policy, 1, 131072, nil, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	k, err := e.findKey("keyId", in.KeyId, false)
	if err != nil {
		return nil, err
	}
	if in.PolicyName != nil && *in.PolicyName != "default" {
		return nil, exception("NotFoundException", "No such policy exists: %s", *in.PolicyName)
	}
	if err := checkPolicy(*in.Policy); err != nil {
		return nil, err
	}
	k.Policy = *in.Policy
	return struct{}{}, nil
}

func (e *Engine) listKeyPolicies(_ time.Time, body []byte) (any, error) {
	var in listInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if _, _, err := page(listInput{Limit: in.Limit}, "policies"); err != nil {
		return nil, err
	}
	if _, err := e.findKey("keyId", in.KeyId, false); err != nil {
		return nil, err
	}
	return map[string]any{"PolicyNames": []string{"default"}, "Truncated": false}, nil
}
