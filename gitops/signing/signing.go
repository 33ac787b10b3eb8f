package signing

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"golang.org/x/crypto/ssh"
)

// Config names the signing key: an OpenPGP secret key (GPGKeyFile) or an SSH private key
// (SSHKeyFile), and the file of its passphrase when it has one.
type Config struct {
	GPGKeyFile, SSHKeyFile, PassphraseFile string
}

// Signer signs a commit: given the commit object's bytes without its signature header (what
// `git verify-commit` checks), it returns the armored signature that goes in the commit's
// gpgsig header.
type Signer interface {
	Sign(payload []byte) ([]byte, error)
	// Format is git's gpg.format for the signature: "openpgp" or "ssh".
	Format() string
}

// Load reads the key cfg names and returns its signer. now stamps OpenPGP
// signatures (nil: time.Now). Errors name the files, never their content.
func Load(cfg Config, now func() time.Time) (Signer, error) {
	var passphrase []byte
	if cfg.PassphraseFile != "" {
		p, err := os.ReadFile(cfg.PassphraseFile)
		if err != nil {
			return nil, fmt.Errorf("commit signing: read passphrase: %w", err) // *PathError: the path only
		}
		passphrase = bytes.TrimRight(p, "\r\n")
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("commit signing: passphrase file %s is empty", cfg.PassphraseFile)
		}
	}
	switch {
	case cfg.GPGKeyFile != "" && cfg.SSHKeyFile != "":
		return nil, errors.New("commit signing: set gpgKeyFile or sshKeyFile, not both")
	case cfg.GPGKeyFile != "":
		key, err := os.ReadFile(cfg.GPGKeyFile)
		if err != nil {
			return nil, fmt.Errorf("commit signing: read OpenPGP key: %w", err)
		}
		s, err := NewOpenPGP(key, passphrase, now)
		if err != nil {
			return nil, fmt.Errorf("commit signing: OpenPGP key %s: %w", cfg.GPGKeyFile, err)
		}
		return s, nil
	case cfg.SSHKeyFile != "":
		key, err := os.ReadFile(cfg.SSHKeyFile)
		if err != nil {
			return nil, fmt.Errorf("commit signing: read SSH key: %w", err)
		}
		s, err := NewSSH(key, passphrase)
		if err != nil {
			return nil, fmt.Errorf("commit signing: SSH key %s: %w", cfg.SSHKeyFile, err)
		}
		return s, nil
	}
	return nil, errors.New("commit signing: no key: set gpgKeyFile or sshKeyFile")
}

// OpenPGP makes detached OpenPGP signatures, as `git commit -S` with gpg does.
type OpenPGP struct {
	entity *openpgp.Entity
	now    func() time.Time
}

var _ Signer = (*OpenPGP)(nil)

// NewOpenPGP reads a secret key (armored or binary; the first key of a keyring that has a
// secret signing key) and decrypts it with passphrase when it is protected.
func NewOpenPGP(key, passphrase []byte, now func() time.Time) (*OpenPGP, error) {
	if now == nil {
		now = time.Now
	}
	var list openpgp.EntityList
	var err error
	if bytes.Contains(key, []byte("-----BEGIN PGP")) {
		list, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(key))
	} else {
		list, err = openpgp.ReadKeyRing(bytes.NewReader(key))
	}
	if err != nil {
		return nil, fmt.Errorf("not an OpenPGP key: %w", err)
	}
	for _, e := range list {
		if e.PrivateKey == nil {
			continue
		}
		if encrypted(e) {
			if len(passphrase) == 0 {
				return nil, errors.New("the key is protected by a passphrase: set passphraseFile")
			}
			if err := e.DecryptPrivateKeys(passphrase); err != nil {
				return nil, errors.New("the passphrase does not decrypt the key")
			}
		}
		k, ok := e.SigningKey(now())
		if !ok || k.PrivateKey == nil {
			return nil, errors.New("the key has no usable signing key (expired, revoked or not for signing)")
		}
		return &OpenPGP{entity: e, now: now}, nil
	}
	return nil, errors.New("no secret key in the file (is it a public key?)")
}

func encrypted(e *openpgp.Entity) bool {
	if e.PrivateKey != nil && e.PrivateKey.Encrypted {
		return true
	}
	for _, s := range e.Subkeys {
		if s.PrivateKey != nil && s.PrivateKey.Encrypted {
			return true
		}
	}
	return false
}

// Format is "openpgp".
func (*OpenPGP) Format() string { return "openpgp" }

