package harness

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeManifests(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    []string // kind/name of each object
		wantErr bool
	}{
		{"empty stream", "", nil, false},
		{"two documents, a comment-only one skipped",
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# only a comment\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n",
			[]string{"ConfigMap/a", "Service/b"}, false},
		{"leading separator and a block scalar holding dashes",
			"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  f: |\n    ---\n    x\n",
			[]string{"ConfigMap/c"}, false},
		{"document without kind", "apiVersion: v1\nmetadata: {name: a}\n", nil, true},
		{"document without name", "apiVersion: v1\nkind: ConfigMap\n", nil, true},
		{"invalid YAML", "kind: [\n", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := DecodeManifests([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.GetKind()+"/"+o.GetName())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}
