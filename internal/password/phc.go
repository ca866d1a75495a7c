package password

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// b64 is the PHC string format's base64: standard alphabet, no padding.
// Strict rejects non-zero trailing bits, so each hash has one encoding.
var b64 = base64.RawStdEncoding.Strict()

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decode parses a string made by encode. It is deliberately strict (exact
// field order, canonical decimals, no optional PHC fields): we only ever read
// back what we wrote, so anything else is corruption or tampering.
func decode(encoded string) (Params, []byte, []byte, error) {
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" {
		return Params{}, nil, nil, malformed("want 5 $-separated fields")
	}
	if fields[1] != "argon2id" {
		return Params{}, nil, nil, malformed("algorithm %q is not argon2id", truncate(fields[1]))
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, malformed("version %q is not v=%d", truncate(fields[2]), argon2.Version)
	}
	p, err := decodeParams(fields[3])
	if err != nil {
		return Params{}, nil, nil, err
	}
	salt, key, err := decodeSaltKey(fields[4], fields[5])
	if err != nil {
		return Params{}, nil, nil, err
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.Validate(); err != nil {
		return Params{}, nil, nil, malformed("%v", err)
	}
	return p, salt, key, nil
}

func decodeParams(field string) (Params, error) {
	parts := strings.Split(field, ",")
	if len(parts) != 3 {
		return Params{}, malformed("want parameters m=,t=,p=")
	}
	m, errM := decodeUint(parts[0], "m=", 32)
	t, errT := decodeUint(parts[1], "t=", 32)
	p, errP := decodeUint(parts[2], "p=", 8)
	if errM != nil || errT != nil || errP != nil {
		return Params{}, malformed("bad parameters %q", truncate(field))
	}
	return Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(p)}, nil
}

// decodeUint parses name followed by a canonical decimal (no sign, no
// leading zeros) that fits in bits.
func decodeUint(s, name string, bits int) (uint64, error) {
	digits, ok := strings.CutPrefix(s, name)
	if !ok {
		return 0, fmt.Errorf("missing %s", name)
	}
	n, err := strconv.ParseUint(digits, 10, bits)
	if err != nil {
		return 0, err
	}
	if strconv.FormatUint(n, 10) != digits {
		return 0, fmt.Errorf("non-canonical %s%s", name, digits)
	}
	return n, nil
}

func decodeSaltKey(saltField, keyField string) ([]byte, []byte, error) {
	salt, err := b64.DecodeString(saltField)
	if err != nil {
		return nil, nil, malformed("salt is not unpadded base64")
	}
	key, err := b64.DecodeString(keyField)
	if err != nil {
		return nil, nil, malformed("hash is not unpadded base64")
	}
	return salt, key, nil
}

// truncate bounds how much of a bad stored string lands in an error message
// (and so in logs).
func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
