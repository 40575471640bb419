package main

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// dockerManifest is one entry of a `docker save` manifest.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// WriteArchive writes img as a tar that is both an OCI image layout and a
// `docker save` archive, tagged ref. Entries are written in a fixed order
// with fixed metadata, so the bytes depend only on img and ref.
func WriteArchive(w io.Writer, img v1.Image, ref string) error {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("image ref %q: %w", ref, err)
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return fmt.Errorf("image manifest: %w", err)
	}
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("image digest: %w", err)
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	configName, err := img.ConfigName()
	if err != nil {
		return fmt.Errorf("image config digest: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("image layers: %w", err)
	}
	tw := tar.NewWriter(w)
	a := archive{tw: tw}
	a.dir("blobs/")
	a.dir("blobs/sha256/")
	var layerPaths []string
	for i, l := range layers {
		p, err := a.layer(l)
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		layerPaths = append(layerPaths, p)
	}
	a.file(blobPath(configName), config)
	a.file(blobPath(digest), manifest)
	a.json("index.json", ociIndex(digest, int64(len(manifest)), tag))
	a.json("manifest.json", []dockerManifest{{Config: blobPath(configName), RepoTags: []string{tag.String()}, Layers: layerPaths}})
	a.json("oci-layout", map[string]string{"imageLayoutVersion": "1.0.0"})
	if a.err != nil {
		return fmt.Errorf("write image archive: %w", a.err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("close image archive: %w", err)
	}
	return nil
}

func ociIndex(digest v1.Hash, size int64, tag name.Tag) v1.IndexManifest {
	return v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType: types.OCIManifestSchema1,
			Digest:    digest,
			Size:      size,
			Annotations: map[string]string{
				"io.containerd.image.name":          tag.String(),
				"org.opencontainers.image.ref.name": tag.TagStr(),
			},
			Platform: &v1.Platform{OS: "linux", Architecture: "amd64"},
		}},
	}
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// archive writes tar entries, keeping the first error (bufio.Writer style).
type archive struct {
	tw  *tar.Writer
	err error
}

func (a *archive) header(name string, typ byte, mode, size int64) {
	if a.err != nil {
		return
	}
	a.err = a.tw.WriteHeader(&tar.Header{Typeflag: typ, Name: name, Mode: mode, Size: size, ModTime: time.Unix(0, 0), Format: tar.FormatPAX})
}

func (a *archive) dir(name string) { a.header(name, tar.TypeDir, 0o755, 0) }

func (a *archive) file(name string, data []byte) {
	a.header(name, tar.TypeReg, 0o644, int64(len(data)))
	if a.err == nil {
		_, a.err = a.tw.Write(data)
	}
}

func (a *archive) json(name string, v any) {
	if a.err != nil {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		a.err = fmt.Errorf("encode %s: %w", name, err)
		return
	}
	a.file(name, data)
}

func (a *archive) layer(l v1.Layer) (string, error) {
	digest, err := l.Digest()
	if err != nil {
		return "", err
	}
	size, err := l.Size()
	if err != nil {
		return "", err
	}
	rc, err := l.Compressed()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	p := blobPath(digest)
	a.header(p, tar.TypeReg, 0o644, size)
	if a.err == nil {
		_, a.err = io.Copy(a.tw, rc)
	}
	return p, a.err
}
