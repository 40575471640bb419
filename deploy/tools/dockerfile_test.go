package tools

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Without a Docker daemon the Dockerfile cannot be built here; these are the
// facts the issue fixes about it, read from its instructions.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	goMod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(goMod)
	if goVersion == nil {
		t.Fatal("go.mod has no go directive")
	}
	stages := strings.Split(string(data), "\nFROM ")
	final := stages[len(stages)-1]
	for _, tc := range []struct {
		name, text, want string
	}{
		{"Go version matches go.mod", string(data), "ARG GO_VERSION=" + string(goVersion[1]) + "\n"},
		{"static build", string(data), "CGO_ENABLED=0"},
		{"builds cmd/ebb", string(data), "./cmd/ebb"},
		{"distroless nonroot base", "FROM " + final, "FROM gcr.io/distroless/static:nonroot\n"},
		{"binary at /ebb", final, "COPY --from=build /out/ebb /ebb\n"},
		{"nonroot user", final, "USER 65532:65532\n"},
		{"entrypoint", final, `ENTRYPOINT ["/ebb"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(tc.text, tc.want) {
				t.Errorf("deploy/Dockerfile: want %q in\n%s", tc.want, tc.text)
			}
		})
	}
	if n := len(stages) - 1; n != 2 { // stages[0] is what precedes the first FROM
		t.Errorf("deploy/Dockerfile has %d stages, want 2 (build, distroless)", n)
	}
}
