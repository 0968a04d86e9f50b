package engine

// Key states, with AWS's spelling. A key in a custom key store can be in
// only these four: Creating, Updating, PendingImport and
// PendingReplicaDeletion belong to multi-Region and imported keys, which a
// custom key store cannot hold.
const (
	KeyEnabled         = "Enabled"
	KeyDisabled        = "Disabled"
	KeyPendingDeletion = "PendingDeletion"
	KeyUnavailable     = "Unavailable"
)

// KeyStates lists the key states Keystore Lab's keys can be in, in the
// column order of [KeyStateRules].
var KeyStates = []string{KeyEnabled, KeyDisabled, KeyPendingDeletion, KeyUnavailable}

// verdict is one cell of the key state table: what an operation does to a
// key in a state.
type verdict uint8

const (
	runs               verdict = iota // the operation runs
	disabledFailure                   // DisabledException: <key ARN> is disabled.
	pendingDeletion                   // KMSInvalidStateException: <key ARN> is pending deletion.
	notPendingDeletion                // KMSInvalidStateException: <key ARN> is not pending deletion.
	unavailable                       // KMSInvalidStateException: <key ARN> is unavailable.
)

// keyStateRules is AWS's "Key states of KMS keys" table for the operations
// Keystore Lab serves, with columns in [KeyStates] order (Enabled,
// Disabled, PendingDeletion, Unavailable). It is the only place the rules
// live; every key operation asks [checkKeyState]. Where the table allows
// DisabledException or KMSInvalidStateException for a key pending
// deletion, KMSInvalidStateException is used.
//
// EnableKey and DisableKey succeed on an Unavailable key but change only
// the key's intended state, which shows when its store is connected again
// (footnote 12). A key pending deletion stays PendingDeletion while its
// store is disconnected, so its deletion can be cancelled (footnote 13).
var keyStateRules = map[string][4]verdict{
	"Encrypt":                         {runs, disabledFailure, pendingDeletion, unavailable},
	"Decrypt":                         {runs, disabledFailure, pendingDeletion, unavailable},
	"ReEncrypt":                       {runs, disabledFailure, pendingDeletion, unavailable},
	"GenerateDataKey":                 {runs, disabledFailure, pendingDeletion, unavailable},
	"GenerateDataKeyWithoutPlaintext": {runs, disabledFailure, pendingDeletion, unavailable},
	// Sign, Verify, GenerateMac and VerifyMac share a row; on a symmetric
	// encryption key they then fail with InvalidKeyUsageException.
	"Sign":                 {runs, disabledFailure, pendingDeletion, unavailable},
	"CancelKeyDeletion":    {notPendingDeletion, notPendingDeletion, runs, notPendingDeletion},
	"CreateAlias":          {runs, runs, pendingDeletion, runs},
	"UpdateAlias":          {runs, runs, pendingDeletion, runs},
	"EnableKey":            {runs, runs, pendingDeletion, runs},
	"DisableKey":           {runs, runs, pendingDeletion, runs},
	"ScheduleKeyDeletion":  {runs, runs, pendingDeletion, runs},
	"TagResource":          {runs, runs, pendingDeletion, runs},
	"UntagResource":        {runs, runs, pendingDeletion, runs},
	"UpdateKeyDescription": {runs, runs, pendingDeletion, runs},
	"DeleteAlias":          {runs, runs, runs, runs},
	"DescribeKey":          {runs, runs, runs, runs},
	"GetKeyPolicy":         {runs, runs, runs, runs},
	"PutKeyPolicy":         {runs, runs, runs, runs},
	"ListKeyPolicies":      {runs, runs, runs, runs},
	"ListResourceTags":     {runs, runs, runs, runs},
}

func stateColumn(state string) int {
	switch state {
	case KeyEnabled:
		return 0
	case KeyDisabled:
		return 1
	case KeyPendingDeletion:
		return 2
	default:
		return 3
	}
}

// checkKeyState applies the key state table to an operation on k.
func (e *Engine) checkKeyState(op string, k *kmsKey) error {
	row, found := keyStateRules[op]
	if !found {
		panic("engine: no key state rule for " + op)
	}
	switch row[stateColumn(e.keyState(k))] {
	case disabledFailure:
		return exception("DisabledException", "%s is disabled.", e.keyARN(k.ID))
	case pendingDeletion:
		return exception("KMSInvalidStateException", "%s is pending deletion.", e.keyARN(k.ID))
	case notPendingDeletion:
		return exception("KMSInvalidStateException", "%s is not pending deletion.", e.keyARN(k.ID))
	case unavailable:
		return exception("KMSInvalidStateException", "%s is unavailable.", e.keyARN(k.ID))
	}
	return nil
}

// KeyStateRules renders the key state table for documentation and tests:
// operation -> one entry per state in [KeyStates] order, "OK" or the
// exception the operation fails with.
func KeyStateRules() map[string][]string {
	names := map[verdict]string{runs: "OK", disabledFailure: "DisabledException",
		pendingDeletion: "KMSInvalidStateException", notPendingDeletion: "KMSInvalidStateException",
		unavailable: "KMSInvalidStateException"}
	out := map[string][]string{}
	for op, row := range keyStateRules {
		for _, v := range row {
			out[op] = append(out[op], names[v])
		}
	}
	return out
}
