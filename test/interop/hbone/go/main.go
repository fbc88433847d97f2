// An HBONE client written with Go's standard library (net/http over HTTP/2): mutual TLS 1.3, ALPN h2,
// the server's chain verified against the mesh root and its SPIFFE URI SAN pinned, then one CONNECT
// whose body streams the payload; the reply is read to EOF. Prints one JSON line; exits 2 when refused.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

func out(v map[string]any, code int) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
	os.Exit(code)
}

func main() {
	hop, authority, certFile, keyFile, caFile, expected := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5], os.Args[6]
	size, _ := strconv.Atoi(os.Args[7])
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		out(map[string]any{"error": err.Error()}, 1)
	}
	caPem, _ := os.ReadFile(caFile)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPem)
	var peer string
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{"h2"},
		// Go only sends a certificate matching the server's CA list by default; HBONE always sends it.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
		// HBONE identities are URI SANs, not host names: verify the chain and the SAN ourselves.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			certs := make([]*x509.Certificate, 0, len(raw))
			for _, r := range raw {
				c, err := x509.ParseCertificate(r)
				if err != nil {
					return err
				}
				certs = append(certs, c)
			}
			if len(certs) == 0 {
				return errors.New("no server certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range certs[1:] {
				inter.AddCert(c)
			}
			if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				return err
			}
			for _, u := range certs[0].URIs {
				if u.String() == expected {
					peer = u.String()
					return nil
				}
			}
			return fmt.Errorf("server SAN %v is not %s", certs[0].URIs, expected)
		},
	}
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true, DisableCompression: true}
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i % 251)
	}
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("CONNECT", "https://"+hop, pr)
	req.Host = authority
	req.Header.Set("Forwarded", `for="10.9.8.7:1234"`)
	done := make(chan error, 1)
	go func() {
		_, err := pw.Write(payload)
		pw.Close()
		done <- err
	}()
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		out(map[string]any{"error": err.Error()}, 2)
	}
	if resp.StatusCode != 200 {
		out(map[string]any{"status": resp.StatusCode, "reason": resp.Header.Get("X-Weft-Reason"), "proto": resp.Proto}, 2)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		out(map[string]any{"error": err.Error(), "received": len(body)}, 2)
	}
	out(map[string]any{"status": resp.StatusCode, "proto": resp.Proto, "received": len(body), "same": bytes.Equal(body, payload), "peer": peer}, 0)
}
