package policy

import (
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime/schema"

	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// DefaultVerticalMode is the vertical mode of a target whose policy (and
// defaults) have no vertical mode: recommendations in metrics, the report
// and Events, never a change to pods or templates.
const DefaultVerticalMode = VerticalRecommend

// CompiledVertical is a target's vertical side in the form
// autoscaler/vertical's Runner takes (this package does not import it:
// policy is a leaf, so `ebb validate` links no actuator).
type CompiledVertical struct {
	Mode VerticalMode
	// Policy holds the container policies, joined with the target's
	// horizontal spec (vertical.JointPolicy) so the two sides do not
	// ratchet.
	Policy rv.Policy
	// ResizePods, ResizePeriod and RolloutPeriod are the inPlace and
	// rollout overrides; zero means the Runner's defaults.
	ResizePods                  int
	ResizePeriod, RolloutPeriod time.Duration
}

// verticalParts is one vertical section checked, each part with the field
// it came from ("" when unset), so merged values still name their source.
type verticalParts struct {
	mode                  VerticalMode
	modeField             string
	containers            []rv.ContainerPolicy
	containersSet         bool
	resizePods            int
	resizePeriod, rollout time.Duration
}

// checkVertical checks v (nil is fine) and returns its parts; field is
// "defaults.vertical" or "targets[i].vertical".
func checkVertical(c *checker, field string, v *Vertical) verticalParts {
	var out verticalParts
	if v == nil {
		return out
	}
	if v.Mode != "" {
		out.mode, out.modeField = checkVerticalMode(c, field+".mode", v.Mode), field+".mode"
	}
	if v.ContainerPolicies != nil {
		out.containers, out.containersSet = checkContainerPolicies(c, field+".containerPolicies", v.ContainerPolicies), true
	}
	if ip := v.InPlace; ip != nil {
		if ip.PodsPerPeriod != nil {
			out.resizePods = *ip.PodsPerPeriod
			if out.resizePods < 1 {
				c.invalid(field+".inPlace.podsPerPeriod", out.resizePods, "must be greater than or equal to 1")
			}
		}
		out.resizePeriod = checkPeriod(c, field+".inPlace.period", ip.Period)
	}
	if v.Rollout != nil {
		out.rollout = checkPeriod(c, field+".rollout.period", v.Rollout.Period)
	}
	return out
}

func checkPeriod(c *checker, field string, d *Duration) time.Duration {
	if d == nil {
		return 0
	}
	if d.Duration <= 0 {
		c.invalid(field, d.Duration, "must be greater than 0")
		return 0
	}
	return d.Duration
}

func checkVerticalMode(c *checker, field, s string) VerticalMode {
	m, err := ParseVerticalMode(s)
	switch {
	case err == nil:
		return m
	case s == "false" || s == "true":
		c.invalid(field, fmt.Sprintf("%q", s),
			`must be off, recommend, in-place or rollout (YAML reads an unquoted off as false: write "off" in quotes)`)
	default:
		c.invalid(field, fmt.Sprintf("%q", s), "must be off, recommend, in-place or rollout")
	}
	return ""
}

func checkContainerPolicies(c *checker, field string, ps []ContainerPolicy) []rv.ContainerPolicy {
	out := make([]rv.ContainerPolicy, 0, len(ps))
	seen := map[string]int{}
	for i, p := range ps {
		f := fmt.Sprintf("%s[%d]", field, i)
		if p.ContainerName == "" {
			c.required(f+".containerName", `must be set (a container name, or "*" for all others)`)
		} else if first, dup := seen[p.ContainerName]; dup {
			c.invalid(f+".containerName", fmt.Sprintf("%q", p.ContainerName), fmt.Sprintf("duplicate of %s[%d]", field, first))
		} else {
			seen[p.ContainerName] = i
		}
		cp := rv.ContainerPolicy{Name: p.ContainerName, Mode: rv.Mode(p.Mode)}
		switch cp.Mode {
		case "", rv.ModeAuto, rv.ModeOff:
		case "false", "true":
			c.invalid(f+".mode", fmt.Sprintf("%q", p.Mode),
				`must be Auto or Off (YAML reads an unquoted Off as false: write "Off" in quotes)`)
		default:
			c.invalid(f+".mode", fmt.Sprintf("%q", p.Mode), "must be Auto or Off")
		}
		cp.MinAllowed = checkAmounts(c, f+".minAllowed", p.MinAllowed)
		cp.MaxAllowed = checkAmounts(c, f+".maxAllowed", p.MaxAllowed)
		checkMinMax(c, f, cp.MinAllowed, cp.MaxAllowed)
		cp.ControlledResources = checkControlled(c, f+".controlledResources", p.ControlledResources)
		out = append(out, cp)
	}
	return out
}

// checkAmounts converts a cpu/memory resource list (CPU in millicores,
// memory in bytes).
func checkAmounts(c *checker, field string, l corev1.ResourceList) rv.Amounts {
	var a rv.Amounts
	for _, name := range sortedResources(l) {
		q := l[name]
		f := field + "." + string(name)
		if q.Sign() < 0 {
			c.invalid(f, q.String(), "must be greater than or equal to 0")
			continue
		}
		switch name {
		case corev1.ResourceCPU:
			a.CPUMillis = q.MilliValue()
		case corev1.ResourceMemory:
			a.MemoryBytes = q.Value()
		default:
			c.invalid(field, fmt.Sprintf("%q", name), "only cpu and memory are recommended")
		}
	}
	return a
}

func sortedResources(l corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(l))
	for n := range l {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func checkMinMax(c *checker, field string, lo, hi rv.Amounts) {
	if hi.CPUMillis > 0 && lo.CPUMillis > hi.CPUMillis {
		c.invalid(field+".minAllowed.cpu", resource.NewMilliQuantity(lo.CPUMillis, resource.DecimalSI).String(),
			fmt.Sprintf("must not exceed maxAllowed.cpu %s", resource.NewMilliQuantity(hi.CPUMillis, resource.DecimalSI)))
	}
	if hi.MemoryBytes > 0 && lo.MemoryBytes > hi.MemoryBytes {
		c.invalid(field+".minAllowed.memory", resource.NewQuantity(lo.MemoryBytes, resource.BinarySI).String(),
			fmt.Sprintf("must not exceed maxAllowed.memory %s", resource.NewQuantity(hi.MemoryBytes, resource.BinarySI)))
	}
}

func checkControlled(c *checker, field string, rs []corev1.ResourceName) []rv.Resource {
	var out []rv.Resource
	seen := map[corev1.ResourceName]bool{}
	for i, r := range rs {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case r != corev1.ResourceCPU && r != corev1.ResourceMemory:
			c.invalid(f, fmt.Sprintf("%q", r), "must be cpu or memory")
		case seen[r]:
			c.invalid(f, fmt.Sprintf("%q", r), "is listed twice")
		default:
			out = append(out, rv.Resource(r))
		}
		seen[r] = true
	}
	return out
}

// compileVertical merges the target's vertical section over the defaults'
// (already checked: dv) and joins it with the target's horizontal spec.
func compileVertical(c *checker, dv verticalParts, t Target, ct CompiledTarget, path string) CompiledVertical {
	tv := checkVertical(c, path+".vertical", t.Vertical)
	m := dv
	if tv.modeField != "" {
		m.mode, m.modeField = tv.mode, tv.modeField
	}
	if tv.containersSet {
		m.containers = tv.containers
	}
	if tv.resizePods != 0 {
		m.resizePods = tv.resizePods
	}
	if tv.resizePeriod != 0 {
		m.resizePeriod = tv.resizePeriod
	}
	if tv.rollout != 0 {
		m.rollout = tv.rollout
	}
	out := CompiledVertical{Mode: m.mode, ResizePods: m.resizePods, ResizePeriod: m.resizePeriod, RolloutPeriod: m.rollout,
		Policy: rv.JointPolicy(ct.Spec, rv.Policy{Containers: m.containers})}
	if out.Mode == "" {
		out.Mode = DefaultVerticalMode
	}
	if out.Mode == VerticalRollout && !rolloutKind(t.ScaleTargetRef.APIVersion, t.ScaleTargetRef.Kind) {
		c.invalid(m.modeField, `"rollout"`, fmt.Sprintf("rollout patches the pod template of an apps Deployment or StatefulSet, not %s %s",
			t.ScaleTargetRef.APIVersion, t.ScaleTargetRef.Kind))
	}
	return out
}

// rolloutKind reports whether autoscaler/vertical can patch the pod
// template of apiVersion/kind.
func rolloutKind(apiVersion, kind string) bool {
	gv, err := schema.ParseGroupVersion(apiVersion)
	return err == nil && gv.Group == "apps" && (kind == "Deployment" || kind == "StatefulSet")
}
