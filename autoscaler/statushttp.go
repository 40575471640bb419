package autoscaler

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// forwardedHeader marks a /status request a standby relayed to the leader,
// so that it is never relayed twice.
const forwardedHeader = "X-Ebb-Forwarded"

// StatusHandler serves GET /status: the leader's status (the last pass's
// report, each target with its recent samples) as JSON, gzipped when the
// client accepts it. Query parameters: target=Kind/name (repeatable) to
// select targets, history=DURATION for how far back (0: no samples;
// default: all that is kept). On a replica that is not leading, forward
// (when not nil) relays the request to the leader — the API server's
// service proxy picks any replica behind the Service — and a relayed
// request that reaches a non-leader gets 503.
func StatusHandler(s *StatusHistory, leading func() bool, forward http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !leading() {
			if forward != nil && r.Header.Get(forwardedHeader) == "" {
				forward.ServeHTTP(w, r)
				return
			}
			http.Error(w, "this ebb replica is not the leader: no status", http.StatusServiceUnavailable)
			return
		}
		q, err := parseStatusQuery(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		var out io.Writer = w
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			gz := gzip.NewWriter(w)
			defer gz.Close()
			out = gz
		}
		_ = json.NewEncoder(out).Encode(s.Status(q)) // a failed write is the client's to see
	})
}

func parseStatusQuery(r *http.Request) (StatusQuery, error) {
	q := StatusQuery{Targets: r.URL.Query()["target"], History: -1}
	if h := r.URL.Query().Get("history"); h != "" {
		d, err := time.ParseDuration(h)
		if err != nil || d < 0 {
			return q, fmt.Errorf("history %q: want a duration such as 1h or 0", h)
		}
		q.History = d
	}
	return q, nil
}

// LeaderForwarder relays a request to the /status of the replica holding
// the Lease leaseName: the Lease's holder is a pod name (ebb's identity
// defaults to it), whose IP and port serve /status.
type LeaderForwarder struct {
	Leases    coordinationv1client.LeasesGetter
	Pods      corev1client.PodsGetter
	Namespace string
	LeaseName string
	Port      int
	// Transport is used for the relayed request; nil: a client with a
	// 30 s timeout.
	Transport http.RoundTripper
}

func (f *LeaderForwarder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	addr, err := f.leaderAddr(r)
	if err != nil {
		http.Error(w, "this ebb replica is not the leader, and the leader cannot be reached: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	transport := f.Transport
	if transport == nil {
		transport = &http.Transport{ResponseHeaderTimeout: 30 * time.Second, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", addr
			pr.Out.Host = addr
			pr.Out.Header.Set(forwardedHeader, "1")
		},
		Transport: transport,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "relay to the leader at "+addr+": "+err.Error(), http.StatusBadGateway)
		},
	}
	proxy.ServeHTTP(w, r)
}

// leaderAddr is host:port of the leader's pod.
func (f *LeaderForwarder) leaderAddr(r *http.Request) (string, error) {
	lease, err := f.Leases.Leases(f.Namespace).Get(r.Context(), f.LeaseName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("lease %s: %w", f.LeaseName, err)
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		return "", fmt.Errorf("lease %s has no holder", f.LeaseName)
	}
	holder := *lease.Spec.HolderIdentity
	pod, err := f.Pods.Pods(f.Namespace).Get(r.Context(), holder, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("leader %s is not a pod of namespace %s: %w", holder, f.Namespace, err)
	}
	if pod.Status.PodIP == "" {
		return "", errors.New("leader pod " + holder + " has no IP")
	}
	return net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(f.Port)), nil
}
