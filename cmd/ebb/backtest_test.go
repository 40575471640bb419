package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestBacktestBadInput: every flag problem is named at once, exit 2,
// before any cluster or Prometheus is contacted.
func TestBacktestBadInput(t *testing.T) {
	isolateKubeEnv(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--prometheus", "http://p", "--since", "soon"}, []string{`--since "soon": want a positive duration up to 30d`}},
		{[]string{"--prometheus", "http://p", "--since", "31d"}, []string{`--since "31d"`}},
		{[]string{"--prometheus", "http://p", "-o", "yaml", "--until", "yesterday"}, []string{`-o: unknown report format "yaml"`, `--until "yesterday"`}},
		{[]string{"--prometheus", "http://p", "--variant", "x=window=1m"}, []string{"--variant: variant x: window=1m: unknown setting"}},
		{[]string{"--prometheus", "http://p", "--variants", "/nonexistent.yaml"}, []string{"--variants /nonexistent.yaml"}},
		{[]string{"--prometheus", "http://p", "--step", "0s"}, []string{"want a positive step"}},
		{[]string{}, []string{"--prometheus: required (or a policy with a prometheus section)"}},
		{[]string{"--policy", "/nonexistent.yaml"}, []string{"read policy", "--prometheus: required"}},
	} {
		var stdout, stderr bytes.Buffer
		code := runEbb(append([]string{"backtest"}, tc.args...), &stdout, &stderr)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%v: stderr %q lacks %q", tc.args, stderr.String(), w)
			}
		}
	}
}
