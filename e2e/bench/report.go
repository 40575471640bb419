package bench

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Result is one benchmark run.
type Result struct {
	Options Options
	Machine Machine
	Setup   struct {
		ClusterUp, PodsRunning, Reset time.Duration
	}
	HPA, Ebb Phase
}

// Machine is where the run happened.
type Machine struct {
	CPUModel    string
	CPUs        int
	MemoryBytes int64
	Kernel      string
	LoadAvg     string // at the end of the run
}

// Phase is what one controller cost.
type Phase struct {
	Name                  string
	Users                 []string // whose requests count
	Start, End            time.Time
	Requests              map[RequestKey]int
	Steady                map[RequestKey]int // requests from Start to SteadyEnd (steady load, no rescale)
	SteadyEnd             time.Time
	MetricsServerRequests float64
	Controller            ProcStats // CPUSeconds during the phase, PeakRSS of the process
	APIServerCPU          float64   // kube-apiserver CPU seconds during the phase
	MetricsServerCPU      float64
	Latency               Latency
	Replicas              map[string]int32 // spec.replicas of every target at the end
	Load                  []float64        // 1-minute load average of the machine, every 10 s of the phase
}

// loadSummary renders the load samples as min / mean / max.
func loadSummary(samples []float64) string {
	if len(samples) == 0 {
		return "n/a"
	}
	sum := 0.0
	for _, v := range samples {
		sum += v
	}
	return fmt.Sprintf("%.2f / %.2f / %.2f", slices.Min(samples), sum/float64(len(samples)), slices.Max(samples))
}

// Latency is the controller's own timing histogram over the phase.
type Latency struct {
	What      string     // what one observation is
	Work      Histogram  // duration of one pass (ebb) or one HPA reconcile
	QueueWait *Histogram // HPA: time an HPA waited in the work queue
}

// syncs is how many sync periods the phase lasted.
func (p Phase) syncs(period time.Duration) float64 {
	return p.End.Sub(p.Start).Seconds() / period.Seconds()
}

// steadySyncs is how many sync periods the steady first part lasted.
func (p Phase) steadySyncs(period time.Duration) float64 {
	return p.SteadyEnd.Sub(p.Start).Seconds() / period.Seconds()
}

// nonWatch counts the requests that are not watches.
func nonWatch(reqs map[RequestKey]int) int {
	n := 0
	for k, v := range reqs {
		if k.Verb != "watch" {
			n += v
		}
	}
	return n
}

// totals splits the requests into non-watch requests, metrics.k8s.io
// requests (a part of the former) and watches.
func (p Phase) totals() (requests, metrics, watches int) {
	for k, n := range p.Requests {
		switch {
		case k.Verb == "watch":
			watches += n
		default:
			requests += n
			if strings.HasPrefix(k.Resource, "metrics.k8s.io/") {
				metrics += n
			}
		}
	}
	return requests, metrics, watches
}

