package policy

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/ebb-autoscaler/ebb/recommender/proactive"
)

// Horizontal is a target's horizontal section: an autoscaling/v2
// HorizontalPodAutoscalerSpec, inline, so that an existing HPA spec pastes
// in unchanged, and ebb's proactive settings beside its fields.
type Horizontal struct {
	autoscalingv2.HorizontalPodAutoscalerSpec `json:",inline"`
	// Proactive adds a demand forecast to the reactive HPA rule
	// (docs/proactive.md); absent means mode off.
	Proactive *Proactive `json:"proactive,omitempty"`
}

// Proactive is `horizontal.proactive`. Omitted fields take the values of
// proactive.DefaultConfig (mode off, the loop's horizon, margin 0, minHistory
// 1h, maxError 0.5).
type Proactive struct {
	// Mode is off, forecast-only (compute and show, decide reactively) or
	// on (the forecast may raise the decision).
	Mode string `json:"mode,omitempty"`
	// Horizon is how far ahead the forecast looks; default pod startup +
	// metric resolution + sync period + the shortest scale-up period.
	Horizon *Duration `json:"horizon,omitempty"`
	// Margin is added to the forecast demand (0.1: +10 %).
	Margin *float64 `json:"margin,omitempty"`
	// MinHistory is the history a forecast needs before it may act.
	MinHistory *Duration `json:"minHistory,omitempty"`
	// MaxError is the highest recent forecast error at which it may act.
	MaxError *float64 `json:"maxError,omitempty"`
}

// compileProactive checks p (nil is mode off) and returns it with the
// defaults applied; field is "targets[i].horizontal.proactive".
func compileProactive(c *checker, p *Proactive, field string) proactive.Config {
	out := proactive.DefaultConfig()
	if p == nil {
		return out
	}
	switch m := proactive.Mode(p.Mode); m {
	case "":
	case proactive.ModeOff, proactive.ModeForecastOnly, proactive.ModeOn:
		out.Mode = m
	default:
		c.invalid(field+".mode", fmt.Sprintf("%q", p.Mode), "must be off, forecast-only or on")
	}
	if p.Horizon != nil {
		out.Horizon = p.Horizon.Duration
		if probe := (proactive.Config{Mode: proactive.ModeOn, Horizon: out.Horizon}); probe.Validate() != nil || out.Horizon == 0 {
			c.invalid(field+".horizon", out.Horizon, "must be within (0s, 15m]")
		}
	}
	if p.Margin != nil {
		out.Margin = *p.Margin
		if !(out.Margin >= 0 && out.Margin <= 10) {
			c.invalid(field+".margin", out.Margin, "must be a number within [0, 10]")
		}
	}
	if p.MinHistory != nil {
		out.MinHistory = p.MinHistory.Duration
		if out.MinHistory < 0 {
			c.invalid(field+".minHistory", out.MinHistory, "must be >= 0s")
		}
	}
	if p.MaxError != nil {
		out.MaxError = *p.MaxError
		if !(out.MaxError >= 0) {
			c.invalid(field+".maxError", out.MaxError, "must be a number >= 0")
		}
	}
	return out
}