// KeyID is the long ID of the key that signs, in hex.
func (s *OpenPGP) KeyID() string {
	k, _ := s.entity.SigningKey(s.now())
	return fmt.Sprintf("%016X", k.PublicKey.KeyId)
}

// Sign returns an armored detached signature of payload, in binary mode as gpg makes for git.
func (s *OpenPGP) Sign(payload []byte) ([]byte, error) {
	var out bytes.Buffer
	cfg := &packet.Config{Time: s.now, DefaultHash: crypto.SHA256}
	if err := openpgp.ArmoredDetachSign(&out, s.entity, bytes.NewReader(payload), cfg); err != nil {
		return nil, fmt.Errorf("OpenPGP sign: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// SSH makes SSH signatures in the SSHSIG format (OpenSSH's PROTOCOL.sshsig) in the namespace
// "git", as `git commit -S` with gpg.format ssh does. `git verify-commit` checks them
// against an allowed-signers file (gpg.ssh.allowedSignersFile).
type SSH struct {
	signer ssh.Signer
}

var _ Signer = (*SSH)(nil)

// Namespace is the SSHSIG namespace git signs commits in.
const Namespace = "git"

// NewSSH reads an OpenSSH (or PEM) private key, decrypted with passphrase when it is
// protected.
func NewSSH(key, passphrase []byte) (*SSH, error) {
	signer, err := ssh.ParsePrivateKey(key)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if len(passphrase) == 0 {
			return nil, errors.New("the key is protected by a passphrase: set passphraseFile")
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase(key, passphrase)
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, errors.New("the passphrase does not decrypt the key")
		}
	}
	if err != nil {
		// ssh's parse errors name the format problem, never key bytes.
		return nil, fmt.Errorf("not an SSH private key: %w", err)
	}
	return &SSH{signer: signer}, nil
}

// Format is "ssh".
func (*SSH) Format() string { return "ssh" }

// PublicKey is the signing key's public half in authorized_keys form, for an allowed-signers
// file.
func (s *SSH) PublicKey() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.signer.PublicKey())))
}

// sshsigHash is the hash the message is signed by; sha512 is what ssh-keygen uses.
const sshsigHash = "sha512"

// Sign returns payload's armored SSH signature.
func (s *SSH) Sign(payload []byte) ([]byte, error) {
	sum := sha512.Sum512(payload)
	// The signed data: the magic preamble, then namespace, reserved, hash algorithm and the
	// message's hash as SSH strings.
	var signed bytes.Buffer
	signed.WriteString("SSHSIG")
	for _, f := range [][]byte{[]byte(Namespace), nil, []byte(sshsigHash), sum[:]} {
		writeString(&signed, f)
	}
	var sig *ssh.Signature
	var err error
	if as, ok := s.signer.(ssh.AlgorithmSigner); ok && s.signer.PublicKey().Type() == ssh.KeyAlgoRSA {
		// SHA-1 RSA signatures are refused by current OpenSSH; ssh-keygen signs with SHA-512.
		sig, err = as.SignWithAlgorithm(rand.Reader, signed.Bytes(), ssh.KeyAlgoRSASHA512)
	} else {
		sig, err = s.signer.Sign(rand.Reader, signed.Bytes())
	}
	if err != nil {
		return nil, fmt.Errorf("SSH sign: %w", err)
	}
	var blob bytes.Buffer
	blob.WriteString("SSHSIG")
	_ = binary.Write(&blob, binary.BigEndian, uint32(1)) // the format's version
	writeString(&blob, s.signer.PublicKey().Marshal())
	writeString(&blob, []byte(Namespace))
	writeString(&blob, nil) // reserved
	writeString(&blob, []byte(sshsigHash))
	writeString(&blob, ssh.Marshal(sig))
	return armorSSH(blob.Bytes()), nil
}

// writeString writes b as an SSH string: a big-endian uint32 length, then the bytes.
func writeString(w *bytes.Buffer, b []byte) {
	_ = binary.Write(w, binary.BigEndian, uint32(len(b)))
	w.Write(b)
}

// armorSSH wraps a signature blob as ssh-keygen does: base64 in lines of 70 characters
// between BEGIN and END lines.
func armorSSH(blob []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(blob)
	var b strings.Builder
	b.WriteString("-----BEGIN SSH SIGNATURE-----\n")
	for len(enc) > 70 {
		b.WriteString(enc[:70])
		b.WriteByte('\n')
		enc = enc[70:]
	}
	b.WriteString(enc)
	b.WriteString("\n-----END SSH SIGNATURE-----\n")
	return []byte(b.String())
}
