package cluster

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"slices"
	"strings"
	"testing"
)

func readCert(t *testing.T, p PKI, name string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(p.Path(name))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

func TestGeneratePKI(t *testing.T) {
	p, err := GeneratePKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pool := func(name string) *x509.CertPool {
		cp := x509.NewCertPool()
		cp.AddCert(readCert(t, p, name))
		return cp
	}
	for _, tc := range []struct {
		name    string
		cert    string
		ca      string
		dnsName string
		usage   x509.ExtKeyUsage
		org     string
	}{
		{name: "apiserver serves 127.0.0.1", cert: "apiserver.crt", ca: "ca.crt", dnsName: "127.0.0.1", usage: x509.ExtKeyUsageServerAuth},
		{name: "apiserver serves kubernetes.default.svc", cert: "apiserver.crt", ca: "ca.crt", dnsName: "kubernetes.default.svc", usage: x509.ExtKeyUsageServerAuth},
		{name: "admin is system:masters", cert: "admin.crt", ca: "ca.crt", usage: x509.ExtKeyUsageClientAuth, org: "system:masters"},
		{name: "kcm client", cert: "kube-controller-manager.crt", ca: "ca.crt", usage: x509.ExtKeyUsageClientAuth},
		{name: "scheduler client", cert: "kube-scheduler.crt", ca: "ca.crt", usage: x509.ExtKeyUsageClientAuth},
		{name: "kwok/metrics-server serving", cert: "serving.crt", ca: "ca.crt", dnsName: "127.0.0.1", usage: x509.ExtKeyUsageServerAuth},
		{name: "front-proxy client chains to the front-proxy CA", cert: "front-proxy-client.crt", ca: "front-proxy-ca.crt", usage: x509.ExtKeyUsageClientAuth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := readCert(t, p, tc.cert)
			_, err := c.Verify(x509.VerifyOptions{Roots: pool(tc.ca), DNSName: tc.dnsName, KeyUsages: []x509.ExtKeyUsage{tc.usage}})
			if err != nil {
				t.Errorf("verify %s against %s: %v", tc.cert, tc.ca, err)
			}
			if tc.org != "" && !slices.Contains(c.Subject.Organization, tc.org) {
				t.Errorf("%s organizations = %v, want %q", tc.cert, c.Subject.Organization, tc.org)
			}
		})
	}
	t.Run("front-proxy client is not trusted by the client CA", func(t *testing.T) {
		c := readCert(t, p, "front-proxy-client.crt")
		if _, err := c.Verify(x509.VerifyOptions{Roots: pool("ca.crt"), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
			t.Error("front-proxy-client verified against ca.crt, want a separate CA")
		}
	})
	t.Run("token file names the admin token", func(t *testing.T) {
		data, err := os.ReadFile(p.Path("tokens.csv"))
		if err != nil {
			t.Fatal(err)
		}
		if len(p.AdminToken) != 32 || !strings.HasPrefix(string(data), p.AdminToken+",e2e-admin,") {
			t.Errorf("tokens.csv = %q, token %q", data, p.AdminToken)
		}
	})
	t.Run("service-account keys parse", func(t *testing.T) {
		data, err := os.ReadFile(p.Path("sa.pub"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode(data)
		if b == nil {
			t.Fatal("sa.pub: no PEM block")
		}
		if _, err := x509.ParsePKIXPublicKey(b.Bytes); err != nil {
			t.Errorf("sa.pub: %v", err)
		}
	})
}
