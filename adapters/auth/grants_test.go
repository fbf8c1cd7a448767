package auth

import (
	"slices"
	"testing"
)

func TestParseGrants(t *testing.T) {
	cases := []struct {
		name string
		v    any
		want []string
	}{
		{name: "JSON array in a string, as API Gateway's context holds it", v: `["order:42","news:*"]`, want: []string{"order:42", "news:*"}},
		{name: "empty array", v: `[]`},
		{name: "JSON null", v: `null`},
		{name: "empty strings dropped", v: `["", "a"]`, want: []string{"a"}},
		{name: "a plain string is no list", v: "order:42"},
		{name: "a comma list is no list", v: "order:42,news:*"},
		{name: "an array of numbers", v: `[1,2]`},
		{name: "a mixed array", v: `["a",1]`},
		{name: "a JSON object", v: `{"topics":["a"]}`},
		{name: "[]string from a local gateway", v: []string{"a", "b"}, want: []string{"a", "b"}},
		{name: "[]any of strings", v: []any{"a", "b"}, want: []string{"a", "b"}},
		{name: "[]any with a number", v: []any{"a", 1.0}},
		{name: "a number", v: 42.0},
		{name: "a boolean", v: true},
		{name: "nil", v: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseGrants(tc.v); !slices.Equal(got, tc.want) {
				t.Errorf("ParseGrants(%#v) = %q, want %q", tc.v, got, tc.want)
			}
		})
	}
}

func TestFormatGrants(t *testing.T) {
	cases := []struct {
		patterns []string
		want     string
	}{
		{patterns: nil, want: `[]`},
		{patterns: []string{"order:42", `quote"d`}, want: `["order:42","quote\"d"]`},
	}
	for _, tc := range cases {
		got := FormatGrants(tc.patterns)
		if got != tc.want {
			t.Errorf("FormatGrants(%q) = %s, want %s", tc.patterns, got, tc.want)
		}
		if back := ParseGrants(got); !slices.Equal(back, tc.patterns) {
			t.Errorf("ParseGrants(FormatGrants(%q)) = %q", tc.patterns, back)
		}
	}
}