// replicaSummary renders how many targets ended at each replica count.
func replicaSummary(m map[string]int32) string {
	count := map[int32]int{}
	for _, r := range m {
		count[r]++
	}
	keys := make([]int32, 0, len(count))
	for r := range count {
		keys = append(keys, r)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, r := range keys {
		parts = append(parts, fmt.Sprintf("%d×%d", count[r], r))
	}
	return strings.Join(parts, ", ")
}

// sameReplicas counts targets that ended at the same replicas in both.
func sameReplicas(a, b map[string]int32) int {
	n := 0
	for k, v := range a {
		if w, ok := b[k]; ok && w == v {
			n++
		}
	}
	return n
}

// Markdown renders the side-by-side table, the per-client request table
// and the goal check.
func (r *Result) Markdown(w io.Writer) {
	o := r.Options
	h, e := r.HPA, r.Ebb
	hs, es := h.syncs(o.SyncPeriod), e.syncs(o.SyncPeriod)
	hReq, hMet, hWatch := h.totals()
	eReq, eMet, eWatch := e.totals()
	fmt.Fprintf(w, "### %d targets × %d pods, %s per phase, sync period %s\n\n", o.Targets, o.PodsPerTarget, o.Phase, o.SyncPeriod)
	fmt.Fprintf(w, "| | HPA controller (kube-controller-manager) | ebb | HPA ÷ ebb |\n|---|---:|---:|---:|\n")
	row := func(name string, hv, ev float64, format string) {
		ratio := "—"
		if ev > 0 && hv > 0 {
			ratio = fmt.Sprintf("%.1f×", hv/ev)
		}
		fmt.Fprintf(w, "| %s | "+format+" | "+format+" | %s |\n", name, hv, ev, ratio)
	}
	row("targets evaluated per sync period (HPA reconciles; ebb passes × targets)", h.Latency.Work.Count/hs, e.Latency.Work.Count*float64(o.Targets)/es, "%.0f")
	row("API requests (all but watch), per sync period", float64(hReq)/hs, float64(eReq)/es, "%.1f")
	row("API requests (all but watch) per sync period while the load is steady (first third of the phase)",
		float64(nonWatch(h.Steady))/h.steadySyncs(o.SyncPeriod), float64(nonWatch(e.Steady))/e.steadySyncs(o.SyncPeriod), "%.1f")
	row("… of which metrics.k8s.io, per sync period", float64(hMet)/hs, float64(eMet)/es, "%.1f")
	row("requests served by metrics-server, per sync period", h.MetricsServerRequests/hs, e.MetricsServerRequests/es, "%.1f")
	row("API + metrics requests, whole phase", float64(hReq), float64(eReq), "%.0f")
	row("watches opened, whole phase", float64(hWatch), float64(eWatch), "%.0f")
	row("controller CPU seconds, whole phase", h.Controller.CPUSeconds, e.Controller.CPUSeconds, "%.2f")
	row("controller peak RSS, MiB", float64(h.Controller.PeakRSS)/(1<<20), float64(e.Controller.PeakRSS)/(1<<20), "%.0f")
	row("kube-apiserver CPU seconds, whole phase (all clients)", h.APIServerCPU, e.APIServerCPU, "%.1f")
	row("metrics-server CPU seconds, whole phase", h.MetricsServerCPU, e.MetricsServerCPU, "%.1f")
	fmt.Fprintf(w, "| latency | %s: p50 %s, p99 %s (%0.f reconciles; queue wait p99 %s) | %s: p50 %s, p99 %s (%0.f passes) | |\n",
		h.Latency.What, secs(h.Latency.Work.Quantile(0.5)), secs(h.Latency.Work.Quantile(0.99)), h.Latency.Work.Count, queueP99(h.Latency),
		e.Latency.What, secs(e.Latency.Work.Quantile(0.5)), secs(e.Latency.Work.Quantile(0.99)), e.Latency.Work.Count)
	fmt.Fprintf(w, "| machine load average (1 min), min / mean / max over the phase | %s | %s | |\n", loadSummary(h.Load), loadSummary(e.Load))
	fmt.Fprintf(w, "| replicas at the end (targets×replicas) | %s | %s | %d of %d targets equal |\n\n",
		replicaSummary(h.Replicas), replicaSummary(e.Replicas), sameReplicas(h.Replicas, e.Replicas), o.Targets)

	fmt.Fprintf(w, "Requests by client, verb and resource (audit log, Metadata level), whole phase and per sync period:\n\n")
	fmt.Fprintf(w, "| phase | client | verb | resource | requests | per sync period |\n|---|---|---|---|---:|---:|\n")
	for _, p := range []Phase{h, e} {
		keys := make([]RequestKey, 0, len(p.Requests))
		for k := range p.Requests {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b RequestKey) int {
			return cmp.Or(cmp.Compare(p.Requests[b], p.Requests[a]), strings.Compare(a.String(), b.String()))
		})
		for _, k := range keys {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %.2f |\n", p.Name, k.User, k.Verb, k.Resource, p.Requests[k], float64(p.Requests[k])/p.syncs(o.SyncPeriod))
		}
	}
	fmt.Fprintln(w)
	for _, line := range r.Goal() {
		fmt.Fprintf(w, "- %s\n", line)
	}
	fmt.Fprintln(w)
}

