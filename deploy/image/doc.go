// Command image writes ebb's container image as a tarball, offline and
// without a Docker daemon: one layer holding the static ebb binary at /ebb
// on an empty base, entrypoint /ebb, user 65532:65532 (distroless nonroot),
// OCI labels, linux/amd64. The tarball is both an OCI image layout
// (oci-layout, index.json, blobs/sha256/...; `skopeo copy oci-archive:`,
// `podman load`) and a `docker save` archive (manifest.json; `docker load`),
// the way Docker 25+ writes them. The output is reproducible: the same
// binary and options give the same bytes.
//
// It is a separate module so go-containerregistry stays out of ebb's go.mod.
//
//	go run . -binary ../../.cache/image/ebb -out ../../dist/ebb-image.tar -ref ghcr.io/ebb-autoscaler/ebb:v0.1.0
package main
