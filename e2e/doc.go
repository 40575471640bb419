// Package e2e holds ebb's end-to-end tests (build tag e2e): one real local
// cluster (package e2e/cluster) is started in TestMain and shared by every
// test; each test works in its own namespace and runs ebb as a real process
// with a namespace-scoped identity (package e2e/harness).
//
// Run with `make e2e` (builds ebb, sets EBB_BIN, runs `go test -tags e2e
// ./e2e`); `make e2e E2E_RUN='TestMine'` runs only TestMine.
//
// # Parallel tests, and the parts that run alone
//
// Every test starts with
//
//	s := setup(t, "my-ns")
//
// which creates the namespace (and waits for its default ServiceAccount),
// records the test's duration for the summary, deletes the namespace when
// the test passes, and runs the test in parallel with the others (at most
// E2E_PARALLEL at a time, default 8). A namespace may be used by one test
// only (a second claim fails the test); a test needing another namespace
// asks for it with s.extraNamespace(t, "my-ns-other"). In parallel a test
// may do anything inside its namespaces: create workloads, drive load,
// start, SIGKILL and restart its own ebb processes (ebbSetup + startEbb),
// register its ebb and load app with Prometheus (each registration is its
// own scrape target, see below). It must not touch what other tests share.
//
// A test that spends minutes waiting on real time and little on the CPU (a
// window of history to record, a period in which nothing may be written)
// starts with setupLongWait(t, ns) instead: the same, but it starts at once
// without a slot, so that the suite's longest tests do not start last.
//
// A test with a fault — it stops or restarts a component
// (s.Env.Cluster.StopComponent / StartComponent: metrics-server,
// Prometheus, kube-apiserver, prometheus-adapter...), runs
// kube-controller-manager's HPA controller (s.StartHPAController) or
// otherwise changes something cluster-wide — starts with
//
//	s := setupOwnCluster(t, "my-ns")
//
// instead: the same as setup, but on a cluster of its own (the shared
// cluster's options, started for the test and stopped when it ends, its
// logs kept when it fails). It runs in parallel with the others like any
// test, and its faults hit nobody else. A cluster costs about 10 s of
// bring-up and one more set of components on the machine, which is why the
// other tests share one.
//
// On the shared cluster, faults are refused (the cluster's fault guard,
// with an error saying to call exclusive) unless the test calls
//
//	s.exclusive(t)
//
// first: it then waits until every other test has ended its parallel part
// and no other test runs alone, and runs alone from there to its end, which
// adds to the suite's duration (the summary's "alone phase"); on an own
// cluster exclusive returns at once. setupFault(t, ns) is setup +
// exclusive at once.
//
// # Prometheus
//
// Prometheus scrapes file_sd targets, one file per registration:
// harness.Env.StartEbb(o, true) adds ebb o.Name to job "ebb" (target label
// ebb_namespace, instance = its metrics address) until Terminate, and
// StartLoadApp adds a load app to job "loadapp" until Close. ebb series
// that carry no namespace label are told apart by instance.
//
// # The HPA controller
//
// The cluster's kube-controller-manager runs without the HPA controller, so
// an HPA object does nothing by default (ebb's HPA-conflict check relies on
// that). s.StartHPAController(t, cluster.HPAControllerOptions{...}) starts a
// second kube-controller-manager with only that controller (its own user,
// e2e-hpa-controller, in audit logs) for the rest of the test. It cannot be
// limited to namespaces, so it runs on a test's own cluster
// (setupOwnCluster); on the shared cluster it is refused unless the test
// runs alone, HPAs left by tests that ended are deleted before it starts,
// and an HPA of a test still waiting to run alone fails the test (create
// HPAs after exclusive).
package e2e