func secs(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return (time.Duration(v * float64(time.Second))).Round(100 * time.Microsecond).String()
}

func queueP99(l Latency) string {
	if l.QueueWait == nil {
		return "n/a"
	}
	return secs(l.QueueWait.Quantile(0.99))
}

// Goal checks what the benchmark is meant to show: ebb's metric requests
// per pass do not grow with the targets (at most 2 per pass), ebb makes at
// least 10× fewer API + metrics requests per sync period than the HPA
// controller, with no more CPU seconds. Each line starts with PASS or FAIL.
func (r *Result) Goal() []string {
	o := r.Options
	h, e := r.HPA, r.Ebb
	hs, es := h.syncs(o.SyncPeriod), e.syncs(o.SyncPeriod)
	hReq, hMet, _ := h.totals()
	eReq, eMet, _ := e.totals()
	passes := e.Latency.Work.Count
	mark := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "FAIL"
	}
	perPass := math.NaN()
	if passes > 0 {
		perPass = float64(eMet) / passes
	}
	hTotal := (float64(hReq) + h.MetricsServerRequests) / hs
	eTotal := (float64(eReq) + e.MetricsServerRequests) / es
	return []string{
		fmt.Sprintf("%s ebb metric requests per pass: %.2f (%d over %.0f passes; the HPA controller: %.1f per sync period for %d targets)",
			mark(perPass <= 2), perPass, eMet, passes, float64(hMet)/hs, o.Targets),
		fmt.Sprintf("%s API + metrics-server requests per sync period: HPA controller %.1f, ebb %.1f (%.1f× fewer; goal ≥ 10×)",
			mark(eTotal > 0 && hTotal/eTotal >= 10), hTotal, eTotal, hTotal/eTotal),
		fmt.Sprintf("%s controller CPU seconds: HPA controller %.2f, ebb %.2f (goal: ebb no more)",
			mark(e.Controller.CPUSeconds <= h.Controller.CPUSeconds), h.Controller.CPUSeconds, e.Controller.CPUSeconds),
	}
}

// MachineMarkdown describes the machine and the run's setup times.
func (r *Result) MachineMarkdown(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "Machine: %s, %d CPUs, %.1f GiB RAM, Linux %s, %s; load average at the end %s. ",
		m.CPUModel, m.CPUs, float64(m.MemoryBytes)/(1<<30), m.Kernel, runtime.Version(), m.LoadAvg)
	fmt.Fprintf(w, "Setup: cluster up %s, %d pods running %s, reset between phases %s.\n\n",
		r.Setup.ClusterUp.Round(time.Second), r.Options.Targets*r.Options.PodsPerTarget, r.Setup.PodsRunning.Round(time.Second), r.Setup.Reset.Round(time.Second))
}

// section markers of one target count in docs/performance.md.
func markers(targets int) (begin, end string) {
	return fmt.Sprintf("<!-- bench-cluster targets=%d -->", targets), fmt.Sprintf("<!-- /bench-cluster targets=%d -->", targets)
}

// WriteDoc replaces (or appends) this run's section of the Markdown file
// at path, between markers naming the target count, so runs at 500 and
// 2,000 targets keep their own sections. A missing file is created with
// header as its first lines.
func (r *Result) WriteDoc(path, header string) error {
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	doc := string(data)
	if doc == "" {
		doc = header
	}
	var b strings.Builder
	begin, end := markers(r.Options.Targets)
	b.WriteString(begin + "\n")
	r.Markdown(&b)
	r.MachineMarkdown(&b)
	b.WriteString(end)
	doc = replaceSection(doc, begin, end, b.String())
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// replaceSection replaces the text from begin to end (inclusive) with
// section, or appends section when the markers are not both there.
func replaceSection(doc, begin, end, section string) string {
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	if i < 0 || j < i {
		if !strings.HasSuffix(doc, "\n") {
			doc += "\n"
		}
		return doc + "\n" + section + "\n"
	}
	return doc[:i] + section + doc[j+len(end):]
}

func cpuCount() int { return runtime.NumCPU() }
