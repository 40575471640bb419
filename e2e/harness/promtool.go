package harness

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
)

// PromtoolCheckMetrics fetches http://<addr>/metrics and runs
// `promtool check metrics` on it (Debian's promtool, installed with
// prometheus). It returns promtool's findings as an error, nil when clean.
func PromtoolCheckMetrics(ctx context.Context, promtool, addr string) error {
	body, err := HTTPGet(ctx, "http://"+addr+"/metrics")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("promtool check metrics on %s: %w\n%s", addr, err, out)
	}
	return nil
}
