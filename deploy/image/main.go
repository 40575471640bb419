package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	binary := fs.String("binary", "", "static linux/amd64 ebb binary to put at /ebb")
	out := fs.String("out", "", "tarball to write")
	ref := fs.String("ref", "ghcr.io/ebb-autoscaler/ebb:dev", "image reference (registry/repository:tag)")
	version := fs.String("version", "dev", "org.opencontainers.image.version label")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	created, err := sourceDateEpoch(os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		fmt.Fprintln(stderr, "image:", err)
		return 2
	}
	if *binary == "" || *out == "" {
		fmt.Fprintln(stderr, "image: -binary and -out are required")
		return 2
	}
	if err := writeImage(*binary, *out, Options{Ref: *ref, Version: *version, Created: created}); err != nil {
		fmt.Fprintln(stderr, "image:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s (%s)\n", *out, *ref)
	return 0
}

// sourceDateEpoch parses SOURCE_DATE_EPOCH (reproducible-builds.org); unset
// means the Unix epoch, so images of the same binary are identical.
func sourceDateEpoch(v string) (time.Time, error) {
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since the Unix epoch: %w", v, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// writeImage builds the image and writes it atomically to out.
func writeImage(binaryPath, out string, o Options) error {
	binary, err := os.ReadFile(binaryPath)
	if err != nil {
		return fmt.Errorf("read binary: %w", err)
	}
	img, err := Build(binary, o)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".ebb-image-*.tar")
	if err != nil {
		return fmt.Errorf("create temp tarball: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := WriteArchive(tmp, img, o.Ref); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("install %s: %w", out, err)
	}
	return nil
}
