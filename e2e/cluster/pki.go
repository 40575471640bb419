package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// PKI names the files of the throw-away PKI in a run directory.
type PKI struct {
	Dir        string
	AdminToken string // static token of the system:masters user e2e-admin
}

// Path returns the path of a PKI file, e.g. Path("ca.crt").
func (p PKI) Path(name string) string { return filepath.Join(p.Dir, name) }

// keyPair is a certificate and its key, kept in memory to sign others.
type keyPair struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// certSpec describes one certificate to issue.
type certSpec struct {
	file   string // base name: <file>.crt, <file>.key
	cn     string
	org    []string
	isCA   bool
	server bool
	client bool
	ips    []net.IP
	dns    []string
}

// GeneratePKI writes the CA, the apiserver serving cert, the client certs of
// admin/kcm/scheduler, the serving cert shared by kwok and metrics-server,
// the front-proxy CA and client, the service-account key pair and a static
// token file into dir (recipe §3, done with crypto/x509 instead of openssl).
func GeneratePKI(dir string) (PKI, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return PKI{}, fmt.Errorf("create pki dir: %w", err)
	}
	p := PKI{Dir: dir}
	loop := []net.IP{net.IPv4(127, 0, 0, 1)}
	ca, err := issue(dir, certSpec{file: "ca", cn: "e2e-cluster-ca", isCA: true}, nil)
	if err != nil {
		return PKI{}, err
	}
	fp, err := issue(dir, certSpec{file: "front-proxy-ca", cn: "e2e-front-proxy-ca", isCA: true}, nil)
	if err != nil {
		return PKI{}, err
	}
	leaves := []struct {
		spec   certSpec
		parent *keyPair
	}{
		{certSpec{file: "apiserver", cn: "kube-apiserver", server: true,
			ips: append(loop, net.IPv4(10, 96, 0, 1)),
			dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}}, ca},
		{certSpec{file: "admin", cn: "e2e-admin", org: []string{"system:masters"}, client: true}, ca},
		{certSpec{file: "kube-controller-manager", cn: "system:kube-controller-manager", client: true}, ca},
		{certSpec{file: "kube-scheduler", cn: "system:kube-scheduler", client: true}, ca},
		{certSpec{file: "hpa-controller", cn: HPAControllerUser, client: true}, ca},
		{certSpec{file: "serving", cn: "127.0.0.1", server: true, ips: loop,
			dns: []string{"localhost", "metrics-server.kube-system.svc"}}, ca},
		{certSpec{file: "front-proxy-client", cn: "front-proxy-client", client: true}, fp},
	}
	for _, l := range leaves {
		if _, err := issue(dir, l.spec, l.parent); err != nil {
			return PKI{}, err
		}
	}
	if err := writeSAKeys(dir); err != nil {
		return PKI{}, err
	}
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return PKI{}, fmt.Errorf("admin token: %w", err)
	}
	p.AdminToken = hex.EncodeToString(tok)
	line := fmt.Sprintf("%s,e2e-admin,e2e-admin-uid,\"system:masters\"\n", p.AdminToken)
	if err := os.WriteFile(p.Path("tokens.csv"), []byte(line), 0o600); err != nil {
		return PKI{}, fmt.Errorf("write tokens.csv: %w", err)
	}
	return p, nil
}

// issue creates a key and a certificate for s, signed by parent (self-signed
// when parent is nil), and writes <file>.crt and <file>.key.
func issue(dir string, s certSpec, parent *keyPair) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("key for %s: %w", s.file, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("serial for %s: %w", s.file, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: s.cn, Organization: s.org},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		IPAddresses:  s.ips,
		DNSNames:     s.dns,
	}
	if s.isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	if s.server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if s.client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	signerCert, signerKey := tmpl, crypto.Signer(key)
	if parent != nil {
		signerCert, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signerKey)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", s.file, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", s.file, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal key %s: %w", s.file, err)
	}
	if err := writePEM(filepath.Join(dir, s.file+".crt"), "CERTIFICATE", der); err != nil {
		return nil, err
	}
	if err := writePEM(filepath.Join(dir, s.file+".key"), "PRIVATE KEY", keyDER); err != nil {
		return nil, err
	}
	return &keyPair{cert: cert, key: key}, nil
}

// writeSAKeys writes the service-account signing key pair sa.key / sa.pub.
func writeSAKeys(dir string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("marshal sa.pub: %w", err)
	}
	if err := writePEM(filepath.Join(dir, "sa.key"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)); err != nil {
		return err
	}
	return writePEM(filepath.Join(dir, "sa.pub"), "PUBLIC KEY", pub)
}

func writePEM(path, typ string, der []byte) error {
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
