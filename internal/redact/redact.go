// Package redact removes secrets from payloads before they are logged or
// archived: API keys, passwords, tokens, cookies and credentials never leave
// the request that carried them.
package redact

import (
	"encoding/json"
	"strings"
)

// Placeholder replaces every secret value.
const Placeholder = "[REDACTED]"

// secretWords mark a JSON key as secret when the key, lowercased, contains
// one of them: "api_key", "X-API-Key", "refresh_token", "new_password"...
var secretWords = []string{
	"api_key", "apikey", "api-key", "password", "passwd", "secret", "token",
	"cookie", "credential", "authorization", "private_key", "session",
}

// IsSecretKey reports whether a field or header named name holds a secret.
func IsSecretKey(name string) bool {
	lower := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// JSON returns raw with the value of every secret key replaced by
// Placeholder, at any depth. Input that is not JSON is replaced whole by a
// JSON object saying so: an archive must not keep bytes it cannot inspect.
func JSON(raw []byte) json.RawMessage {
	if len(strings.TrimSpace(string(raw))) == 0 {
		return json.RawMessage("null")
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return json.RawMessage(`{"_unparsable_body":true}`)
	}
	out, err := json.Marshal(value(v))
	if err != nil {
		return json.RawMessage(`{"_unparsable_body":true}`)
	}
	return out
}

func value(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, inner := range t {
			if IsSecretKey(k) {
				t[k] = Placeholder
			} else {
				t[k] = value(inner)
			}
		}
		return t
	case []any:
		for i, inner := range t {
			t[i] = value(inner)
		}
		return t
	default:
		return v
	}
}
