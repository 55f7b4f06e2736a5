package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// magic is the first line of every artifact file.
const magic = "duewise-model"

// Marshal encodes a as an artifact file:
//
//	duewise-model <format version>\n
//	sha256 <hex digest of the JSON body>\n
//	<JSON body>
//
// It sets FormatVersion, and Version when empty ("<kind>-<created
// UTC YYYYMMDDhhmmss>-<first 8 hex digits of the body digest>").
// The artifact must be valid.
func Marshal(a *Artifact) ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("marshal model: %w", err)
	}
	a.FormatVersion = FormatVersion
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now().UTC().Truncate(time.Second)
	}
	if a.Version == "" {
		body, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("marshal model: %w", err)
		}
		sum := sha256.Sum256(body)
		a.Version = fmt.Sprintf("%s-%s-%s", a.Kind, a.CreatedAt.UTC().Format("20060102150405"), hex.EncodeToString(sum[:4]))
	}
	body, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("marshal model: %w", err)
	}
	sum := sha256.Sum256(body)
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\nsha256 %s\n", magic, FormatVersion, hex.EncodeToString(sum[:]))
	b.Write(body)
	return b.Bytes(), nil
}

// Unmarshal decodes an artifact file written by Marshal, verifying its
// magic, format version and checksum, and validates the artifact. name
// (e.g. the file path) prefixes the errors.
func Unmarshal(name string, data []byte) (*Artifact, error) {
	line1, rest, ok := bytes.Cut(data, []byte("\n"))
	m, ver, _ := bytes.Cut(line1, []byte(" "))
	if !ok || string(m) != magic {
		return nil, fmt.Errorf("%s: %w: not a duewise model file (no %q header)", name, ErrInvalid, magic)
	}
	v, err := strconv.Atoi(string(ver))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: format version %q is not a number", name, ErrInvalid, ver)
	}
	if v != FormatVersion {
		return nil, fmt.Errorf("%s: %w: format version %d; this build reads version %d", name, ErrInvalid, v, FormatVersion)
	}
	line2, body, ok := bytes.Cut(rest, []byte("\n"))
	algo, digest, _ := bytes.Cut(line2, []byte(" "))
	if !ok || string(algo) != "sha256" || len(digest) != 64 {
		return nil, fmt.Errorf("%s: %w: missing or malformed checksum line", name, ErrInvalid)
	}
	sum := sha256.Sum256(body)
	if hex.EncodeToString(sum[:]) != string(digest) {
		return nil, fmt.Errorf("%s: %w: checksum mismatch: the file is corrupt or was modified (want sha256 %s, got %s)", name, ErrInvalid, digest, hex.EncodeToString(sum[:]))
	}
	a := new(Artifact)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(a); err != nil {
		return nil, fmt.Errorf("%s: %w: decode: %v", name, ErrInvalid, err)
	}
	if a.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("%s: %w: body format_version %d, header %d", name, ErrInvalid, a.FormatVersion, v)
	}
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return a, nil
}

// Write writes a to path atomically (a temporary file in the same folder,
// then a rename), creating the folder. See Marshal.
func Write(path string, a *Artifact) error {
	b, err := Marshal(a)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".model-*")
	if err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write model %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write model %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	return nil
}

// Read reads and verifies the artifact file at path. See Unmarshal.
func Read(path string) (*Artifact, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	return Unmarshal(path, b)
}
