// Package backtest replays a namespace's Prometheus history through its
// autoscaling policies: for each target it reconstructs the demand (the
// pods' CPU usage, or the request rate of its Pods metric) and what actually
// happened (pods, their core-seconds, time under-provisioned, scale events)
// from range queries, replays the demand through the closed-loop world of
// recommender/simulate with the target's spec and with variants of it, and
// compares the vertical recommender's requests with the current ones
// (docs/backtest.md). The reconstruction is pure; Run only adds the
// queries, each distinct PromQL run once.
package backtest
