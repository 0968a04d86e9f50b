package engine

import (
	"errors"
	"time"

	"keystorelab/hsmsim/cloudhsm"
	"keystorelab/hsmsim/wire"
	"keystorelab/hsmsim/xks"
)

// operations is the dispatch table: every target the engine serves.
func (e *Engine) operations() map[string]op {
	ops := map[string]op{
		"TrentService.CreateCustomKeyStore":     {e.createCustomKeyStore, true},
		"TrentService.DescribeCustomKeyStores":  {e.describeCustomKeyStores, false},
		"TrentService.UpdateCustomKeyStore":     {e.updateCustomKeyStore, true},
		"TrentService.DeleteCustomKeyStore":     {e.deleteCustomKeyStore, true},
		"TrentService.ConnectCustomKeyStore":    {e.connectCustomKeyStore, true},
		"TrentService.DisconnectCustomKeyStore": {e.disconnectCustomKeyStore, true},

		"TrentService.CreateKey":            {e.createKey, true},
		"TrentService.DescribeKey":          {e.describeKey, false},
		"TrentService.ListKeys":             {e.listKeys, false},
		"TrentService.EnableKey":            {e.enableKey, true},
		"TrentService.DisableKey":           {e.disableKey, true},
		"TrentService.ScheduleKeyDeletion":  {e.scheduleKeyDeletion, true},
		"TrentService.CancelKeyDeletion":    {e.cancelKeyDeletion, true},
		"TrentService.UpdateKeyDescription": {e.updateKeyDescription, true},
		"TrentService.GetKeyPolicy":         {e.getKeyPolicy, false},
		"TrentService.PutKeyPolicy":         {e.putKeyPolicy, true},
		"TrentService.ListKeyPolicies":      {e.listKeyPolicies, false},
		"TrentService.CreateAlias":          {e.createAlias, true},
		"TrentService.UpdateAlias":          {e.updateAlias, true},
		"TrentService.DeleteAlias":          {e.deleteAlias, true},
		"TrentService.ListAliases":          {e.listAliases, false},
		"TrentService.TagResource":          {e.tagResource, true},
		"TrentService.UntagResource":        {e.untagResource, true},
		"TrentService.ListResourceTags":     {e.listResourceTags, false},

		// The data plane (see DataPlane): these change only metrics, the
		// request quota and the random stream, so they do not move the
		// generation.
		"TrentService.Encrypt":                         {e.encrypt, false},
		"TrentService.Decrypt":                         {e.decrypt, false},
		"TrentService.ReEncrypt":                       {e.reEncrypt, false},
		"TrentService.GenerateDataKey":                 {e.generateDataKey(true), false},
		"TrentService.GenerateDataKeyWithoutPlaintext": {e.generateDataKey(false), false},
		"TrentService.GenerateRandom":                  {e.generateRandom, false},

		"Simulator.InspectCiphertext": {e.simInspectCiphertext, false},
		"Simulator.GetMetricData":     {e.simGetMetricData, false},
		"Simulator.ListMetrics":       {e.simListMetrics, false},
		"Simulator.ListKeyDeletions":  {e.simListKeyDeletions, false},

		"Simulator.AdvanceClock":       {e.simAdvanceClock, true},
		"Simulator.SetClockSpeed":      {e.simSetClockSpeed, true},
		"Simulator.DescribeClock":      {e.simDescribeClock, false},
		"Simulator.ResetSandbox":       {e.simResetSandbox, true},
		"Simulator.ExportSnapshot":     {e.simExportSnapshot, false},
		"Simulator.ImportSnapshot":     {e.simImportSnapshot, true},
		"Simulator.Reseed":             {e.simReseed, true},
		"Simulator.InjectConnectFault": {e.simInjectConnectFault, true},
		"Simulator.XksProxyRequest":    {e.simXksProxyRequest, false},
	}
	for _, name := range []string{"EnableKeyRotation", "DisableKeyRotation", "GetKeyRotationStatus", "RotateKeyOnDemand",
		"ListKeyRotations", "GetParametersForImport", "ImportKeyMaterial", "DeleteImportedKeyMaterial",
		"GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "Sign", "Verify", "GenerateMac", "VerifyMac",
		"GetPublicKey", "DeriveSharedSecret"} {
		ops["TrentService."+name] = op{e.keyOnlyOp(name), false}
	}
	for _, name := range cloudhsm.APIOperations {
		ops["BaldrApiService."+name] = op{e.cloudHSM(name, true), name != "DescribeClusters" && name != "DescribeBackups"}
	}
	for _, name := range cloudhsm.SimulatorOperations() {
		ops["Simulator."+name] = op{e.cloudHSM(name, false), cloudhsm.MutatingSimulatorOperation(name)}
	}
	for _, name := range xks.SimulatorOperations {
		ops["Simulator."+name] = op{func(_ time.Time, body []byte) (any, error) {
			return e.xks.Invoke(e.now, name, body, decode)
		}, xks.MutatingSimulatorOperation(name)}
	}
	return ops
}

// dataPlane lists the targets that change the sandbox without moving its
// generation: the cryptographic operations and the simulated proxies'
// own requests record metrics, count against a store's request quota and
// draw from the random stream.
var dataPlane = map[string]bool{
	"TrentService.Encrypt": true, "TrentService.Decrypt": true, "TrentService.ReEncrypt": true,
	"TrentService.GenerateDataKey": true, "TrentService.GenerateDataKeyWithoutPlaintext": true,
	"TrentService.GenerateRandom": true, "Simulator.XksProxyRequest": true,
}

// DataPlane reports whether target is a data-plane operation: one that may
// change the sandbox (metrics, the request quota, the random stream)
// without moving [Engine.Generation]. Every other call changes the sandbox
// only if it moves the generation, so a host that keeps a journal records
// a call when the generation moved or DataPlane(target) is true, and can
// skip every other call.
func DataPlane(target string) bool { return dataPlane[target] }

// cloudHSM forwards an operation to the CloudHSM simulator. CloudHSM v2's
// errors name their message member "Message".
func (e *Engine) cloudHSM(name string, api bool) func(time.Time, []byte) (any, error) {
	return func(_ time.Time, body []byte) (any, error) {
		out, err := e.hsm.Invoke(e.now, name, body, decode)
		var we *wire.Error
		if api && errors.As(err, &we) {
			cp := *we
			cp.CapitalMessage = true
			return nil, &cp
		}
		return out, err
	}
}
