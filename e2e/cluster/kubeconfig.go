package cluster

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeUser is how a kubeconfig authenticates: client cert files or a token.
type kubeUser struct {
	name     string
	certFile string
	keyFile  string
	token    string
}

// WriteKubeconfig writes a kubeconfig for server (CA file caFile) and one
// user, with namespace as the context's default namespace when not empty.
func writeKubeconfig(path, server, caFile string, u kubeUser, namespace string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["e2e"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: caFile}
	cfg.AuthInfos[u.name] = &clientcmdapi.AuthInfo{
		ClientCertificate: u.certFile, ClientKey: u.keyFile, Token: u.token,
	}
	cfg.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: u.name, Namespace: namespace}
	cfg.CurrentContext = "e2e"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

// RESTConfig loads a kubeconfig file into a rest.Config with test-friendly
// client rate limits (the defaults throttle polling loops).
func RESTConfig(kubeconfig string) (*rest.Config, error) {
	c, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
	}
	c.QPS, c.Burst = 100, 200
	return c, nil
}
