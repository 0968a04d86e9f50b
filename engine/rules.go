package engine

import "strings"

// storeAction is something that can be done to a custom key store whose
// permission depends on its connection state.
type storeAction string

// The actions of the connection-state rule table.
const (
	actConnect        storeAction = "ConnectCustomKeyStore"
	actDisconnect     storeAction = "DisconnectCustomKeyStore"
	actRename         storeAction = "UpdateCustomKeyStore(NewCustomKeyStoreName)"
	actUpdatePassword storeAction = "UpdateCustomKeyStore(KeyStorePassword)"
	actUpdateCluster  storeAction = "UpdateCustomKeyStore(CloudHsmClusterId)"
	actDelete         storeAction = "DeleteCustomKeyStore"
	actDescribe       storeAction = "DescribeCustomKeyStores"

	actXksPath         storeAction = "UpdateCustomKeyStore(XksProxyUriPath)"
	actXksCredential   storeAction = "UpdateCustomKeyStore(XksProxyAuthenticationCredential)"
	actXksConnectivity storeAction = "UpdateCustomKeyStore(XksProxyConnectivity)"
	actXksEndpoint     storeAction = "UpdateCustomKeyStore(XksProxyUriEndpoint)"
	actXksVpcService   storeAction = "UpdateCustomKeyStore(XksProxyVpcEndpointServiceName)"
	actXksVpcOwner     storeAction = "UpdateCustomKeyStore(XksProxyVpcEndpointServiceOwner)"
)

// anyState is every connection state.
var anyState = map[ConnectionState]bool{Connected: true, Connecting: true, Disconnected: true, Disconnecting: true, Failed: true}

// allowed is AWS's rule table: which connection states permit which
// action. A state missing from an action's set gets
// CustomKeyStoreInvalidStateException. Connect in CONNECTING or CONNECTED
// is allowed and changes nothing.
var allowed = map[storeAction]map[ConnectionState]bool{
	actConnect:        {Disconnected: true, Connecting: true, Connected: true},
	actDisconnect:     {Connected: true, Connecting: true, Failed: true},
	actRename:         anyState,
	actUpdatePassword: {Disconnected: true},
	actUpdateCluster:  {Disconnected: true},
	actDelete:         {Disconnected: true},
	actDescribe:       anyState,

	actXksPath:         anyState,
	actXksCredential:   anyState,
	actXksConnectivity: {Disconnected: true},
	actXksEndpoint:     {Disconnected: true},
	actXksVpcService:   {Disconnected: true},
	actXksVpcOwner:     {Disconnected: true},
}

// invalidStateMessages explain a refusal, per action, the way the
// CustomKeyStoreInvalidStateException documentation does.
var invalidStateMessages = map[storeAction]string{
	actConnect:        "Custom key store %s is %s. You cannot connect a custom key store that is DISCONNECTING or FAILED; to retry a FAILED connection, disconnect the custom key store first.",
	actDisconnect:     "Custom key store %s is %s. You can disconnect only a custom key store that is CONNECTED, CONNECTING or FAILED.",
	actUpdatePassword: "Custom key store %s is %s. You can change the KeyStorePassword only while the custom key store is DISCONNECTED.",
	actUpdateCluster:  "Custom key store %s is %s. You can change the CloudHsmClusterId only while the custom key store is DISCONNECTED.",
	actDelete:         "Custom key store %s is %s. You can delete a custom key store only while it is DISCONNECTED.",

	actXksConnectivity: "Custom key store %s is %s. You can change the XksProxyConnectivity only while the external key store is DISCONNECTED.",
	actXksEndpoint:     "Custom key store %s is %s. You can change the XksProxyUriEndpoint only while the external key store is DISCONNECTED.",
	actXksVpcService:   "Custom key store %s is %s. You can change the XksProxyVpcEndpointServiceName only while the external key store is DISCONNECTED.",
	actXksVpcOwner:     "Custom key store %s is %s. You can change the XksProxyVpcEndpointServiceOwner only while the external key store is DISCONNECTED.",
}

// check returns CustomKeyStoreInvalidStateException if ks's state does not
// permit act.
func check(act storeAction, ks *keyStore) error {
	if allowed[act][ks.State] {
		return nil
	}
	return exception("CustomKeyStoreInvalidStateException", invalidStateMessages[act], ks.ID, ks.State)
}

// StoreActionRules returns AWS's connection-state rules as plain data, for
// documentation and consoles that render them (which states allow Connect,
// Disconnect, each editable field, Delete). Keys are the API operation,
// with the field for UpdateCustomKeyStore
// ("UpdateCustomKeyStore.KeyStorePassword"); values list the connection
// states that allow it, in [ConnectionStates] order.
func StoreActionRules() map[string][]string {
	out := map[string][]string{}
	for act, states := range allowed {
		name := string(act)
		if open := strings.IndexByte(name, '('); open >= 0 {
			name = name[:open] + "." + strings.TrimSuffix(name[open+1:], ")")
		}
		list := []string{}
		for _, st := range ConnectionStates {
			if states[st] {
				list = append(list, string(st))
			}
		}
		out[name] = list
	}
	return out
}
