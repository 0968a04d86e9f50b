package cloudhsm

import (
	"cmp"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"keystorelab/hsmsim/wire"
)

// Key is a key object on a cluster's HSMs (synced to every HSM, kept in
// backups). KMS keys in a CloudHSM key store are backed by one each: a
// non-extractable AES-256 key owned by kmsuser and labelled with the KMS
// key ARN.
type Key struct {
	Handle   uint64    `json:"handle"`
	Label    string    `json:"label"`
	Owner    string    `json:"owner"`    // the crypto user that owns it
	Material []byte    `json:"material"` // 32 bytes, AES-256; never returned by any API or simulator op
	Created  time.Time `json:"created"`

	aead cipher.AEAD // built from Material on first use; not saved
}

// What can go wrong when KMS uses key material in a cluster.
var (
	ErrNotLoggedIn   = errors.New("cloudhsm: KMS is not logged in to the cluster")
	ErrKeyNotFound   = errors.New("cloudhsm: no key with that handle")
	ErrDecryptFailed = errors.New("cloudhsm: decryption failed")
	errNegativeSize  = errors.New("cloudhsm: negative number of random bytes")
)

// firstHandle is the first key handle of a cluster: CloudHSM key
// references look like 0x0000000000200001.
const firstHandle = 0x200001

const (
	gcmIVSize  = 12
	gcmTagSize = 16
)

// copyKeys copies key objects for a backup or a cluster restored from
// one. Material is never changed in place, so it can be shared.
func copyKeys(keys []*Key) []*Key {
	if len(keys) == 0 {
		return nil
	}
	out := make([]*Key, len(keys))
	for i, k := range keys {
		cp := *k
		cp.aead = nil
		out[i] = &cp
	}
	return out
}

func (c *Cluster) key(handle uint64) *Key {
	// Handles are allocated in increasing order and keys are appended, so
	// Keys is sorted by handle: search it. A snapshot edited by hand might
	// not be, so a miss is confirmed by a scan.
	i, found := slices.BinarySearchFunc(c.Keys, handle, func(k *Key, h uint64) int { return cmp.Compare(k.Handle, h) })
	if found {
		return c.Keys[i]
	}
	for _, k := range c.Keys {
		if k.Handle == handle {
			return k
		}
	}
	return nil
}

func (c *Cluster) removeKey(k *Key) {
	for i, x := range c.Keys {
		if x == k {
			c.Keys = append(c.Keys[:i:i], c.Keys[i+1:]...)
			return
		}
	}
}

// newHandle allocates the next key handle of c; handles are never reused
// in a cluster.
func (c *Cluster) newHandle() uint64 {
	c.NextHandle = max(c.NextHandle+1, firstHandle)
	return c.NextHandle
}

// kmsCluster finds the cluster KMS talks to for key store storeID, with
// the checks every KMS key operation makes, in order: the cluster exists,
// has an ACTIVE HSM, and KMS holds a kmsuser session for this store.
func (s *Sim) kmsCluster(clusterID, storeID string) (*Cluster, error) {
	c := s.cluster(clusterID)
	if c == nil || c.State == StateDeleted || c.State == StateDeleteInProgress {
		return nil, ErrClusterNotFound
	}
	active := false
	for _, h := range c.HSMs {
		if h.State == HsmActive {
			active = true
			break
		}
	}
	if !active {
		return nil, ErrNoActiveHSM
	}
	u := c.user(KMSUser)
	if u == nil || storeID == "" || u.KMSSession != storeID {
		return nil, ErrNotLoggedIn
	}
	return c, nil
}

// kmsKey is kmsCluster plus the key with handle, which must be owned by
// kmsuser.
func (s *Sim) kmsKey(clusterID, storeID string, handle uint64) (*Key, error) {
	c, err := s.kmsCluster(clusterID, storeID)
	if err != nil {
		return nil, err
	}
	k := c.key(handle)
	if k == nil || k.Owner != KMSUser {
		return nil, ErrKeyNotFound
	}
	return k, nil
}

func (k *Key) gcm() (cipher.AEAD, error) {
	if k.aead != nil {
		return k.aead, nil
	}
	b, err := aes.NewCipher(k.Material)
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	k.aead = g
	return g, nil
}

// GenerateKMSKey does what KMS does for CreateKey in a CloudHSM key store:
// logged in as kmsuser for storeID, it generates a non-extractable
// AES-256 key owned by kmsuser, labelled label (the KMS key ARN), and
// returns its handle.
func (s *Sim) GenerateKMSKey(now time.Time, clusterID, storeID, label string) (handle uint64, err error) {
	c, err := s.kmsCluster(clusterID, storeID)
	if err != nil {
		return 0, err
	}
	material := make([]byte, 32)
	_, _ = s.rng.Read(material)
	k := &Key{Handle: c.newHandle(), Label: label, Owner: KMSUser, Material: material, Created: now}
	c.Keys = append(c.Keys, k)
	return k.Handle, nil
}

// EncryptKMS encrypts plaintext under a kmsuser key with AES-256-GCM and
// a fresh 12-byte IV, binding aad. It returns the IV and the ciphertext
// followed by the 16-byte tag.
func (s *Sim) EncryptKMS(now time.Time, clusterID, storeID string, handle uint64, plaintext, aad []byte) (iv, sealed []byte, err error) {
	k, err := s.kmsKey(clusterID, storeID, handle)
	if err != nil {
		return nil, nil, err
	}
	g, err := k.gcm()
	if err != nil {
		return nil, nil, ErrKeyNotFound // material that is not an AES-256 key: only a hand-edited snapshot
	}
	buf := make([]byte, gcmIVSize+len(plaintext)+gcmTagSize)
	iv = buf[:gcmIVSize:gcmIVSize]
	copy(iv, wire.SyntheticIV(s.rng, aad, plaintext))
	sealed = g.Seal(buf[gcmIVSize:gcmIVSize], iv, plaintext, aad)
	return iv, sealed, nil
}

