package vertical

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(c *Config)
		wantErr []string // substrings, all required; none = valid
	}{
		{name: "defaults are valid", edit: func(*Config) {}},
		{name: "every bad field is named", edit: func(c *Config) {
			c.CPUFirstBucket = 0
			c.BucketGrowth = -1
			c.MemoryHalfLife = 0
			c.MemoryIntervalCount = 0
			c.OOMBumpUpRatio = 0.5
			c.TargetPercentile = 1.5
			c.PodMinCPUMillis = -1
			c.JointTolerance = 1
		}, wantErr: []string{"CPUFirstBucket", "BucketGrowth", "MemoryHalfLife", "MemoryIntervalCount",
			"OOMBumpUpRatio", "TargetPercentile", "PodMinCPUMillis", "JointTolerance"}},
		{name: "durations that would overflow", edit: func(c *Config) { c.CPUHalfLife = 2000 * 24 * time.Hour; c.MemoryIntervalCount = 1000 },
			wantErr: []string{"CPUHalfLife", "MemoryIntervalCount"}},
		{name: "too many buckets", edit: func(c *Config) { c.BucketGrowth = 0.001 }, wantErr: []string{"bucket count"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to name %q", err, w)
				}
			}
		})
	}
}
