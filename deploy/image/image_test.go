package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

var dummyBinary = []byte("#!dummy ebb binary\x00\x01\x02")

func testOptions() Options {
	return Options{Ref: "ghcr.io/ebb-autoscaler/ebb:v1.2.3", Version: "v1.2.3", Created: time.Unix(1700000000, 0).UTC()}
}

// writeTestArchive builds an image from the dummy binary and writes its tarball.
func writeTestArchive(t *testing.T, o Options) string {
	t.Helper()
	img, err := Build(dummyBinary, o)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ebb-image.tar")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteArchive(f, img, o.Ref); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// imageFacts is what a reader of the tarball sees.
type imageFacts struct {
	ManifestType, ConfigType, LayerType types.MediaType
	OS, Arch, User                      string
	Entrypoint                          []string
	Version, Title                      string
	Files                               map[string]string // path -> mode and content
}

func factsOf(t *testing.T, img v1.Image) imageFacts {
	t.Helper()
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	f := imageFacts{
		ManifestType: mt, ConfigType: m.Config.MediaType,
		OS: cfg.OS, Arch: cfg.Architecture, User: cfg.Config.User, Entrypoint: cfg.Config.Entrypoint,
		Version: cfg.Config.Labels["org.opencontainers.image.version"], Title: cfg.Config.Labels["org.opencontainers.image.title"],
		Files: map[string]string{},
	}
	for _, l := range layers {
		if f.LayerType, err = l.MediaType(); err != nil {
			t.Fatal(err)
		}
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(tr)
			f.Files[h.Name] = os.FileMode(h.Mode).String() + " " + string(data)
		}
		rc.Close()
	}
	return f
}

func wantFacts() imageFacts {
	return imageFacts{
		ManifestType: types.OCIManifestSchema1, ConfigType: types.OCIConfigJSON, LayerType: types.OCILayer,
		OS: "linux", Arch: "amd64", User: "65532:65532", Entrypoint: []string{"/ebb"},
		Version: "v1.2.3", Title: "ebb",
		Files: map[string]string{"ebb": "-rwxr-xr-x " + string(dummyBinary)},
	}
}

// The tarball read back as a `docker save` archive (manifest.json).
func TestArchiveReadsBackAsDockerArchive(t *testing.T) {
	path := writeTestArchive(t, testOptions())
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// a docker archive carries no manifest: the reader synthesizes a Docker
	// v2 one, so only the media types differ from the OCI view.
	want := wantFacts()
	want.ManifestType, want.ConfigType, want.LayerType = types.DockerManifestSchema2, types.DockerConfigJSON, types.DockerLayer
	if diff := cmp.Diff(want, factsOf(t, img)); diff != "" {
		t.Errorf("image (-want +got):\n%s", diff)
	}
}

// The same tarball unpacked is an OCI image layout with the tag annotated.
func TestArchiveReadsBackAsOCILayout(t *testing.T) {
	dir := t.TempDir()
	untar(t, writeTestArchive(t, testOptions()), dir)
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("index.json has %d manifests, want 1", len(im.Manifests))
	}
	d := im.Manifests[0]
	if got, want := d.Annotations["org.opencontainers.image.ref.name"], "v1.2.3"; got != want {
		t.Errorf("ref.name annotation = %q, want %q", got, want)
	}
	if got, want := d.Annotations["io.containerd.image.name"], "ghcr.io/ebb-autoscaler/ebb:v1.2.3"; got != want {
		t.Errorf("containerd image name = %q, want %q", got, want)
	}
	img, err := idx.Image(d.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantFacts(), factsOf(t, img)); diff != "" {
		t.Errorf("image (-want +got):\n%s", diff)
	}
}

func untar(t *testing.T, path, dir string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestArchiveIsReproducible(t *testing.T) {
	read := func(o Options) []byte {
		data, err := os.ReadFile(writeTestArchive(t, o))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	first, second := read(testOptions()), read(testOptions())
	if !bytes.Equal(first, second) {
		t.Error("two builds of the same binary and options differ")
	}
	later := testOptions()
	later.Created = later.Created.Add(time.Hour)
	if bytes.Equal(first, read(later)) {
		t.Error("a different creation time gave the same bytes; the timestamp is not in the image")
	}
}

func TestBuildRejects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		binary  []byte
		edit    func(*Options)
		wantErr string
	}{
		{"empty binary", nil, func(*Options) {}, "binary is empty"},
		{"ref without tag", dummyBinary, func(o *Options) { o.Ref = "ghcr.io/ebb-autoscaler/ebb" }, `ref "ghcr.io/ebb-autoscaler/ebb"`},
		{"ref with bad characters", dummyBinary, func(o *Options) { o.Ref = "ghcr.io/Ebb:v1" }, `ref "ghcr.io/Ebb:v1"`},
		{"empty version", dummyBinary, func(o *Options) { o.Version = "" }, "version is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions()
			tc.edit(&o)
			_, err := Build(tc.binary, o)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Build() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "ebb")
	if err := os.WriteFile(bin, dummyBinary, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "img.tar")
	for _, tc := range []struct {
		name, epoch string
		args        []string
		want        int
		wantStderr  string
	}{
		{"writes the tarball", "", []string{"-binary", bin, "-out", out, "-ref", "example.com/ebb:v1"}, 0, ""},
		{"missing out", "", []string{"-binary", bin}, 2, "-binary and -out are required"},
		{"bad epoch", "yesterday", []string{"-binary", bin, "-out", out}, 2, `SOURCE_DATE_EPOCH "yesterday"`},
		{"missing binary file", "", []string{"-binary", filepath.Join(dir, "nope"), "-out", out}, 1, "read binary"},
		{"bad ref", "", []string{"-binary", bin, "-out", out, "-ref", "ebb"}, 1, `ref "ebb"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SOURCE_DATE_EPOCH", tc.epoch)
			var stdout, stderr bytes.Buffer
			if got := run(tc.args, &stdout, &stderr); got != tc.want {
				t.Errorf("run() = %d, want %d (stderr %q)", got, tc.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tc.wantStderr)
			}
		})
	}
	img, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatalf("read back %s: %v", out, err)
	}
	if cfg, err := img.ConfigFile(); err != nil || !cfg.Created.Equal(time.Unix(0, 0)) {
		t.Errorf("created = %v (%v), want the Unix epoch when SOURCE_DATE_EPOCH is unset", cfg.Created, err)
	}
}
