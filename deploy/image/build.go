package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image constants: where the binary goes and who runs it.
const (
	binaryPath = "ebb" // /ebb in the image
	nonroot    = "65532:65532"
)

// Options describe the image besides its binary.
type Options struct {
	Ref     string    // image reference with a tag, e.g. ghcr.io/ebb-autoscaler/ebb:v0.1.0
	Version string    // org.opencontainers.image.version
	Created time.Time // image and file timestamps (reproducible builds: SOURCE_DATE_EPOCH)
}

// Validate returns every problem of o, each naming the field and value.
func (o Options) Validate() error {
	var errs []error
	if _, err := name.NewTag(o.Ref, name.StrictValidation); err != nil {
		errs = append(errs, fmt.Errorf("ref %q: want registry/repository:tag: %w", o.Ref, err))
	}
	if o.Version == "" {
		errs = append(errs, errors.New("version is empty"))
	}
	return errors.Join(errs...)
}

// Build returns the image: binary at /ebb (mode 0755, owned by root so the
// nonroot user cannot change it) on an empty base.
func Build(binary []byte, o Options) (v1.Image, error) {
	if len(binary) == 0 {
		return nil, errors.New("build image: binary is empty")
	}
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("build image: invalid options: %w", err)
	}
	layerTar, err := binaryLayer(binary, o.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("build image layer: %w", err)
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "make image (deploy/image)", Comment: "static ebb binary"},
	})
	if err != nil {
		return nil, fmt.Errorf("append ebb layer: %w", err)
	}
	return withConfig(img, o)
}

func withConfig(img v1.Image, o Options) (v1.Image, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read image config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Created = v1.Time{Time: o.Created}
	cfg.Config.Entrypoint = []string{"/" + binaryPath}
	cfg.Config.Cmd = nil
	cfg.Config.User = nonroot
	cfg.Config.WorkingDir = "/"
	cfg.Config.Env = []string{"PATH=/"}
	cfg.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.title":       "ebb",
		"org.opencontainers.image.description": "Horizontal and vertical autoscaler for one Kubernetes namespace",
		"org.opencontainers.image.source":      "https://github.com/ebb-autoscaler/ebb",
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.created":     o.Created.UTC().Format(time.RFC3339),
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("set image config: %w", err)
	}
	return img, nil
}

// binaryLayer is an uncompressed tar holding only the binary.
func binaryLayer(binary []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{
		Typeflag: tar.TypeReg, Name: binaryPath, Mode: 0o755, Size: int64(len(binary)),
		ModTime: mtime, Format: tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, fmt.Errorf("write layer header: %w", err)
	}
	if _, err := tw.Write(binary); err != nil {
		return nil, fmt.Errorf("write binary into layer: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close layer: %w", err)
	}
	return buf.Bytes(), nil
}