// DecryptKMS reverses EncryptKMS. Any IV, ciphertext, tag or aad that does
// not authenticate gives ErrDecryptFailed.
func (s *Sim) DecryptKMS(now time.Time, clusterID, storeID string, handle uint64, iv, sealed, aad []byte) ([]byte, error) {
	k, err := s.kmsKey(clusterID, storeID, handle)
	if err != nil {
		return nil, err
	}
	if len(iv) != gcmIVSize || len(sealed) < gcmTagSize {
		return nil, ErrDecryptFailed
	}
	g, err := k.gcm()
	if err != nil {
		return nil, ErrDecryptFailed
	}
	plain, err := g.Open(make([]byte, 0, len(sealed)-gcmTagSize), iv, sealed, aad)
	if err != nil {
		return nil, ErrDecryptFailed
	}
	return plain, nil
}

// DeleteKMSKey deletes a kmsuser key's material, as KMS tries once to do
// when a KMS key's waiting period ends. If it fails (KMS is not logged in
// because the store is disconnected, say) the key is left orphaned in the
// cluster. Backups are not touched.
func (s *Sim) DeleteKMSKey(now time.Time, clusterID, storeID string, handle uint64) error {
	c, err := s.kmsCluster(clusterID, storeID)
	if err != nil {
		return err
	}
	k := c.key(handle)
	if k == nil || k.Owner != KMSUser {
		return ErrKeyNotFound
	}
	c.removeKey(k)
	return nil
}

// GenerateRandomKMS returns n random bytes from the cluster's HSMs, for
// KMS GenerateRandom with a CustomKeyStoreId.
func (s *Sim) GenerateRandomKMS(now time.Time, clusterID, storeID string, n int) ([]byte, error) {
	if _, err := s.kmsCluster(clusterID, storeID); err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, errNegativeSize
	}
	b := make([]byte, n)
	_, _ = s.rng.Read(b)
	return b, nil
}

// keyReference formats a handle as the CloudHSM CLI shows it.
func keyReference(h uint64) string { return fmt.Sprintf("0x%016x", h) }

var keyReferencePattern = wire.Pattern(`0x[0-9a-fA-F]{1,16}`)

type hsmKeyInput struct {
	ClusterId    *string
	Username     *string
	KeyReference *string
}

func (s *Sim) hsmKeyInput(body []byte, decode func([]byte, any) error, needKey bool) (hsmKeyInput, error) {
	var in hsmKeyInput
	if err := decode(body, &in); err != nil {
		return in, err
	}
	var v wire.Validator
	v.Required("clusterId", in.ClusterId != nil)
	v.String("clusterId", in.ClusterId, 0, 1<<20, clusterIDPattern, false)
	if needKey {
		v.Required("username", in.Username != nil)
		v.Required("keyReference", in.KeyReference != nil)
	}
	v.String("username", in.Username, 1, 31, passwordUsernamePattern, false)
	v.String("keyReference", in.KeyReference, 3, 18, keyReferencePattern, false)
	return in, v.Err()
}

// simListHsmKeys is the CloudHSM CLI's "key list": the key objects in a
// cluster, optionally only those a user owns. It never shows material.
func (s *Sim) simListHsmKeys(now time.Time, body []byte, decode func([]byte, any) error) (any, error) {
	in, err := s.hsmKeyInput(body, decode, false)
	if err != nil {
		return nil, err
	}
	c, err := s.activeCluster(in.ClusterId)
	if err != nil {
		return nil, err
	}
	type keyView struct {
		KeyReference string
		Label        string
		Owner        string
		KeyType      string
		Class        string
		Size         int
		Extractable  bool
	}
	out := struct{ Keys []keyView }{Keys: []keyView{}}
	for _, k := range c.Keys {
		if in.Username != nil && k.Owner != *in.Username {
			continue
		}
		out.Keys = append(out.Keys, keyView{KeyReference: keyReference(k.Handle), Label: k.Label, Owner: k.Owner,
			KeyType: "aes", Class: "secret-key", Size: 8 * len(k.Material)})
	}
	return out, nil
}

// simDeleteHsmKey is a crypto user logged in with the CloudHSM CLI running
// "key delete --filter attr.key-reference=…": the user must be logged in
// (KMS's own session does not count) and own the key.
func (s *Sim) simDeleteHsmKey(now time.Time, body []byte, decode func([]byte, any) error) (any, error) {
	in, err := s.hsmKeyInput(body, decode, true)
	if err != nil {
		return nil, err
	}
	handle, err := strconv.ParseUint((*in.KeyReference)[2:], 16, 64)
	if err != nil { // the pattern allows only 1-16 hex digits, so this cannot happen
		return nil, invalidRequest("Invalid key reference %s", *in.KeyReference)
	}
	c, u, err := s.lookupUser(clusterUserInput{ClusterId: in.ClusterId, Username: in.Username})
	if err != nil {
		return nil, err
	}
	if !u.LoggedIn {
		if u.KMSSession != "" {
			return nil, heldByKMS(u)
		}
		return nil, invalidRequest("User %s is not logged in; log in with LoginCryptoUser first", u.Username)
	}
	k := c.key(handle)
	if k == nil {
		return nil, notFound("No key with reference %s in cluster %s", keyReference(handle), c.ID)
	}
	if k.Owner != u.Username {
		return nil, invalidRequest("Key %s is owned by %s; only its owner can delete it", keyReference(handle), k.Owner)
	}
	c.removeKey(k)
	return map[string]any{"KeyReference": keyReference(handle), "Deleted": true}, nil
}
