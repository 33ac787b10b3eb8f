package charttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// CA is a certificate authority made for one test, and a server certificate it signed for
// 127.0.0.1 and localhost.
type CA struct {
	// CertFile is the CA's certificate (PEM), what a client trusts.
	CertFile string
	// ServerCertFile and ServerKeyFile are the server's certificate and key (PEM).
	ServerCertFile, ServerKeyFile string
	// Server is the server's certificate, for a Go server.
	Server tls.Certificate
}

// NewCA makes a CA (ECDSA P-256, valid for an hour) and a server certificate it signs, and
// writes them to files in a temporary directory.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " test CA"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)

	c := &CA{
		CertFile:       filepath.Join(dir, "ca.crt"),
		ServerCertFile: filepath.Join(dir, "server.crt"),
		ServerKeyFile:  filepath.Join(dir, "server.key"),
	}
	write := func(file, typ string, der []byte) []byte {
		data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
		require.NoError(t, os.WriteFile(file, data, 0o600))
		return data
	}
	write(c.CertFile, "CERTIFICATE", caDER)
	certPEM := write(c.ServerCertFile, "CERTIFICATE", der)
	keyPEM := write(c.ServerKeyFile, "EC PRIVATE KEY", keyDER)
	c.Server, err = tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	return c
}

// Pool is a certificate pool holding the CA alone.
func (c *CA) Pool(t testing.TB) *x509.CertPool {
	t.Helper()
	data, err := os.ReadFile(c.CertFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(data))
	return pool
}
