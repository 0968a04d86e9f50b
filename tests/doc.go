// Package tests holds Keystore Lab's cross-cutting tests: golden scenarios
// replayed natively and through engine.wasm under wazero, and benchmarks of
// both. It has no code of its own outside _test.go files.
//
//	go test ./tests                                  # every scenario, native and wasm
//	go test ./tests -run TestScenarios -update       # rewrite the res sections from the native run
//	go test ./tests -run '^$' -bench .               # benchmarks
//	KEYSTORELAB_WASM=build/engine.wasm go test ./tests   # test a prebuilt module
package tests
