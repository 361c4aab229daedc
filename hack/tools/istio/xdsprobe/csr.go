package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	pb "istio.io/api/security/v1alpha1"
)

// csrMain gets a workload certificate from istiod's CA the way pilot-agent does.
func csrMain(args []string) error {
	fs := newFlagSet("csr")
	ca := fs.String("ca", "", "istiod's CA address")
	rootFile := fs.String("root", "", "PEM root for istiod's serving certificate")
	serverName := fs.String("server-name", "istiod.istio-system.svc", "name in istiod's certificate")
	tokenFile := fs.String("token-file", "", "service-account token")
	clusterID := fs.String("cluster-id", "Kubernetes", "ClusterID metadata")
	spiffe := fs.String("spiffe", "", "URI SAN")
	ttl := fs.Duration("ttl", time.Hour, "requested validity")
	keyOut := fs.String("key-out", "", "write the private key here")
	timeout := fs.Duration("timeout", 20*time.Second, "give up after")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, f := range []struct{ name, val string }{
		{"ca", *ca}, {"root", *rootFile}, {"token-file", *tokenFile}, {"spiffe", *spiffe},
	} {
		if f.val == "" {
			return fmt.Errorf("csr: --%s is required: %w", f.name, errUsage)
		}
	}
	san, err := url.Parse(*spiffe)
	if err != nil || san.Scheme != "spiffe" || san.Host == "" {
		return fmt.Errorf("csr: --spiffe %q: want spiffe://TRUST-DOMAIN/ns/NS/sa/SA: %w", *spiffe, errUsage)
	}
	rootPEM, err := os.ReadFile(*rootFile)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		return fmt.Errorf("--root %s: no PEM certificate in it", *rootFile)
	}
	tok, err := os.ReadFile(*tokenFile)
	if err != nil {
		return err
	}
	token := strings.TrimSpace(string(tok))
	if token == "" {
		return fmt.Errorf("--token-file %s is empty", *tokenFile)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{URIs: []*url.URL{san}}, key)
	if err != nil {
		return fmt.Errorf("creating the CSR: %v", err)
	}

	conn, err := grpc.NewClient(*ca, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		RootCAs:    roots,
		ServerName: *serverName,
		MinVersion: tls.VersionTLS12,
	})))
	if err != nil {
		return fmt.Errorf("ca %s: %v", *ca, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", "Bearer "+token, "ClusterID", *clusterID))
	resp, err := pb.NewIstioCertificateServiceClient(conn).CreateCertificate(ctx, &pb.IstioCertificateRequest{
		Csr:              string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})),
		ValidityDuration: int64(ttl.Seconds()),
	})
	if err != nil {
		// The error is istiod's; it never repeats the token.
		return fmt.Errorf("ca %s: CreateCertificate: %v", *ca, err)
	}

	// The chain is leaf first; check the leaf is for our key before printing it.
	var out bytes.Buffer
	for i, c := range resp.GetCertChain() {
		if i == 0 {
			b, _ := pem.Decode([]byte(c))
			if b == nil {
				return fmt.Errorf("ca %s: the leaf is not PEM", *ca)
			}
			leaf, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return fmt.Errorf("ca %s: the leaf: %v", *ca, err)
			}
			if !key.PublicKey.Equal(leaf.PublicKey) {
				return fmt.Errorf("ca %s: the leaf is not for the key of the CSR", *ca)
			}
			// istiod takes the identity from the token, not from the CSR.
			if len(leaf.URIs) != 1 || leaf.URIs[0].String() != san.String() {
				fmt.Fprintf(os.Stderr, "xdsprobe: warning: asked for %s, istiod issued %v\n", san, leaf.URIs)
			}
		}
		out.WriteString(c)
		if !strings.HasSuffix(c, "\n") {
			out.WriteByte('\n')
		}
	}
	if out.Len() == 0 {
		return fmt.Errorf("ca %s: empty certificate chain", *ca)
	}
	if *keyOut != "" {
		kder, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*keyOut, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
			return err
		}
	}
	_, err = os.Stdout.Write(out.Bytes())
	return err
}
