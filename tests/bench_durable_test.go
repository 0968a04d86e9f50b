package tests

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"keystorelab/engine"
	"keystorelab/web/server"
)

// BenchmarkDurableWrite measures a mutating call (UpdateKeyDescription,
// recorded in the journal and fsynced before it is answered) through the
// local server's Server.Call, with 10 and with 10,000 keys in the sandbox:
// the journal makes the cost of a save independent of the sandbox's size.
// "full-snapshot" is what every mutating call cost before the journal: a
// snapshot written to a temporary file, fsynced and renamed.
func BenchmarkDurableWrite(b *testing.B) {
	opener := server.Opener{
		Restore: func(snap []byte, now time.Time) (server.Backend, error) {
			e, err := engine.Restore(snap, now)
			if err != nil {
				return nil, err
			}
			return server.Native(e), nil
		},
	}
	for _, n := range []int{10, 10000} {
		e := engine.New(engine.Config{Seed: [32]byte{3}, HostSeeded: true}, time.Now())
		var key string
		for i := range n {
			_, resp := e.Handle(time.Now(), "TrentService.CreateKey", fmt.Appendf(nil, `{"Description":"key %d"}`, i))
			key = string(resp[len(`{"KeyMetadata":{"AWSAccountId":"111122223333","Arn":"arn:aws:kms:us-east-1:111122223333:key/`):][:36])
		}
		body := []byte(`{"KeyId":"` + key + `","Description":"changed"}`)
		b.Run(fmt.Sprintf("keys=%d/journal", n), func(b *testing.B) {
			d := server.NewDurable(filepath.Join(b.TempDir(), "state.json"), opener)
			if err := d.Replace(server.Native(e), time.Now()); err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			benchServerCalls(b, server.New(server.Config{Backend: server.Native(e), Durable: d}), body)
		})
		b.Run(fmt.Sprintf("keys=%d/memory", n), func(b *testing.B) {
			benchServerCalls(b, server.New(server.Config{Backend: server.Native(e)}), body)
		})
		b.Run(fmt.Sprintf("keys=%d/full-snapshot", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "state.json")
			cpu := processCPU()
			for b.Loop() {
				if status, resp := e.Handle(time.Now(), "TrentService.UpdateKeyDescription", body); status != 200 {
					b.Fatalf("%d %s", status, resp)
				}
				if err := server.SaveState(path, e.Snapshot()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// benchServerCalls makes UpdateKeyDescription calls with body through s
// and reports the process's CPU time a call.
func benchServerCalls(b *testing.B, s *server.Server, body []byte) {
	cpu := processCPU()
	for b.Loop() {
		if status, resp := s.Call("TrentService.UpdateKeyDescription", body); status != 200 {
			b.Fatalf("%d %s", status, resp)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
}
