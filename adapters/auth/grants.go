package auth

import "encoding/json"

// ParseGrants reads the topic patterns that a $connect authorizer granted, from the
// value of its context key. API Gateway's authorizer context holds only strings,
// numbers and booleans, so the authorizer puts the patterns there as a JSON array of
// strings inside a string ("[\"order:42\",\"news:*\"]", as FormatGrants writes them).
// A []string or a []any of strings, as a local gateway may hand over, is read too.
// Anything else, or an array holding anything but strings, gives nil: a malformed
// context grants nothing.
func ParseGrants(v any) []string {
	var grants []string
	switch v := v.(type) {
	case string:
		if json.Unmarshal([]byte(v), &grants) != nil {
			return nil
		}
	case []string:
		grants = v
	case []any:
		for _, g := range v {
			s, ok := g.(string)
			if !ok {
				return nil
			}
			grants = append(grants, s)
		}
	default:
		return nil
	}
	var kept []string
	for _, g := range grants {
		if g != "" {
			kept = append(kept, g)
		}
	}
	return kept
}

// FormatGrants writes patterns as a $connect authorizer puts them in its context for
// ParseGrants: a JSON array of strings, as one string value.
func FormatGrants(patterns []string) string {
	if patterns == nil {
		patterns = []string{}
	}
	b, _ := json.Marshal(patterns) // strings always marshal
	return string(b)
}
