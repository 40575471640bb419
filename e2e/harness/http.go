package harness

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
)

// HTTPGet GETs url with a fresh client and returns the body; a status other
// than 200 is an error carrying the start of the body.
func HTTPGet(ctx context.Context, url string) ([]byte, error) {
	return httpGet(ctx, &http.Client{}, url, "")
}

// HTTPGetInsecure GETs url over TLS without verifying the server's
// certificate (the cluster's components serve test certificates), with
// token as bearer token, and returns the body as HTTPGet does.
func HTTPGetInsecure(ctx context.Context, url, token string) ([]byte, error) {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	return httpGet(ctx, c, url, token)
}

func httpGet(ctx context.Context, c *http.Client, url, token string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, body)
	}
	return body, nil
}
