package content

// A State is one ConnectionState of a custom key store and what it means.
type State struct {
	State   string // the ConnectionState, e.g. "CONNECTED"
	Meaning string // one line
}

// States has every ConnectionState, in the order of
// engine.ConnectionStates.
var States = []State{
	{"CONNECTED", "The key store is connected to its cluster: AWS KMS is logged in as kmsuser, and you can create and use KMS keys in the key store."},
	{"CONNECTING", "AWS KMS is connecting: finding the cluster, creating its network interfaces, logging in as kmsuser and rotating the kmsuser password. This can take up to 20 minutes."},
	{"DISCONNECTED", "The key store has never been connected, or was disconnected on purpose. Its KMS keys are Unavailable. New key stores start here."},
	{"DISCONNECTING", "AWS KMS is logging out of the cluster and removing the network infrastructure it created for the connection."},
	{"FAILED", "The last connection attempt failed, and ConnectionErrorCode says why. Disconnect the key store before you connect it again."},
}

// Meaning returns the one-line meaning of a ConnectionState, or "" for an
// unknown one.
func Meaning(state string) string {
	for _, s := range States {
		if s.State == state {
			return s.Meaning
		}
	}
	return ""
}
