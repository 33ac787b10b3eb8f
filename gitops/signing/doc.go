// Package signing signs the commits the autoscaler makes, for base branches whose protection
// requires signed commits: OpenPGP detached signatures (git's default gpg.format, as made by
// gpg) and SSH signatures (gpg.format ssh: the SSHSIG format of OpenSSH, namespace "git").
//
// A Signer takes the bytes of a commit object without its signature header — what
// `git verify-commit` checks — and returns the armored signature for the commit's gpgsig
// header; the Git repository code builds the object and puts the signature in. Keys and
// passphrases are read from files only (Config) and never appear in an error.
// It knows nothing of Git objects, hosts or the loop.
//
// Must not import: cmd/..., gitops, gitops/host/..., internal/web, render/..., promclient/....
package signing
