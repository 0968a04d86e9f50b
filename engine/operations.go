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

		"Simulator.AdvanceClock":       {e.simAdvanceClock, true},
		"Simulator.SetClockSpeed":      {e.simSetClockSpeed, true},
		"Simulator.DescribeClock":      {e.simDescribeClock, false},
		"Simulator.ResetSandbox":       {e.simResetSandbox, true},
		"Simulator.ExportSnapshot":     {e.simExportSnapshot, false},
		"Simulator.ImportSnapshot":     {e.simImportSnapshot, true},
		"Simulator.InjectConnectFault": {e.simInjectConnectFault, true},
		"Simulator.XksProxyRequest":    {e.simXksProxyRequest, true},
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
