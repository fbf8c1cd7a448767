package auth

import "testing"

func TestPattern(t *testing.T) {
	cases := []struct {
		pattern, user, topic string
		want                 bool
	}{
		{pattern: "news", topic: "news", want: true},
		{pattern: "news", topic: "news:1"},
		{pattern: "*", topic: "anything/at:all", want: true},
		{pattern: "news:*", topic: "news:", want: true},
		{pattern: "news:*", topic: "news:eu/fr", want: true},
		{pattern: "news:*", topic: "news"},
		{pattern: "*:done", topic: "order:42:done", want: true},
		{pattern: "*:done", topic: "order:42:done:not"},
		{pattern: "a*b*c", topic: "abc", want: true},
		{pattern: "a*b*c", topic: "a-b-b-c", want: true},
		{pattern: "a*b*c", topic: "acb"},
		{pattern: "a*a", topic: "a"},
		{pattern: "a*a", topic: "aa", want: true},
		{pattern: "**", topic: "", want: true},
		{pattern: "faq?", topic: "faq?", want: true},
		{pattern: "faq?", topic: "faqs"},
		{pattern: "[ab]", topic: "a"},
		{pattern: "[ab]", topic: "[ab]", want: true},
		{pattern: `a\*`, topic: `a\zz`, want: true}, // no escapes either
		{pattern: "user:{user}:*", user: "alice", topic: "user:alice:inbox", want: true},
		{pattern: "user:{user}:*", user: "alice", topic: "user:bob:inbox"},
		{pattern: "user:{user}:*", topic: "user::inbox"},
		{pattern: "user:{user}:*", user: "*", topic: "user:bob:inbox"},
		{pattern: "user:{user}:*", user: "*", topic: "user:*:inbox", want: true},
		{pattern: "user:{user}", user: "a*c", topic: "user:abc"},
		{pattern: "{user}/{user}", user: "x", topic: "x/x", want: true},
		{pattern: "{user}/{user}", user: "x", topic: "x/y"},
	}
	for _, tc := range cases {
		t.Run(tc.pattern+" "+tc.user+" "+tc.topic, func(t *testing.T) {
			if got := matchAny([]pattern{compile(tc.pattern)}, tc.user, tc.topic); got != tc.want {
				t.Errorf("%q with user %q matches %q: %t, want %t", tc.pattern, tc.user, tc.topic, got, tc.want)
			}
		})
	}
}
