// Package e2e holds ebb's end-to-end tests (build tag e2e): one real local
// cluster (package e2e/cluster) is started in TestMain and shared by every
// test; each test works in its own namespace and runs ebb as a real process
// with a namespace-scoped identity (package e2e/harness).
//
// Run with `make e2e` (builds ebb, sets EBB_BIN, runs
// `go test -tags e2e ./e2e/...`).
package e2e
