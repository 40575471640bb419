package report

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAgreement(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    Target
		want Agreement
	}{
		{name: "no HPA", t: Target{Desired: Int32(3)}, want: AgreementNone},
		{name: "same desired", t: Target{Desired: Int32(3), HPA: &HPA{Desired: Int32(3)}}, want: AgreementAgrees},
		{name: "different desired", t: Target{Desired: Int32(3), HPA: &HPA{Desired: Int32(4)}}, want: AgreementDiffers},
		{name: "HPA without status", t: Target{Desired: Int32(3), HPA: &HPA{}}, want: AgreementUnknown},
		{name: "ebb without a decision", t: Target{HPA: &HPA{Desired: Int32(3)}}, want: AgreementUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.t.Agreement(); got != tc.want {
				t.Errorf("Agreement() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSampleOf(t *testing.T) {
	at := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	web := sample().Targets[0]
	for _, tc := range []struct {
		name    string
		t       Target
		applied *int32
		want    Sample
	}{
		{name: "shadowed target", t: web, applied: Int32(8),
			want: Sample{Time: at, Current: Int32(4), Recommended: Int32(9), Desired: Int32(8), Applied: Int32(8),
				HPADesired: Int32(8), Reason: "ScaleUpLimit", Metrics: web.Metrics, Vertical: web.Vertical}},
		{name: "unknown values stay nil", t: Target{Kind: "Deployment", Name: "batch", Mode: "off"},
			want: Sample{Time: at}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SampleOf(at, tc.t, tc.applied)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("SampleOf() (-want +got):\n%s", d)
			}
		})
	}
}
