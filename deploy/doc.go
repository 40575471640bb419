// Package deploy holds ebb's installation artifacts (kustomize base, Helm
// chart, Grafana dashboards, container image build) and, in this module, only
// the test that the shipped example policy is valid for ebb's own policy
// parser. The manifest and dashboard tests live in the deploy/tools module and
// the image builder in deploy/image, so their dependencies stay out of ebb's
// go.mod.
package deploy
